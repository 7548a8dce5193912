'use strict';
// The console's model: my chats, the queue, offers, live visitors. Frames go in through
// apply*(); views listen to topics ('chats', 'chat:<id>', 'queue', 'offers',
// 'visitors', 'typing:<id>'). No DOM and no sockets here.

const ORPHAN_TTL_MS = 30000;
const ORPHAN_LIMIT = 1000;

export class State {
  constructor() {
    this.me = null;
    this.sites = new Map(); // id → {id, name, departments}
    this.chats = new Map(); // id → chat (see newChat)
    this.order = []; // my chats, oldest first
    this.queue = new Map(); // site_id → [conversation frames]
    this.offers = new Map(); // conversation_id → {conversation_id, visitor, expires_ts, ...}
    this.activeId = null;
    this.readSeqs = {}; // conversation_id → seq the agent has seen (persisted by the app)
    this.listeners = new Map();
    this.orphans = new Map(); // conversation_id → {at, frames}: messages that came first
  }

  on(topic, fn) {
    if (!this.listeners.has(topic)) this.listeners.set(topic, new Set());
    this.listeners.get(topic).add(fn);
    return () => this.listeners.get(topic).delete(fn);
  }

  emit(topic, detail) {
    for (const fn of this.listeners.get(topic) || []) fn(detail);
  }

  // -- frames -----------------------------------------------------------------------
  applyWelcome(frame) {
    this.me = frame.agent;
    this.sites = new Map((frame.sites || []).map((s) => [s.id, s]));
    const open = new Set();
    for (const conv of frame.conversations || []) {
      this._upsert(conv);
      open.add(conv.id);
    }
    // A chat we held that the server no longer lists was closed or moved while we were
    // away; keep it visible (read-only) until the agent dismisses it.
    for (const chat of this.chats.values()) {
      if (!open.has(chat.id) && chat.status !== 'closed') chat.status = 'closed';
    }
    this.queue = new Map();
    for (const conv of frame.queue || []) {
      if (!this.queue.has(conv.site_id)) this.queue.set(conv.site_id, []);
      this.queue.get(conv.site_id).push(conv);
    }
    this.emit('chats');
    this.emit('queue');
    for (const chat of this.chats.values()) this.emit(`chat:${chat.id}`);
  }

  /** The sites this console answers for changed (an admin changed the agent's sites):
      a lost site's queue goes, and its chats stay visible read-only, as closed. */
  applySites(frame) {
    this.sites = new Map((frame.sites || []).map((s) => [s.id, s]));
    for (const siteId of [...this.queue.keys()]) {
      if (!this.sites.has(siteId)) this.queue.delete(siteId);
    }
    for (const [id, offer] of this.offers) {
      if (offer.site_id && !this.sites.has(offer.site_id)) this.offers.delete(id);
    }
    for (const chat of this.chats.values()) {
      if (chat.site_id && !this.sites.has(chat.site_id) && chat.status !== 'closed') {
        chat.status = 'closed';
        this.emit(`chat:${chat.id}`);
      }
    }
    this.emit('chats');
    this.emit('queue');
    this.emit('offers');
  }

  applyQueue(frame) {
    this.queue.set(frame.site_id, frame.items || []);
    // A queued chat someone took is no longer an offer either.
    const queued = new Set((frame.items || []).map((c) => c.id));
    for (const [id, offer] of this.offers) {
      if (offer.site_id === frame.site_id && !queued.has(id)) this.offers.delete(id);
    }
    this.emit('queue');
    this.emit('offers');
  }

  /** Returns 'mine' | 'gone' (transferred away) | null (not about my chats). */
  applyConversation(frame) {
    const mine = frame.agent && this.me && frame.agent.id === this.me.id;
    const chat = this.chats.get(frame.id);
    // Frames on the conversation's channel carry no visitor brief (visitors hear them
    // too); the queue item or offer we already hold has it.
    const known = frame.visitor || (chat && chat.visitor) || this._knownVisitor(frame.id);
    if (known && !frame.visitor) frame = {...frame, visitor: known};
    this._dropFromQueue(frame);
    if (mine && frame.status !== 'closed') {
      const isNew = !chat;
      this._upsert(frame);
      this.offers.delete(frame.id);
      this.emit('chats');
      this.emit('offers');
      this.emit(`chat:${frame.id}`);
      return isNew ? 'new' : 'mine';
    }
    if (chat && frame.status !== 'closed' && chat.status !== 'closed') {
      // Transferred to another agent or back to a department queue.
      chat.status = 'transferred';
      chat.transferredTo = frame.agent ? frame.agent.name : frame.department || 'the queue';
      this.emit('chats');
      this.emit(`chat:${chat.id}`);
      return 'gone';
    }
    if (chat && frame.status === 'closed') {
      chat.status = 'closed';
      this.emit('chats');
      this.emit(`chat:${chat.id}`);
    }
    return null;
  }

  /** True when the message is new to this console (not a replay we already have). */
  applyMessage(frame) {
    const chat = this.chats.get(frame.conversation_id);
    if (!chat) {
      // The server replays a chat's history as soon as it is ours, which can be just
      // before the `conversation` frame that tells us so: keep it for that moment.
      this._holdOrphan(frame);
      return false;
    }
    if (chat.messages.has(frame.seq)) return false;
    chat.messages.set(frame.seq, frame);
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    if (frame.author && frame.author.kind === 'visitor') chat.typing = false;
    this.emit(`chat:${chat.id}`);
    this.emit('chats');
    return true;
  }

  applyTyping(frame) {
    const chat = this.chats.get(frame.conversation_id);
    if (!chat) return;
    chat.typing = Boolean(frame.on);
    chat.typingAt = Date.now();
    this.emit(`typing:${chat.id}`);
  }

  applyRead(frame) {
    const chat = this.chats.get(frame.conversation_id);
    if (!chat) return;
    chat.visitorReadSeq = Math.max(chat.visitorReadSeq, frame.seq);
    this.emit(`chat:${chat.id}`);
  }

  applyClosed(frame) {
    this.offers.delete(frame.conversation_id);
    for (const [siteId, items] of this.queue) {
      const kept = items.filter((c) => c.id !== frame.conversation_id);
      if (kept.length !== items.length) this.queue.set(siteId, kept);
    }
    const chat = this.chats.get(frame.conversation_id);
    if (chat) {
      chat.status = 'closed';
      chat.closedBy = frame.by;
      chat.typing = false;
      this.emit(`chat:${chat.id}`);
    }
    this.emit('chats');
    this.emit('queue');
    this.emit('offers');
  }

  applyOffer(frame) {
    this.offers.set(frame.conversation_id, frame);
    this.emit('offers');
  }

  /** The server confirmed our transfer; the chat stays visible, read-only. */
  markTransferred(conversationId, to) {
    const chat = this.chats.get(conversationId);
    if (!chat || chat.status === 'transferred' || chat.status === 'closed') return;
    chat.status = 'transferred';
    chat.transferredTo = chat.transferredTo || to || 'another agent';
    this.emit('chats');
    this.emit(`chat:${chat.id}`);
  }

  removeOffer(conversationId) {
    if (this.offers.delete(conversationId)) this.emit('offers');
  }

  // -- local actions ------------------------------------------------------------------
  setActive(id) {
    this.activeId = id;
    this.emit('chats');
    this.emit('active', id);
  }

  dismiss(id) {
    this.chats.delete(id);
    this.order = this.order.filter((x) => x !== id);
    delete this.readSeqs[id];
    if (this.activeId === id) this.activeId = this.order[this.order.length - 1] || null;
    this.emit('chats');
    this.emit('active', this.activeId);
  }

  /** Mark everything up to the last message seen; returns the seq if it moved. */
  markSeen(id) {
    const chat = this.chats.get(id);
    if (!chat || chat.lastSeq <= (this.readSeqs[id] || 0)) return null;
    this.readSeqs[id] = chat.lastSeq;
    this.emit('chats');
    return chat.lastSeq;
  }

  unread(id) {
    const chat = this.chats.get(id);
    if (!chat) return 0;
    const seen = this.readSeqs[id] || 0;
    let count = 0;
    for (const m of chat.messages.values()) {
      if (m.seq > seen && m.author && m.author.kind === 'visitor') count += 1;
    }
    return count;
  }

  totalUnread() {
    let total = 0;
    for (const id of this.order) total += this.unread(id);
    return total;
  }

  queueItems() {
    const all = [];
    for (const items of this.queue.values()) all.push(...items);
    return all.sort((a, b) => a.created_ts - b.created_ts);
  }

  /** Messages in seq order. */
  transcript(id) {
    const chat = this.chats.get(id);
    return chat ? [...chat.messages.values()].sort((a, b) => a.seq - b.seq) : [];
  }

  siteName(siteId) {
    const site = this.sites.get(siteId);
    return site ? site.name : '';
  }

  _knownVisitor(conversationId) {
    const offer = this.offers.get(conversationId);
    if (offer && offer.visitor && Object.keys(offer.visitor).length > 1) return offer.visitor;
    for (const items of this.queue.values()) {
      const item = items.find((c) => c.id === conversationId);
      if (item && item.visitor) return item.visitor;
    }
    return null;
  }

  _holdOrphan(frame) {
    const now = Date.now();
    for (const [id, held] of this.orphans) if (now - held.at > ORPHAN_TTL_MS) this.orphans.delete(id);
    const held = this.orphans.get(frame.conversation_id) || {at: now, frames: []};
    if (held.frames.length < ORPHAN_LIMIT) held.frames.push(frame);
    this.orphans.set(frame.conversation_id, held);
  }

  _dropFromQueue(frame) {
    if (frame.status === 'queued') return;
    const items = this.queue.get(frame.site_id);
    if (!items) return;
    const kept = items.filter((c) => c.id !== frame.id);
    if (kept.length !== items.length) {
      this.queue.set(frame.site_id, kept);
      this.emit('queue');
    }
  }

  _upsert(frame) {
    let chat = this.chats.get(frame.id);
    if (!chat) {
      chat = {
        id: frame.id,
        messages: new Map(),
        lastSeq: 0,
        visitorReadSeq: 0,
        typing: false,
        typingAt: 0,
        closedBy: null,
        transferredTo: null,
      };
      this.chats.set(frame.id, chat);
      this.order.push(frame.id);
      const held = this.orphans.get(frame.id);
      this.orphans.delete(frame.id);
      for (const m of held ? held.frames : []) {
        chat.messages.set(m.seq, m);
        chat.lastSeq = Math.max(chat.lastSeq, m.seq);
      }
    }
    for (const key of ['site_id', 'visitor_id', 'status', 'department', 'created_ts', 'agent', 'rule_id', 'variant', 'visitor', 'accepted_ts']) {
      if (frame[key] !== undefined) chat[key] = frame[key];
    }
    return chat;
  }
}
