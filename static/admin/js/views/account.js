'use strict';
// Your account (every role that uses the admin): API tokens (create with an optional
// expiry, the secret shown once; list; revoke), sessions (list, end one, sign out
// everywhere) and the password (changing it ends every other session and every token).

import {Errors, field, h, input, panel, secretBox, table, toast, when, dateTs} from '../ui.js';

export async function renderAccount(ctx, page) {
  const created = h('div');
  const tokensBox = h('div');
  const sessionsBox = h('div');
  page.append(h('div', {class: 'page-head'}, h('h1', {text: 'Your account'})),
    created, tokensBox, tokenForm(ctx, async (token) => {
      created.replaceChildren(secretBox(`API token “${token.name}”`, token.token,
        'Shown once: store it now. Send it as “Authorization: Bearer …”.'));
      await drawTokens();
    }), sessionsBox, passwordForm(ctx, async () => {
      await drawTokens();
      await drawSessions();
    }));

  async function drawTokens() {
    const items = (await ctx.api.get('/tokens')).items;
    const revoke = (t) => {
      const button = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Revoke'});
      button.addEventListener('click', async () => {
        if (!confirm(`Revoke the token “${t.name}”? Whatever uses it stops working at once.`)) return;
        await ctx.api.del(`/tokens/${t.id}`);
        toast('Token revoked');
        await drawTokens();
      });
      return button;
    };
    tokensBox.replaceChildren(panel('API tokens', table([
      {label: 'Name', value: (t) => h('strong', {text: t.name})},
      {label: 'Created', value: (t) => when(t.created_ts)},
      {label: 'Last used', value: (t) => when(t.last_used_ts)},
      {label: 'Expires', value: (t) => (t.expires_ts === null ? 'never'
        : h('span', {}, when(t.expires_ts), t.expires_ts <= Date.now() ? h('span', {class: 'chip chip-muted', text: ' expired'}) : null))},
      {label: '', value: revoke},
    ], items, 'No API tokens.')));
  }

  async function drawSessions() {
    const items = (await ctx.api.get('/me/sessions')).items;
    const end = (s) => {
      if (s.current) return h('span', {class: 'chip', text: 'this session'});
      const button = h('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: 'Sign out'});
      button.addEventListener('click', async () => {
        await ctx.api.del(`/me/sessions/${s.id}`);
        toast('Session ended');
        await drawSessions();
      });
      return button;
    };
    const everywhere = h('button', {type: 'button', class: 'btn btn-sm btn-danger-ghost', text: 'Sign out everywhere'});
    everywhere.addEventListener('click', async () => {
      if (!confirm('Sign out of every session, this one included? API tokens keep working.')) return;
      await ctx.api.post('/auth/logout-all');
      location.hash = '';
      location.reload();
    });
    sessionsBox.replaceChildren(h('section', {class: 'panel', 'aria-label': 'Sessions'},
      h('div', {class: 'panel-head'}, h('h2', {text: 'Sessions'}), everywhere),
      table([
        {label: 'Browser', value: (s) => s.user_agent || '–'},
        {label: 'Address', value: (s) => s.ip || '–'},
        {label: 'Signed in', value: (s) => when(s.created_ts)},
        {label: 'Last used', value: (s) => when(s.last_used_ts)},
        {label: '', value: end},
      ], items, 'No sessions.')));
  }

  await drawTokens();
  await drawSessions();
}

function tokenForm(ctx, onCreated) {
  const errors = new Errors();
  const name = errors.at('name', input({maxlength: 100, placeholder: 'CRM sync'}));
  const expires = errors.at('expires_ts', h('input', {type: 'date', 'aria-label': 'Expires'}));
  const add = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Create token'});
  const form = h('form', {novalidate: true, class: 'stack'},
    h('div', {class: 'form-grid'}, field('Name', name),
      field('Expires (optional)', expires, 'At the end of that day; empty: never.')),
    h('div', {class: 'form-foot'}, add, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    add.disabled = true;
    try {
      const body = {name: name.value.trim()};
      if (expires.value) body.expires_ts = dateTs(expires.value, true);
      const token = await ctx.api.post('/tokens', body);
      name.value = '';
      expires.value = '';
      await onCreated(token);
    } catch (err) {
      errors.show(err);
    } finally {
      add.disabled = false;
    }
  });
  return panel('New API token', form);
}

function passwordForm(ctx, onChanged) {
  const errors = new Errors();
  const current = errors.at('current_password', input({type: 'password', autocomplete: 'current-password'}));
  const next = errors.at('new_password', input({type: 'password', autocomplete: 'new-password', minlength: 10}));
  const save = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Change password'});
  const form = h('form', {novalidate: true, class: 'stack'},
    h('div', {class: 'form-grid'}, field('Current password', current),
      field('New password', next, 'At least 10 characters. Your other sessions and every API token end.')),
    h('div', {class: 'form-foot'}, save, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    save.disabled = true;
    try {
      await ctx.api.post('/me/password', {current_password: current.value, new_password: next.value});
      current.value = '';
      next.value = '';
      toast('Password changed: your other sessions and every API token ended');
      await onChanged();
    } catch (err) {
      errors.show(err);
    } finally {
      save.disabled = false;
    }
  });
  return panel('Password', form);
}
