'use strict';
// Audit log (admins): who changed what, when and from where, newest first; filters by
// site, person, kind of change and period; each entry's before/after on demand; the
// same filters as one CSV file. Read-only: the server has no way to write or edit it.

import {dateTs, dateValue, field, h, input, panel, select, table, when} from '../ui.js';

const KINDS = ['', 'site.', 'user.', 'rule.', 'webhook.', 'token.', 'session.', 'ban.', 'canned_reply.'];
const PAGE = 50;

export async function renderAudit(ctx, page) {
  const team = (await ctx.api.get('/agents', {limit: 200})).items;
  const siteSel = select([['', 'Every site'], ...ctx.sites.map((s) => [s.id, s.name])], ctx.siteId || '', {'aria-label': 'Site'});
  const whoSel = select([['', 'Everyone'], ...team.map((u) => [u.id, `${u.display_name} (${u.email})`])], '', {'aria-label': 'Who'});
  const kindSel = select(KINDS.map((k) => [k, k ? k.slice(0, -1) : 'Every change']), '', {'aria-label': 'Kind of change'});
  const from = input({type: 'date', 'aria-label': 'From'});
  const to = input({type: 'date', 'aria-label': 'To'});
  const csv = h('a', {class: 'btn btn-sm', download: '', text: 'Export CSV', id: 'audit-csv'});
  const listBox = h('div', {id: 'audit-list'});
  const more = h('button', {type: 'button', class: 'btn btn-sm', text: 'Older entries', hidden: true});
  let cursor = null;
  let rows = [];

  function filters() {
    const f = {};
    if (siteSel.value) f.site_id = siteSel.value;
    if (whoSel.value) f.actor_id = whoSel.value;
    if (kindSel.value) f.action = kindSel.value;
    if (from.value) f.from_ts = dateTs(from.value);
    if (to.value) f.to_ts = dateTs(to.value, true);
    return f;
  }

  async function load(reset) {
    if (reset) {
      cursor = null;
      rows = [];
    }
    const f = filters();
    csv.href = `/api/v1/audit?${new URLSearchParams({...f, format: 'csv'})}`;
    const got = await ctx.api.get('/audit', {...f, limit: PAGE, ...(cursor ? {cursor} : {})});
    rows = rows.concat(got.items);
    cursor = got.next_cursor;
    more.hidden = !cursor;
    draw();
  }

  function draw() {
    listBox.replaceChildren(table([
      {label: 'When', value: (e) => when(e.ts)},
      {label: 'Who', value: (e) => h('span', {}, e.actor_email || 'system', h('div', {class: 'small muted', text: e.actor_role || ''}))},
      {label: 'From', value: (e) => e.ip || '–'},
      {label: 'Change', value: (e) => h('code', {text: e.action})},
      {label: 'What', value: (e) => e.target || '–'},
      {label: '', value: details},
    ], rows, 'No changes match.'));
  }

  function details(entry) {
    if (entry.before === null && entry.after === null) return '';
    const box = h('details', {class: 'audit-diff'}, h('summary', {text: 'Before / after'}),
      h('div', {class: 'row'},
        h('pre', {class: 'small', text: `before\n${JSON.stringify(entry.before, null, 2)}`}),
        h('pre', {class: 'small', text: `after\n${JSON.stringify(entry.after, null, 2)}`})));
    return box;
  }

  for (const el of [siteSel, whoSel, kindSel, from, to]) el.addEventListener('change', () => load(true));
  more.addEventListener('click', () => load(false));
  page.append(
    h('div', {class: 'page-head'}, h('h1', {text: 'Audit log'}), csv),
    panel('Filter', h('div', {class: 'form-grid'}, field('Site', siteSel), field('Who', whoSel),
      field('Change', kindSel), field('From', from), field('To', to))),
    listBox, more);
  from.value = dateValue(Date.now() - 30 * 86_400_000);
  await load(true);
}
