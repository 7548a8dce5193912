'use strict';
// Transfer dialog: to a department of the chat's site, or to another agent
// (protocol.md: transfer {conversation_id, agent_id? | department?}).

import {h, visitorLabel} from '../dom.js';

export async function openTransfer(ctl, chatId) {
  const chat = ctl.state.chats.get(chatId);
  if (!chat) return;
  const site = ctl.state.sites.get(chat.site_id) || {departments: []};
  const departments = site.departments || [];
  const agentSelect = h('select', {id: 'transfer-agent', 'aria-label': 'Agent'}, h('option', {value: '', text: 'Loading agents…'}));
  const deptSelect = h('select', {id: 'transfer-department', 'aria-label': 'Department'}, ...departments.map((d) => h('option', {value: d, text: d})));
  const toAgent = h('input', {type: 'radio', name: 'transfer-kind', id: 'transfer-kind-agent', value: 'agent', checked: true});
  const toDept = h('input', {type: 'radio', name: 'transfer-kind', id: 'transfer-kind-dept', value: 'department', disabled: departments.length === 0});
  const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Transfer'});
  const cancel = h('button', {type: 'button', class: 'btn', text: 'Cancel'});
  const form = h(
    'form',
    {method: 'dialog', class: 'dialog-body'},
    h('h2', {text: `Transfer ${visitorLabel(chat.visitor_id, chat.visitor)}`}),
    h('div', {class: 'field-row'}, toAgent, h('label', {for: 'transfer-kind-agent', text: 'To an agent'})),
    agentSelect,
    h('div', {class: 'field-row'}, toDept, h('label', {for: 'transfer-kind-dept', text: departments.length ? 'To a department queue' : 'To a department (this site has none)'})),
    deptSelect,
    error,
    h('div', {class: 'dialog-actions'}, cancel, submit),
  );
  const dialog = h('dialog', {class: 'dialog', 'aria-label': 'Transfer chat'}, form);
  document.body.appendChild(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  cancel.addEventListener('click', () => dialog.close());
  const sync = () => {
    agentSelect.disabled = !toAgent.checked;
    deptSelect.disabled = !toDept.checked;
  };
  toAgent.addEventListener('change', sync);
  toDept.addEventListener('change', sync);
  sync();
  dialog.showModal();

  const agents = await ctl.loadAgents(chat.site_id);
  const others = agents.items.filter((a) => a.id !== (ctl.state.me && ctl.state.me.id));
  if (!agents.available || others.length === 0) {
    agentSelect.replaceChildren(h('option', {value: '', text: agents.available ? 'No other agent on this site' : 'Agent list not available'}));
    if (departments.length) {
      toDept.checked = true;
      toAgent.disabled = !agents.available || others.length === 0;
    }
  } else {
    agentSelect.replaceChildren(...others.map((a) => h('option', {value: a.id, text: `${a.display_name || a.email}${agentStatus(a)}`})));
  }
  sync();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const target = toAgent.checked ? {agent_id: agentSelect.value} : {department: deptSelect.value};
    if (!target.agent_id && !target.department) {
      error.textContent = 'Choose where to transfer the chat.';
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    const ok = await ctl.transfer(chatId, target, (message) => {
      error.textContent = message;
      error.hidden = false;
    });
    submit.disabled = false;
    if (ok) dialog.close();
  });
}

const TEAM_FRESH_MS = 10000; // the team's status is read again at most this often
const teams = new Map(); // site id → {at, loading}
export const NOBODY_TAKES =
  'Nobody can take this chat now: no other agent of the site is online with room, and the site has no departments.';

/** Whether someone could take a chat of the site now: another agent online with a free
 * slot, or a department queue to put it in. Unknown (the list failed): yes — the
 * dialog then says what it can. */
export async function canTransfer(ctl, siteId) {
  const site = ctl.state.sites.get(siteId) || {};
  if ((site.departments || []).length) return true;
  let team = teams.get(siteId);
  if (!team || Date.now() - team.at > TEAM_FRESH_MS) {
    const loading = ctl.api
      .get(`/sites/${encodeURIComponent(siteId)}/agents`)
      .then((data) => data.items || [])
      .catch(() => null);
    team = {at: Date.now(), loading};
    teams.set(siteId, team);
  }
  const items = await team.loading;
  if (!items) return true;
  const me = ctl.state.me && ctl.state.me.id;
  return items.some((a) => a.id !== me && a.status === 'online' && (a.capacity == null || (a.load || 0) < a.capacity));
}

/** " (online)" from GET /sites/{id}/agents (`status`), or the older `online` flag. */
function agentStatus(agent) {
  if (typeof agent.status === 'string') return ` (${agent.status})`;
  if (agent.online === true) return ' (online)';
  if (agent.online === false) return ' (offline)';
  return '';
}
