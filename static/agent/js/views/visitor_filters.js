'use strict';
// The live visitor view's search, filters, grouping and state tabs (with exact counts
// from the server). Emits the whole query on each change; `set(query)` fills the form
// from a deep link without emitting.

import {h} from '../dom.js';
import {STATES} from './visitor_query.js';

const TYPING_DELAY_MS = 250;

export function mountFilters(onChange) {
  let query = {};
  const emit = () => onChange({...query});
  const field = (key, el, event = 'change') => {
    el.addEventListener(event, () => {
      query[key] = el.value.trim();
      if (event === 'input') {
        clearTimeout(el._timer);
        el._timer = setTimeout(emit, TYPING_DELAY_MS);
      } else emit();
    });
    return el;
  };
  const search = field('q', h('input', {type: 'search', placeholder: 'Search name, email or page', 'aria-label': 'Search visitors', maxlength: '200'}), 'input');
  const url = field('url', h('input', {type: 'text', placeholder: 'Page URL, * wildcard', 'aria-label': 'Page URL pattern', class: 'f-url', maxlength: '500'}), 'input');
  const cart = field('cart_min', h('input', {type: 'number', min: '0', step: '1', placeholder: 'Cart ≥', 'aria-label': 'Cart value at least', class: 'f-num'}), 'input');
  const returning = field(
    'returning',
    h('select', {'aria-label': 'Returning visitors'}, h('option', {value: '', text: 'New and returning'}), h('option', {value: 'true', text: 'Returning'}), h('option', {value: 'false', text: 'New'})),
  );
  const country = field('country', h('input', {type: 'text', placeholder: 'Country (DE,FR)', 'aria-label': 'Country', class: 'f-short', maxlength: '100'}), 'input');
  const device = field(
    'device',
    h('select', {'aria-label': 'Device'}, h('option', {value: '', text: 'Any device'}), ...['desktop', 'mobile', 'tablet'].map((d) => h('option', {value: d, text: d[0].toUpperCase() + d.slice(1)}))),
  );
  const lang = field('lang', h('input', {type: 'text', placeholder: 'Language (en,de)', 'aria-label': 'Language', class: 'f-short', maxlength: '100'}), 'input');
  const group = h('input', {type: 'checkbox', 'aria-label': 'Group by state'});
  group.addEventListener('change', () => {
    query.group = group.checked ? 'state' : '';
    emit();
  });
  const clear = h('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: 'Clear filters'});
  clear.addEventListener('click', () => {
    query = {sort: query.sort};
    fill();
    emit();
  });

  // State tabs: All + one per state, each with its count; one chosen at a time.
  const tabs = new Map();
  const tabGroup = h('div', {class: 'state-tab-group', role: 'group', 'aria-label': 'Visitor state'});
  for (const [key, label] of [['', 'All'], ...STATES]) {
    const count = h('span', {class: 'count', dataset: {count: key || 'all'}, text: '0'});
    const button = h('button', {type: 'button', class: 'state-tab', dataset: {state: key || 'all'}}, label, count);
    button.addEventListener('click', () => {
      query.state = key;
      fill();
      emit();
    });
    tabs.set(key, {button, count});
    tabGroup.appendChild(button);
  }

  const bar = h(
    'div',
    {class: 'filters visitor-filters'},
    search,
    url,
    cart,
    returning,
    country,
    device,
    lang,
  );
  const tabBar = h('div', {class: 'state-tabs'}, tabGroup, h('label', {class: 'inline-field group-toggle'}, group, h('span', {text: 'Group by state'})), clear);

  function fill() {
    // Never overwrite what the agent is typing in a focused field.
    const values = {q: search, url, cart_min: cart, returning, country, device, lang};
    for (const [key, el] of Object.entries(values)) {
      if (document.activeElement !== el && el.value !== (query[key] || '')) el.value = query[key] || '';
    }
    group.checked = query.group === 'state';
    const chosen = query.state || '';
    for (const [key, {button}] of tabs) button.setAttribute('aria-pressed', String(key === chosen));
  }

  return {
    bar,
    tabBar,
    set(next) {
      query = {...next};
      fill();
    },
    /** Exact counts from the server: per state, and everyone passing the other filters. */
    counts(counts) {
      if (!counts) return;
      let all = 0;
      for (const [key, {count}] of tabs) {
        if (!key) continue;
        const n = counts.states[key] || 0;
        all += n;
        count.textContent = String(n);
      }
      tabs.get('').count.textContent = String(all);
    },
  };
}
