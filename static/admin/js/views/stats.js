'use strict';
// A rule's results: funnel per variant, invited vs holdout with the uplift and its
// 95 % interval in plain words, revenue per visitor per variant with a fixed-horizon and
// an always-valid interval (and a one-click stop for a variant), a daily chart, and the
// funnel over time with "why not" for one visitor (funnel.js).

import {chart, daySeconds} from '../chart.js';
import {h, num, panel, periodPicker, table, toast, unavailable} from '../ui.js';
import {kpi} from './editor.js';
import {funnelPanel} from './funnel.js';

const pct = (x, n) => (n ? `${num((100 * x) / n)} %` : '–');
const signed = (v) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${num(Math.abs(v))}`;
const money = (revenue) => Object.entries(revenue || {}).map(([c, v]) => `${Number(v).toFixed(2)} ${c}`).join(' + ') || '0';

/**
 * "+2.1 pp conversion, interval +0.4 … +3.8 pp" and whether it is good, bad or unclear.
 * The one-look interval (Newcombe) is shown; the call is made only by the always-valid one
 * (mSPRT), which stays right however often this page is opened.
 */
export function verdict(uplift) {
  if (!uplift || uplift.invited_rate === null || uplift.holdout_rate === null) {
    return {tone: '', text: 'Not enough data yet: the holdout group or the invited group is empty.'};
  }
  const core = `${signed(uplift.diff_pp)} pp conversion, interval ${signed(uplift.ci_low_pp)} … ${signed(uplift.ci_high_pp)} pp`;
  const seq = uplift.always_valid;
  const every = seq ? ` Read at every look: ${signed(seq.low_pp)} … ${signed(seq.high_pp)} pp.` : '';
  const said = seq ? seq.verdict : 'unclear';
  if (said === 'better') return {tone: 'good', text: `Invited visitors: ${core}.${every} The invitation helps.`};
  if (said === 'worse') return {tone: 'bad', text: `Invited visitors: ${core}.${every} The invitation hurts conversion.`};
  return {tone: '', text: `Invited visitors: ${core}.${every} Not distinguishable from no effect yet.`};
}

export async function renderStats(ctx, page, ruleId) {
  const site = ctx.site();
  if (!site) return;
  const base = `/sites/${site.id}/rules/${ruleId}`;
  let rule;
  try {
    rule = await ctx.api.get(base);
  } catch (err) {
    if (err.missing && err.message !== 'no such rule') return page.appendChild(unavailable('Rule stats'));
    throw err;
  }
  const body = h('div', {class: 'stack'});
  const picker = periodPicker(30, load);
  page.append(
    h('div', {class: 'crumbs'}, h('a', {href: '#rules', text: 'Rules'}), ' / ', h('a', {href: `#rules/${rule.id}`, text: rule.name}), ' / stats'),
    h('div', {class: 'page-head'}, h('h1', {text: `Results: ${rule.name}`}), picker.el),
    body);

  async function load(period) {
    body.replaceChildren(h('p', {class: 'muted', text: 'Loading…'}));
    let stats;
    try {
      stats = await ctx.api.get(`${base}/stats`, {...period, bucket: 'day'});
    } catch (err) {
      body.replaceChildren(err.missing ? unavailable('Rule stats') : h('p', {class: 'form-error', role: 'alert', text: err.message}));
      return;
    }
    show(body, stats, stopper(ctx, base, () => load(picker.period())));
    body.appendChild(await funnelPanel(ctx, base, period));
  }
  await load(picker.period());
}

/** One click stops a variant (weight 0, a new rule version), then the page reloads. */
function stopper(ctx, base, reload) {
  return async (variant, button) => {
    button.disabled = true;
    try {
      await ctx.api.post(`${base}/variants/${encodeURIComponent(variant.variant_id)}/stop`);
      toast(`Variant ${variant.variant_id} stopped: no visitor will see it any more.`);
      await reload();
    } catch (err) {
      button.disabled = false;
      toast(err.message, true);
    }
  };
}

const VERDICTS = {better: 'Earns more', worse: 'Earns less', unclear: 'Not clear yet'};

function revenuePanel(report, stop) {
  if (!report) return null;
  const cur = report.currency;
  const amount = (v) => (cur ? `${v < 0 ? '−' : ''}${Math.abs(v).toFixed(2)} ${cur}` : '–');
  const diff = (v) => (cur ? `${v > 0 ? '+' : ''}${amount(v)}` : '–');
  const range = (i) => (i ? `${diff(i.low)} … ${diff(i.high)}` : 'not enough data');
  const base = report.baseline === 'holdout' ? 'holdout' : 'other variants';
  const running = report.variants.filter((r) => !r.stopped).length;
  const action = (r) => {
    if (r.stopped) return h('span', {class: 'chip chip-muted', text: 'Stopped'});
    if (running < 2) return null;
    const button = h('button', {type: 'button', class: `btn ${r.verdict === 'worse' ? 'btn-danger-ghost' : 'btn-ghost'}`, text: 'Stop', 'aria-label': `Stop variant ${r.variant_id}`});
    button.addEventListener('click', () => stop(r, button));
    return button;
  };
  return panel('Revenue per visitor, by variant',
    h('p', {class: 'muted small', text: `Each variant's visitors (all invited, accepted or not) against the ${base}, in ${cur || 'the sales currency (no sales yet)'}. `
      + `The ${Math.round(report.confidence * 100)} % interval is Welch's: right for one look at a sample size fixed in advance. `
      + `The always-valid interval (mSPRT) stays right however often you look; the verdict reads only it, once both groups have ${report.min_visitors} visitors.`}),
    table([
      {label: 'Variant', value: (r) => r.variant_id},
      {label: 'Visitors', num: true, value: (r) => r.visitors},
      {label: 'Revenue / visitor', num: true, value: (r) => amount(r.revenue_per_visitor)},
      {label: `vs ${base}`, num: true, value: (r) => diff(r.diff)},
      {label: `${Math.round(report.confidence * 100)} % interval`, value: (r) => range(r.interval)},
      {label: 'Always-valid interval', value: (r) => range(r.always_valid)},
      {label: 'Verdict', value: (r) => h('span', {class: `chip ${r.verdict === 'better' ? 'chip-ok' : r.verdict === 'worse' ? 'chip-bad' : 'chip-muted'}`, dataset: {revenueVerdict: r.verdict}, text: VERDICTS[r.verdict] || r.verdict})},
      {label: 'Action', value: action},
    ], report.variants, 'No variants.'));
}

function show(body, stats, stop) {
  const variants = stats.variants || [];
  const v = verdict(stats.uplift);
  const inv = stats.invited || {};
  const hold = stats.holdout || {};
  const ratio = (key, from) => (row) => h('span', {}, String(row[key] ?? 0),
    h('span', {class: 'muted small', text: ` ${pct(row[key] ?? 0, row[from])}`}));
  body.replaceChildren(
    h('div', {class: `verdict ${v.tone ? `verdict-${v.tone}` : ''}`, role: 'status', dataset: {verdict: ''}, text: v.text}),
    h('div', {class: 'kpis'},
      kpi('Invited visitors', inv.visitors ?? 0, `${inv.converted_visitors ?? 0} converted · ${pct(inv.converted_visitors, inv.visitors)}`),
      kpi('Holdout visitors', hold.visitors ?? 0, `${hold.converted_visitors ?? 0} converted · ${pct(hold.converted_visitors, hold.visitors)}`),
      kpi('Uplift', stats.uplift && stats.uplift.invited_rate !== null && stats.uplift.holdout_rate !== null ? `${signed(stats.uplift.diff_pp)} pp` : '–',
        stats.uplift ? `95 % interval ${signed(stats.uplift.ci_low_pp)} … ${signed(stats.uplift.ci_high_pp)} pp (Newcombe, one look)${stats.uplift.always_valid ? `; ${signed(stats.uplift.always_valid.low_pp)} … ${signed(stats.uplift.always_valid.high_pp)} pp at every look (mSPRT)` : ''}` : ''),
      kpi('Revenue (invited)', money(inv.revenue), `holdout: ${money(hold.revenue)}`)),
    panel('Funnel per variant', table([
      {label: 'Variant', value: (r) => r.variant_id},
      {label: 'Triggered', num: true, value: (r) => r.triggered},
      {label: 'Shown', num: true, value: ratio('shown', 'triggered')},
      {label: 'Accepted', num: true, value: ratio('accepted', 'shown')},
      {label: 'Dismissed', num: true, value: (r) => r.dismissed},
      {label: 'Expired', num: true, value: (r) => r.expired},
      {label: 'Chats', num: true, value: (r) => r.chats},
      {label: 'Conversions', num: true, value: ratio('conversions', 'shown')},
      {label: 'Revenue', num: true, value: (r) => money(r.revenue)},
    ], variants, 'No invitations in this period.')));
  const revenue = revenuePanel(stats.revenue_uplift, stop);
  if (revenue) body.appendChild(revenue);
  const days = stats.days || [];
  const daily = panel('By day');
  body.appendChild(daily);
  if (!days.length) daily.appendChild(h('p', {class: 'empty', text: 'No activity in this period.'}));
  else {
    chart(daily, {
      x: days.map((d) => daySeconds(d.day)),
      pad: 43200,
      days: true,
      series: [
        {label: 'Triggered', values: days.map((d) => d.triggered || 0), color: '#94a3b8'},
        {label: 'Shown', values: days.map((d) => d.shown || 0), color: '#4f46e5'},
        {label: 'Accepted', values: days.map((d) => d.accepted || 0), color: '#16a34a'},
        {label: 'Conversions', values: days.map((d) => d.conversions || 0), color: '#f59e0b'},
      ],
    });
  }
}
