'use strict';
// Reports: chats, missed (with reasons), response times, duration, CSAT, NPS, CES, thumbs —
// overall, per agent, per department, by day — and the invitation funnel. Each table
// has a CSV export (the same endpoint with format=csv&table=…).

import {chart, daySeconds} from '../chart.js';
import {h, num, panel, periodPicker, secs, table, unavailable} from '../ui.js';
import {kpi} from './editor.js';

const METRICS = [
  {label: 'Chats', num: true, value: (r) => r.chats},
  {label: 'Missed', num: true, value: (r) => r.missed},
  {label: '1st reply p50', num: true, value: (r) => secs(r.first_response_p50_s)},
  {label: '1st reply p90', num: true, value: (r) => secs(r.first_response_p90_s)},
  {label: 'Avg reply', num: true, value: (r) => secs(r.avg_response_s)},
  {label: 'Avg duration', num: true, value: (r) => secs(r.avg_duration_s)},
  {label: 'CSAT', num: true, value: (r) => num(r.csat_pct, 1, ' %')},
  {label: 'NPS', num: true, value: (r) => num(r.nps)},
  {label: 'CES', num: true, value: (r) => num(r.ces_avg, 2)},
  {label: 'Thumbs up', num: true, value: (r) => num(r.thumbs_up_pct, 1, ' %')},
];

/** "1 answer", "3 answers". */
export const answers = (n) => `${n} ${n === 1 ? 'answer' : 'answers'}`;

/** The thumbs-up share's interval, said in words with its method. */
export const thumbsInterval = (t) => t.thumbs_responses
  ? `${answers(t.thumbs_responses)}; 95 % interval ${num(t.thumbs_up_low_pct, 1)}–${num(t.thumbs_up_high_pct, 1, ' %')} (Wilson score)`
  : answers(0);

export async function renderReports(ctx, page) {
  const site = ctx.site();
  if (!site) return page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
  const body = h('div', {class: 'stack'});
  const picker = periodPicker(30, load);
  page.append(h('div', {class: 'page-head'}, h('h1', {text: `Reports — ${site.name}`}), picker.el), body);

  async function load(period) {
    body.replaceChildren(h('p', {class: 'muted', text: 'Loading…'}));
    let report;
    try {
      report = await ctx.api.get(`/sites/${site.id}/reports/summary`, period);
    } catch (err) {
      body.replaceChildren(err.missing ? unavailable('Reports') : h('p', {class: 'form-error', role: 'alert', text: err.message}));
      return;
    }
    const csv = (name) => h('a', {class: 'btn btn-sm', download: '', text: 'CSV',
      'aria-label': `Download ${name} as CSV`,
      href: `/api/v1/sites/${encodeURIComponent(site.id)}/reports/summary?${new URLSearchParams({...period, format: 'csv', table: name})}`});
    const section = (title, name, ...children) => h('section', {class: 'panel', 'aria-label': title},
      h('div', {class: 'panel-head'}, h('h2', {text: title}), csv(name)), ...children);
    const t = report.totals;
    const f = report.funnel;
    const reasons = Object.entries(t.missed_reasons).map(([k, n]) => `${n} ${k.replace('_', ' ')}`).join(', ');
    body.replaceChildren(
      h('div', {class: 'kpis'},
        kpi('Chats', t.chats, `${t.answered} answered`),
        kpi('Missed', t.missed, reasons || 'none'),
        kpi('First reply', secs(t.first_response_p50_s), `p90 ${secs(t.first_response_p90_s)}`),
        kpi('Avg reply', secs(t.avg_response_s)),
        kpi('Avg duration', secs(t.avg_duration_s)),
        kpi('CSAT', num(t.csat_pct, 1, ' %'), answers(t.csat_responses)),
        kpi('NPS', num(t.nps), answers(t.nps_responses)),
        kpi('CES', num(t.ces_avg, 2), answers(t.ces_responses)),
        kpi('Thumbs up', num(t.thumbs_up_pct, 1, ' %'), thumbsInterval(t))),
      section('Totals', 'totals', h('p', {class: 'panel-note', text: 'First reply: from the chat request to the first agent message. Avg reply: from a visitor message to the next agent message. Thumbs up: the share of thumbs answers that were up; its 95 % interval is the Wilson score interval, the range the true share most likely lies in (wide while there are few answers).'})),
      byDay(section, report.days),
      section('Per agent', 'agents', table([{label: 'Agent', value: (r) => r.name || r.agent_id}, ...METRICS], report.agents, 'No answered chats.')),
      section('Per department', 'departments', table([{label: 'Department', value: (r) => r.department || '(none)'}, ...METRICS], report.departments, 'No chats.')),
      section('Missed chats', 'missed', table([{label: 'Reason', value: (r) => r[0].replace('_', ' ')}, {label: 'Chats', num: true, value: (r) => r[1]}], Object.entries(t.missed_reasons), 'No missed chats.')),
      section('Invitation funnel', 'funnel', h('div', {class: 'kpis'},
        kpi('Triggered', f.triggered), kpi('Shown', f.shown), kpi('Accepted', f.accepted), kpi('Dismissed', f.dismissed),
        kpi('Expired', f.expired), kpi('Chats', f.chats), kpi('Conversions', f.conversions, `holdout: ${f.holdout_conversions}`),
        kpi('Revenue', Object.entries(f.revenue).map(([c, v]) => `${Number(v).toFixed(2)} ${c}`).join(' + ') || '0'))),
      section('By rule', 'rules', table([
        {label: 'Rule', value: (r) => r.rule_name || r.rule_id},
        {label: 'Triggered', num: true, value: (r) => r.triggered}, {label: 'Shown', num: true, value: (r) => r.shown},
        {label: 'Accepted', num: true, value: (r) => r.accepted}, {label: 'Held out', num: true, value: (r) => r.held_out},
        {label: 'Chats', num: true, value: (r) => r.chats}, {label: 'Conversions', num: true, value: (r) => r.conversions},
      ], report.rules, 'No invitations in this period.')));
  }
  await load(picker.period());
}

function byDay(section, days) {
  const box = section('By day', 'days');
  if (!days.length) {
    box.appendChild(h('p', {class: 'empty', text: 'No chats in this period.'}));
    return box;
  }
  chart(box, {
    x: days.map((d) => daySeconds(d.day)),
    pad: 43200,
    days: true,
    series: [
      {label: 'Chats', values: days.map((d) => d.chats), color: '#4f46e5', bars: true},
      {label: 'Missed', values: days.map((d) => d.missed), color: '#dc2626'},
    ],
    height: 200,
  });
  box.appendChild(table([{label: 'Day', value: (r) => r.day}, ...METRICS], days));
  return box;
}
