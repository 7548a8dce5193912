'use strict';
// Privacy (admins; docs/privacy.md): how long the selected site keeps each kind of
// record, and one person's access and erasure requests — by visitor id, email or the
// external id the shop gave `identify`. The export downloads as one JSON file.

import {Errors, field, h, input, panel, select, toast} from '../ui.js';

// [setting, label, what goes]
const KINDS = [
  ['retention_transcripts_days', 'Transcripts', 'Messages of chats closed longer ago, and webhook deliveries sent longer ago; the chat itself stays in reports.'],
  ['retention_visits_days', 'Visit log', 'Pages, carts and events recorded for backtests.'],
  ['retention_decisions_days', 'Invitation decisions', 'Invitations shown, accepted, held out; rule stats over older periods lose them.'],
  ['retention_offline_messages_days', 'Offline messages', 'Messages left while no agent was online.'],
  ['retention_attachments_days', 'Files', 'Files sent in chats (images, PDFs), uploaded longer ago; their messages stay.'],
];
const SUBJECTS = [['email', 'Email'], ['user_id', 'External id (identify)'], ['visitor_id', 'Visitor id']];

export async function renderPrivacy(ctx, page) {
  const site = ctx.site();
  if (!site) return page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
  page.append(h('div', {class: 'page-head'}, h('h1', {text: `Privacy — ${site.name}`})),
    retentionForm(ctx, site), requestForm(ctx, site));
}

function retentionForm(ctx, site) {
  const errors = new Errors();
  const current = site.settings || {};
  const rows = KINDS.map(([key, label, hint]) => {
    const value = current[key];
    const mode = select([['default', 'Node default'], ['forever', 'Forever'], ['days', 'Days']],
      value === null || value === undefined ? 'default' : value === 'forever' ? 'forever' : 'days',
      {'aria-label': `${label}: kept`, dataset: {retention: key}});
    const days = errors.at(`settings.${key}`, input({type: 'number', min: 1, max: 3650,
      value: typeof value === 'number' ? value : '', 'aria-label': `${label}: days`, dataset: {days: key}}));
    const sync = () => { days.hidden = mode.value !== 'days'; };
    mode.addEventListener('change', sync);
    sync();
    return {key, mode, days, el: field(label, h('span', {class: 'row'}, mode, days), hint)};
  });
  const save = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Save retention'});
  const form = h('form', {novalidate: true, class: 'stack', 'aria-label': 'Retention'},
    h('div', {class: 'form-grid'}, ...rows.map((r) => r.el)),
    h('div', {class: 'form-foot'}, save, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    const settings = {};
    for (const r of rows) {
      // A number as typed (the server names a bad one at its field).
      settings[r.key] = r.mode.value === 'default' ? null
        : r.mode.value === 'forever' ? 'forever' : Number(r.days.value || 0);
    }
    save.disabled = true;
    try {
      await ctx.api.patch(`/sites/${site.id}`, {settings});
      await ctx.reloadSites();
      toast('Retention saved');
    } catch (err) {
      errors.show(err);
    } finally {
      save.disabled = false;
    }
  });
  return panel('Retention', h('p', {class: 'muted small',
    text: 'Records older than this are deleted by the server within the hour. Node default: the server\'s BECKON_*_RETENTION_DAYS.'}), form);
}

function requestForm(ctx, site) {
  const errors = new Errors();
  const kind = select(SUBJECTS, 'email', {'aria-label': 'Find the visitor by'});
  const value = errors.at('(body)', input({maxlength: 254, placeholder: 'maja@example.com', 'aria-label': 'Who'}));
  const result = h('div', {class: 'stack', 'aria-live': 'polite'});
  const exportBtn = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Export (JSON)'});
  const eraseBtn = h('button', {type: 'button', class: 'btn btn-danger-ghost', text: 'Erase…'});
  const form = h('form', {novalidate: true, class: 'stack', 'aria-label': 'Access and erasure'},
    h('div', {class: 'form-grid'}, field('Find by', kind), field('Who', value)),
    h('div', {class: 'form-foot'}, exportBtn, eraseBtn, errors.footer), result);
  const subject = () => ({[kind.value]: value.value.trim()});
  const busy = (on) => { exportBtn.disabled = eraseBtn.disabled = on; };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    busy(true);
    try {
      const doc = await ctx.api.post(`/sites/${site.id}/privacy/export`, subject());
      const counts = Object.entries(doc.records).map(([k, rows]) => `${k}: ${rows.length}`).join(' · ');
      const blob = new Blob([JSON.stringify(doc, null, 2)], {type: 'application/json'});
      const link = h('a', {class: 'btn', text: 'Download the export', dataset: {export: 'true'},
        href: URL.createObjectURL(blob), download: `beckon-export-${site.id}-${doc.exported_ts}.json`});
      result.replaceChildren(h('p', {class: 'small', dataset: {counts: 'true'}, text: counts}), link);
      link.click();
    } catch (err) {
      errors.show(err);
    } finally {
      busy(false);
    }
  });
  eraseBtn.addEventListener('click', async () => {
    errors.clear();
    const who = value.value.trim();
    if (!confirm(`Erase everything Beckon holds about ${who || 'this visitor'} on ${site.name}? This cannot be undone.`)) return;
    busy(true);
    try {
      const done = await ctx.api.post(`/sites/${site.id}/privacy/erase`, subject());
      const deleted = Object.entries(done.deleted).map(([k, n]) => `${k}: ${n}`).join(' · ');
      result.replaceChildren(h('p', {class: 'strong', dataset: {erased: 'true'},
        text: `Erased ${done.visitor_ids.length} visitor(s); ${done.conversations} conversation(s) kept anonymously in reports.`}),
      h('p', {class: 'small muted', text: deleted}));
      toast('Erased');
    } catch (err) {
      errors.show(err);
    } finally {
      busy(false);
    }
  });
  return panel('Access and erasure', h('p', {class: 'muted small',
    text: 'Everything about one person: their visits, chats, survey answers, invitations, offline messages and conversions.'}), form);
}
