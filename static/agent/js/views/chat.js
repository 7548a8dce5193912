'use strict';
// The open chat: header with actions, the seq-ordered transcript (stored messages, then
// this console's pending/failed ones), the visitor's typing indicator, and the composer
// (Enter sends, Shift+Enter new line, "/" searches canned replies, internal-note toggle).

import {$, h, linkify, timeOf, dateTimeOf, visitorLabel} from '../dom.js';
import {attachmentList} from './attachments.js';
import {UploadTray} from './uploads.js';
import {searchCanned, fillPlaceholders, placeholderContext} from '../canned.js';
import {initials} from './inbox.js';
import {openTransfer, canTransfer, NOBODY_TAKES} from './transfer.js';
import {avatarOf} from '../avatars.js';
import {emojiButton} from '../emoji.js';
import {transcriptButton} from './transcript_mail.js';

const TYPING_IDLE_MS = 4000; // stop "typing" this long after the last keystroke
const TYPING_REPEAT_MS = 3000; // re-announce typing while the agent keeps typing
const TYPING_SHOWN_MS = 8000; // hide the visitor's indicator if no update comes
export const MAX_CHARS = 4000; // as the server's (server/wire/fields.py MAX_TEXT_CHARS)
const COUNT_FROM = 3500; // the counter shows from here on

export function mountChat(ctl) {
  const pane = $('chat-pane');
  const ui = buildPane(ctl);
  pane.replaceChildren(ui.empty, ui.root);
  let unsubscribe = [];
  let current = null;

  const show = (id) => {
    unsubscribe.forEach((off) => off());
    unsubscribe = [];
    current = id;
    ui.setChat(id);
    if (!id) return;
    unsubscribe.push(ctl.state.on(`chat:${id}`, () => ui.render()));
    unsubscribe.push(ctl.state.on(`typing:${id}`, () => ui.renderTyping()));
  };
  ctl.state.on('active', (id) => {
    if (id !== current) show(id);
  });
  ctl.on('outbox', (convId) => {
    if (convId === current) ui.render();
  });
  // Replies changed in another console: an open picker shows the new list.
  ctl.on('canned', () => ui.refreshCanned());
  // The typing indicator expires by itself if the "off" frame never comes.
  setInterval(() => ui.renderTyping(), 1000);
  // Colleagues come online and fill up without telling this console: look again.
  setInterval(() => ui.checkTransfer(), 5000);
  show(ctl.state.activeId);
  return ui;
}

function buildPane(ctl) {
  const {state} = ctl;
  let chatId = null;
  let typingSentAt = 0;
  let typingTimer = null;
  const notes = new Map(); // chat id → internal-note mode
  const canned = {open: false, items: [], index: 0, start: 0, available: true};

  const title = h('h2', {class: 'chat-title'});
  const subtitle = h('div', {class: 'chat-sub muted'});
  const avatar = h('span', {class: 'avatar avatar-lg', 'aria-hidden': 'true'});
  const transferBtn = h('button', {type: 'button', class: 'btn', text: 'Transfer', onclick: () => openTransfer(ctl, chatId)});
  const closeBtn = h('button', {type: 'button', class: 'btn btn-danger-ghost', text: 'Close chat', onclick: () => confirmClose()});
  const mailBtn = transcriptButton(ctl, () => chatId, {id: 'chat-transcript-mail'});
  const header = h('header', {class: 'chat-header'}, avatar, h('div', {class: 'chat-heading'}, title, subtitle), h('div', {class: 'chat-actions'}, mailBtn, transferBtn, closeBtn));
  const transcript = h('ol', {class: 'transcript', role: 'log', 'aria-live': 'polite', 'aria-label': 'Transcript'});
  const typing = h('div', {class: 'typing', 'aria-live': 'polite'});
  const endText = h('span');
  const endbar = h('div', {class: 'endbar', hidden: true}, endText, h('button', {type: 'button', class: 'btn btn-sm', text: 'Dismiss', onclick: () => ctl.dismiss(chatId)}));

  const popup = h('ul', {class: 'canned-popup', role: 'listbox', id: 'canned-popup', 'aria-label': 'Canned replies', hidden: true});
  const input = h('textarea', {
    class: 'composer-input',
    rows: '3',
    id: 'composer-input',
    'aria-label': 'Message',
    placeholder: 'Type a reply. Enter sends, Shift+Enter adds a line, / for canned replies',
    'aria-autocomplete': 'list',
    'aria-controls': 'canned-popup',
    'aria-keyshortcuts': 'Alt+C',
  });
  const noteToggle = h('input', {type: 'checkbox', id: 'note-toggle', 'aria-keyshortcuts': 'Alt+I'});
  const noteLabel = h('label', {class: 'note-toggle', for: 'note-toggle'}, noteToggle, h('span', {text: 'Internal note'}));
  const sendBtn = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Send'});
  const hint = h('span', {class: 'composer-hint muted'});
  const uploads = new UploadTray(() => ctl.api.csrf);
  // The limit is shown and enforced here rather than cut by maxlength: a long paste stays
  // whole to be shortened, and the counter says by how much.
  const counter = h('span', {class: 'composer-count', id: 'composer-count', 'aria-live': 'polite'});
  const emoji = emojiButton(input, null);
  const composer = h('form', {class: 'composer', 'aria-label': 'Reply'}, popup, uploads.root, input, h('div', {class: 'composer-bar'}, noteLabel, hint, counter, emoji.button, uploads.button, uploads.picker, sendBtn));
  emoji.host(composer);
  uploads.listen(composer);

  const root = h('div', {class: 'chat', hidden: true}, header, transcript, typing, endbar, composer);
  const empty = h(
    'div',
    {class: 'chat-empty'},
    h('div', {class: 'chat-empty-art', 'aria-hidden': 'true'}),
    h('h2', {text: 'No chat selected'}),
    h('p', {class: 'muted', text: 'Accept a visitor from the queue, or pick one of your chats.'}),
  );

  // -- composer behaviour ------------------------------------------------------------
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  input.addEventListener('keydown', (e) => {
    if (canned.open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = canned.items.length;
        if (n) canned.index = (canned.index + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        renderPopup();
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && canned.items.length) {
        e.preventDefault();
        insertCanned(canned.items[canned.index]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        closePopup();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  input.addEventListener('input', () => {
    countChars();
    if (!chatId) return;
    ctl.drafts.set(chatId, input.value);
    updateCanned();
    announceTyping();
  });
  input.addEventListener('blur', () => setTimeout(closePopup, 150));
  noteToggle.addEventListener('change', () => {
    notes.set(chatId, noteToggle.checked);
    applyNoteMode();
    // Never leave the visitor seeing "typing…" for what becomes a private note.
    if (noteToggle.checked) stopTyping();
    input.focus();
  });

  function applyNoteMode() {
    const on = Boolean(notes.get(chatId));
    noteToggle.checked = on;
    composer.classList.toggle('composer-note', on);
    input.placeholder = on ? 'Write an internal note. Only agents see it.' : 'Type a reply. Enter sends, Shift+Enter adds a line, / for canned replies';
    sendBtn.textContent = on ? 'Add note' : 'Send';
    hint.textContent = on ? 'Visible to agents only' : '';
  }

  function countChars() {
    const n = input.value.trim().length;
    const over = n > MAX_CHARS;
    counter.textContent = over ? `${n.toLocaleString('en')} / ${MAX_CHARS.toLocaleString('en')}: too long, shorten it to send` : n > COUNT_FROM ? `${n.toLocaleString('en')} / ${MAX_CHARS.toLocaleString('en')}` : '';
    counter.classList.toggle('over', over);
    sendBtn.disabled = over;
    input.setAttribute('aria-invalid', String(over));
    if (over) input.setAttribute('aria-describedby', 'composer-count');
    else input.removeAttribute('aria-describedby');
    return !over;
  }

  function send() {
    const typed = input.value.trim();
    if (!chatId || uploads.busy || !countChars()) return;
    const chat = state.chats.get(chatId);
    if (!chat || chat.status !== 'active') return;
    const files = uploads.take();
    // A message needs text: files sent alone are named by it.
    const text = typed || files.map((f) => f.name).join(', ');
    if (!text) return;
    closePopup();
    stopTyping();
    ctl.send(chatId, text, Boolean(notes.get(chatId)), files.map((f) => f.id));
    input.value = '';
    ctl.drafts.set(chatId, '');
    countChars();
    input.focus();
  }

  function announceTyping() {
    if (notes.get(chatId) || !input.value) {
      if (!input.value) stopTyping();
      return;
    }
    const now = Date.now();
    if (now - typingSentAt > TYPING_REPEAT_MS) {
      typingSentAt = now;
      ctl.typing(chatId, true);
    }
    clearTimeout(typingTimer);
    const id = chatId;
    typingTimer = setTimeout(() => {
      typingSentAt = 0;
      ctl.typing(id, false);
    }, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSentAt && chatId) ctl.typing(chatId, false);
    typingSentAt = 0;
  }

  // -- canned replies ----------------------------------------------------------------
  async function updateCanned() {
    const caret = input.selectionStart;
    const before = input.value.slice(0, caret);
    const match = before.match(/(^|\s)\/([^\s/]*)$/);
    if (!match) {
      closePopup();
      return;
    }
    const chat = state.chats.get(chatId);
    if (!chat) return;
    canned.start = caret - match[2].length - 1;
    const {available, items, error} = await ctl.canned.load(chat.site_id);
    canned.available = available;
    canned.error = error;
    canned.items = searchCanned(items, match[2]);
    canned.index = 0;
    canned.open = true;
    renderPopup();
  }

  function renderPopup() {
    popup.hidden = !canned.open;
    input.setAttribute('aria-expanded', canned.open ? 'true' : 'false');
    if (!canned.open) return;
    if (!canned.available) {
      popup.replaceChildren(h('li', {class: 'canned-empty', text: canned.error || 'Canned replies are not available on this server.'}));
      return;
    }
    if (!canned.items.length) {
      popup.replaceChildren(h('li', {class: 'canned-empty', text: 'No canned reply matches.'}));
      return;
    }
    popup.replaceChildren(
      ...canned.items.map((item, i) =>
        h(
          'li',
          {
            role: 'option',
            id: `canned-${i}`,
            class: `canned-item${i === canned.index ? ' selected' : ''}`,
            'aria-selected': i === canned.index ? 'true' : 'false',
            onmousedown: (e) => {
              e.preventDefault(); // keep focus in the textarea
              insertCanned(item);
            },
          },
          h('span', {class: 'canned-shortcut', text: `/${item.shortcut}`}),
          h('span', {class: 'canned-text', text: item.text}),
          item.scope === 'agent' ? h('span', {class: 'chip chip-muted', text: 'mine'}) : null,
        ),
      ),
    );
    input.setAttribute('aria-activedescendant', `canned-${canned.index}`);
  }

  function closePopup() {
    canned.open = false;
    popup.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function insertCanned(item) {
    const chat = state.chats.get(chatId);
    const text = fillPlaceholders(item.text, placeholderContext(chat, state.me, state.sites.get(chat.site_id), ctl.visitorDetails(chat)));
    const caret = input.selectionStart;
    input.value = input.value.slice(0, canned.start) + text + input.value.slice(caret);
    const at = canned.start + text.length;
    input.setSelectionRange(at, at);
    ctl.drafts.set(chatId, input.value);
    countChars();
    closePopup();
    input.focus();
  }

  // -- close -------------------------------------------------------------------------
  function confirmClose() {
    const chat = state.chats.get(chatId);
    if (!chat) return;
    if (closeBtn.dataset.confirm === chatId) {
      delete closeBtn.dataset.confirm;
      closeBtn.textContent = 'Close chat';
      ctl.close(chatId);
      return;
    }
    // A second click confirms: closing ends the chat for the visitor too.
    closeBtn.dataset.confirm = chatId;
    closeBtn.textContent = 'Click again to close';
    setTimeout(() => {
      if (closeBtn.dataset.confirm) {
        delete closeBtn.dataset.confirm;
        closeBtn.textContent = 'Close chat';
      }
    }, 4000);
  }

  // -- rendering ---------------------------------------------------------------------
  function setChat(id) {
    stopTyping();
    closePopup();
    chatId = id;
    uploads.setChat(id);
    root.hidden = !id;
    empty.hidden = Boolean(id);
    if (!id) return;
    input.value = ctl.drafts.get(id);
    emoji.close();
    countChars();
    applyNoteMode();
    render(true);
  }

  function render(jump = false) {
    const chat = chatId && state.chats.get(chatId);
    if (!chat) return;
    const label = visitorLabel(chat.visitor_id, chat.visitor);
    title.textContent = label;
    avatar.textContent = initials(label);
    const sub = [];
    if (state.sites.size > 1) sub.push(state.siteName(chat.site_id));
    if (chat.department) sub.push(chat.department);
    if (chat.created_ts) sub.push(`Started ${dateTimeOf(chat.created_ts)}`);
    subtitle.textContent = sub.join(' · ');

    const live = chat.status === 'active';
    transferBtn.hidden = !live;
    if (live) checkTransfer();
    closeBtn.hidden = !live;
    composer.hidden = !live;
    endbar.hidden = live;
    if (chat.status === 'closed') {
      endText.textContent = chat.closedBy === 'visitor' ? 'The visitor ended this chat.' : chat.closedBy === 'agent' ? 'You closed this chat.' : 'This chat is closed.';
    } else if (chat.status === 'transferred') {
      endText.textContent = `Transferred to ${chat.transferredTo}.`;
    } else if (!live) {
      endText.textContent = 'This chat is waiting in the queue.';
    }

    const nearBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
    const messages = state.transcript(chatId);
    const visitorName = chat.visitor && chat.visitor.name ? String(chat.visitor.name) : '';
    const lastAgentSeen = [...messages].reverse().find((m) => m.author.kind === 'agent' && !m.internal && m.seq <= chat.visitorReadSeq);
    const rows = [];
    let lastDay = '';
    for (const m of messages) {
      const day = new Date(m.ts).toDateString();
      if (day !== lastDay) {
        rows.push(h('li', {class: 'day', text: new Date(m.ts).toLocaleDateString(undefined, {weekday: 'short', month: 'short', day: 'numeric'})}));
        lastDay = day;
      }
      rows.push(messageRow(m, m === lastAgentSeen ? 'Seen' : '', visitorName));
    }
    for (const item of ctl.outbox.forConversation(chatId)) rows.push(pendingRow(ctl, item));
    transcript.replaceChildren(...rows);
    if (jump || nearBottom) transcript.scrollTop = transcript.scrollHeight;
    renderTyping();
  }

  /** Transfer is disabled, saying why, while nobody could take the open chat. */
  async function checkTransfer() {
    const chat = chatId && state.chats.get(chatId);
    if (!chat || chat.status !== 'active' || document.hidden) return;
    const shown = chatId;
    const able = await canTransfer(ctl, chat.site_id);
    if (shown !== chatId) return;
    transferBtn.disabled = !able;
    if (able) transferBtn.removeAttribute('title');
    else transferBtn.title = NOBODY_TAKES;
  }

  function renderTyping() {
    const chat = chatId && state.chats.get(chatId);
    const on = chat && chat.typing && Date.now() - chat.typingAt < TYPING_SHOWN_MS && chat.status === 'active';
    typing.textContent = on ? `${visitorLabel(chat.visitor_id, chat.visitor)} is typing…` : '';
    typing.classList.toggle('on', Boolean(on));
  }

  return {
    root,
    empty,
    setChat,
    render,
    renderTyping,
    checkTransfer,
    refreshCanned: () => {
      if (canned.open) updateCanned();
    },
    focusComposer: () => input.focus(),
    toggleNote: () => {
      if (!chatId) return;
      noteToggle.checked = !noteToggle.checked;
      noteToggle.dispatchEvent(new Event('change'));
    },
  };
}

/** One stored message; `visitorName` (from the visitor brief) labels visitor lines. */
export function messageRow(m, status = '', visitorName = '') {
  const kind = m.internal ? 'note' : m.author.kind;
  const author = m.internal ? `${m.author.name || 'Agent'} · internal note` : m.author.kind === 'visitor' ? m.author.name || visitorName || 'Visitor' : m.author.name || (m.author.kind === 'system' ? 'System' : 'Agent');
  const face = m.author.kind === 'agent' && !m.internal ? avatarOf(m.author.id) : null;
  return h(
    'li',
    {class: `msg msg-${kind}`, dataset: {seq: String(m.seq), kind}},
    h('div', {class: 'msg-meta'}, m.internal ? h('span', {class: 'note-icon', 'aria-hidden': 'true'}) : null, face ? h('img', {class: 'msg-avatar', src: face, alt: ''}) : null, h('span', {class: 'msg-author', text: author}), h('time', {datetime: new Date(m.ts).toISOString(), text: timeOf(m.ts)})),
    h('div', {class: 'msg-text'}, linkify(m.text)),
    attachmentList(m.conversation_id, m.attachments),
    status ? h('div', {class: 'msg-status', text: status}) : null,
  );
}

function pendingRow(ctl, item) {
  const failed = item.state === 'failed';
  const kind = item.internal ? 'note' : 'agent';
  return h(
    'li',
    {class: `msg msg-${kind} msg-pending${failed ? ' msg-failed' : ''}`, dataset: {clientMsgId: item.client_msg_id, kind}},
    h('div', {class: 'msg-meta'}, item.internal ? h('span', {class: 'note-icon', 'aria-hidden': 'true'}) : null, h('span', {class: 'msg-author', text: item.internal ? 'You · internal note' : 'You'}), h('time', {text: timeOf(item.ts)})),
    h('div', {class: 'msg-text'}, linkify(item.text)),
    failed
      ? h(
          'div',
          {class: 'msg-status msg-status-error'},
          h('span', {text: `Not sent: ${item.error || 'error'}`}),
          h('button', {type: 'button', class: 'link-btn', text: 'Retry', onclick: () => ctl.retry(item.client_msg_id)}),
          h('button', {type: 'button', class: 'link-btn', text: 'Discard', onclick: () => ctl.discard(item.client_msg_id)}),
        )
      : h('div', {class: 'msg-status', text: 'Sending…'}),
  );
}
