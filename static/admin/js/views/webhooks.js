'use strict';
// Webhooks (admins): endpoints of the selected site with their events, the signing
// secret shown once at creation, a delivery log with status codes, a test send, and
// pause / resume (an endpoint that keeps failing is paused by the server, with the reason).

import {Errors, checkbox, field, h, input, panel, secretBox, table, toast, unavailable, when} from '../ui.js';

const LOG_REFRESH_MS = 1500;

export async function renderWebhooks(ctx, page) {
  const site = ctx.site();
  if (!site) return page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
  const base = `/sites/${site.id}/webhooks`;
  let listing;
  try {
    listing = await ctx.api.get(base);
  } catch (err) {
    if (err.missing) return page.appendChild(unavailable('Webhooks'));
    throw err;
  }
  const created = h('div');
  const logBox = h('div');
  const listBox = h('div');
  page.append(h('div', {class: 'page-head'}, h('h1', {text: `Webhooks — ${site.name}`})), created, listBox, logBox,
    createForm(ctx, base, listing.events, async (hook) => {
      created.replaceChildren(secretBox(`Signing secret for ${hook.url}`, hook.secret,
        'Shown once. Verify X-Beckon-Signature: HMAC-SHA256(secret, "<t>.<raw body>") in hex.'));
      await drawList();
    }));

  async function drawList() {
    const hooks = (await ctx.api.get(base)).items;
    const actions = (hook) => {
      const test = h('button', {type: 'button', class: 'btn btn-sm', text: 'Send test'});
      test.addEventListener('click', async () => {
        await ctx.api.post(`${base}/${hook.id}/test`);
        toast('Test delivery queued');
        showLog(hook);
      });
      const toggle = h('button', {type: 'button', class: 'btn btn-sm', text: hook.paused ? 'Resume' : 'Pause'});
      toggle.addEventListener('click', async () => {
        const done = await ctx.api.post(`${base}/${hook.id}/${hook.paused ? 'resume' : 'pause'}`);
        toast(hook.paused ? `Resumed; ${done.waiting} waiting deliveries go now` : 'Paused; deliveries wait');
        await drawList();
      });
      const log = h('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: 'Deliveries'});
      log.addEventListener('click', () => showLog(hook));
      const del = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Delete'});
      del.addEventListener('click', async () => {
        if (!confirm(`Delete the webhook to ${hook.url}? Pending deliveries are dropped.`)) return;
        await ctx.api.del(`${base}/${hook.id}`);
        logBox.replaceChildren();
        await drawList();
      });
      return h('span', {class: 'row'}, test, toggle, log, del);
    };
    listBox.replaceChildren(panel('Endpoints', table([
      {label: 'URL', value: (w) => h('span', {}, h('strong', {text: w.url}), w.description ? h('div', {class: 'small muted', text: w.description}) : null)},
      {label: 'Events', value: (w) => h('span', {class: 'chips'}, ...w.events.map((e) => h('span', {class: 'chip', text: e})))},
      {label: 'State', value: (w) => (w.paused
        ? h('span', {}, h('strong', {class: 'hook-paused', text: 'Paused'}), h('div', {class: 'small muted', text: w.paused_reason || ''}))
        : h('span', {class: 'hook-sending', text: w.failures ? `Sending (${w.failures} failed in a row)` : 'Sending'}))},
      {label: 'Secret', value: (w) => w.secret_hint},
      {label: 'Created', value: (w) => when(w.created_ts)},
      {label: '', value: actions},
    ], hooks, 'No webhooks yet.')));
  }

  let logTimer = null;
  async function showLog(hook) {
    clearTimeout(logTimer);
    if (!page.isConnected) return;
    const items = (await ctx.api.get(`${base}/${hook.id}/deliveries`, {limit: 50})).items;
    const refresh = h('button', {type: 'button', class: 'btn btn-sm', text: 'Refresh'});
    refresh.addEventListener('click', () => showLog(hook));
    logBox.replaceChildren(h('section', {class: 'panel', 'aria-label': 'Delivery log'},
      h('div', {class: 'panel-head'}, h('h2', {text: `Deliveries to ${hook.url}`}), refresh),
      table([
        {label: 'Event', value: (d) => d.event},
        {label: 'Status', value: (d) => h('span', {class: `strong status-${d.status}`, text: d.status})},
        {label: 'Attempts', value: (d) => h('span', {}, ...d.attempt_log.map((a) => h('div', {class: 'small',
          text: `${when(a.ts)} · ${a.status_code ?? 'no answer'}${a.error ? ` · ${a.error}` : ''} · ${a.duration_ms} ms`})))},
        {label: 'Next try', value: (d) => (d.next_attempt_ts ? when(d.next_attempt_ts) : '–')},
        {label: 'Delivery id', value: (d) => h('code', {class: 'small', text: d.id})},
      ], items, 'Nothing sent yet.')));
    // While something is still on its way, keep the log fresh.
    if (items.some((d) => d.status === 'pending')) logTimer = setTimeout(() => showLog(hook), LOG_REFRESH_MS);
  }
  await drawList();
}

function createForm(ctx, base, events, onCreated) {
  const errors = new Errors();
  const url = errors.at('url', input({type: 'url', placeholder: 'https://crm.example.com/beckon', maxlength: 2000}));
  const description = errors.at('description', input({maxlength: 200, placeholder: 'CRM sync'}));
  const boxes = events.map((e) => [e, ...checkbox(e, e.startsWith('conversation.'))]);
  const checks = h('div', {class: 'checks'}, ...boxes.map(([, l]) => l));
  errors.at('events', checks);
  const add = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Add webhook'});
  const form = h('form', {novalidate: true, class: 'stack'},
    h('div', {class: 'form-grid'}, field('Endpoint URL', url, 'Private, loopback and link-local addresses are refused.'), field('Description', description),
      h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Events'}), checks)),
    h('div', {class: 'form-foot'}, add, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    add.disabled = true;
    try {
      const hook = await ctx.api.post(base, {url: url.value.trim(), description: description.value.trim(),
        events: boxes.filter(([, , b]) => b.checked).map(([e]) => e)});
      url.value = '';
      description.value = '';
      await onCreated(hook);
    } catch (err) {
      errors.show(err);
    } finally {
      add.disabled = false;
    }
  });
  return panel('New webhook', form);
}
