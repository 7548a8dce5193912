'use strict';
// Visitor context panel: what the conversation frame says, then whatever
// GET /sites/{site_id}/visitors/{visitor_id} and …/why provide. Every section is
// optional: a server without these endpoints gives a quiet "not available" line.

import {$, h, link, clock, dateTimeOf, duration, money, visitorLabel, safeUrl} from '../dom.js';
import {initials, pageLabel} from './inbox.js';

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
    pane.replaceChildren(...header(ctl, chat, details.data), ...body(ctl, chat, details, why));
  };
  ctl.state.on('active', render);
  render();
  return {refresh: render};
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
  const pages = Array.isArray(v.pages) ? v.pages.slice(-10).reverse() : [];
  out.push(section('Pages this visit', pages.length ? h('ol', {class: 'page-list'}, ...pages.map((p) => h('li', {}, pageLink(p), p.ts ? h('span', {class: 'muted small', text: ` ${dateTimeOf(p.ts).slice(11)}`}) : null))) : null));
  const utm = v.utm && typeof v.utm === 'object' ? Object.entries(v.utm).map(([k, val]) => row(`utm_${k}`, val)) : [];
  const device = v.device && typeof v.device === 'object' ? [v.device.type, v.device.os, v.device.browser].filter(Boolean).join(' · ') : v.device;
  const loc = v.location && typeof v.location === 'object' ? [v.location.city, v.location.region, v.location.country].filter(Boolean).join(', ') : v.location;
  out.push(
    section(
      'Visitor',
      row('Referrer', v.referrer ? (safeUrl(v.referrer) ? link(v.referrer, v.referrer) : v.referrer) : null),
      utm,
      row('Device', device),
      row('Language', v.lang),
      row('Time zone', v.tz),
      row('Location', loc),
      row('First seen', v.first_seen_ts ? dateTimeOf(v.first_seen_ts) : null),
      row('Visits', v.visits),
    ),
  );
  const attrs = v.attributes && typeof v.attributes === 'object' ? Object.entries(v.attributes) : [];
  out.push(section('Attributes', attrs.map(([k, val]) => row(k, typeof val === 'object' ? JSON.stringify(val) : val))));
  const invitation = v.invitation || (chat.rule_id ? {rule_id: chat.rule_id, variant: chat.variant} : null);
  if (invitation) {
    out.push(section('Started by invitation', row('Rule', invitation.rule_name || invitation.rule_id), row('Variant', invitation.variant || invitation.variant_id), row('Shown', invitation.ts ? dateTimeOf(invitation.ts) : null)));
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
  return out.filter(Boolean);
}

function whySection(why) {
  if (!why.available) return section('Why (invitation engine)', h('p', {class: 'muted small', text: 'Engine trace not available.'}));
  const data = why.data || {};
  const entries = Array.isArray(data) ? data : data.items || data.trace || data.rules || [];
  if (!entries.length) return section('Why (invitation engine)', h('p', {class: 'muted small', text: 'No rule evaluated for this visitor yet.'}));
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
          h('span', {class: `chip ${/fire|shown|show|invite/i.test(outcome) ? 'chip-ok' : 'chip-muted'}`, text: outcome || '·'}),
          h('span', {class: 'why-rule', text: ` ${e.rule_name || e.rule || e.rule_id || ''}`}),
          e.reason || e.detail ? h('div', {class: 'muted small', text: String(e.reason || e.detail)}) : null,
        );
      }),
    ),
  );
}
