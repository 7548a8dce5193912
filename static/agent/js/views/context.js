'use strict';
// Visitor context panel: what the conversation frame says, then whatever
// GET /sites/{site_id}/visitors/{visitor_id} and …/why provide. Every section is
// optional: a server without these endpoints gives a quiet "not available" line.

import {$, h, link, clock, dateTimeOf, duration, money, visitorLabel, safeUrl, timeOf} from '../dom.js';
import {initials, pageLabel} from './inbox.js';
import {exportSection} from './export.js';
import {banSection} from './ban.js';

export function mountContext(ctl) {
  const pane = $('context-pane');
  let current = null;
  const render = async () => {
    const id = ctl.state.activeId;
    const chat = id && ctl.state.chats.get(id);
    current = id;
    if (!chat) {
      pane.replaceChildren(h('div', {class: 'context-empty muted', text: 'Visitor details appear here.'}));
      return;
    }
    pane.replaceChildren(...header(ctl, chat, null), h('p', {class: 'muted small', text: 'Loading visitor details…'}));
    const [details, why] = await Promise.all([ctl.loadVisitor(chat), ctl.loadWhy(chat)]);
    if (current !== id) return;
    pane.replaceChildren(...header(ctl, chat, details.data), ...body(ctl, chat, details, why), banSection(ctl, chat) || '');
  };
  ctl.state.on('active', render);
  // The page trail, live: the server sends the whole trail whenever the visitor opens a page.
  ctl.on('visitor_page', (f) => {
    trails.set(f.conversation_id, Array.isArray(f.pages) ? f.pages : []);
    const list = f.conversation_id === ctl.state.activeId && pane.querySelector('.page-trail');
    if (list) list.replaceWith(pageTrail(trails.get(f.conversation_id)));
  });
  render();
  return {refresh: render};
}

// conversation id → the latest trail a `visitor_page` frame brought (newer than a cached read).
const trails = new Map();

/** This visit's pages, oldest first: title (a link), path and the time spent on each. */
function pageTrail(pages) {
  const items = pages.map((p, i) => {
    const next = pages[i + 1];
    const spent = !Number.isFinite(p.ts)
      ? null
      : next && Number.isFinite(next.ts)
        ? h('span', {class: 'trail-time', text: clock((next.ts - p.ts) / 1000)})
        : h('span', {class: 'trail-time js-since', dataset: {since: String(p.ts)}, text: clock((Date.now() - p.ts) / 1000)});
    const path = p.path || (safeUrl(p.url) ? safeUrl(p.url).pathname : '');
    return h(
      'li',
      {class: next ? 'trail-page' : 'trail-page trail-now', dataset: {url: String(p.url)}},
      h('div', {class: 'trail-title'}, pageLink(p)),
      h('div', {class: 'muted small'}, p.title && path ? `${path} · ` : '', spent, next ? '' : ' · now'),
    );
  });
  return h('ol', {class: 'page-trail', 'aria-label': 'Pages this visit'}, ...items);
}

function header(ctl, chat, data) {
  const v = {...(data || {}), ...(chat.visitor || {})};
  const label = visitorLabel(chat.visitor_id, v);
  const badges = [];
  if (v.identified) badges.push(h('span', {class: 'chip chip-ok', text: 'Identified', title: 'Identity verified by the site (user_hash)'}));
  if (v.returning) badges.push(h('span', {class: 'chip', text: 'Returning'}));
  return [
    h(
      'div',
      {class: 'context-head'},
      h('span', {class: 'avatar avatar-lg', 'aria-hidden': 'true', text: initials(label)}),
      h('div', {}, h('h2', {class: 'context-name', text: label}), v.email ? h('div', {class: 'muted small', text: String(v.email)}) : null, badges.length ? h('div', {class: 'chips'}, ...badges) : null),
    ),
  ];
}

function section(title, ...rows) {
  const content = rows.flat().filter(Boolean);
  if (!content.length) return null;
  return h('section', {class: 'context-section'}, h('h3', {text: title}), ...content);
}

function row(label, value) {
  if (value === undefined || value === null || value === '') return null;
  return h('div', {class: 'kv'}, h('span', {class: 'kv-key', text: label}), h('span', {class: 'kv-value'}, value instanceof Node ? value : String(value)));
}

/** "Croatia (HR)" for "HR"; the code alone where the browser has no names. */
function countryName(code) {
  if (typeof code !== 'string' || !/^[A-Z]{2}$/.test(code)) return null;
  try {
    return `${new Intl.DisplayNames([navigator.language || 'en'], {type: 'region'}).of(code)} (${code})`;
  } catch {
    return code;
  }
}

function pageLink(page) {
  if (!page || !page.url) return null;
  const url = safeUrl(page.url);
  return url ? link(url, pageLabel(page)) : String(page.url);
}

function body(ctl, chat, details, why) {
  const v = details.data || {};
  const out = [];
  if (!details.available) {
    out.push(h('p', {class: 'muted small', text: details.message || 'Visitor details are not available on this server.'}));
  }
  const page = v.page || (chat.visitor && chat.visitor.page);
  const since = page && (page.since_ts || page.ts);
  out.push(
    section(
      'Now',
      row('Page', pageLink(page)),
      since ? row('Time on page', h('span', {class: 'js-since', dataset: {since: String(since)}, text: clock((Date.now() - since) / 1000)})) : null,
      v.online === false ? row('Status', 'Left the site') : null,
      row('Cart', v.cart ? `${money(v.cart.value, v.cart.currency)}${Number.isInteger(v.cart.items) ? ` · ${v.cart.items} item${v.cart.items === 1 ? '' : 's'}` : ''}` : null),
    ),
  );
  // GET …/visitors/{id} nests this visit's facts under `visit`; older shapes were flat.
  const visit = v.visit && typeof v.visit === 'object' ? v.visit : {};
  const pages = trails.get(chat.id) || (Array.isArray(v.pages) ? v.pages : []);
  const landing = visit.landing_url ? {url: visit.landing_url} : null;
  out.push(
    section(
      'This visit',
      visit.started_ts ? row('On the site', h('span', {class: 'js-since', dataset: {since: String(visit.started_ts)}, text: clock((Date.now() - visit.started_ts) / 1000)})) : null,
      row('Page views', visit.page_views),
      row('Landing page', pageLink(landing)),
      pageTrail(pages),
    ),
  );
  const referrer = v.referrer || visit.referrer;
  const utmSource = v.utm || visit.utm;
  const utm = utmSource && typeof utmSource === 'object' ? Object.entries(utmSource).map(([k, val]) => row(`UTM ${k}`, val)) : [];
  const device = v.device && typeof v.device === 'object' ? [v.device.type, v.device.os, v.device.browser].filter(Boolean).join(' · ') : v.device;
  const loc = v.location && typeof v.location === 'object' ? [v.location.city, v.location.region, countryName(v.location.country)].filter(Boolean).join(', ') : v.location;
  out.push(
    section(
      'Visitor',
      row('Referrer', referrer ? (safeUrl(referrer) ? link(referrer, String(referrer)) : String(referrer)) : null),
      utm,
      row('Device', device),
      row('Language', v.lang),
      row('Time zone', v.tz),
      row('Location', loc),
      row('First seen', v.first_seen_ts ? dateTimeOf(v.first_seen_ts) : null),
      row('Visits', v.visits),
    ),
  );
  out.push(signalsSection(v.signals));
  const attrs = v.attributes && typeof v.attributes === 'object' ? Object.entries(v.attributes) : [];
  // A pre-chat answer is {label, value} (the site's own fields): shown under its label.
  const answer = (val) => val && typeof val === 'object' && typeof val.label === 'string' && 'value' in val;
  out.push(section('Attributes', attrs.map(([k, val]) => (answer(val) ? row(val.label, String(val.value))
    : row(k, typeof val === 'object' ? JSON.stringify(val) : val)))));
  // The chat's own link to the invitation that started it wins over the one on screen.
  const invitation = chat.rule_id ? {rule_id: chat.rule_id, variant: chat.variant} : v.invitation;
  if (invitation && invitation.rule_id) {
    const traced = why.available && why.data && Array.isArray(why.data.items) ? why.data.items.find((e) => e.rule_id === invitation.rule_id) : null;
    const ruleName = invitation.rule_name || (traced && traced.rule_name) || invitation.rule_id;
    out.push(section('Started by invitation', row('Rule', ruleName), row('Variant', invitation.variant || invitation.variant_id), row('Shown', invitation.ts ? dateTimeOf(invitation.ts) : null)));
  }
  out.push(
    section(
      'This chat',
      row('Started', chat.created_ts ? dateTimeOf(chat.created_ts) : null),
      row('Waited', chat.accepted_ts && chat.created_ts ? duration(chat.accepted_ts - chat.created_ts) : null),
      row('Department', chat.department),
      row('Site', ctl.state.siteName(chat.site_id)),
    ),
  );
  const previous = Array.isArray(v.conversations) ? v.conversations.filter((c) => c.id !== chat.id) : [];
  out.push(
    section(
      'Previous conversations',
      previous.length
        ? h(
            'ul',
            {class: 'prev-list'},
            ...previous.slice(0, 10).map((c) =>
              h('li', {}, h('a', {href: `#history/${encodeURIComponent(c.id)}`, text: c.created_ts ? dateTimeOf(c.created_ts) : c.id}), h('span', {class: 'muted small', text: ` ${c.status || ''}`})),
            ),
          )
        : details.available
          ? h('p', {class: 'muted small', text: 'None.'})
          : null,
    ),
  );
  out.push(whySection(why));
  out.push(exportSection(ctl, chat));
  return out.filter(Boolean);
}

// Struggle signals (docs/rules.md): this visit's count per kind and how long ago the last was.
const SIGNALS = {
  rage_click: 'Rage clicks',
  dead_click: 'Dead clicks',
  form_error: 'Form errors',
  page_loop: 'Page loops',
  search_no_results: 'Searches without results',
  error_page: 'Error pages',
  long_wait: 'Long queue waits',
};

function signalsSection(signals) {
  const entries = signals && typeof signals === 'object' ? Object.entries(signals) : [];
  return section(
    'Struggle signals',
    entries.map(([kind, seen]) => {
      const count = seen && Number.isInteger(seen.count) ? seen.count : null;
      const ago = seen && Number.isFinite(seen.ago_s) ? ` · last ${duration(seen.ago_s * 1000)} ago` : '';
      const item = row(SIGNALS[kind] || kind, count === null ? null : `${count}${ago}`);
      if (item) item.dataset.signal = kind;
      return item;
    }),
  );
}

// The engine's outcomes (invitations/engine.py, Trace) in words an agent reads at a glance.
const OUTCOMES = {fired: 'fires', false: 'not matched', blocked: 'blocked', held_out: 'held out', outranked: 'outranked', disabled: 'off'};

// Gate codes (invitations/caps.py); a false condition's detail is its JSON path.
const GATES = {
  open_conversation: 'already in a chat',
  invitation_on_screen: 'another invitation is on screen',
  invitation_pending: 'another invitation is pending',
  fatigue: 'site invitation budget used',
  max_per_visit: 'shown enough this visit',
  min_days_between: 'shown recently',
  cooldown: 'dismissed recently',
  schedule_closed: 'outside the rule schedule',
  agent_offline: 'no agent online',
  no_capacity: 'agents are busy',
  predicted_wait: 'the predicted wait is too long',
};

function whySection(why) {
  if (!why.available) return section('Why (invitation engine)', h('p', {class: 'muted small', text: 'Engine trace not available.'}));
  const data = why.data || {};
  const entries = Array.isArray(data) ? data : data.items || data.trace || data.rules || [];
  const timeline = timelineOf(Array.isArray(data.timeline) ? data.timeline : []);
  if (!entries.length) return section('Why (invitation engine)', h('p', {class: 'muted small', text: 'No rule evaluated for this visitor yet.'}), timeline);
  return section(
    'Why (invitation engine)',
    h(
      'ul',
      {class: 'why-list'},
      ...entries.slice(0, 20).map((e) => {
        const outcome = String(e.outcome || e.result || e.action || e.status || '');
        return h(
          'li',
          {},
          h('span', {class: `chip ${/fire|shown|show|invite/i.test(outcome) ? 'chip-ok' : 'chip-muted'}`, text: OUTCOMES[outcome] || outcome || '·'}),
          h('span', {class: 'why-rule', text: ` ${e.rule_name || e.rule || e.rule_id || ''}`}),
          e.reason || e.detail ? h('div', {class: 'muted small', text: reasonText(outcome, String(e.reason || e.detail))}) : null,
        );
      }),
    ),
    timeline,
  );
}

// Decisions over time: each change of the visitor's outcome per rule (…/why `timeline`).
const CHANGES = {
  unmatched: 'no longer matches', blocked: 'blocked', held_out: 'held out', outranked: 'outranked', delayed: 'delayed',
  fired: 'invited', cancelled: 'cancelled', shown: 'shown', accepted: 'accepted', dismissed: 'dismissed',
  expired: 'expired', withdrawn: 'withdrawn', chatted: 'chatted', converted: 'converted',
};
const GOOD = new Set(['fired', 'shown', 'accepted', 'chatted', 'converted']);

function timelineOf(changes) {
  if (!changes.length) return null;
  const byRule = new Map();
  for (const c of changes) {
    if (!byRule.has(c.rule_id)) byRule.set(c.rule_id, {name: c.rule_name || c.rule_id, changes: []});
    byRule.get(c.rule_id).changes.push(c);
  }
  return h(
    'div',
    {class: 'why-timeline', dataset: {timeline: ''}},
    h('h4', {text: 'Over time'}),
    ...[...byRule.entries()].map(([ruleId, rule]) =>
      h(
        'div',
        {class: 'why-timeline-rule', dataset: {rule: ruleId}},
        h('div', {class: 'why-rule', text: rule.name}),
        h(
          'ol',
          {class: 'why-steps'},
          ...rule.changes.map((c) =>
            h(
              'li',
              {dataset: {outcome: c.outcome}},
              h('time', {class: 'muted small', datetime: new Date(c.ts).toISOString(), text: secondsOf(c.ts)}),
              h('span', {class: `chip ${GOOD.has(c.outcome) ? 'chip-ok' : 'chip-muted'}`, text: CHANGES[c.outcome] || c.outcome}),
              c.detail ? h('span', {class: 'muted small', text: ` ${reasonText(c.outcome, String(c.detail))}`}) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function secondsOf(ts) {
  const d = new Date(ts);
  return `${timeOf(ts)}:${String(d.getSeconds()).padStart(2, '0')}`;
}

function reasonText(outcome, reason) {
  if (outcome === 'blocked' && GATES[reason]) return GATES[reason];
  if (outcome === 'false') return `condition ${reason} is false`;
  return reason;
}
