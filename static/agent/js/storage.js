'use strict';
// Per-agent browser storage (drafts, outbox, settings) so a reload or a crash of the
// tab loses nothing typed. Storage can be full or disabled: then we keep memory only.

export class Stored {
  constructor(key, fallback) {
    this.key = key;
    this.value = fallback;
    try {
      const raw = localStorage.getItem(key);
      if (raw) this.value = JSON.parse(raw);
    } catch {
      /* private mode or corrupt: start fresh */
    }
  }

  save() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.value));
    } catch {
      /* quota: memory copy still works for this tab */
    }
  }
}

/** Unsent text per chat, so switching chats (or reloading) keeps what was typed. */
export class Drafts {
  constructor(agentId) {
    this.stored = new Stored(`beckon.agent.${agentId}.drafts`, {});
  }

  get(conversationId) {
    return this.stored.value[conversationId] || '';
  }

  set(conversationId, text) {
    if (text) this.stored.value[conversationId] = text;
    else delete this.stored.value[conversationId];
    this.stored.save();
  }

  retain(conversationIds) {
    const keep = new Set(conversationIds);
    for (const id of Object.keys(this.stored.value)) if (!keep.has(id)) delete this.stored.value[id];
    this.stored.save();
  }
}
