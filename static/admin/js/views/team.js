'use strict';
// The team (admins): people with their role, capacity, departments and sites, invited by
// email or added with a password; the selected site's shared canned replies; API tokens
// (shown once).

import {Errors, checkbox, field, h, input, panel, secretBox, select, table, toast, when} from '../ui.js';

const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

export async function renderTeam(ctx, page) {
  page.append(h('div', {class: 'page-head'}, h('h1', {text: 'Team'})));
  const people = h('div');
  const canned = h('div');
  const tokens = h('div');
  page.append(people, panel('Invite a teammate', invitePerson(ctx, people)), canned, tokens);
  await Promise.all([renderPeople(ctx, people), renderCanned(ctx, canned)]);
  renderTokens(ctx, tokens);
}

async function renderPeople(ctx, box) {
  const users = (await ctx.api.get('/agents', {limit: 200})).items;
  const siteName = (id) => (ctx.sites.find((s) => s.id === id) || {name: id}).name;
  const rows = table([
    {label: 'Name', value: (u) => h('span', {}, h('strong', {text: u.display_name}), h('div', {class: 'small muted', text: u.email}))},
    {label: 'Role', value: (u) => roleSelect(ctx, u)},
    {label: 'Capacity', num: true, value: (u) => capacityInput(ctx, u)},
    {label: 'Departments', value: (u) => u.departments.join(', ') || '–'},
    {label: 'Sites', value: (u) => (u.role === 'admin' ? 'all' : u.site_ids.map(siteName).join(', ') || '–')},
    {label: 'Status', value: (u) => (u.active ? h('span', {class: 'chip chip-ok', text: 'active'}) : h('span', {class: 'chip chip-muted', text: 'deactivated'}))},
    {label: '', value: (u) => (u.active && u.id !== ctx.me.id ? deactivate(ctx, u, box) : '')},
  ], users);
  box.replaceChildren(panel('People', rows, addPerson(ctx, box)));
}

function roleSelect(ctx, user) {
  const el = select(['agent', 'marketer', 'admin'], user.role, {'aria-label': `Role of ${user.display_name}`, disabled: !user.active});
  el.addEventListener('change', async () => {
    try {
      await ctx.api.patch(`/agents/${user.id}`, {role: el.value});
      toast(`${user.display_name} is now ${el.value}`);
    } catch (err) {
      el.value = user.role;
      toast(err.message, true);
    }
  });
  return el;
}

function capacityInput(ctx, user) {
  const el = h('input', {type: 'number', min: 1, max: 50, value: user.capacity, 'aria-label': `Capacity of ${user.display_name}`, class: 'narrow'});
  el.addEventListener('change', async () => {
    try {
      await ctx.api.patch(`/agents/${user.id}`, {capacity: Number(el.value)});
      toast('Capacity saved');
    } catch (err) {
      toast(err.message, true);
    }
  });
  return el;
}

function deactivate(ctx, user, box) {
  const btn = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Deactivate'});
  btn.addEventListener('click', async () => {
    if (!confirm(`Deactivate ${user.display_name}? Their sessions end now.`)) return;
    try {
      await ctx.api.del(`/agents/${user.id}`);
      await renderPeople(ctx, box);
    } catch (err) {
      toast(err.message, true);
    }
  });
  return btn;
}

const LANGS = [['en', 'English'], ['hr', 'Hrvatski'], ['sl', 'Slovenščina'], ['sr', 'Srpski'], ['de', 'Deutsch'], ['it', 'Italiano'], ['fr', 'Français'], ['es', 'Español']];

/** Invite a teammate by email (POST /agents/invite): they choose their own password
 * through the emailed link, so nobody types it for them. */
function invitePerson(ctx, people) {
  const errors = new Errors();
  const name = errors.at('display_name', input({maxlength: 100, id: 'invite-name'}));
  const email = errors.at('email', h('input', {type: 'email', id: 'invite-email'}));
  const role = errors.at('role', select(['agent', 'marketer', 'admin'], 'agent', {id: 'invite-role'}));
  const lang = errors.at('lang', select(LANGS, 'en', {id: 'invite-lang'}));
  const sites = ctx.sites.map((s) => [s.id, ...checkbox(s.name, s.id === ctx.siteId)]);
  errors.at('site_ids', sites.length ? sites[0][1] : lang);
  const send = h('button', {type: 'submit', class: 'btn btn-primary', id: 'invite-send', text: 'Send invitation'});
  const form = h('form', {novalidate: true, class: 'stack', id: 'invite-form'},
    h('p', {class: 'panel-note', text: 'They get an email with a link to choose their own password (valid 72 hours).'}),
    h('div', {class: 'form-grid'},
      field('Name', name), field('Email', email), field('Role', role), field('Email language', lang),
      h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Sites'}), h('div', {class: 'checks'}, ...sites.map(([, l]) => l)))),
    h('div', {class: 'form-foot'}, send, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    send.disabled = true;
    try {
      const address = email.value.trim();
      await ctx.api.post('/agents/invite', {display_name: name.value.trim(), email: address, role: role.value, lang: lang.value,
        site_ids: sites.filter(([, , b]) => b.checked).map(([id]) => id)});
      form.reset();
      await renderPeople(ctx, people);
      toast(`Invitation on its way to ${address}`);
    } catch (err) {
      errors.show(err);
    } finally {
      send.disabled = false;
    }
  });
  return form;
}

function addPerson(ctx, box) {
  const errors = new Errors();
  const name = errors.at('display_name', input({maxlength: 100}));
  const email = errors.at('email', h('input', {type: 'email'}));
  const password = errors.at('password', h('input', {type: 'password', autocomplete: 'new-password'}));
  const role = errors.at('role', select(['agent', 'marketer', 'admin'], 'agent'));
  const capacity = errors.at('capacity', h('input', {type: 'number', min: 1, max: 50, value: 3}));
  const depts = errors.at('departments', input({placeholder: 'sales, support'}));
  const sites = ctx.sites.map((s) => [s.id, ...checkbox(s.name, s.id === ctx.siteId)]);
  errors.at('site_ids', sites.length ? sites[0][1] : depts);
  const add = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Add person'});
  const form = h('form', {novalidate: true, class: 'stack'},
    h('h3', {text: 'Add someone'}),
    h('div', {class: 'form-grid'},
      field('Name', name), field('Email', email), field('Password', password, 'At least 10 characters'),
      field('Role', role), field('Capacity (chats at once)', capacity), field('Departments', depts, 'Comma separated'),
      h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Sites'}), h('div', {class: 'checks'}, ...sites.map(([, l]) => l)))),
    h('div', {class: 'form-foot'}, add, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    add.disabled = true;
    try {
      await ctx.api.post('/agents', {display_name: name.value.trim(), email: email.value.trim(), password: password.value,
        role: role.value, capacity: Number(capacity.value), departments: list(depts.value),
        site_ids: sites.filter(([, , b]) => b.checked).map(([id]) => id)});
      toast('Added');
      await renderPeople(ctx, box);
    } catch (err) {
      errors.show(err);
    } finally {
      add.disabled = false;
    }
  });
  return form;
}

async function renderCanned(ctx, box) {
  const site = ctx.site();
  if (!site) return;
  const replies = (await ctx.api.get(`/sites/${site.id}/canned-replies`)).items.filter((r) => r.scope === 'site');
  const errors = new Errors();
  const shortcut = errors.at('shortcut', input({maxlength: 64, placeholder: 'shipping'}));
  const text = errors.at('text', h('textarea', {rows: 2, maxlength: 4000}));
  const add = h('button', {type: 'submit', class: 'btn', text: 'Add reply'});
  const form = h('form', {novalidate: true, class: 'stack'},
    h('div', {class: 'form-grid'}, field('Shortcut', shortcut, 'Agents type /shortcut'), field('Text', text)),
    h('div', {class: 'form-foot'}, add, errors.footer));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    try {
      await ctx.api.post(`/sites/${site.id}/canned-replies`, {shortcut: shortcut.value.trim(), text: text.value, scope: 'site'});
      await renderCanned(ctx, box);
    } catch (err) {
      errors.show(err);
    }
  });
  const remove = (r) => {
    const btn = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Delete'});
    btn.addEventListener('click', async () => {
      await ctx.api.del(`/sites/${site.id}/canned-replies/${r.id}`);
      await renderCanned(ctx, box);
    });
    return btn;
  };
  box.replaceChildren(panel(`Canned replies — ${site.name}`,
    table([{label: 'Shortcut', value: (r) => `/${r.shortcut}`}, {label: 'Text', value: (r) => r.text}, {label: '', value: remove}],
      replies, 'No shared replies for this site yet.'), form));
}

function renderTokens(ctx, box) {
  const errors = new Errors();
  const name = errors.at('name', input({maxlength: 100, placeholder: 'CRM sync'}));
  const create = h('button', {type: 'submit', class: 'btn', text: 'Create token'});
  const shown = h('div');
  const form = h('form', {novalidate: true, class: 'stack'},
    h('p', {class: 'panel-note', text: 'A token acts as you over the REST API (Authorization: Bearer …).'}),
    h('div', {class: 'row'}, h('div', {class: 'grow'}, field('Token name', name)), create), errors.footer, shown);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    try {
      const token = await ctx.api.post('/tokens', {name: name.value.trim()});
      shown.replaceChildren(secretBox(`Token “${token.name}”`, token.token));
      name.value = '';
    } catch (err) {
      errors.show(err);
    }
  });
  box.replaceChildren(panel('API tokens', form));
}
