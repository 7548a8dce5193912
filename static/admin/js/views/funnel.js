'use strict';
// A rule's funnel over the period — visitors who matched its conditions → got past each
// gate → were invited → saw it → accepted → chatted → converted — drawn as inline SVG
// bars (no library), and "why not" for one visitor id: the rule's timeline for them and
// the engine's reason now. Data: GET …/rules/{id}/funnel and …/why-not/{visitor_id}.

import {h, panel, toast, when} from '../ui.js';

const SVG = 'http://www.w3.org/2000/svg';

// Gate codes (invitations/caps.py) in words a marketer reads.
export const GATE_WORDS = {
  invitation_pending: 'no other invitation pending',
  open_conversation: 'not already chatting',
  invitation_on_screen: 'no other invitation on screen',
  fatigue: 'within the site’s invitation budget',
  max_per_visit: 'within the rule’s per-visit cap',
  min_days_between: 'not invited by this rule recently',
  cooldown: 'no dismissal recently',
  schedule_closed: 'inside the schedule',
  agent_offline: 'an agent online',
  no_capacity: 'an agent with room',
  predicted_wait: 'a short predicted wait',
};
const STEP_WORDS = {
  matched: 'Matched the conditions',
  fired: 'Invited',
  shown: 'Saw the invitation',
  accepted: 'Accepted',
  chatted: 'Chatted',
  converted: 'Converted',
};
const OUTCOME_WORDS = {
  unmatched: 'conditions no longer hold', blocked: 'blocked', held_out: 'held out (holdout group)',
  outranked: 'outranked by another rule', delayed: 'invited, waiting for its delay', fired: 'invited',
  cancelled: 'delayed invitation cancelled', shown: 'saw the invitation', accepted: 'accepted',
  dismissed: 'dismissed', expired: 'expired unanswered', withdrawn: 'withdrawn', chatted: 'chatted',
  converted: 'converted', false: 'conditions do not hold', disabled: 'the rule is off', unknown: 'unknown',
};

export function stepLabel(step) {
  if (step.gate) return `Past gate: ${GATE_WORDS[step.gate] || step.gate}`;
  return STEP_WORDS[step.step] || step.step;
}

export function reasonWords(outcome, detail) {
  const base = OUTCOME_WORDS[outcome] || outcome;
  if (!detail) return base;
  if (outcome === 'blocked' || outcome === 'cancelled') return `${base}: needs ${GATE_WORDS[detail] || detail}`;
  if (outcome === 'false') return `${base} (condition ${detail} is false)`;
  if (outcome === 'outranked') return `${base} (${detail})`;
  return `${base} (${detail})`;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

/** Horizontal bars, one per step, widths relative to the first step. */
export function funnelChart(steps) {
  const rowH = 30;
  const labelW = 320;
  const barW = 420;
  const width = labelW + barW + 90;
  const top = steps.length ? steps[0].visitors : 0;
  const chart = svg('svg', {
    class: 'funnel-chart', role: 'img', width, height: steps.length * rowH + 8,
    viewBox: `0 0 ${width} ${steps.length * rowH + 8}`,
    'aria-label': steps.map((s) => `${stepLabel(s)}: ${s.visitors}`).join('; '),
  });
  steps.forEach((s, i) => {
    const y = 4 + i * rowH;
    const w = top ? Math.max(s.visitors ? 2 : 0, Math.round((barW * s.visitors) / top)) : 0;
    const share = top ? ` (${Math.round((100 * s.visitors) / top)} %)` : '';
    const color = s.gate ? '#94a3b8' : s.step === 'matched' ? '#64748b' : '#4f46e5';
    const row = svg('g', {'data-step': s.step});
    row.append(
      svg('text', {x: labelW - 8, y: y + 19, 'text-anchor': 'end', 'font-size': 13, fill: '#374151'}, stepLabel(s)),
      svg('rect', {x: labelW, y: y + 4, width: barW, height: rowH - 8, fill: '#f1f5f9', rx: 3}),
      svg('rect', {x: labelW, y: y + 4, width: w, height: rowH - 8, fill: color, rx: 3}),
      svg('text', {x: labelW + barW + 8, y: y + 19, 'font-size': 13, fill: '#111827', 'data-count': s.visitors}, `${s.visitors}${share}`),
    );
    chart.appendChild(row);
  });
  return chart;
}

/** The funnel panel for the rule at `base` (…/rules/{id}) over `period`. */
export async function funnelPanel(ctx, base, period) {
  const box = panel('Funnel over time');
  box.dataset.funnel = '';
  let data;
  try {
    data = await ctx.api.get(`${base}/funnel`, period);
  } catch (err) {
    box.appendChild(h('p', {class: 'form-error', role: 'alert', text: err.message}));
    return box;
  }
  const steps = data.steps || [];
  const notes = [`Each step counts the visitors who got at least that far in the period (decisions over time; at most ${data.max_changes_per_visit} changes a visit are kept).`];
  if (data.held_out) notes.push(`${data.held_out} visitors were held out (holdout group) after passing every gate.`);
  if (data.sampled_visitors) notes.push(`${data.sampled_visitors} of them were recorded by sampling (${data.sample_pct} % of visitors once the site was busy): counts are a sample.`);
  box.append(
    h('p', {class: 'muted small', text: notes.join(' ')}),
    steps.length && steps[0].visitors ? funnelChart(steps) : h('p', {class: 'empty', text: 'No visitor matched this rule in this period.'}),
    whyNot(ctx, base),
  );
  return box;
}

/** "Why not?" for one visitor id: the rule's timeline for them, and its reason now. */
function whyNot(ctx, base) {
  const id = h('input', {type: 'text', placeholder: 'visitor id, e.g. vi_…', 'aria-label': 'Visitor id', class: 'why-not-id'});
  const out = h('div', {class: 'why-not-out', role: 'status'});
  const ask = h('button', {type: 'submit', class: 'btn', text: 'Why not?'});
  const form = h('form', {class: 'row why-not'}, id, ask);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const visitor = id.value.trim();
    if (!visitor) return toast('Enter a visitor id.', true);
    out.replaceChildren(h('p', {class: 'muted', text: 'Loading…'}));
    try {
      const data = await ctx.api.get(`${base}/why-not/${encodeURIComponent(visitor)}`);
      out.replaceChildren(...whyNotBody(data));
    } catch (err) {
      out.replaceChildren(h('p', {class: 'form-error', role: 'alert', text: err.message}));
    }
  });
  return h('div', {class: 'stack'}, h('h3', {text: 'Why not? One visitor'}), form, out);
}

function whyNotBody(data) {
  const now = data.now || {};
  const rows = (data.timeline || []).map((c) =>
    h('li', {dataset: {outcome: c.outcome}}, h('span', {class: 'muted small', text: `${when(c.ts)}:${String(new Date(c.ts).getSeconds()).padStart(2, '0')} `}), h('span', {text: reasonWords(c.outcome, c.detail)})));
  return [
    h('p', {dataset: {whyNow: now.outcome || ''}}, h('strong', {text: 'Now: '}), reasonWords(now.outcome, now.reason)),
    rows.length ? h('ol', {class: 'why-not-timeline'}, ...rows) : h('p', {class: 'muted', text: 'No change recorded for this visitor and rule (never matched, or not in the recorded sample).'}),
  ];
}
