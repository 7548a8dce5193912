'use strict';
// The rule editor: the form (ruleform.js) and the raw JSON side by side, both ways;
// validation at the field (POST rules/validate); a live "matching now" count of online
// visitors; save, enable/disable, duplicate; backtest chart against agent capacity;
// versions with who/when and a diff.

import {chart} from '../chart.js';
import {Errors, h, input, panel, periodPicker, toast, unavailable, when} from '../ui.js';
import {RuleForm} from './ruleform.js';

const SERVER_FIELDS = ['id', 'version', 'created_ts', 'updated_ts', 'site_id'];
const MATCH_EVERY_MS = 3000;

export const EXAMPLE_RULE = {
  name: 'New rule', enabled: false, priority: 0, holdout_pct: 0,
  when: {all: [{fact: 'page.time_s', op: 'gte', value: 30}]},
  gates: {require_agent_online: true, max_per_visit: 1},
  variants: [{id: 'a', weight: 100, text: {en: 'Need a hand?'}}],
};

function draftOf(rule) {
  const draft = JSON.parse(JSON.stringify(rule));
  for (const key of SERVER_FIELDS) delete draft[key];
  return draft;
}

export async function renderEditor(ctx, page, ruleId, copy) {
  const site = ctx.site();
  if (!site) return page.appendChild(h('p', {class: 'empty', text: 'Create a site first.'}));
  const base = `/sites/${site.id}/rules`;
  let catalogue;
  let saved = null;
  try {
    catalogue = await ctx.api.get('/catalogue');
    if (ruleId !== 'new') saved = await ctx.api.get(`${base}/${ruleId}`);
  } catch (err) {
    if (err.missing && !(err.code === 'not_found' && err.message === 'no such rule')) {
      page.append(h('h1', {text: 'Rule editor'}), unavailable('The rule editor'));
      return;
    }
    throw err;
  }
  if (copy && saved) {
    saved = {...saved, name: `${saved.name} (copy)`, enabled: false};
    delete saved.id;
  }
  const isNew = !saved || copy;
  let draft = saved ? draftOf(saved) : JSON.parse(JSON.stringify(EXAMPLE_RULE));
  if (!saved) draft.variants[0].text = {[site.default_lang]: 'Need a hand?'};
  let current = copy ? null : saved;  // the stored rule this page edits

  const errors = new Errors();
  const formSlot = h('div');
  const json = h('textarea', {class: 'json-editor', spellcheck: 'false', 'aria-label': 'Rule JSON'});
  const jsonError = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const status = h('span', {class: 'muted small', 'aria-live': 'polite'});
  const liveCount = h('span', {dataset: {matching: ''}, text: '…'});
  const live = h('div', {class: 'live', role: 'status', 'aria-label': 'Matching now'}, h('span', {class: 'live-dot'}), liveCount);

  let validateTimer = null;
  const drawForm = () => {
    errors.places.clear();
    errors.at('(body)', jsonError);
    formSlot.replaceChildren(new RuleForm(draft, catalogue, site, errors, changed, isNew).render());
  };
  function changed(rebuild) {
    if (rebuild) drawForm();
    if (document.activeElement !== json) json.value = JSON.stringify(draft, null, 2);
    clearTimeout(validateTimer);
    validateTimer = setTimeout(check, 350);
  }
  json.addEventListener('input', () => {
    try {
      const parsed = JSON.parse(json.value);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the rule is a JSON object');
      draft = draftOf(parsed);
      jsonError.hidden = true;
      drawForm();
      clearTimeout(validateTimer);
      validateTimer = setTimeout(check, 350);
    } catch (err) {
      jsonError.textContent = `JSON: ${err.message}`;
      jsonError.hidden = false;
    }
  });

  let checking = 0;
  async function check() {
    const mine = ++checking;
    try {
      await ctx.api.post(`${base}/validate`, draft);
      if (mine !== checking) return;
      errors.clear();
      status.textContent = 'Valid';
      status.dataset.valid = 'true';
      await countMatching();
    } catch (err) {
      if (mine !== checking) return;
      status.dataset.valid = 'false';
      if (err.status === 422) {
        errors.show(err);
        status.textContent = `${err.details.length} problem${err.details.length === 1 ? '' : 's'}`;
      } else if (err.missing) status.textContent = 'Validation is not available';
      else status.textContent = err.message;
    }
  }

  async function countMatching() {
    try {
      const result = await ctx.api.post(`${base}/matching`, draft);
      // The server counts every online visitor (`exact`); say so, or that it is a sample.
      const how = result.exact === false ? ` (a sample of ${result.sampled})` : ' (exact count)';
      liveCount.textContent = `${result.matching} of ${result.online} online visitor${result.online === 1 ? '' : 's'} match now${how}; ${result.would_invite} would be invited now`;
      liveCount.dataset.matching = String(result.matching);
      liveCount.dataset.wouldInvite = String(result.would_invite);
    } catch (err) {
      liveCount.textContent = err.missing ? 'Live count not available' : (err.status === 422 ? 'Fix the rule to see who matches' : err.message);
    }
  }
  // Predicted wait (Erlang C) of the rule's department and its inputs: what the
  // max_predicted_wait_s gate reads (GET sites/{id}/wait-prediction).
  const waitBody = h('div', {dataset: {waitPrediction: ''}, text: '…'});
  const waitPanel = h('section', {class: 'panel', 'aria-label': 'Predicted wait'}, h('h3', {text: 'Predicted wait'}), waitBody);
  async function showWait() {
    try {
      const {items} = await ctx.api.get(`/sites/${site.id}/wait-prediction`);
      const dept = (draft.gates && draft.gates.department) || '';
      const row = items.find((item) => item.department === dept) || items[0];
      if (!row) return;
      const wait = row.predicted_wait_s === null ? 'no agent can take it' : `${row.predicted_wait_s.toFixed(1)} s`;
      waitBody.dataset.waitPrediction = row.predicted_wait_s === null ? 'none' : String(row.predicted_wait_s);
      waitBody.replaceChildren(
        h('p', {text: `${row.department || 'Whole site'}: a chat starting now would wait ${wait}`}),
        h('p', {class: 'muted small', text: `${row.agents_online} agents online, ${row.servers} chat slots, ${row.arrivals_per_hour} chats/hour lately, ${row.handle_time_s} s per chat (${row.load_erlangs} erlangs, P(wait) ${row.wait_probability})`}),
      );
    } catch (err) {
      waitBody.textContent = err.missing ? 'Prediction not available' : err.message;
    }
  }
  showWait();
  const poll = setInterval(() => {
    if (!page.isConnected) return clearInterval(poll);
    if (status.dataset.valid === 'true') countMatching();
    showWait();
  }, MATCH_EVERY_MS);

  const saveBtn = h('button', {type: 'button', class: 'btn btn-primary', text: isNew ? 'Save rule' : 'Save new version'});
  saveBtn.addEventListener('click', async () => {
    saveBtn.disabled = true;
    try {
      const result = current ? await ctx.api.put(`${base}/${current.id}`, draft) : await ctx.api.post(base, draft);
      toast(`Saved “${result.name}” (v${result.version})`);
      if (!current) return ctx.go(`#rules/${result.id}`);
      current = result;
      await renderSide();
    } catch (err) {
      if (err.status === 422) errors.show(err);
      else toast(err.message, true);
    } finally {
      saveBtn.disabled = false;
    }
  });

  const side = h('div', {class: 'stack'});
  async function renderSide() {
    side.replaceChildren(live, waitPanel, panel('JSON', h('p', {class: 'panel-note', text: 'Edit either side: the form and the JSON follow each other.'}), json, jsonError));
    if (current) {
      side.append(togglePanel(ctx, base, current, (r) => { current = r; draft.enabled = r.enabled; changed(false); }),
        backtestPanel(ctx, base, () => draft, current), await versionsPanel(ctx, base, current));
    } else side.append(backtestPanel(ctx, base, () => draft, null));
  }

  page.append(
    h('div', {class: 'crumbs'}, h('a', {href: '#rules', text: 'Rules'}), ' / ', isNew ? (copy ? 'Duplicate' : 'New rule') : saved.name),
    h('div', {class: 'page-head'}, h('h1', {text: isNew ? (copy ? `Duplicate of ${saved.name.replace(/ \(copy\)$/, '')}` : 'New rule') : saved.name}),
      h('div', {class: 'page-actions'}, status,
        current ? h('a', {class: 'btn', href: `#rules/${current.id}/stats`, text: 'Stats'}) : null,
        current ? h('a', {class: 'btn', href: `#rules/${current.id}/copy`, text: 'Duplicate'}) : null,
        saveBtn)),
    errors.footer,
    h('div', {class: 'split'}, formSlot, side));
  drawForm();
  await renderSide();
  json.value = JSON.stringify(draft, null, 2);
  await check();
}

function togglePanel(ctx, base, rule, onChange) {
  const btn = h('button', {type: 'button', class: `btn ${rule.enabled ? '' : 'btn-primary'}`, text: rule.enabled ? 'Disable' : 'Enable'});
  btn.addEventListener('click', async () => {
    try {
      const result = await ctx.api.patch(`${base}/${rule.id}`, {enabled: !rule.enabled});
      toast(result.enabled ? 'Rule enabled' : 'Rule disabled');
      onChange(result);
      btn.replaceWith(togglePanel(ctx, base, result, onChange));
    } catch (err) {
      toast(err.message, true);
    }
  });
  return h('section', {class: 'panel', 'aria-label': 'Status'}, h('div', {class: 'panel-head'},
    h('h2', {text: rule.enabled ? 'Live' : 'Off'}),
    h('span', {class: `chip ${rule.enabled ? 'chip-ok' : 'chip-muted'}`, text: `v${rule.version}`}), btn),
    h('p', {class: 'panel-note', text: `Updated ${when(rule.updated_ts)}`}));
}

function backtestPanel(ctx, base, getDraft, saved) {
  const result = h('div', {class: 'stack'});
  const capacity = input({type: 'number', min: 1, value: 10, 'aria-label': 'Agent capacity / hour'});
  const picker = periodPicker(7, run);
  const go = h('button', {type: 'button', class: 'btn btn-primary', text: 'Run backtest'});
  go.addEventListener('click', () => run(picker.period()));
  async function run(period) {
    go.disabled = true;
    result.replaceChildren(h('p', {class: 'muted', text: 'Replaying recorded visits…'}));
    try {
      const cap = Number(capacity.value) || undefined;
      // A backtest answers "what if this rule were on", whatever its switch says now.
      const report = await ctx.api.post(`${base}/backtest`, {rule: {...getDraft(), enabled: true}, ...period, capacity_per_hour: cap});
      showBacktest(result, report, cap);
    } catch (err) {
      result.replaceChildren(err.missing ? unavailable('Backtesting') : h('p', {class: 'form-error', role: 'alert', text: err.message}));
    } finally {
      go.disabled = false;
    }
  }
  picker.el.querySelector('button').remove();
  return h('section', {class: 'panel', 'aria-label': 'Backtest'}, h('h2', {text: 'Backtest'}),
    h('p', {class: 'panel-note', text: saved ? 'Replays recorded visits through the rule as edited here.' : 'Replays recorded visits through this draft.'}),
    picker.el, h('div', {class: 'row'}, h('label', {for: capacity.id || (capacity.id = 'bt-capacity'), class: 'small', text: 'Agent capacity / hour'}), capacity, go), result);
}

function showBacktest(box, report, capacity) {
  const rule = (report.rules || [])[0] || {};
  box.replaceChildren(
    h('div', {class: 'kpis'},
      kpi('Visits replayed', report.visits), kpi('Would fire', rule.triggered ?? 0),
      kpi('Would show', rule.shown ?? 0), kpi('Peak / hour', report.peak_per_hour),
      kpi('Hours over capacity', report.hours_over_capacity)));
  const hours = report.hourly_load || [];
  if (!hours.length) {
    box.appendChild(h('p', {class: 'empty', text: 'The rule would not have fired in this period.'}));
    return;
  }
  box.dataset.backtest = 'done';
  chart(box, {
    x: hours.map((p) => p.hour_start),
    series: [
      {label: 'Invitations per hour', values: hours.map((p) => p.shown), color: '#4f46e5', bars: true},
      {label: 'Agent capacity', values: hours.map(() => capacity ?? null), color: '#dc2626', dash: [6, 4]},
    ],
    height: 220,
    pad: 1800,
  });
}

function kpi(label, value, sub) {
  return h('div', {class: 'kpi'}, h('div', {class: 'kpi-label', text: label}), h('div', {class: 'kpi-value', text: value ?? '–'}),
    sub ? h('div', {class: 'kpi-sub', text: sub}) : null);
}
export {kpi};

async function versionsPanel(ctx, base, rule) {
  let versions;
  try {
    versions = (await ctx.api.get(`${base}/${rule.id}/versions`)).items;
  } catch (err) {
    return panel('Versions', err.missing ? unavailable('Version history') : h('p', {class: 'form-error', text: err.message}));
  }
  const diffBox = h('div');
  const list = h('ul', {class: 'cards'});
  versions.forEach((v, i) => {
    const older = versions[i + 1];
    const btn = h('button', {type: 'button', class: 'btn btn-sm', text: older ? `Diff with v${older.version}` : 'Show'});
    btn.addEventListener('click', () => diffBox.replaceChildren(
      h('h3', {text: older ? `v${older.version} → v${v.version}` : `v${v.version}`}),
      diffView(older ? older.body : {}, v.body)));
    list.appendChild(h('li', {class: 'card'}, h('div', {class: 'card-main'},
      h('div', {class: 'card-title', text: `v${v.version}`}),
      h('div', {class: 'card-facts', text: `${when(v.created_ts)} · by ${v.created_by === ctx.me.id ? 'you' : (v.created_by || 'unknown')}`})), btn));
  });
  return h('section', {class: 'panel', 'aria-label': 'Versions'}, h('h2', {text: 'Versions'}), list, diffBox);
}

/** A line diff of two rule bodies (longest common subsequence of pretty JSON lines). */
export function diffView(a, b) {
  const x = JSON.stringify(a, null, 2).split('\n');
  const y = JSON.stringify(b, null, 2).split('\n');
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({length: n + 1}, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
    lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out = h('pre', {class: 'diff', 'aria-label': 'Differences'});
  const line = (cls, sign, text) => out.appendChild(h('div', {class: `diff-line ${cls}`, text: `${sign} ${text}`}));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { line('', ' ', x[i]); i++; j++; }
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) { line('diff-del', '-', x[i]); i++; }
    else { line('diff-add', '+', y[j]); j++; }
  }
  return out;
}
