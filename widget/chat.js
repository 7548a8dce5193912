'use strict';
// The chat controller: visitor state (conversation, seqs, outbox, availability), frames in
// from the socket, frames out for what the visitor does. It draws through the view and
// never touches the DOM itself.

B.chat = (opts) => {
  const { site, servers, assets, view, events } = opts;
  const saved = B.store('localStorage', 'beckon:' + site);
  const stored = saved.get() || {}; // {vt: visitor token, vid, conv: open conversation id, cfg}
  const list = view.messages;
  // Shared with panels.js (which draws from it) and api.js.
  const s = {
    stored,
    cfg: stored.cfg || {},
    outbox: B.outbox('beckon:' + site + ':outbox'),
    welcomed: false,
    online: true,
    conv: null, // {id, status, agent, queue_position, estimated_wait_s}
    open: false,
    prechat: null, // what the pre-chat form gave
    survey: null, // {conv, kinds} while the post-chat survey is due
    offlineSent: false,
    offlineFail: null,
    consent: null, // Beckon('consent', bool); null = not said
    cart: null,
    identity: null,
    attributes: {},
  };
  let everWelcomed = false;
  let maxSeq = 0;
  let readSent = 0;
  let unread = 0;
  let startSent = false;
  let sentNow = new Set(); // client_msg_ids sent on this socket
  let typingOn = false;
  let typingTimer = 0;
  let agentTypingTimer = 0;
  let behaviour = []; // tracking frames waiting for a socket
  let invitation = null;
  let asked; // a "chat" invitation's words are in the chat, not yet answered
  let card = null;
  const followSeq = {}; // conversation id → last follow-up seq shown on this page
  let followUp = null; // {conversation_id, seq}: an agent's answer shown but not yet seen

  const persist = () => saved.set(stored);
  const send = (frame) => s.welcomed && conn.send(frame);
  const refresh = () => panels.refresh();

  const conn = B.connection(servers.map((url) => url.replace(/^http/i, 'ws') + '/ws/visitor?site=' + encodeURIComponent(site)), {
    hello: () => {
      const hello = {
        type: 'hello',
        ref: 'hello',
        visitor_token: stored.vt,
        page: { url: location.href, title: document.title.slice(0, 1000), referrer: document.referrer },
        lang: navigator.language,
        tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
        identity: s.identity || undefined,
      };
      if (Object.keys(s.attributes).length) hello.attributes = s.attributes;
      // Resume: replay everything after the last seq this page has (all of it after a reload).
      if (stored.conv) hello.conversation = { id: stored.conv, after_seq: maxSeq };
      return hello;
    },
    frame: (frame) => {
      // The site hides agents' names: messages and typing say "Agent" (header: panels.js).
      if (s.cfg.show_agent_name === false && frame.author) frame.author.name = '';
      (handlers[frame.type] || mailer.frame)(frame);
    },
    down: () => {
      s.welcomed = false;
      startSent = false;
      sentNow = new Set();
      view.typing(null);
      refresh();
    },
  });

  // -- what the server says --------------------------------------------------------------
  const handlers = {
    welcome(f) {
      s.welcomed = true;
      if (stored.vid && stored.vid !== f.visitor_id) forget(); // a new visitor: old ids are not ours
      stored.vt = f.visitor_token;
      stored.vid = f.visitor_id;
      s.cfg = stored.cfg = f.widget || {};
      s.online = !!f.online;
      view.look(s.cfg);
      B.setLang(B.pickLang([s.cfg.lang].concat(navigator.languages || [])), assets, s.cfg.strings).then(refresh);
      if (f.conversation) {
        const resumed = f.conversation.id === stored.conv;
        setConversation(f.conversation);
        if (!resumed) send({ type: 'resume', conversation_id: s.conv.id, after_seq: maxSeq });
      } else if (stored.conv) {
        // Our conversation closed while we were away.
        closed({ conversation_id: stored.conv, survey: s.cfg.survey || [] }, s.conv && s.conv.id === stored.conv);
      }
      persist();
      if (!everWelcomed) {
        everWelcomed = true;
        tracker.pageView();
        events.emit('ready', { visitor_id: f.visitor_id, online: s.online });
      }
      if (s.cart) send(s.cart);
      behaviour.splice(0).forEach(behave); // the site's consent setting is known only now
      flush();
      markRead();
      refresh();
    },
    conversation(f) {
      const fresh = !s.conv || s.conv.id !== f.id;
      if (fresh && asked) asked = list.clear(); // the chat invitation's words come back stored
      setConversation(f);
      if (fresh && f.status !== 'closed') events.emit('chat_started', { id: f.id });
      if (f.status === 'closed') closed({ conversation_id: f.id, survey: [] }, true);
      flush();
    },
    message(f) {
      if (f.client_msg_id) s.outbox.drop(f.client_msg_id);
      if (s.conv && f.conversation_id !== s.conv.id) return; // an older conversation's replay
      if (!list.add(f)) return;
      maxSeq = Math.max(maxSeq, f.seq);
      if (f.author && f.author.kind === 'agent') {
        view.typing(null);
        if (!s.open || !B.visible()) {
          view.unread(++unread);
          if (s.cfg.sound) B.beep();
        }
      }
      events.emit('message', { text: f.text, author: f.author, seq: f.seq });
      markRead();
    },
    typing(f) {
      if (!s.conv || f.conversation_id !== s.conv.id) return;
      const name = (f.author && f.author.name) || (s.conv.agent && s.conv.agent.name) || B.t('agent');
      view.typing(f.on ? B.t('typing', { name }) : null);
      clearTimeout(agentTypingTimer);
      // A lost `typing off` must not leave the indicator on forever.
      if (f.on) agentTypingTimer = setTimeout(() => view.typing(null), 8000);
    },
    read(f) {
      if (s.conv && f.conversation_id === s.conv.id) list.read(f.seq);
    },
    closed(f) {
      closed(f, true);
    },
    offline_message_saved() {
      s.offlineSent = true;
      refresh();
    },
    availability(f) {
      s.online = !!f.online;
      refresh();
    },
    invitation(f) {
      if (s.conv && s.conv.status !== 'closed') return;
      invitation = f;
      showInvitation();
    },
    // An agent answered what the visitor left behind (inbox): on any page, after welcome.
    follow_up(f) {
      if (s.conv && s.conv.status !== 'closed') return; // a live chat on screen: shown next time
      const fresh = f.messages.filter((m) => m.seq > (followSeq[f.conversation_id] || 0));
      if (!fresh.length) return;
      followSeq[f.conversation_id] = fresh[fresh.length - 1].seq;
      list.earlier(fresh);
      followUp = { conversation_id: f.conversation_id, seq: followSeq[f.conversation_id] };
      const answers = fresh.filter((m) => m.author && m.author.kind === 'agent');
      if (!s.open || !B.visible()) view.unread((unread += Math.min(f.unread, answers.length)));
      if (answers.length) events.emit('message', { text: answers[answers.length - 1].text, author: answers[answers.length - 1].author });
      markFollowUp();
    },
    invitation_withdrawn(f) {
      if (invitation && invitation.invitation_id === f.invitation_id) hideInvitation();
    },
    error(f) {
      const ref = String(f.ref || '');
      if (ref.startsWith('m:')) {
        const id = ref.slice(2);
        if (f.code === 'rate_limited' || f.code === 'unavailable' || f.code === 'internal') {
          sentNow.delete(id); // keep it; try again shortly
          setTimeout(flush, 5000);
        } else if (s.outbox.drop(id)) list.fail(id);
      } else if (ref === 'start') {
        startSent = false;
        sentNow = new Set(); // the first line, if it went with the start, is sent again
        list.note(B.t('error'));
      } else if (ref === 'offline' && s.offlineFail) {
        s.offlineFail(B.t('error'));
      } else if (ref === 'tx') {
        mailer.frame(f);
      } else if (ref !== 'hello') {
        // (hello: an expired token or a bad identity; the server goes on with a new visitor)
        console.warn('Beckon:', f.code, f.message);
      }
    },
  };

  const setConversation = (f) => {
    s.conv = Object.assign(s.conv && s.conv.id === f.id ? s.conv : {}, f);
    signals.queue(s.conv);
    if (f.status !== 'closed') {
      stored.conv = f.id;
      s.survey = null;
      s.outbox.assign(f.id);
    }
    persist();
    refresh();
  };

  const closed = (f, announce) => {
    if (stored.conv === f.conversation_id) stored.conv = null;
    persist();
    if (s.conv && s.conv.id === f.conversation_id) s.conv.status = 'closed';
    signals.queue(s.conv);
    if (announce) {
      list.note(B.t('ended'));
      mailer.offer(f.conversation_id);
    }
    for (const item of s.outbox.items().filter((i) => i.conv === f.conversation_id)) {
      s.outbox.drop(item.id);
      list.fail(item.id);
    }
    if (f.survey && f.survey.length && s.conv) s.survey = { conv: f.conversation_id, kinds: f.survey };
    view.typing(null);
    events.emit('chat_closed', { id: f.conversation_id, by: f.by });
    refresh();
  };

  const forget = () => {
    stored.conv = null;
    s.conv = null;
    maxSeq = 0;
    list.clear();
  };

  // -- what the visitor does -------------------------------------------------------------
  /** Send what the outbox holds; open a conversation first if there is none. */
  const flush = () => {
    if (!s.welcomed) return;
    const items = s.outbox.items();
    if (!items.length) return;
    if (!s.conv || s.conv.status === 'closed') {
      if (!startSent) {
        startSent = true;
        // chat_start is idempotent: the server returns the visitor's open conversation.
        const inv = invitation && invitation.display && invitation;
        if (inv) invitation = null;
        // The first line goes with the start, so the chat reaches the agents with it.
        const lead = (items[0].conv || (items[0].att && items[0].att.length)) ? null : items[0];
        if (lead) sentNow.add(lead.id);
        const first = lead ? { text: lead.text, client_msg_id: lead.id } : {};
        send(Object.assign(inv ? { type: 'invitation_accept', ref: 'start', invitation_id: inv.invitation_id } : { type: 'chat_start', ref: 'start', prechat: s.prechat || undefined }, first));
      }
      return;
    }
    for (const item of items) {
      if (sentNow.has(item.id)) continue;
      sentNow.add(item.id);
      send({ type: 'message', ref: 'm:' + item.id, conversation_id: item.conv || s.conv.id, client_msg_id: item.id, text: item.text, attachments: item.att });
    }
  };

  const say = (text, att) => {
    if (s.conv && s.conv.status === 'closed') newChat();
    const item = s.outbox.add(text, s.conv ? s.conv.id : null, att);
    list.addPending(item);
    setTyping(false);
    flush();
  };

  const newChat = () => {
    s.conv = null;
    s.survey = null;
    refresh();
  };

  const setTyping = (on) => {
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(() => setTyping(false), 3000);
    if (on === typingOn || !s.conv || s.conv.status === 'closed') return;
    if (send({ type: 'typing', conversation_id: s.conv.id, on })) typingOn = on;
  };

  /** Tell the agent what the visitor has seen: only while the window is open and visible. */
  const markRead = () => {
    if (!s.open || !B.visible() || !s.conv || maxSeq <= readSent) return;
    if (send({ type: 'read', conversation_id: s.conv.id, seq: maxSeq })) readSent = maxSeq;
  };

  /** The follow-up answer on screen has been seen: only while the window is open and visible. */
  const markFollowUp = () => {
    if (!followUp || !s.open || !B.visible()) return;
    if (send({ type: 'follow_up_read', conversation_id: followUp.conversation_id, seq: followUp.seq })) followUp = null;
  };

  // Open across reloads and navigations in this tab, so a chat in progress stays in view.
  const openStore = B.store('sessionStorage', 'beckon:' + site + ':open');
  const open = (on, restoring) => {
    if (s.open === on) return;
    if (on && card) return acceptInvitation(); // opening over the card answers it
    if (!on && asked && invitation) hideInvitation(true); // closed unanswered: dismissed
    s.open = on;
    openStore.set(on);
    view.open(on, !restoring); // a page load does not steal focus
    if (on) {
      unread = 0;
      view.unread(0);
      markRead();
      markFollowUp();
    }
    events.emit(on ? 'open' : 'close');
  };
  document.addEventListener('visibilitychange', () => {
    markRead();
    markFollowUp();
    if (B.visible()) showInvitation();
  });

  // -- invitations: `invitation_shown` only once the card is really on screen -------------
  const showInvitation = () => {
    if (!invitation || card || s.open || !B.visible()) return;
    send({ type: 'invitation_shown', invitation_id: invitation.invitation_id });
    events.emit('invitation', { text: invitation.text });
    // display "chat": the message waits in the open chat; the visitor's answer accepts it.
    if ((asked = invitation.display)) return list.earlier([{ author: { name: (invitation.agent || {}).name }, text: invitation.text }]), open(true);
    card = B.invitationCard(view.wrap, invitation, () => acceptInvitation(), () => hideInvitation(true));
  };
  const hideInvitation = (dismissed) => {
    if (dismissed && invitation) send({ type: 'invitation_dismiss', invitation_id: invitation.invitation_id });
    if (card) card.remove();
    card = invitation = null;
  };
  const acceptInvitation = () => {
    const inv = invitation;
    hideInvitation();
    // (The server opens the transcript with the invitation's words, said by its persona.)
    send({ type: 'invitation_accept', invitation_id: inv.invitation_id });
    open(true);
  };

  // -- behaviour: nothing leaves before consent when the site requires it ----------------
  // The page view held back for want of consent is sent once consent is given (rules on
  // the page must see it); everything else not consented to is dropped, not kept.
  let heldView = null;
  const allowed = () => !(s.consent === false || (s.cfg.consent_required && s.consent !== true));
  /** Send (or queue) a behaviour frame; false when consent holds it back. */
  const behave = (frame) => {
    if (!allowed()) {
      if (frame.type === 'page_view') heldView = frame;
      return false;
    }
    if (!send(frame) && behaviour.length < 50) behaviour.push(frame);
    return true;
  };
  const signals = B.later('signals', ['page', 'queue', 'errorPage', 'formError', 'noResults'], (event, props) => behave({ type: 'track', event, props }), allowed, 'beckon:' + site);
  const tracker = B.tracking(behave, signals.page);
  const mailer = B.later('mailer', ['offer', 'frame'], list, send, () => s.cfg);

  const chat = {
    s, view, list, send, say, open, newChat, setTyping, behave, flush, signals, servers, events,
    start() {
      view.look(s.cfg);
      for (const item of s.outbox.items()) list.addPending(item);
      refresh();
      if (openStore.get()) open(true, true);
      conn.start();
    },
    restart: () => conn.restart(),
    consent(given) {
      s.consent = !!given;
      if (given && heldView) behave(heldView);
      heldView = null;
    },
    // "End chat" asks first (`end()`, panels.js shows the question); the answer is
    // `end(true)` (end it) or `end(false)` (keep chatting).
    end(sure) {
      s.ending = sure === undefined && !!s.conv && s.conv.status !== 'closed';
      if (sure && s.conv && s.conv.status !== 'closed') send({ type: 'close', conversation_id: s.conv.id });
      refresh();
      view.focusPanel();
    },
    transcript() {
      const blob = new Blob([list.text() + '\n'], { type: 'text/plain;charset=utf-8' });
      const link = B.el('a', { href: URL.createObjectURL(blob), download: 'chat-transcript.txt' });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    },
  };
  const panels = B.panels(chat);
  chat.files = B.later('files', ['add'], chat); // widget/more/files.js
  return chat;
};

/** A short beep for a new agent message (WebAudio; silent until the page allows audio). */
B.beep = () => {
  try {
    const ctx = (B.audio = B.audio || new AudioContext());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.25);
  } catch (err) {
    // no audio here
  }
};
