'use strict';
// History: GET /sites/{id}/conversations (status, agent_id, from_ts, to_ts, q, cursor)
// and a read-only transcript from GET /conversations/{id} + …/messages.

import {h, $, dateTimeOf, duration, visitorLabel} from '../dom.js';
import {messageRow} from './chat.js';

const DAY_MS = 86400000;

export function mountHistory(ctl) {
  const view = $('view-history');
  const site = h('select', {id: 'history-site', 'aria-label': 'Site'});
  const q = h('input', {type: 'search', id: 'history-q', placeholder: 'Search transcripts', 'aria-label': 'Search transcripts'});
  const status = h('select', {id: 'history-status', 'aria-label': 'Status'}, ...[['', 'Any status'], ['closed', 'Closed'], ['active', 'Active'], ['queued', 'Queued']].map(([v, t]) => h('option', {value: v, text: t})));
  const agent = h('select', {id: 'history-agent', 'aria-label': 'Agent'}, h('option', {value: '', text: 'Any agent'}), h('option', {value: 'me', text: 'Me'}));
  const from = h('input', {type: 'date', id: 'history-from', 'aria-label': 'From date'});
  const to = h('input', {type: 'date', id: 'history-to', 'aria-label': 'To date'});
  const form = h('form', {class: 'filters', role: 'search'}, q, site, status, agent, h('label', {class: 'inline-field'}, h('span', {text: 'From'}), from), h('label', {class: 'inline-field'}, h('span', {text: 'To'}), to), h('button', {type: 'submit', class: 'btn btn-primary', text: 'Search'}));
  const note = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const tbody = h('tbody');
  const more = h('button', {type: 'button', class: 'btn', text: 'Load more', hidden: true});
  const list = h(
    'div',
    {class: 'history-list'},
    h('table', {class: 'table table-click', 'aria-label': 'Conversations'}, h('thead', {}, h('tr', {}, ...['Started', 'Visitor', 'Status', 'Agent', 'Length'].map((t) => h('th', {scope: 'col', text: t})))), tbody),
    h('div', {class: 'more'}, more),
  );
  const reader = h('section', {class: 'history-reader', 'aria-label': 'Transcript'});
  view.replaceChildren(h('div', {class: 'view-head'}, h('h1', {text: 'History'})), form, note, h('div', {class: 'history-body'}, list, reader));
  let cursor = null;
  let openId = null;
  let loaded = false;

  const params = () => {
    const p = {status: status.value, q: q.value.trim(), limit: 50};
    if (agent.value) p.agent_id = agent.value === 'me' ? ctl.state.me.id : agent.value;
    if (from.value) p.from_ts = new Date(`${from.value}T00:00:00`).getTime();
    if (to.value) p.to_ts = new Date(`${to.value}T00:00:00`).getTime() + DAY_MS;
    return p;
  };

  const load = async (append = false) => {
    note.hidden = true;
    if (!site.value) return;
    const query = params();
    if (append && cursor) query.cursor = cursor;
    let data;
    try {
      data = await ctl.api.get(`/sites/${encodeURIComponent(site.value)}/conversations`, query);
    } catch (err) {
      note.textContent = err.status === 403 ? 'Your account cannot read transcripts.' : `Could not load history: ${err.message}`;
      note.hidden = false;
      return;
    }
    cursor = data.next_cursor;
    more.hidden = !cursor;
    const rows = data.items.map((c) =>
      h(
        'tr',
        {tabindex: '0', class: c.id === openId ? 'selected' : '', dataset: {conversation: c.id}, onclick: () => openTranscript(c.id), onkeydown: (e) => e.key === 'Enter' && openTranscript(c.id)},
        h('td', {text: dateTimeOf(c.created_ts)}),
        h('td', {text: visitorLabel(c.visitor_id, c.visitor)}),
        h('td', {}, h('span', {class: `chip chip-${c.status}`, text: c.status})),
        h('td', {text: ctl.agentName(c.agent_id)}),
        h('td', {text: c.closed_ts ? duration(c.closed_ts - c.created_ts) : ''}),
      ),
    );
    if (!append && !rows.length) rows.push(h('tr', {}, h('td', {colspan: '5', class: 'empty', text: 'No conversations match.'})));
    if (append) tbody.append(...rows);
    else tbody.replaceChildren(...rows);
  };

  const openTranscript = async (id) => {
    openId = id;
    for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.conversation === id);
    reader.replaceChildren(h('p', {class: 'muted', text: 'Loading transcript…'}));
    try {
      const conv = await ctl.api.get(`/conversations/${encodeURIComponent(id)}`);
      const messages = [];
      let after = 0;
      for (;;) {
        const page = await ctl.api.get(`/conversations/${encodeURIComponent(id)}/messages`, {after_seq: after, limit: 200});
        messages.push(...page.items);
        if (!page.next_cursor || !page.items.length) break;
        after = page.items[page.items.length - 1].seq;
      }
      if (openId !== id) return;
      const facts = [ctl.state.siteName(conv.site_id), conv.department, conv.status, conv.agent_id ? `Agent: ${ctl.agentName(conv.agent_id)}` : null, conv.closed_by ? `Closed by ${conv.closed_by}` : null].filter(Boolean);
      reader.replaceChildren(
        h('header', {class: 'reader-head'}, h('h2', {text: `${visitorLabel(conv.visitor_id, conv.visitor)} · ${dateTimeOf(conv.created_ts)}`}), h('div', {class: 'muted small', text: facts.join(' · ')}), h('span', {class: 'chip chip-muted', text: 'Read-only'})),
        surveyPart(conv.surveys),
        messages.length ? h('ol', {class: 'transcript transcript-read', 'aria-label': 'Transcript'}, ...messages.map((m) => messageRow(m, '', conv.visitor && conv.visitor.name ? String(conv.visitor.name) : ''))) : h('p', {class: 'muted', text: 'No messages in this conversation.'}),
      );
    } catch (err) {
      if (openId !== id) return;
      reader.replaceChildren(h('p', {class: 'form-error', text: err.status === 404 ? 'This conversation does not exist or is not on your sites.' : `Could not load the transcript: ${err.message}`}));
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    cursor = null;
    load();
  });
  site.addEventListener('change', () => load());
  status.addEventListener('change', () => load());
  agent.addEventListener('change', () => load());
  more.addEventListener('click', () => load(true));

  return {
    async show(openConversation) {
      const chosen = site.value;
      site.replaceChildren(...[...ctl.state.sites.values()].map((s) => h('option', {value: s.id, text: s.name})));
      if (chosen && ctl.state.sites.has(chosen)) site.value = chosen;
      for (const s of ctl.state.sites.keys()) ctl.loadAgents(s).then(() => fillAgents());
      if (!loaded || !openConversation) {
        loaded = true;
        await load();
      }
      if (openConversation) openTranscript(openConversation);
      else if (!openId) reader.replaceChildren(h('p', {class: 'muted reader-empty', text: 'Select a conversation to read its transcript.'}));
    },
  };

  function fillAgents() {
    const chosen = agent.value;
    const options = [h('option', {value: '', text: 'Any agent'}), h('option', {value: 'me', text: 'Me'})];
    for (const a of ctl.knownAgents()) {
      if (a.id !== ctl.state.me.id) options.push(h('option', {value: a.id, text: a.display_name || a.email}));
    }
    agent.replaceChildren(...options);
    agent.value = chosen;
  }
}

const SURVEY = {
  csat: ['Satisfaction (CSAT)', 5],
  nps: ['Would recommend (NPS)', 10],
  ces: ['Ease (CES)', 7],
};

/** The visitor's survey answers for the reader (nothing from an older server). */
function surveyPart(answers) {
  if (!Array.isArray(answers)) return '';
  if (!answers.length) return h('p', {class: 'muted small reader-survey', text: 'No survey answered.'});
  const rows = [];
  for (const a of answers) {
    const known = SURVEY[a.kind];
    const label = a.kind === 'thumbs' ? 'Helpful' : known ? known[0] : a.kind;
    const score = a.kind === 'thumbs' ? (a.score ? '👍 Yes' : '👎 No') : known ? `${a.score} / ${known[1]}` : String(a.score);
    rows.push(h('dt', {text: label}), h('dd', {text: score}));
    if (a.comment) rows.push(h('dt', {class: 'sr-only', text: `${label} comment`}), h('dd', {class: 'survey-comment', text: `“${a.comment}”`}));
  }
  return h('section', {class: 'reader-survey', 'aria-label': 'Survey answers'}, h('h3', {text: 'Survey'}), h('dl', {class: 'survey-answers'}, ...rows));
}
