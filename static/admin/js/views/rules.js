'use strict';
// Rules of the selected site: list with on/off switch, priority, version; links to the
// editor, its stats and a duplicate; a backtest of every enabled rule together (one
// budget, per-visitor decisions). Degrades to "not available" without the rules API.

import {h, panel, periodPicker, table, toast, unavailable, when} from '../ui.js';

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
  if (rules.length) page.appendChild(ruleSetBacktest(ctx, site, rules));
}

const VISITORS_SHOWN = 50;

// POST sites/{id}/backtest: the enabled rules replayed together, as the live node runs them.
function ruleSetBacktest(ctx, site, rules) {
  const names = new Map(rules.map((r) => [r.id, r.name]));
  const result = h('div', {class: 'stack'});
  const picker = periodPicker(7, run);
  async function run(period) {
    result.replaceChildren(h('p', {class: 'muted', text: 'Replaying recorded visits…'}));
    try {
      const report = await ctx.api.post(`/sites/${site.id}/backtest`, period);
      const visitors = report.per_visitor.filter((v) => v.outcomes.length).slice(0, VISITORS_SHOWN);
      result.replaceChildren(
        table([
          {label: 'Rule', value: (r) => names.get(r.rule_id) || r.rule_id},
          {label: 'Would show', num: true, value: (r) => r.shown},
          {label: 'Held out', num: true, value: (r) => r.held_out},
          {label: 'Visits matched', num: true, value: (r) => r.visits_matched},
        ], report.rules, 'No enabled rule.'),
        table([
          {label: 'Visitor', value: (v) => v.visitor_id},
          {label: 'Decisions', value: (v) => v.outcomes.map((o) => `${names.get(o.rule_id) || o.rule_id}: ${o.outcome}${o.detail ? ` (${o.detail})` : ''}`).join('; ')},
        ], visitors, 'No visitor would have been invited in this period.'),
      );
      result.dataset.ruleSetBacktest = 'done';
    } catch (err) {
      result.replaceChildren(err.missing ? unavailable('Backtesting') : h('p', {class: 'form-error', role: 'alert', text: err.message}));
    }
  }
  return h('section', {class: 'panel', 'aria-label': 'Backtest all rules'}, h('h2', {text: 'Backtest all rules'}),
    h('p', {class: 'panel-note', text: 'Replays recorded visits through every enabled rule together, sharing the site budget, as live.'}),
    picker.el, result);
}
