'use strict';
// The live visitor table, virtualized: the table holds only the rows in the scroll
// viewport (plus a few), between two spacer rows whose heights stand for the rest.
// Rows are keyed by visitor id and patched cell by cell, once per animation frame —
// never rebuilt — so a button under the pointer or a focused control stays put.
//
// The server sends a window of the matching rows (`visitor_view`: ids in order, the
// changed rows, counts); this module asks for another window (`onWindow(offset,
// limit)`) when the viewport scrolls near the edge of the one it holds.

import {h, clock, money, visitorLabel, link, safeUrl} from '../dom.js';
import {pageLabel} from './inbox.js';
import {STATE_LABEL} from './visitor_query.js';

// Why a visitor cannot be invited now (the server refuses it too).
export const NO_INVITE = {
  in_chat: 'Already in a chat',
  queued: 'Waiting in the queue for a chat',
  invited: 'An invitation is already on their screen',
};

export const ROW_H = 44; // px; fixed, so a row's position is its index × ROW_H
const OVERSCAN = 6; // rows rendered beyond the viewport on each side
const PREFETCH = 40; // rows asked for beyond the viewport on each side
const MAX_WINDOW = 200; // the server's limit

export const COLUMNS = [
  {key: 'name', title: 'Visitor'},
  {key: 'state', title: 'State'},
  {key: 'page', title: 'Page'},
  {key: 'on_site', title: 'On site'},
  {key: 'cart', title: 'Cart'},
  {key: 'country', title: 'Country'},
  {key: 'device', title: 'Device'},
  {key: 'lang', title: 'Language'},
  {key: 'returning', title: 'Returning'},
];

export function mountTable({onSort, onInvite, onWindow}) {
  const head = h('tr');
  const sortButtons = new Map();
  for (const col of COLUMNS) {
    const button = h('button', {type: 'button', class: 'th-sort', text: col.title, onclick: () => onSort(col.key)});
    sortButtons.set(col.key, button);
    head.appendChild(h('th', {scope: 'col', class: `col-${col.key}`}, button));
  }
  head.appendChild(h('th', {scope: 'col', class: 'col-actions'}, h('span', {class: 'sr-only', text: 'Actions'})));
  const top = h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: String(COLUMNS.length + 1)}));
  const bottom = h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: String(COLUMNS.length + 1)}));
  const empty = h('tr', {class: 'empty-row', hidden: true}, h('td', {colspan: String(COLUMNS.length + 1), class: 'empty'}));
  const tbody = h('tbody', {}, top, bottom);
  const table = h('table', {class: 'table vtable', 'aria-label': 'Visitors on the site now'}, h('thead', {}, head), tbody, h('tbody', {}, empty));
  const scroller = h('div', {class: 'table-wrap vscroll', tabindex: '-1'}, table);

  let win = {offset: 0, ids: [], total: 0, group: false};
  const rows = new Map(); // id → row data the server sent
  const elements = new Map(); // id → <tr> on screen
  let asked = null; // `${offset}:${limit}` of the last window asked for
  let scheduled = false;

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render();
    });
  };
  scroller.addEventListener('scroll', schedule, {passive: true});
  window.addEventListener('resize', schedule);

  function range() {
    const height = scroller.clientHeight || 600;
    const first = Math.floor(scroller.scrollTop / ROW_H);
    const start = Math.max(0, first - OVERSCAN);
    const end = Math.min(win.total, first + Math.ceil(height / ROW_H) + OVERSCAN);
    return [start, Math.max(start, end)];
  }

  function wantWindow(start, end) {
    const heldEnd = win.offset + win.ids.length;
    const startOk = start >= win.offset && (start - win.offset >= OVERSCAN || win.offset === 0);
    const endOk = end <= heldEnd && (heldEnd - end >= OVERSCAN || heldEnd >= win.total);
    if (startOk && endOk) return;
    ask(Math.max(0, start - PREFETCH), Math.min(MAX_WINDOW, end - start + 2 * PREFETCH));
  }

  function ask(offset, limit) {
    const key = `${offset}:${limit}`;
    if (key === asked) return;
    asked = key;
    onWindow(offset, limit);
  }

  function render() {
    const [start, end] = range();
    wantWindow(start, end);
    top.firstChild.style.height = `${start * ROW_H}px`;
    bottom.firstChild.style.height = `${Math.max(0, win.total - end) * ROW_H}px`;
    const wanted = [];
    let previousState = null;
    for (let i = start; i < end; i++) {
      const id = win.ids[i - win.offset];
      const row = id !== undefined && i >= win.offset ? rows.get(id) : undefined;
      if (!row) {
        wanted.push(placeholder(i));
        previousState = null;
        continue;
      }
      let tr = elements.get(id);
      if (!tr) {
        tr = rowElement(id, onInvite);
        elements.set(id, tr);
      }
      patch(tr, row, win.group && (i === 0 || (previousState !== null && previousState !== row.state)));
      tr.setAttribute('aria-rowindex', String(i + 2));
      previousState = row.state;
      wanted.push(tr);
    }
    // Put the wanted rows between the spacers, in order, moving only what is misplaced.
    let cursor = top.nextSibling;
    for (const tr of wanted) {
      if (tr !== cursor) tbody.insertBefore(tr, cursor);
      else cursor = cursor.nextSibling;
    }
    while (cursor && cursor !== bottom) {
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
    for (const [id, tr] of elements) {
      if (!tr.isConnected) elements.delete(id);
    }
    table.setAttribute('aria-rowcount', String(win.total + 1));
  }

  const placeholders = new Map();
  function placeholder(index) {
    let tr = placeholders.get(index);
    if (!tr) {
      tr = h('tr', {class: 'vrow loading'}, h('td', {colspan: String(COLUMNS.length + 1), class: 'muted', text: '…'}));
      placeholders.set(index, tr);
      if (placeholders.size > 400) placeholders.clear();
    }
    return tr;
  }

  return {
    element: scroller,
    /** A `visitor_view` frame: keep its rows, forget rows out of its window. */
    apply(frame) {
      for (const row of frame.rows || []) rows.set(row.id, row);
      const keep = new Set(frame.ids);
      for (const id of rows.keys()) if (!keep.has(id)) rows.delete(id);
      win = {offset: frame.offset, ids: frame.ids, total: frame.total, group: (frame.query || {}).group === 'state'};
      empty.hidden = frame.total > 0;
      schedule();
    },
    setEmptyText(text) {
      empty.firstChild.textContent = text;
    },
    setSort(sort) {
      const key = (sort || 'on_site').replace(/^-/, '');
      const descending = (sort || '').startsWith('-');
      for (const [col, button] of sortButtons) {
        const th = button.parentElement;
        if (col === key) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        else th.removeAttribute('aria-sort');
      }
    },
    /** A new query: back to the top, ask again. The rows held stay until the next
     * frame says which to keep: the server sends only rows this console lacks. */
    reset() {
      asked = null;
      win = {offset: 0, ids: [], total: 0, group: false};
      scroller.scrollTop = 0;
      const visible = Math.ceil((scroller.clientHeight || 600) / ROW_H);
      ask(0, Math.min(MAX_WINDOW, visible + 2 * PREFETCH));
      schedule();
    },
    /** Ask for the window on screen again (e.g. after a reconnect), keeping the rows. */
    refresh() {
      asked = null;
      const [start, end] = range();
      const visible = Math.ceil((scroller.clientHeight || 600) / ROW_H);
      ask(Math.max(0, start - PREFETCH), Math.min(MAX_WINDOW, Math.max(end - start, visible) + 2 * PREFETCH));
    },
    rowCount: () => elements.size,
  };
}

function rowElement(id, onInvite) {
  const name = h('span', {class: 'strong'});
  const state = h('span', {class: 'chip'});
  const page = h('td', {class: 'col-page'});
  const since = h('span', {class: 'js-since'});
  const invite = h('button', {type: 'button', class: 'btn btn-sm', text: 'Invite', onclick: () => onInvite(id)});
  const tr = h(
    'tr',
    {class: 'vrow', dataset: {visitor: id}},
    h('td', {class: 'col-name'}, name),
    h('td', {class: 'col-state'}, state),
    page,
    h('td', {class: 'col-on_site'}, since),
    h('td', {class: 'col-cart'}),
    h('td', {class: 'col-country'}),
    h('td', {class: 'col-device'}),
    h('td', {class: 'col-lang'}),
    h('td', {class: 'col-returning'}),
    h('td', {class: 'cell-actions'}, invite),
  );
  tr._parts = {name, state, page, since, invite};
  tr._row = null;
  return tr;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Bring a row's cells up to date with `row` (only what changed is touched). */
function patch(tr, row, groupStart) {
  tr.classList.toggle('group-start', Boolean(groupStart));
  if (tr._row === row) return;
  const old = tr._row || {};
  tr._row = row;
  const p = tr._parts;
  const label = visitorLabel(row.id, row);
  setText(p.name, label);
  p.invite.setAttribute('aria-label', `Invite ${label} to chat`);
  if (old.state !== row.state) {
    setText(p.state, STATE_LABEL[row.state] || row.state);
    p.state.className = `chip chip-state-${row.state}`;
    const why = NO_INVITE[row.state];
    p.invite.disabled = Boolean(why);
    if (why) p.invite.title = why;
    else p.invite.removeAttribute('title');
  }
  const oldUrl = old.page && old.page.url;
  const oldTitle = old.page && old.page.title;
  const url = row.page && row.page.url;
  if (oldUrl !== url || oldTitle !== (row.page && row.page.title)) {
    const parsed = url && safeUrl(url);
    p.page.replaceChildren(parsed ? link(parsed, pageLabel(row.page)) : document.createTextNode(pageLabel(row.page) || ''));
  }
  const started = row.visit && row.visit.started_ts;
  if (started) {
    if (p.since.dataset.since !== String(started)) {
      p.since.dataset.since = String(started);
      p.since.textContent = clock((Date.now() - started) / 1000);
    }
  } else {
    delete p.since.dataset.since;
    setText(p.since, '');
  }
  const cells = tr.children;
  setText(cells[4], row.cart ? money(row.cart.value, row.cart.currency) : '');
  setText(cells[5], (row.location && row.location.country) || '');
  setText(cells[6], row.device || '');
  setText(cells[7], row.lang || '');
  setText(cells[8], row.returning ? 'Yes' : 'No');
}
