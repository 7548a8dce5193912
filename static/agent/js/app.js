'use strict';
// Console controller: boots the session, routes socket frames into the State, and
// offers the actions the views call (accept, send, close, transfer, …). Views render;
// this module is the only one that talks to both the socket and the REST API.

import {Api} from './api.js';
import {AgentSocket, agentSocketUrl} from './socket.js';
import {Outbox} from './outbox.js';
import {Drafts, Stored} from './storage.js';
import {State} from './state.js';
import {Notifier} from './notify.js';
import {CannedReplies} from './canned.js';
import {$, clock, randomId, visitorLabel} from './dom.js';
import {showSignin} from './views/signin.js';
import {showConnection, toast} from './views/feedback.js';
import {mountInbox} from './views/inbox.js';
import {mountChat} from './views/chat.js';
import {mountContext} from './views/context.js';
import {mountVisitors} from './views/visitors.js';
import {mountPhone} from './views/phone.js';
import {mountProfile} from './views/profile.js';
import {setAvatar} from './avatars.js';
import {askGoOffline} from './views/offline_ask.js';
import {mountHistory} from './views/history.js';
import {mountInboxItems} from './views/inbox_items.js';
import {mountKeys} from './keys.js';

const CHAT_ROLES = new Set(['admin', 'agent']);
const FLUSH_EVERY_MS = 3000;
const DETAILS_TTL_MS = 15000;
const COMMAND_TTL_MS = 30000;
const SESSION_NOTICE = 'beckon.agent.notice';

class Console {
  constructor(api, me) {
    this.api = api;
    this.me = me;
    this.state = new State();
    this.outbox = new Outbox(me.id);
    this.drafts = new Drafts(me.id);
    this.notifier = new Notifier(me.id);
    this.canned = new CannedReplies(api);
    this.status = new Stored(`beckon.agent.${me.id}.status`, 'online');
    this.readStore = new Stored(`beckon.agent.${me.id}.read`, {});
    this.state.readSeqs = this.readStore.value;
    this.handlers = new Map();
    this.commands = new Map(); // ref → {what, at}: fire-and-forget frames whose errors we show
    this.details = new Map(); // `${kind}:${visitor}` → {at, promise, value}
    this.agents = new Map(); // site_id → Promise<{available, items}>
    this.agentById = new Map();
    this.view = 'chats';
    this.accepting = new Set(); // accepts in flight: their assignment is not news
    this.transferTargets = new Map(); // conversation_id → who I am transferring it to
    this.socket = new AgentSocket(agentSocketUrl(), {
      onFrame: (f) => this.onFrame(f),
      onState: (s, d) => this.onSocketState(s, d),
    });
  }

  on(topic, fn) {
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Set());
    this.handlers.get(topic).add(fn);
  }

  emit(topic, detail) {
    for (const fn of this.handlers.get(topic) || []) fn(detail);
  }

  start() {
    $('console').hidden = false;
    this.state.me = this.me;
    mountProfile(this);
    mountInbox(this);
    this.chatUi = mountChat(this);
    mountContext(this);
    this.visitorsUi = mountVisitors(this);
    this.historyUi = mountHistory(this);
    this.inboxUi = mountInboxItems(this);
    mountKeys(this);
    this._mountTopbar();
    mountPhone(this);
    this.notifier.unlockOnGesture();
    window.addEventListener('hashchange', () => this.route());
    document.addEventListener('visibilitychange', () => this.markSeen(this.state.activeId));
    window.addEventListener('focus', () => this.markSeen(this.state.activeId));
    setInterval(() => this.tick(), 1000);
    setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.route();
    this.socket.start();
  }

  // -- socket --------------------------------------------------------------------------
  onSocketState(state) {
    this.connection = state;
    showConnection(state);
    document.body.dataset.connection = state;
    if (state === 'unauthorized') this.sessionEnded();
  }

  async sessionEnded() {
    try {
      await this.api.me();
      // The session is fine (e.g. a different tab signed out another session): retry.
      this.socket.start();
    } catch {
      sessionStorage.setItem(SESSION_NOTICE, 'Your session has ended. Sign in again; nothing you typed is lost.');
      window.location.reload();
    }
  }

  onFrame(f) {
    switch (f.type) {
      case 'welcome':
        return this.onWelcome(f);
      case 'queue':
        return this.onQueue(f);
      case 'sites':
        return this.state.applySites(f);
      case 'conversation':
        return this.onConversation(f);
      case 'message':
        return this.onMessage(f);
      case 'typing':
        return this.state.applyTyping(f);
      case 'read':
        return this.state.applyRead(f);
      case 'closed':
        return this.onClosed(f);
      case 'offer':
        return this.onOffer(f);
      case 'visitor_view':
        return this.emit('visitor_view', f);
      case 'visitor_page':
        return this.emit('visitor_page', f);
      case 'canned_changed':
        return this.canned.load(f.site_id, {refresh: true}).then(() => this.emit('canned', f.site_id));
      case 'status':
        return this.showStatus(f.status);
      case 'declined':
        return this.state.removeOffer(f.conversation_id);
      case 'transferred':
        return this.state.markTransferred(f.conversation_id, this.transferTargets.get(f.conversation_id));
      case 'error':
        return this.onError(f);
      default:
        return undefined; // newer servers may send more; ignoring keeps us compatible
    }
  }

  onWelcome(f) {
    const queuedBefore = new Set(this.state.queueItems().map((c) => c.id));
    this.state.applyWelcome(f);
    this.me = {...this.me, ...f.agent};
    for (const conv of f.conversations || []) this._quiet(conv);
    // Tell the server where each chat is; it replays what we missed, in seq order.
    for (const chat of this.state.chats.values()) {
      if (chat.status === 'active' || chat.status === 'queued') {
        this.socket.send({type: 'resume', conversation_id: chat.id, after_seq: chat.lastSeq});
      }
    }
    this.socket.send({type: 'status', status: this.status.value});
    const known = [...this.state.chats.keys()];
    this.outbox.retain(known);
    this.outbox.resetSent();
    this.flush();
    this.visitorsUi.rewatch();
    if (!this.state.activeId && this.state.order.length) this.state.setActive(this.state.order[this.state.order.length - 1]);
    this.emit('outbox', this.state.activeId);
    if (queuedBefore.size) this._notifyNewQueued(queuedBefore);
  }

  onQueue(f) {
    const before = new Set(this.state.queueItems().map((c) => c.id));
    this.state.applyQueue(f);
    this._notifyNewQueued(before);
  }

  _notifyNewQueued(before) {
    for (const conv of this.state.queueItems()) {
      if (!before.has(conv.id)) {
        this.notifier.notify('New chat waiting', `${visitorLabel(conv.visitor_id, conv.visitor)}${conv.department ? ` · ${conv.department}` : ''}`, {tag: `queue-${conv.id}`, chime: 'chat', onClick: () => this.go('chats')});
      }
    }
  }

  onConversation(f) {
    const result = this.state.applyConversation(f);
    if (result === 'new') {
      this._quiet(f);
      // Belt and braces: ask for anything after what we hold (duplicates are dropped).
      this.socket.send({type: 'resume', conversation_id: f.id, after_seq: this.state.chats.get(f.id).lastSeq});
      const active = this.state.chats.get(this.state.activeId);
      // Routing assigned it to me: open it unless I am in the middle of another chat.
      if (!active || active.status !== 'active') this.state.setActive(f.id);
      this.markSeen(this.state.activeId);
      const chat = this.state.chats.get(f.id);
      if (!this.accepting.has(f.id)) this.notifier.notify('New chat assigned to you', visitorLabel(chat.visitor_id, chat.visitor), {tag: `chat-${f.id}`, chime: 'chat', onClick: () => this.openChat(f.id)});
    }
    if (result === 'gone') toast(`Chat transferred to ${this.state.chats.get(f.id).transferredTo}.`);
  }

  _quiet(conv) {
    // Messages up to here are history, not news: no sound or notification for them.
    const chat = this.state.chats.get(conv.id);
    if (chat) chat.quietSeq = Math.max(chat.quietSeq || 0, conv.last_seq || 0);
  }

  onMessage(f) {
    if (f.client_msg_id && this.outbox.ack(f.client_msg_id)) this.emit('outbox', f.conversation_id);
    const fresh = this.state.applyMessage(f);
    if (!fresh) return;
    const chat = this.state.chats.get(f.conversation_id);
    if (f.author.kind !== 'visitor') return;
    if (this.markSeen(f.conversation_id)) return;
    if (f.seq > (chat.quietSeq || 0)) {
      this.notifier.notify(visitorLabel(chat.visitor_id, chat.visitor), f.text.slice(0, 140), {tag: `chat-${chat.id}`, onClick: () => this.openChat(chat.id)});
    }
  }

  onClosed(f) {
    const chat = this.state.chats.get(f.conversation_id);
    const wasOpen = chat && chat.status === 'active';
    this.state.applyClosed(f);
    if (wasOpen && f.by === 'visitor') toast(`${visitorLabel(chat.visitor_id, chat.visitor)} ended the chat.`);
  }

  onOffer(f) {
    this.state.applyOffer(f);
    this.notifier.notify('A chat is offered to you', visitorLabel(f.visitor && f.visitor.id, f.visitor), {tag: `offer-${f.conversation_id}`, chime: 'chat', onClick: () => this.go('chats')});
  }

  onError(f) {
    const item = f.ref ? this.outbox.find(f.ref) : null;
    if (item) {
      if (f.code === 'rate_limited' || f.code === 'unavailable' || f.code === 'internal') {
        // Transient: keep it pending; the flush timer sends it again (same client_msg_id).
        this.outbox.markSent(item.client_msg_id, Date.now() - 12000);
      } else {
        this.outbox.fail(item.client_msg_id, f.code === 'conflict' ? 'the chat is closed' : f.message);
      }
      this.emit('outbox', item.conversation_id);
      return;
    }
    const command = f.ref ? this.commands.get(f.ref) : null;
    if (command) {
      this.commands.delete(f.ref);
      toast(f.code === 'unavailable' ? `${command.what} is not available on this server yet.` : `${command.what} failed: ${f.message}`, 'error');
      return;
    }
    if (f.ref && f.ref.startsWith('r')) return; // a request(): its caller shows the error
    if (f.code !== 'unavailable') toast(f.message || f.code, 'error');
  }

  // -- actions -------------------------------------------------------------------------
  command(frame, what) {
    const ref = randomId('c');
    const now = Date.now();
    for (const [key, c] of this.commands) if (now - c.at > COMMAND_TTL_MS) this.commands.delete(key);
    this.commands.set(ref, {what, at: now});
    if (!this.socket.send({...frame, ref})) {
      this.commands.delete(ref);
      toast('Not connected. Try again when the connection is back.', 'error');
      return false;
    }
    return true;
  }

  async accept(id) {
    this.state.removeOffer(id);
    this.accepting.add(id);
    try {
      await this.socket.request({type: 'accept', conversation_id: id});
      this.openChat(id);
    } catch (err) {
      toast(err.code === 'conflict' ? 'Another agent already took this chat.' : `Could not accept: ${err.message}`, 'error');
      this.state.emit('queue');
    } finally {
      this.accepting.delete(id);
    }
  }

  acceptNext() {
    const offer = [...this.state.offers.values()][0];
    if (offer) return this.accept(offer.conversation_id);
    const next = this.state.queueItems()[0];
    if (next) return this.accept(next.id);
    return undefined;
  }

  async decline(id) {
    this.state.removeOffer(id);
    try {
      await this.socket.request({type: 'decline', conversation_id: id});
    } catch (err) {
      if (err.code !== 'unavailable' && err.code !== 'timeout') toast(`Could not decline: ${err.message}`, 'error');
    }
  }

  openChat(id) {
    this.state.setActive(id);
    if (this.view !== 'chats') this.go('chats');
    this.markSeen(id);
  }

  cycleChat(step) {
    const order = this.state.order;
    if (!order.length) return;
    const at = order.indexOf(this.state.activeId);
    this.openChat(order[(at + step + order.length) % order.length]);
    this.focusComposer();
  }

  focusComposer() {
    if (this.view !== 'chats') this.go('chats');
    this.chatUi.focusComposer();
  }

  toggleNote() {
    this.chatUi.toggleNote();
  }

  /** Seen by the agent: the chat is open, the chats view shown and the tab visible. */
  markSeen(id) {
    if (!id || id !== this.state.activeId || this.view !== 'chats' || document.hidden) return false;
    const seq = this.state.markSeen(id);
    if (seq) {
      this.readStore.save();
      this.socket.send({type: 'read', conversation_id: id, seq});
    }
    return true;
  }

  send(conversationId, text, internal, attachments = []) {
    this.outbox.add({conversation_id: conversationId, client_msg_id: randomId('m'), text, internal, attachments, ts: Date.now()});
    this.emit('outbox', conversationId);
    this.flush();
  }

  /** Send every outbox item that is due (never sent on this connection, or overdue). */
  flush() {
    if (!this.socket.ready) return;
    for (const item of this.outbox.due()) {
      const chat = this.state.chats.get(item.conversation_id);
      if (!chat || chat.status !== 'active') {
        if (chat && chat.status !== 'queued') {
          this.outbox.fail(item.client_msg_id, 'the chat is no longer yours');
          this.emit('outbox', item.conversation_id);
        }
        continue;
      }
      const frame = {type: 'message', conversation_id: item.conversation_id, client_msg_id: item.client_msg_id, text: item.text, ref: item.client_msg_id};
      if (item.internal) frame.internal = true;
      if (item.attachments && item.attachments.length) frame.attachments = item.attachments;
      if (!this.socket.send(frame)) return;
      this.outbox.markSent(item.client_msg_id);
    }
  }

  retry(clientMsgId) {
    const item = this.outbox.find(clientMsgId);
    this.outbox.retry(clientMsgId);
    if (item) this.emit('outbox', item.conversation_id);
    this.flush();
  }

  discard(clientMsgId) {
    const item = this.outbox.find(clientMsgId);
    this.outbox.discard(clientMsgId);
    if (item) this.emit('outbox', item.conversation_id);
  }

  typing(conversationId, on) {
    this.socket.send({type: 'typing', conversation_id: conversationId, on});
  }

  close(conversationId) {
    this.command({type: 'close', conversation_id: conversationId}, 'Closing the chat');
  }

  dismiss(conversationId) {
    this.state.dismiss(conversationId);
    this.drafts.set(conversationId, '');
    this.outbox.retain([...this.state.chats.keys()]);
    this.readStore.save();
  }

  async transfer(conversationId, target, onError) {
    // Our socket leaves the conversation with the transfer, so the reply may be all we
    // hear of it: remember whom we chose, for "Transferred to …".
    this.transferTargets.set(conversationId, target.agent_id ? this.agentName(target.agent_id) : target.department);
    try {
      await this.socket.request({type: 'transfer', conversation_id: conversationId, ...target});
    } catch (err) {
      if (err.code === 'timeout') {
        toast('Transfer requested.');
        return true;
      }
      onError(err.code === 'unavailable' ? 'Transfer is not available on this server yet.' : err.message);
      return false;
    }
    toast('Chat transferred.');
    return true;
  }

  // -- REST helpers the views share --------------------------------------------------
  loadAgents(siteId) {
    if (!this.agents.has(siteId)) {
      const loading = (async () => {
        try {
          const data = await this.api.get(`/sites/${encodeURIComponent(siteId)}/agents`);
          return {available: true, items: data.items || []};
        } catch (err) {
          if (!err.missing || this.me.role !== 'admin') return {available: false, items: []};
        }
        try {
          // Admins can list every agent; keep those of this site.
          const data = await this.api.get('/agents', {limit: 200});
          return {available: true, items: (data.items || []).filter((a) => (a.site_ids || []).includes(siteId) && a.active !== false)};
        } catch {
          return {available: false, items: []};
        }
      })();
      loading.then((r) => r.items.forEach((a) => {
        this.agentById.set(a.id, a);
        setAvatar(a.id, a.avatar_url);
      }));
      this.agents.set(siteId, loading);
    }
    return this.agents.get(siteId);
  }

  knownAgents() {
    return [...this.agentById.values()];
  }

  agentName(id) {
    if (!id) return '—';
    if (id === this.me.id) return 'You';
    const a = this.agentById.get(id);
    return a ? a.display_name || a.email : `Agent ${String(id).slice(-4)}`;
  }

  _details(kind, chat, path) {
    const key = `${kind}:${chat.site_id}:${chat.visitor_id}`;
    const cached = this.details.get(key);
    if (cached && Date.now() - cached.at < DETAILS_TTL_MS) return cached.promise;
    const promise = this.api
      .get(path)
      .then((data) => ({available: true, data}))
      .catch((err) => ({available: false, data: null, message: err.missing ? null : err.status === 403 ? 'Your account cannot see visitor details.' : err.message}));
    const entry = {at: Date.now(), promise, value: null};
    promise.then((v) => (entry.value = v));
    this.details.set(key, entry);
    return promise;
  }

  loadVisitor(chat) {
    return this._details('visitor', chat, `/sites/${encodeURIComponent(chat.site_id)}/visitors/${encodeURIComponent(chat.visitor_id)}`);
  }

  loadWhy(chat) {
    return this._details('why', chat, `/sites/${encodeURIComponent(chat.site_id)}/visitors/${encodeURIComponent(chat.visitor_id)}/why`);
  }

  /** What we already know about the chat's visitor, synchronously (for placeholders). */
  visitorDetails(chat) {
    const entry = this.details.get(`visitor:${chat.site_id}:${chat.visitor_id}`);
    return entry && entry.value && entry.value.data ? entry.value.data : null;
  }

  toast(message, kind) {
    toast(message, kind);
  }

  // -- chrome ----------------------------------------------------------------------------
  go(view) {
    if (window.location.hash !== `#${view}`) window.location.hash = view;
    else this.route();
  }

  route() {
    const hash = window.location.hash.replace(/^#/, '') || 'chats';
    // `#visitors?site=…&q=…`: the part after `?` is the visitor view's query (deep link).
    const [path, search = ''] = hash.split('?');
    const [view, arg] = path.split('/');
    const next = ['chats', 'inbox', 'visitors', 'history'].includes(view) ? view : 'chats';
    if (this.view === 'visitors' && next !== 'visitors') this.visitorsUi.hide();
    this.view = next;
    for (const name of ['chats', 'inbox', 'visitors', 'history']) {
      $(`view-${name}`).hidden = name !== next;
      const tab = $(`nav-${name}`);
      tab.classList.toggle('active', name === next);
      if (name === next) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    if (next === 'visitors') this.visitorsUi.show(search);
    if (next === 'history') this.historyUi.show(arg ? decodeURIComponent(arg) : null);
    if (next === 'inbox') this.inboxUi.show();
    if (next === 'chats') this.markSeen(this.state.activeId);
  }

  tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll('.js-since')) {
      el.textContent = clock((now - Number(el.dataset.since)) / 1000);
    }
    for (const el of document.querySelectorAll('.js-until')) {
      const left = Number(el.dataset.until) - now;
      el.textContent = clock(left / 1000);
      if (left <= 0) this.state.removeOffer(el.dataset.conversation);
    }
  }

  showStatus(status) {
    $('status-select').value = status;
    $('status-dot').dataset.status = status;
  }

  closeMenus() {
    $('settings-menu').hidden = true;
    $('settings-button').setAttribute('aria-expanded', 'false');
  }

  _mountTopbar() {
    const select = $('status-select');
    this.showStatus(this.status.value);
    select.addEventListener('change', async () => {
      const open = [...this.state.chats.values()].filter((c) => c.status === 'active').length;
      if (select.value === 'offline' && open && !(await askGoOffline(open))) {
        select.value = this.status.value;
        return;
      }
      this.status.value = select.value;
      this.status.save();
      $('status-dot').dataset.status = select.value;
      this.socket.send({type: 'status', status: select.value});
    });
    const menu = $('settings-menu');
    const button = $('settings-button');
    button.addEventListener('click', (e) => {
      e.stopPropagation();
      menu.hidden = !menu.hidden;
      button.setAttribute('aria-expanded', String(!menu.hidden));
    });
    document.addEventListener('click', (e) => {
      if (!menu.hidden && !menu.contains(e.target)) this.closeMenus();
    });
    const desktop = $('set-desktop');
    const sound = $('set-sound');
    const note = $('set-desktop-note');
    desktop.checked = this.notifier.desktop;
    sound.checked = this.notifier.sound;
    desktop.addEventListener('change', async () => {
      desktop.checked = await this.notifier.setDesktop(desktop.checked);
      const perm = this.notifier.permission();
      note.hidden = perm !== 'denied' && perm !== 'unsupported';
      note.textContent = perm === 'unsupported' ? 'This browser has no desktop notifications.' : 'Notifications are blocked for this site in your browser settings.';
    });
    sound.addEventListener('change', () => this.notifier.setSound(sound.checked));
    $('signout').addEventListener('click', () => this.signOut());
  }

  async signOut() {
    this.socket.stop();
    try {
      await this.api.logout();
    } catch {
      /* the session may already be gone; we sign out locally either way */
    }
    window.location.hash = '';
    window.location.reload();
  }
}

function showNoAccess(api, me) {
  $('noaccess').hidden = false;
  $('noaccess-text').textContent = `You are signed in as ${me.email} (${me.role}). The agent console needs an agent or admin account; ask an admin for agent access.`;
  $('noaccess-signout').onclick = async () => {
    await api.logout().catch(() => {});
    window.location.reload();
  };
}

function enter(api, me) {
  $('boot').hidden = true;
  if (!CHAT_ROLES.has(me.role)) {
    showNoAccess(api, me);
    return;
  }
  const app = new Console(api, me);
  window.__beckonConsole = app; // for debugging in devtools and for the browser tests
  app.start();
}

async function boot() {
  const api = new Api();
  let me = null;
  try {
    me = await api.me();
  } catch (err) {
    me = null;
    if (err.status !== 401 && err.status !== 403) {
      $('boot').textContent = `Cannot reach the server (${err.message}). Retrying…`;
      setTimeout(boot, 3000);
      return;
    }
  }
  $('boot').hidden = true;
  if (me) {
    enter(api, me);
    return;
  }
  const notice = sessionStorage.getItem(SESSION_NOTICE) || '';
  sessionStorage.removeItem(SESSION_NOTICE);
  showSignin(api, (signedIn) => enter(api, signedIn), notice);
}

boot();
