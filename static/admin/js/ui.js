'use strict';
// Shared pieces of the admin: the REST client, form fields with errors at their place,
// tables and toasts. Every string reaches the page through textContent or text nodes
// (the console's h() helper) — never parsed as HTML.

import {Api, ApiError} from '/agent/js/api.js';
import {h, $, pad2} from '/agent/js/dom.js';

export {h, $, ApiError};

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The console's client, plus PUT/PATCH/DELETE and the `details` of 422 answers
    (each problem with its JSON path, shown at its field). */
export class AdminApi extends Api {
  async request(method, path, body) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (UNSAFE.has(method) && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let response;
    try {
      response = await fetch(this.base + path, {
        method, headers, credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      const error = new ApiError(response.status, err.code || `http_${response.status}`, err.message || response.statusText);
      error.details = Array.isArray(err.details) ? err.details : [];
      throw error;
    }
    return data;
  }

  put(path, body) { return this.request('PUT', path, body); }
  patch(path, body) { return this.request('PATCH', path, body); }
  del(path) { return this.request('DELETE', path); }
}

let fieldSeq = 0;
/** A labelled field: {label, input (element), hint?}; the label points at the input. */
export function field(label, input, hint, cls) {
  if (!input.id) input.id = `f${++fieldSeq}`;
  return h('div', {class: `field ${cls || ''}`},
    h('label', {for: input.id, text: label}), input, hint ? h('span', {class: 'hint', text: hint}) : null);
}

export function input(props) {
  return h('input', {type: 'text', ...props});
}

export function select(options, value, props) {
  const el = h('select', props || {});
  for (const opt of options) {
    const [v, label] = Array.isArray(opt) ? opt : [opt, opt];
    el.appendChild(h('option', {value: v, text: label, selected: String(v) === String(value)}));
  }
  return el;
}

export function checkbox(label, checked, props) {
  const box = h('input', {type: 'checkbox', checked: !!checked, ...(props || {})});
  return [h('label', {}, box, ` ${label}`), box];
}

export function toast(text, error = false) {
  const el = h('div', {class: `toast ${error ? 'toast-error' : ''}`, role: error ? 'alert' : 'status', text});
  $('toasts').appendChild(el);
  setTimeout(() => el.remove(), error ? 7000 : 3500);
}

/** A place for the errors of one form: `at(path, element)` registers where a path's
    message goes; `show(details)` puts each at its field (the rest in the footer). */
export class Errors {
  constructor(footer) {
    this.footer = footer || h('p', {class: 'form-error', role: 'alert', hidden: true});
    this.places = new Map();
    this.shown = [];
  }

  at(path, element) {
    this.places.set(path, element);
    return element;
  }

  clear() {
    for (const el of this.shown) el.remove();
    this.shown = [];
    for (const el of this.places.values()) el.classList.remove('invalid');
    this.footer.hidden = true;
    this.footer.textContent = '';
  }

  show(err) {
    this.clear();
    const details = (err && err.details) || [];
    const rest = [];
    for (const d of details) {
      const el = this.find(d.path);
      if (el) {
        el.classList.add('invalid');
        const msg = h('div', {class: 'field-error', role: 'alert', dataset: {path: d.path}, text: d.message});
        el.after(msg);
        this.shown.push(msg);
      } else rest.push(`${d.path}: ${d.message}`);
    }
    if (!details.length && err) rest.push(err.message || String(err));
    if (rest.length) {
      this.footer.textContent = rest.join(' · ');
      this.footer.hidden = false;
    }
  }

  find(path) {
    // The most specific registered path that the error's path starts with.
    let p = String(path || '');
    while (p) {
      if (this.places.has(p)) return this.places.get(p);
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      if (cut <= 0) break;
      p = p.slice(0, cut);
    }
    return null;
  }
}

/** ApiError → {message, details} (the server's 422 carries details with paths). */
export function errorInfo(err) {
  return {message: err.message, details: err.details || []};
}

export function table(columns, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', {class: 'empty', text: empty});
  return h('div', {class: 'table-wrap'}, h('table', {class: 'data-table'},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {class: c.num ? 'num' : '', text: c.label})))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => {
      const value = c.value(row);
      return h('td', {class: c.num ? 'num' : ''}, value instanceof Node ? value : (value ?? '–'));
    }))))));
}

export function unavailable(what) {
  return h('div', {class: 'unavailable', role: 'note', text: `${what} is not available on this server yet.`});
}

export function panel(title, ...children) {
  return h('section', {class: 'panel', 'aria-label': title}, h('h2', {text: title}), ...children);
}

export function when(ts) {
  if (!ts) return '–';
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export function num(value, digits = 1, suffix = '') {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const n = Number(value);
  return `${Number.isInteger(n) ? n : n.toFixed(digits)}${suffix}`;
}

export function secs(value) {
  if (value === null || value === undefined) return '–';
  const s = Number(value);
  if (s < 90) return `${num(s)} s`;
  if (s < 5400) return `${num(s / 60)} min`;
  return `${num(s / 3600)} h`;
}

/** A one-time secret box: the value, a copy button, and a warning it is shown once. */
export function secretBox(title, value, note) {
  const copy = h('button', {type: 'button', class: 'btn btn-sm', text: 'Copy'});
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = 'Copied';
    } catch {
      copy.textContent = 'Select and copy';
    }
  });
  return h('div', {class: 'secret-box', role: 'status'},
    h('strong', {text: title}),
    h('code', {class: 'secret-value', dataset: {secret: ''}, text: value}),
    h('div', {class: 'row'}, copy, h('span', {class: 'muted small', text: note || 'Shown once: store it now.'})));
}

/** Milliseconds ↔ the value of an <input type=date> (local midnight). */
export function dateValue(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

export function dateTs(value, endOfDay = false) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d + (endOfDay ? 1 : 0)).getTime();
}

/** From/to date inputs with a default span of `days`, ending today. */
export function periodPicker(days, onChange) {
  const now = Date.now();
  const from = h('input', {type: 'date', value: dateValue(now - (days - 1) * 86400000), 'aria-label': 'From'});
  const to = h('input', {type: 'date', value: dateValue(now), 'aria-label': 'To'});
  const period = () => ({from_ts: dateTs(from.value), to_ts: dateTs(to.value, true)});
  const run = h('button', {type: 'button', class: 'btn', text: 'Apply'});
  run.addEventListener('click', () => onChange(period()));
  return {el: h('div', {class: 'row'}, h('span', {class: 'muted small', text: 'From'}), from,
    h('span', {class: 'muted small', text: 'to'}), to, run), period, from, to};
}
