'use strict';
// Agents' avatar URLs by agent id (the signed-in agent's from /me, the others' from the
// site's team), for the console's own header and the agents' messages.

const byAgent = new Map();

export function setAvatar(agentId, url) {
  if (!agentId) return;
  if (url && /^https?:\/\//.test(String(url))) byAgent.set(agentId, String(url));
  else byAgent.delete(agentId);
}

export function avatarOf(agentId) {
  return agentId ? byAgent.get(agentId) || null : null;
}
