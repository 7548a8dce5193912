'use strict';
// The rule form builder: `when` as a tree of all/any/not groups and conditions (facts
// and operators from the engine's catalogue), gates with a schedule, holdout, and
// variants with weights, delay and texts per language. It edits a rule object in place;
// `changed(rebuild)` tells the editor (rebuild: the shape changed, draw the form again).
// Every control is registered in `errors` under its JSON path (e.g. when.all[2].value),
// so the server's validation messages appear at the field they belong to.

import {checkbox, field, h, input, select} from '../ui.js';
import {factGroup, factWords, opLabel} from './rule_words.js';

const FAMILIES = ['visitor.attr.', 'event.'];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function factSpec(catalogue, name) {
  const direct = catalogue.facts.find((f) => f.name === name);
  if (direct) return direct;
  const family = FAMILIES.find((p) => String(name).startsWith(p));
  return family ? catalogue.facts.find((f) => f.name === `${family}NAME`) : null;
}

function parseScalar(raw, type) {
  const text = String(raw).trim();
  if (type === 'bool') return text === 'true';
  if ((type === 'number' || type === 'any') && text !== '' && Number.isFinite(Number(text))) return Number(text);
  if (type === 'any' && (text === 'true' || text === 'false')) return text === 'true';
  return raw;
}

export class RuleForm {
  /** `isNew`: a rule not saved yet — it may be saved live (a saved one has Enable/Disable). */
  constructor(rule, catalogue, site, errors, changed, isNew = false) {
    Object.assign(this, {rule, catalogue, site, errors, changed, isNew});
  }

  render() {
    const r = this.rule;
    return h('div', {class: 'stack'}, this.basics(r), this.whenPanel(r), this.gates(r), this.variants(r));
  }

  bind(el, path, read, event = 'input') {
    this.errors.at(path, el);
    el.addEventListener(event, () => {
      read(el);
      this.changed(false);
    });
    return el;
  }

  basics(r) {
    const name = this.bind(input({value: r.name || '', maxlength: 200}), 'name', (el) => { r.name = el.value; });
    const priority = this.bind(h('input', {type: 'number', value: r.priority ?? 0}), 'priority', (el) => { r.priority = Number(el.value); });
    const holdout = this.bind(h('input', {type: 'number', min: 0, max: this.catalogue.limits.max_holdout_pct, value: r.holdout_pct ?? 0}),
      'holdout_pct', (el) => { r.holdout_pct = el.value === '' ? 0 : Number(el.value); });
    let live = null;
    if (this.isNew) {
      const [label, box] = checkbox('Live as soon as it is saved (visitors on the site now are checked at once)', !!r.enabled);
      box.addEventListener('change', () => { r.enabled = box.checked; this.changed(false); });
      this.errors.at('enabled', label);
      live = h('div', {class: 'field wide'}, label);
    }
    return h('section', {class: 'panel', 'aria-label': 'Rule'}, h('h2', {text: 'Rule'}), h('div', {class: 'form-grid'},
      field('Rule name', name, null, 'wide'), field('Priority', priority, 'Higher wins when several rules fire at once'),
      field('Holdout %', holdout, `Visitors kept uninvited to measure uplift (0–${this.catalogue.limits.max_holdout_pct})`), live));
  }

  whenPanel(r) {
    if (!r.when) r.when = {all: []};
    return h('section', {class: 'panel', 'aria-label': 'When'}, h('h2', {text: 'When'}),
      h('p', {class: 'panel-note', text: 'The visitor behaviour that makes this rule fire.'}),
      this.node(r.when, 'when', null));
  }

  /** One node of the tree; `detach` removes it from its parent (null for the root). */
  node(node, path, detach) {
    if (node.all || node.any) return this.group(node, path, detach);
    if (node.not) return this.negation(node, path, detach);
    return this.condition(node, path, detach);
  }

  group(node, path, detach) {
    const kind = node.all ? 'all' : 'any';
    const children = node[kind];
    const mode = select([['all', 'All of these'], ['any', 'Any of these']], kind, {'aria-label': 'Combine conditions'});
    mode.addEventListener('change', () => {
      node[mode.value] = children;
      delete node[kind];
      this.changed(true);
    });
    const add = (make, label) => {
      const btn = h('button', {type: 'button', class: 'btn btn-sm', text: label});
      btn.addEventListener('click', () => { children.push(make()); this.changed(true); });
      return btn;
    };
    const head = h('div', {class: 'group-head'}, mode, h('span', {class: 'grow'}),
      add(() => ({fact: 'page.path', op: 'eq', value: ''}), 'Add condition'),
      add(() => ({any: []}), 'Add group'),
      add(() => ({not: {fact: 'visitor.chats', op: 'gt', value: 0}}), 'Add NOT'),
      detach ? this.removeButton(detach) : null);
    this.errors.at(path, head);
    this.errors.at(`${path}.${kind}`, head);
    const box = h('div', {class: 'group', dataset: {path}}, head);
    children.forEach((child, i) => {
      box.appendChild(this.node(child, `${path}.${kind}[${i}]`, () => children.splice(i, 1)));
    });
    if (!children.length) box.appendChild(h('p', {class: 'empty', text: 'No conditions: add one.'}));
    return box;
  }

  negation(node, path, detach) {
    const head = h('div', {class: 'group-head'}, h('strong', {text: 'NOT'}), h('span', {class: 'grow muted small', text: 'fires only when this is false'}),
      detach ? this.removeButton(detach) : null);
    this.errors.at(path, head);
    return h('div', {class: 'group group-not', dataset: {path}}, head,
      this.node(node.not, `${path}.not`, null));
  }

  removeButton(detach) {
    const btn = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Remove', 'aria-label': 'Remove'});
    btn.addEventListener('click', () => { detach(); this.changed(true); });
    return btn;
  }

  condition(node, path, detach) {
    const spec = factSpec(this.catalogue, node.fact);
    const family = FAMILIES.find((p) => String(node.fact || '').startsWith(p));
    // Labelled options in groups; the values are the engine's keys (the JSON view's).
    const fact = h('select', {'aria-label': 'Fact'});
    const groups = new Map();
    for (const f of this.catalogue.facts) {
      const value = f.name.endsWith('.NAME') ? f.name.slice(0, -4) : f.name;
      const group = factGroup(f.name);
      if (!groups.has(group)) fact.appendChild(groups.set(group, h('optgroup', {label: group})).get(group));
      groups.get(group).appendChild(h('option', {value, text: factWords(f).label, selected: value === (family || node.fact)}));
    }
    if (spec === null) fact.appendChild(h('option', {value: node.fact, text: node.fact, selected: true}));
    fact.addEventListener('change', () => {
      node.fact = FAMILIES.includes(fact.value) ? `${fact.value}name` : fact.value;
      const next = factSpec(this.catalogue, node.fact);
      if (next && !next.operators.includes(node.op)) node.op = next.operators[0];
      this.changed(true);
    });
    this.errors.at(`${path}.fact`, fact);
    const factBox = h('div', {class: 'cond-fact'}, fact);
    if (family) {
      const name = input({value: node.fact.slice(family.length), 'aria-label': 'Name', placeholder: family === 'event.' ? 'exit_intent' : 'plan'});
      name.addEventListener('input', () => { node.fact = family + name.value.trim(); this.changed(false); });
      factBox.appendChild(name);
    }
    const ops = spec ? spec.operators : this.catalogue.operators.map((o) => o.name);
    const opInfo = (name) => this.catalogue.operators.find((o) => o.name === name) || {value: 'scalar', description: name};
    const type = spec ? spec.type : 'any';
    const op = select(ops.map((o) => [o, opLabel(o, type)]), node.op, {'aria-label': 'Operator', title: opInfo(node.op).description});
    op.addEventListener('change', () => {
      const was = opInfo(node.op).value;
      node.op = op.value;
      const now = opInfo(node.op).value;
      if (now === 'none') delete node.value;
      else if (now !== was) node.value = now === 'list' ? [] : '';
      this.changed(true);
    });
    this.errors.at(`${path}.op`, op);
    const kind = opInfo(node.op).value;
    let value;
    if (kind === 'none') value = h('span', {class: 'muted small', text: 'no value'});
    else if (type === 'bool' && kind === 'scalar') {
      value = select([['true', 'true'], ['false', 'false']], String(node.value === true), {'aria-label': 'Value'});
      if (typeof node.value !== 'boolean') node.value = false;
      value.addEventListener('change', () => { node.value = value.value === 'true'; this.changed(false); });
    } else {
      const shown = Array.isArray(node.value) ? node.value.join(', ') : (node.value ?? '');
      value = input({value: String(shown), 'aria-label': 'Value', inputmode: type === 'number' && kind === 'scalar' ? 'decimal' : 'text',
        placeholder: kind === 'list' ? 'a, b, c' : (type === 'number' ? '0' : '')});
      value.addEventListener('input', () => {
        node.value = kind === 'list'
          ? value.value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => parseScalar(s, type))
          : parseScalar(value.value, type);
        this.changed(false);
      });
    }
    this.errors.at(`${path}.value`, value);
    const words = spec ? factWords(spec) : {unit: '', help: ''};
    const unit = kind === 'none' || !words.unit ? null : h('span', {class: 'cond-unit muted small', text: words.unit});
    const row = h('div', {class: 'cond', dataset: {path}}, factBox, op, h('div', {class: 'cond-value'}, value, unit),
      detach ? this.removeButton(detach) : h('span'),
      words.help ? h('p', {class: 'cond-help muted small', text: `${words.label}: ${words.help}.`}) : null);
    this.errors.at(path, row);
    return row;
  }

  gates(r) {
    const g = r.gates || (r.gates = {});
    const [agentLabel, agent] = checkbox('Only when an agent of the department is online with room', g.require_agent_online ?? true);
    if (g.require_agent_online === undefined) g.require_agent_online = true;
    agent.addEventListener('change', () => { g.require_agent_online = agent.checked; this.changed(false); });
    this.errors.at('gates.require_agent_online', agentLabel);
    const depts = [['', 'Any department'], ...(this.site.departments || []).map((d) => [d, d])];
    if (g.department && !this.site.departments.includes(g.department)) depts.push([g.department, g.department]);
    const dept = select(depts, g.department || '', {});
    this.bind(dept, 'gates.department', (el) => { if (el.value) g.department = el.value; else delete g.department; }, 'change');
    const numberGate = (key, placeholder) => this.bind(h('input', {type: 'number', min: 0, value: g[key] ?? '', placeholder}),
      `gates.${key}`, (el) => { if (el.value === '') delete g[key]; else g[key] = Number(el.value); });
    const sched = g.schedule;
    const [schedLabel, useSchedule] = checkbox('Only in these hours', !!sched);
    useSchedule.addEventListener('change', () => {
      if (useSchedule.checked) g.schedule = {timezone: this.site.timezone, windows: [{days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00'}]};
      else delete g.schedule;
      this.changed(true);
    });
    const schedBox = h('div', {class: 'stack'});
    if (sched) {
      const zone = this.bind(input({value: sched.timezone || this.site.timezone}), 'gates.schedule.timezone', (el) => { sched.timezone = el.value.trim(); });
      schedBox.appendChild(field('Schedule time zone', zone));
      (sched.windows || (sched.windows = [])).forEach((win, i) => {
        const p = `gates.schedule.windows[${i}]`;
        const days = DAYS.map((d) => {
          const [label, box] = checkbox(d, (win.days || []).includes(d));
          box.addEventListener('change', () => { win.days = DAYS.filter((x) => (x === d ? box.checked : (win.days || []).includes(x))); this.changed(false); });
          return label;
        });
        const from = this.bind(h('input', {type: 'time', value: win.from, 'aria-label': 'From'}), `${p}.from`, (el) => { win.from = el.value; });
        const to = this.bind(h('input', {type: 'time', value: win.to, 'aria-label': 'To'}), `${p}.to`, (el) => { win.to = el.value; });
        const row = h('div', {class: 'window-row'}, ...days, from, h('span', {text: '–'}), to, this.removeButton(() => sched.windows.splice(i, 1)));
        this.errors.at(p, row);
        schedBox.appendChild(row);
      });
      const addWin = h('button', {type: 'button', class: 'btn btn-sm', text: 'Add hours'});
      addWin.addEventListener('click', () => { sched.windows.push({days: ['sat'], from: '10:00', to: '14:00'}); this.changed(true); });
      schedBox.appendChild(h('div', {class: 'row'}, addWin));
    }
    this.errors.at('gates.schedule', schedLabel);
    return h('section', {class: 'panel', 'aria-label': 'Gates'}, h('h2', {text: 'Gates'}),
      h('p', {class: 'panel-note', text: 'Even when the behaviour matches, invite only if these allow.'}),
      h('div', {class: 'form-grid'},
        h('div', {class: 'field wide'}, agentLabel), field('Department', dept),
        field('At most per visit', numberGate('max_per_visit', '1')),
        field('Days between invitations', numberGate('min_days_between', '0')),
        field('Pause after a dismissal (s)', numberGate('cooldown_after_dismiss_s', '86400')),
        h('div', {class: 'field wide'}, schedLabel, schedBox)));
  }

  variants(r) {
    const variants = r.variants || (r.variants = []);
    const langs = [...new Set([this.site.default_lang, ...(this.site.languages || [])])];
    const box = h('div', {class: 'stack'});
    variants.forEach((v, i) => {
      const p = `variants[${i}]`;
      const id = this.bind(input({value: v.id || '', maxlength: 32, 'aria-label': 'Variant id'}), `${p}.id`, (el) => { v.id = el.value.trim(); });
      const weight = this.bind(h('input', {type: 'number', min: 0, value: v.weight ?? 1, 'aria-label': 'Weight'}), `${p}.weight`, (el) => { v.weight = Number(el.value); });
      const delay = this.bind(h('input', {type: 'number', min: 0, value: v.delay_s ?? 0, 'aria-label': 'Delay (s)'}), `${p}.delay_s`, (el) => { v.delay_s = Number(el.value); });
      const texts = v.text || (v.text = {});
      const textRows = Object.keys(texts).map((lang) => {
        const area = this.bind(h('textarea', {rows: 2, value: texts[lang], 'aria-label': `Text (${lang})`}), `${p}.text.${lang}`, (el) => { texts[lang] = el.value; });
        return h('div', {class: 'lang-row'}, h('span', {class: 'chip', text: lang}), area,
          this.removeButton(() => delete texts[lang]));
      });
      const missing = langs.filter((l) => !(l in texts));
      const addLang = select([['', 'Add a language…'], ...missing.map((l) => [l, l]), ['other', 'Other…']], '', {'aria-label': 'Add a language'});
      addLang.addEventListener('change', () => {
        let lang = addLang.value;
        if (lang === 'other') lang = (prompt('Language tag, e.g. de') || '').trim();
        if (lang) { texts[lang] = ''; this.changed(true); }
      });
      const head = h('div', {class: 'variant-head'}, h('strong', {text: `Variant ${v.id || i + 1}`}), h('span', {class: 'grow'}),
        variants.length > 1 ? this.removeButton(() => variants.splice(i, 1)) : null);
      const card = h('div', {class: 'variant', dataset: {variant: v.id || ''}}, head,
        h('div', {class: 'form-grid'}, field('Variant id', id), field('Weight', weight), field('Delay before showing (s)', delay)),
        h('div', {class: 'field'}, h('span', {class: 'field-label', text: 'Text per language — {visitor.name|there} fills in a fact'}), ...textRows, addLang));
      this.errors.at(p, head);
      this.errors.at(`${p}.text`, addLang);
      box.appendChild(card);
    });
    const add = h('button', {type: 'button', class: 'btn btn-sm', text: 'Add variant'});
    add.addEventListener('click', () => {
      const ids = new Set(variants.map((v) => v.id));
      const next = 'abcdefghijklmnopqrstuvwxyz'.split('').find((c) => !ids.has(c)) || `v${variants.length + 1}`;
      variants.push({id: next, weight: 50, text: {[this.site.default_lang]: ''}});
      this.changed(true);
    });
    const section = h('section', {class: 'panel', 'aria-label': 'Variants'}, h('div', {class: 'panel-head'}, h('h2', {text: 'Variants'}), add),
      h('p', {class: 'panel-note', text: 'Each visitor always sees the same variant, chosen by weight.'}), box);
    this.errors.at('variants', add);
    return section;
  }
}
