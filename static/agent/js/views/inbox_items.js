'use strict';
// The inbox: offline messages, missed chats and chats the visitor left unanswered
// (GET /sites/{id}/inbox with status, department, agent_id, q, cursor), one item's thread
// (GET /inbox/{id}), assign / mark done (PATCH /inbox/{id}) and the answer
// (POST /inbox/{id}/reply), which the widget shows when the visitor comes back.
// The navigation's count is GET /inbox/counts (`open`: items not done). The agent may opt
// in to an email about new items (PUT /me/mail-preferences).

import {h, $, dateTimeOf} from '../dom.js';
import {messageRow} from './chat.js';
import {transcriptButton} from './transcript_mail.js';

const KINDS = {offline_message: 'Offline message', missed: 'Missed chat', unanswered: 'Left unanswered'};
const STATUSES = [['', 'Not done'], ['new', 'New'], ['assigned', 'Assigned'], ['waiting', 'Waiting for visitor'], ['done', 'Done'], ['all', 'Any status']];
const COUNT_EVERY_MS = 30000;

export function mountInboxItems(ctl) {
  const view = $('view-inbox');
  const site = h('select', {id: 'inbox-site', 'aria-label': 'Site'});
  const q = h('input', {type: 'search', id: 'inbox-q', placeholder: 'Search messages, names, emails', 'aria-label': 'Search the inbox'});
  const status = h('select', {id: 'inbox-status', 'aria-label': 'Status'}, ...STATUSES.map(([v, t]) => h('option', {value: v, text: t})));
  const department = h('select', {id: 'inbox-department', 'aria-label': 'Department'});
  const agent = h('select', {id: 'inbox-agent', 'aria-label': 'Agent'}, h('option', {value: '', text: 'Anyone'}), h('option', {value: 'me', text: 'Me'}));
  const form = h('form', {class: 'filters', role: 'search'}, q, site, status, department, agent, h('button', {type: 'submit', class: 'btn btn-primary', text: 'Search'}));
  const note = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const tbody = h('tbody');
  const more = h('button', {type: 'button', class: 'btn', text: 'Load more', hidden: true});
  const list = h('div', {class: 'history-list'}, h('table', {class: 'table table-click', 'aria-label': 'Inbox items'}, h('thead', {}, h('tr', {}, ...['Received', 'From', 'Kind', 'Status', 'Agent', 'Message'].map((t) => h('th', {scope: 'col', text: t})))), tbody), h('div', {class: 'more'}, more));
  const reader = h('section', {class: 'history-reader', id: 'inbox-reader', 'aria-label': 'Inbox item'});
  const alerts = alertToggle(ctl);
  view.replaceChildren(h('div', {class: 'view-head'}, h('h1', {text: 'Inbox'}), alerts.root), form, note, h('div', {class: 'history-body'}, list, reader));
  let cursor = null;
  let openId = null;
  const drafts = new Map(); // item id -> the answer being typed

  const who = (item) => [item.name, item.email].filter(Boolean).join(' · ') || 'Visitor';

  const load = async (append = false) => {
    note.hidden = true;
    if (!site.value) return;
    const query = {q: q.value.trim(), department: department.value, agent_id: agent.value, limit: 50};
    if (status.value && status.value !== 'all') query.status = status.value;
    if (append && cursor) query.cursor = cursor;
    let data;
    try {
      data = await ctl.api.get(`/sites/${encodeURIComponent(site.value)}/inbox`, query);
    } catch (err) {
      note.textContent = `Could not load the inbox: ${err.message}`;
      note.hidden = false;
      return;
    }
    cursor = data.next_cursor;
    more.hidden = !cursor;
    // "Not done": everything but done, filtered here (the API takes one status).
    const items = status.value ? data.items : data.items.filter((i) => i.status !== 'done');
    const rows = items.map((i) =>
      h(
        'tr',
        {tabindex: '0', class: i.id === openId ? 'selected' : '', dataset: {item: i.id}, onclick: () => openItem(i.id), onkeydown: (e) => e.key === 'Enter' && openItem(i.id)},
        h('td', {text: dateTimeOf(i.created_ts)}),
        h('td', {title: i.email || '', text: i.name || i.email || 'Visitor'}),
        h('td', {text: KINDS[i.kind] || i.kind}),
        h('td', {}, h('span', {class: `chip chip-${i.status}`, text: i.status})),
        h('td', {text: i.agent_id ? ctl.agentName(i.agent_id) : ''}),
        h('td', {class: 'inbox-text', text: i.text.length > 80 ? `${i.text.slice(0, 80)}…` : i.text}),
      ),
    );
    if (!append && !rows.length) rows.push(h('tr', {}, h('td', {colspan: '6', class: 'empty', text: 'Nothing waiting here.'})));
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
  };

  const change = async (item, body) => {
    try {
      await ctl.api.request('PATCH', `/inbox/${encodeURIComponent(item.id)}`, body);
    } catch (err) {
      ctl.toast(`Could not change the item: ${err.message}`, 'error');
      return;
    }
    await Promise.all([load(), openItem(item.id), refreshCount(ctl)]);
  };

  const openItem = async (id) => {
    openId = id;
    for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.item === id);
    let item;
    try {
      item = await ctl.api.get(`/inbox/${encodeURIComponent(id)}`);
    } catch (err) {
      if (openId === id) reader.replaceChildren(h('p', {class: 'form-error', text: `Could not load the item: ${err.message}`}));
      return;
    }
    if (openId !== id) return;
    const thread = item.messages.length ? item.messages : [{seq: 0, author: {kind: 'visitor', name: item.name}, text: item.text, ts: item.created_ts}];
    const text = h('textarea', {id: 'inbox-reply-text', rows: '3', maxlength: '4000', 'aria-label': 'Your answer', placeholder: item.visitor_id ? 'Answer — shown in the widget when the visitor comes back' : 'Answer'});
    // The reader is redrawn after every change (assign, done, a reply): what the agent is
    // typing survives it.
    text.value = drafts.get(item.id) || '';
    text.addEventListener('input', () => drafts.set(item.id, text.value));
    const send = h('button', {type: 'submit', class: 'btn btn-primary', id: 'inbox-reply-send', text: 'Send answer'});
    const reply = h('form', {class: 'inbox-reply'}, text, send);
    reply.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      send.disabled = true;
      try {
        await ctl.api.post(`/inbox/${encodeURIComponent(item.id)}/reply`, {text: body});
        drafts.delete(item.id);
      } catch (err) {
        send.disabled = false;
        ctl.toast(`Could not send the answer: ${err.message}`, 'error');
        return;
      }
      await Promise.all([load(), openItem(item.id), refreshCount(ctl)]);
    });
    const assign = h('select', {id: 'inbox-assign', 'aria-label': 'Assign to'}, h('option', {value: '', text: 'Nobody'}), ...ctl.knownAgents().map((a) => h('option', {value: a.id, text: a.display_name || a.email})));
    assign.value = item.agent_id || '';
    assign.addEventListener('change', () => change(item, {agent_id: assign.value || null}));
    const facts = [ctl.state.siteName(item.site_id), item.department, KINDS[item.kind], item.status, item.email].filter(Boolean);
    const parts = [
      h('header', {class: 'reader-head'}, h('h2', {text: `${who(item)} · ${dateTimeOf(item.created_ts)}`}), h('div', {class: 'muted small', text: facts.join(' · ')})),
      h(
        'div',
        {class: 'inbox-actions'},
        item.agent_id === ctl.state.me.id ? null : h('button', {type: 'button', class: 'btn', id: 'inbox-take', text: 'Assign to me', onclick: () => change(item, {agent_id: 'me'})}),
        assign,
        item.conversation_id ? transcriptButton(ctl, () => item.conversation_id, {id: 'inbox-transcript'}) : null,
        item.status === 'done' ? h('button', {type: 'button', class: 'btn', id: 'inbox-reopen', text: 'Reopen', onclick: () => change(item, {status: item.agent_id ? 'assigned' : 'new'})}) : h('button', {type: 'button', class: 'btn', id: 'inbox-done', text: 'Mark done', onclick: () => change(item, {status: 'done'})}),
      ),
      h('ol', {class: 'transcript transcript-read', 'aria-label': 'Thread'}, ...thread.map((m) => messageRow(m, '', item.name || ''))),
      item.reply_seq && item.seen_seq >= item.reply_seq ? h('p', {class: 'muted small', id: 'inbox-seen', text: 'The visitor has seen the answer.'}) : null,
      reply,
    ];
    reader.replaceChildren(...parts.filter(Boolean)); // (replaceChildren would print a null)
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    cursor = null;
    load();
  });
  for (const control of [site, status, department, agent]) control.addEventListener('change', () => load());
  site.addEventListener('change', () => fillDepartments());
  more.addEventListener('click', () => load(true));
  refreshCount(ctl);
  setInterval(() => refreshCount(ctl), COUNT_EVERY_MS);

  function fillDepartments() {
    const s = ctl.state.sites.get(site.value);
    department.replaceChildren(h('option', {value: '', text: 'Any department'}), ...((s && s.departments) || []).map((d) => h('option', {value: d, text: d})));
  }

  return {
    async show() {
      const chosen = site.value;
      site.replaceChildren(...[...ctl.state.sites.values()].map((s) => h('option', {value: s.id, text: s.name})));
      if (chosen && ctl.state.sites.has(chosen)) site.value = chosen;
      fillDepartments();
      for (const s of ctl.state.sites.keys()) ctl.loadAgents(s);
      alerts.load();
      await load();
      if (!openId) reader.replaceChildren(h('p', {class: 'muted reader-empty', text: 'Select an item to read and answer it.'}));
      refreshCount(ctl);
    },
  };
}

/** "Email me new items": the agent's own choice (GET/PUT /me/mail-preferences), shown
 * only when the server sends email. */
function alertToggle(ctl) {
  const box = h('input', {type: 'checkbox', id: 'inbox-alerts'});
  const label = h('label', {class: 'note-toggle', for: 'inbox-alerts', hidden: true}, box, h('span', {text: 'Email me new items'}));
  box.addEventListener('change', async () => {
    const lang = (navigator.language || 'en').slice(0, 2).toLowerCase();
    const body = {inbox_email: box.checked, lang: ['en', 'hr', 'sl', 'sr', 'de', 'it', 'fr', 'es'].includes(lang) ? lang : 'en'};
    try {
      const saved = await ctl.api.request('PUT', '/me/mail-preferences', body);
      const minutes = Math.max(1, Math.round(saved.every_s / 60));
      ctl.toast(saved.inbox_email ? `You will get an email about new inbox items, at most one every ${minutes} min.` : 'No more inbox emails.');
    } catch (err) {
      box.checked = !box.checked;
      ctl.toast(`Could not save: ${err.message}`, 'error');
    }
  });
  return {
    root: label,
    async load() {
      try {
        const prefs = await ctl.api.get('/me/mail-preferences');
        box.checked = prefs.inbox_email;
        label.hidden = !prefs.available;
        label.title = `At most one email every ${Math.max(1, Math.round(prefs.every_s / 60))} min, listing what is new`;
      } catch {
        label.hidden = true; // a server without it
      }
    },
  };
}

/** The navigation's badge: items not done on the agent's sites. */
async function refreshCount(ctl) {
  const badge = $('nav-inbox-count');
  try {
    const counts = await ctl.api.get('/inbox/counts');
    badge.textContent = String(counts.open);
    badge.hidden = !counts.open;
    badge.title = `${counts.new} new, ${counts.mine} assigned to you`;
  } catch {
    badge.hidden = true; // a server without the inbox: no badge
  }
}
