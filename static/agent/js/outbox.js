'use strict';
// Messages typed but not yet acknowledged (architecture guarantee 1: an ack means
// stored). Each keeps its client_msg_id so a re-send after reconnect is stored once
// (guarantee 3). Kept in localStorage so even a reload re-sends them.

import {Stored} from './storage.js';

const RESEND_AFTER_MS = 15000; // no ack while connected: send again (dedup makes it safe)

export class Outbox {
  constructor(agentId) {
    this.store = new Stored(`beckon.agent.${agentId}.outbox`, []);
    if (!Array.isArray(this.store.value)) this.store.value = [];
    // Anything "in flight" when the tab closed is simply pending again.
    for (const item of this.store.value) item.sentAt = 0;
  }

  get items() {
    return this.store.value;
  }

  add(item) {
    this.items.push({...item, state: 'pending', sentAt: 0, error: null});
    this.store.save();
  }

  find(clientMsgId) {
    return this.items.find((i) => i.client_msg_id === clientMsgId) || null;
  }

  forConversation(conversationId) {
    return this.items.filter((i) => i.conversation_id === conversationId);
  }

  /** The stored echo arrived: the message is durable, forget it here. */
  ack(clientMsgId) {
    const before = this.items.length;
    this.store.value = this.items.filter((i) => i.client_msg_id !== clientMsgId);
    if (this.items.length !== before) this.store.save();
    return this.items.length !== before;
  }

  fail(clientMsgId, message) {
    const item = this.find(clientMsgId);
    if (!item) return;
    item.state = 'failed';
    item.error = message;
    this.store.save();
  }

  retry(clientMsgId) {
    const item = this.find(clientMsgId);
    if (!item) return;
    item.state = 'pending';
    item.error = null;
    item.sentAt = 0;
    this.store.save();
  }

  discard(clientMsgId) {
    this.ack(clientMsgId);
  }

  /** Drop what belongs to chats that no longer exist (closed and dismissed). */
  retain(conversationIds) {
    const keep = new Set(conversationIds);
    const before = this.items.length;
    this.store.value = this.items.filter((i) => keep.has(i.conversation_id));
    if (before !== this.items.length) this.store.save();
  }

  /** Items to (re)send now, oldest first: never sent on this connection, or overdue. */
  due(now = Date.now()) {
    return this.items.filter((i) => i.state === 'pending' && (!i.sentAt || now - i.sentAt > RESEND_AFTER_MS));
  }

  markSent(clientMsgId, now = Date.now()) {
    const item = this.find(clientMsgId);
    if (item) item.sentAt = now;
  }

  /** A new connection: everything pending must go again. */
  resetSent() {
    for (const item of this.items) item.sentAt = 0;
  }
}
