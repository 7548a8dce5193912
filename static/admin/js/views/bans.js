'use strict';
// Bans (admins) of the selected site: who is blocked (a visitor id or a network), why,
// by whom and until when; lift one, and it stops holding on every node at once. Agents
// ban from the console's visitor panel.

import {h, panel, select, table, toast, when} from '../ui.js';

export async function renderBans(ctx, page) {
  const site = ctx.site();
  if (!site) return page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
  const base = `/sites/${site.id}/bans`;
  const team = new Map((await ctx.api.get('/agents', {limit: 200})).items.map((u) => [u.id, u.display_name]));
  const state = select([['active', 'In force'], ['all', 'Every ban, lifted and expired too']], 'active', {'aria-label': 'Which bans'});
  const listBox = h('div', {id: 'bans-list'});
  state.addEventListener('change', draw);
  page.append(h('div', {class: 'page-head'}, h('h1', {text: `Bans — ${site.name}`}), state), listBox);

  async function draw() {
    const bans = (await ctx.api.get(base, {state: state.value})).items;
    const lift = (ban) => {
      if (!ban.active) return h('span', {class: 'muted small', text: ban.lifted_ts ? `lifted ${when(ban.lifted_ts)}` : 'expired'});
      const button = h('button', {type: 'button', class: 'btn btn-sm', text: 'Lift'});
      button.addEventListener('click', async () => {
        if (!confirm(`Lift the ban on ${ban.visitor_id || ban.network}?`)) return;
        await ctx.api.del(`${base}/${ban.id}`);
        toast('Ban lifted');
        await draw();
      });
      return button;
    };
    listBox.replaceChildren(panel('Bans', table([
      {label: 'Banned', value: (b) => h('code', {text: b.visitor_id ? `visitor ${b.visitor_id}` : b.network})},
      {label: 'Reason', value: (b) => b.reason},
      {label: 'By', value: (b) => team.get(b.created_by) || b.created_by || '–'},
      {label: 'Since', value: (b) => when(b.created_ts)},
      {label: 'Until', value: (b) => (b.expires_ts ? when(b.expires_ts) : 'lifted')},
      {label: '', value: lift},
    ], bans, 'Nobody is banned.')));
  }
  await draw();
}
