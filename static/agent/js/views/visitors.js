'use strict';
// Live visitors of one site, as a query (protocol.md, "Live visitor view"): the view
// sends `view {site_id, query, offset, limit}` and the server answers, then updates at
// most once a second, with `visitor_view` frames (the window's ids, changed rows, exact
// counts). The table is virtualized (visitor_table.js); the query lives in the hash
// (`#visitors?site=…&state=queued`), so deep links and reloads show the same view.
// Manual invitation: `invite {visitor_id, text}` from a panel outside the table, so
// what the agent types survives every update.

import {$, h, visitorLabel} from '../dom.js';
import {mountTable, NO_INVITE} from './visitor_table.js';
import {mountFilters} from './visitor_filters.js';
import {cleaned, fromHash, sameQuery, toHash} from './visitor_query.js';

export function mountVisitors(ctl) {
  const view = $('view-visitors');
  const siteSelect = h('select', {id: 'visitors-site', 'aria-label': 'Site'});
  const count = h('span', {class: 'count', dataset: {total: ''}, text: '0'});
  const summary = h('p', {class: 'muted view-summary', 'aria-live': 'polite'});
  const note = h('p', {class: 'muted', hidden: true});
  let site = null;
  let query = {};
  let active = false;
  let fresh = true; // the next window answers a new query: errors are shown
  let lastCounts = null;

  const filters = mountFilters((next) => setQuery({...next, sort: query.sort}));
  const table = mountTable({
    onSort: (key) => {
      const current = query.sort || 'on_site';
      const sort = current === key ? `-${key}` : key;
      setQuery({...query, sort: sort === 'on_site' ? '' : sort});
    },
    onInvite: (id) => invite.open(id),
    onWindow: (offset, limit) => sendView(offset, limit),
  });
  const invite = mountInvite(ctl);

  view.replaceChildren(
    h(
      'div',
      {class: 'view-head'},
      h('h1', {}, 'Live visitors ', count),
      h('label', {class: 'inline-field'}, h('span', {text: 'Site'}), siteSelect),
    ),
    filters.bar,
    filters.tabBar,
    summary,
    invite.element,
    note,
    table.element,
  );

  // Before the socket's welcome the sites are not known yet: a linked site is kept.
  const fillSites = () => {
    const chosen = site || siteSelect.value;
    siteSelect.replaceChildren(...[...ctl.state.sites.values()].map((s) => h('option', {value: s.id, text: s.name})));
    if (chosen && ctl.state.sites.has(chosen)) siteSelect.value = chosen;
    if (!ctl.state.sites.size) return chosen || null;
    return siteSelect.value || null;
  };

  function sendView(offset, limit) {
    if (!active || !site) return;
    const frame = {type: 'view', site_id: site, query: cleaned(query), offset, limit};
    if (!fresh) {
      ctl.socket.send(frame);
      return;
    }
    fresh = false;
    const asked = site;
    ctl.socket.request(frame).then(
      () => {
        note.hidden = true;
      },
      (err) => {
        if (asked !== site || err.code === 'offline' || err.code === 'timeout') return;
        note.textContent = err.code === 'unavailable' ? 'Live visitors are not available on this server yet.' : `Could not show visitors: ${err.message}`;
        note.hidden = false;
      },
    );
  }

  function setQuery(next) {
    const cleanedNext = cleaned(next);
    if (sameQuery(cleanedNext, query)) return;
    query = cleanedNext;
    filters.set(query);
    table.setSort(query.sort);
    history.replaceState(null, '', toHash(site, query));
    fresh = true;
    table.reset();
  }

  function start(fromLink) {
    const chosen = fillSites();
    if (site && site !== chosen) ctl.socket.send({type: 'unwatch', site_id: site});
    site = chosen;
    query = cleaned(fromLink.query);
    filters.set(query);
    table.setSort(query.sort);
    table.setEmptyText(site ? 'No visitors match.' : 'You are not a member of any site.');
    if (site) history.replaceState(null, '', toHash(site, query));
    fresh = true;
    table.reset();
  }

  siteSelect.addEventListener('change', () => {
    if (site) ctl.socket.send({type: 'unwatch', site_id: site});
    site = siteSelect.value;
    history.replaceState(null, '', toHash(site, query));
    fresh = true;
    table.reset();
  });

  ctl.on('visitor_view', (frame) => {
    if (!active || frame.site_id !== site) return;
    table.apply(frame);
    invite.refresh(frame);
    const c = frame.counts;
    if (c && JSON.stringify(c) !== lastCounts) {
      lastCounts = JSON.stringify(c);
      count.textContent = String(c.online);
      filters.counts(c);
      const pages = (c.pages || []).slice(0, 3).map((p) => `${shortUrl(p.url)} (${p.count})`).join(', ');
      summary.textContent = `${c.matching} of ${c.online} on the site match · ${c.returning} returning · ${c.with_cart} with a cart${pages ? ` · top pages: ${pages}` : ''}`;
    }
  });

  return {
    /** `search`: the part of the hash after `?` (a deep link), or '' */
    show(search) {
      const link = fromHash(search);
      if (link.site) site = link.site;
      // The Visitors tab (`#visitors`, no query) comes back to the view as it was left.
      if (!search && Object.keys(query).length) link.query = query;
      active = true;
      start(link);
    },
    hide() {
      if (site) ctl.socket.send({type: 'unwatch', site_id: site});
      active = false;
    },
    /** After a reconnect the server forgot our view: ask for the window on screen again. */
    rewatch() {
      if (!active) return;
      const chosen = fillSites();
      if (chosen !== site) {
        site = chosen;
        if (site) history.replaceState(null, '', toHash(site, query));
      }
      if (!site) return;
      fresh = true;
      table.refresh();
    },
  };
}

function shortUrl(raw) {
  try {
    const url = new URL(raw);
    return url.pathname + url.search;
  } catch {
    return String(raw);
  }
}

/** The invitation panel: one persistent form, above the table, never rebuilt. */
function mountInvite(ctl) {
  let visitorId = null;
  let row = null;
  const title = h('span', {class: 'strong'});
  const text = h('input', {type: 'text', class: 'invite-text', 'aria-label': 'Invitation text', maxlength: '4000', value: 'Hi! Can I help you with anything?'});
  const error = h('span', {class: 'form-error', role: 'alert'});
  const cancel = h('button', {type: 'button', class: 'btn btn-sm', text: 'Cancel'});
  const submit = h('button', {type: 'submit', class: 'btn btn-primary btn-sm', text: 'Send invitation'});
  const form = h(
    'form',
    {class: 'invite-form invite-panel', hidden: true, 'aria-label': 'Invite a visitor'},
    h('span', {}, 'Invite ', title),
    text,
    submit,
    cancel,
    error,
  );
  // The visitor began a chat or got an invitation (another agent's, a rule's) meanwhile.
  // A server error stays until the visitor's state itself says something.
  let stateNote = '';
  const showState = () => {
    const why = row && NO_INVITE[row.state];
    submit.disabled = Boolean(why);
    if (why) error.textContent = stateNote = `${why}.`;
    else if (error.textContent === stateNote) error.textContent = stateNote = '';
  };
  const close = () => {
    visitorId = null;
    form.hidden = true;
    error.textContent = '';
  };
  cancel.addEventListener('click', close);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const id = visitorId;
    if (!id || !text.value.trim()) return;
    const label = visitorLabel(id, row);
    try {
      await ctl.socket.request({type: 'invite', visitor_id: id, text: text.value.trim()});
      ctl.toast(`Invitation sent to ${label}.`);
      close();
    } catch (err) {
      if (err.code === 'timeout') {
        ctl.toast(`Invitation sent to ${label}.`);
        close();
        return;
      }
      error.textContent = err.code === 'unavailable' ? 'Invitations are not available on this server yet.' : err.message;
    }
  });
  return {
    element: form,
    open(id) {
      if (visitorId === id && !form.hidden) {
        close();
        return;
      }
      const tr = document.querySelector(`#view-visitors tr[data-visitor="${CSS.escape(id)}"]`);
      row = tr ? tr._row : null;
      visitorId = id;
      title.textContent = visitorLabel(id, row);
      error.textContent = stateNote = '';
      showState();
      form.hidden = false;
      text.focus();
    },
    /** A newer row for the visitor being invited: its name may have changed. */
    refresh(frame) {
      if (!visitorId) return;
      const newer = (frame.rows || []).find((r) => r.id === visitorId);
      if (newer) {
        row = newer;
        const label = visitorLabel(visitorId, newer);
        if (title.textContent !== label) title.textContent = label;
        showState();
      }
    },
  };
}
