'use strict';
// Rules of the selected site: list with on/off switch, priority, version; links to the
// editor, its stats and a duplicate. Degrades to "not available" without the rules API.

import {h, panel, table, toast, unavailable, when} from '../ui.js';

export async function renderRules(ctx, page) {
  const site = ctx.site();
  page.append(h('div', {class: 'page-head'}, h('h1', {text: 'Invitation rules'}),
    site ? h('a', {class: 'btn btn-primary', href: '#rules/new', text: 'New rule'}) : null));
  if (!site) {
    page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
    return;
  }
  let rules;
  try {
    rules = (await ctx.api.get(`/sites/${site.id}/rules`)).items;
  } catch (err) {
    if (err.missing) return page.appendChild(unavailable('Rules'));
    throw err;
  }
  const toggle = (rule) => {
    const box = h('input', {type: 'checkbox', checked: rule.enabled, 'aria-label': `Enabled: ${rule.name}`, role: 'switch'});
    box.addEventListener('change', async () => {
      try {
        await ctx.api.patch(`/sites/${site.id}/rules/${rule.id}`, {enabled: box.checked});
        toast(`${rule.name}: ${box.checked ? 'on' : 'off'}`);
      } catch (err) {
        box.checked = !box.checked;
        toast(err.message, true);
      }
    });
    return box;
  };
  page.appendChild(panel(`Rules of ${site.name}`, table([
    {label: 'On', value: toggle},
    {label: 'Name', value: (r) => h('a', {href: `#rules/${r.id}`, text: r.name})},
    {label: 'Priority', num: true, value: (r) => r.priority},
    {label: 'Variants', value: (r) => (r.variants || []).map((v) => `${v.id} (${v.weight})`).join(', ')},
    {label: 'Holdout', num: true, value: (r) => `${r.holdout_pct || 0} %`},
    {label: 'Version', num: true, value: (r) => `v${r.version}`},
    {label: 'Updated', value: (r) => when(r.updated_ts)},
    {label: '', value: (r) => h('span', {class: 'row'},
      h('a', {class: 'btn btn-sm', href: `#rules/${r.id}/stats`, text: 'Stats'}),
      h('a', {class: 'btn btn-sm btn-ghost', href: `#rules/${r.id}/copy`, text: 'Duplicate'}))},
  ], rules, 'No rules yet. A rule says when to invite a visitor to chat, and with what words.')));
}
