'use strict';
// Live visitors of one site: `watch {site_id}` gives a `visitors` snapshot, then
// `visitor` updates and `visitor_left`. Manual invitation: `invite {visitor_id, text}`.

import {$, h, clock, money, visitorLabel, link, safeUrl} from '../dom.js';
import {pageLabel} from './inbox.js';

export function mountVisitors(ctl) {
  const view = $('view-visitors');
  const siteSelect = h('select', {id: 'visitors-site', 'aria-label': 'Site'});
  const count = h('span', {class: 'count', text: '0'});
  const note = h('p', {class: 'muted', hidden: true});
  const tbody = h('tbody');
  const table = h(
    'table',
    {class: 'table', 'aria-label': 'Visitors on the site now'},
    h('thead', {}, h('tr', {}, ...['Visitor', 'Page', 'On site', 'Cart', 'Returning', ''].map((t) => h('th', {scope: 'col', text: t})))),
    tbody,
  );
  const wrap = h('div', {class: 'table-wrap'}, table);
  view.replaceChildren(
    h('div', {class: 'view-head'}, h('h1', {}, 'Live visitors ', count), h('label', {class: 'inline-field'}, h('span', {text: 'Site'}), siteSelect)),
    note,
    wrap,
  );
  let watching = null;
  let inviteFor = null;

  const fillSites = () => {
    const chosen = siteSelect.value;
    siteSelect.replaceChildren(...[...ctl.state.sites.values()].map((s) => h('option', {value: s.id, text: s.name})));
    if (chosen && ctl.state.sites.has(chosen)) siteSelect.value = chosen;
  };

  const watch = async () => {
    const siteId = siteSelect.value;
    if (watching && watching !== siteId) ctl.socket.send({type: 'unwatch', site_id: watching});
    watching = siteId;
    if (!siteId) return;
    note.hidden = true;
    wrap.hidden = false;
    render();
    try {
      await ctl.socket.request({type: 'watch', site_id: siteId});
    } catch (err) {
      if (watching !== siteId) return;
      note.textContent = err.code === 'unavailable' ? 'Live visitors are not available on this server yet.' : `Could not watch visitors: ${err.message}`;
      note.hidden = false;
      // An empty table would claim "nobody is on the site": say nothing instead.
      wrap.hidden = err.code === 'unavailable';
    }
  };

  const render = () => {
    const map = ctl.state.visitors.get(watching) || new Map();
    const visitors = [...map.values()].sort((a, b) => (a.first_seen_ts || a.since_ts || 0) - (b.first_seen_ts || b.since_ts || 0));
    count.textContent = String(visitors.length);
    if (!visitors.length) {
      tbody.replaceChildren(h('tr', {}, h('td', {colspan: '6', class: 'empty', text: 'No visitors on the site right now.'})));
      return;
    }
    const rows = [];
    for (const v of visitors) {
      const id = v.id || v.visitor_id;
      // Time on the site: this visit's start (GET …/visitors shape), else older fields.
      const since = (v.visit && v.visit.started_ts) || v.since_ts || v.first_seen_ts || (v.page && v.page.since_ts);
      const url = v.page && safeUrl(v.page.url);
      rows.push(
        h(
          'tr',
          {dataset: {visitor: id}},
          h('td', {}, h('span', {class: 'strong', text: visitorLabel(id, v)}), v.in_chat ? h('span', {class: 'chip chip-ok', text: 'In chat'}) : null, v.invited ? h('span', {class: 'chip', text: 'Invited'}) : null),
          h('td', {}, url ? link(url, pageLabel(v.page)) : pageLabel(v.page)),
          h('td', {}, since ? h('span', {class: 'js-since', dataset: {since: String(since)}, text: clock((Date.now() - since) / 1000)}) : ''),
          h('td', {text: v.cart ? money(v.cart.value, v.cart.currency) : ''}),
          h('td', {text: v.returning ? 'Yes' : 'No'}),
          h('td', {class: 'cell-actions'}, h('button', {type: 'button', class: 'btn btn-sm', text: 'Invite', 'aria-label': `Invite ${visitorLabel(id, v)} to chat`, onclick: () => {
            inviteFor = inviteFor === id ? null : id;
            render();
          }})),
        ),
      );
      if (inviteFor === id) rows.push(inviteRow(ctl, id, v, () => {
        inviteFor = null;
        render();
      }));
    }
    tbody.replaceChildren(...rows);
  };

  siteSelect.addEventListener('change', watch);
  ctl.state.on('visitors', (siteId) => {
    if (siteId === watching) render();
  });
  return {
    show() {
      fillSites();
      watch();
    },
    hide() {
      if (watching) ctl.socket.send({type: 'unwatch', site_id: watching});
      watching = null;
    },
    /** After a reconnect the server forgot our subscriptions. */
    rewatch() {
      if (watching) watch();
    },
  };
}

function inviteRow(ctl, id, v, done) {
  const text = h('input', {type: 'text', class: 'invite-text', 'aria-label': 'Invitation text', maxlength: '4000', value: `Hi! Can I help you with anything?`});
  const error = h('span', {class: 'form-error', role: 'alert'});
  const form = h(
    'form',
    {class: 'invite-form'},
    text,
    h('button', {type: 'submit', class: 'btn btn-primary btn-sm', text: 'Send invitation'}),
    h('button', {type: 'button', class: 'btn btn-sm', text: 'Cancel', onclick: done}),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    try {
      await ctl.socket.request({type: 'invite', visitor_id: id, text: text.value.trim()});
      ctl.toast(`Invitation sent to ${visitorLabel(id, v)}.`);
      done();
    } catch (err) {
      // No reply frame is defined for invite: a timeout is taken as "sent".
      if (err.code === 'timeout') {
        ctl.toast(`Invitation sent to ${visitorLabel(id, v)}.`);
        done();
        return;
      }
      error.textContent = err.code === 'unavailable' ? 'Invitations are not available on this server yet.' : err.message;
    }
  });
  setTimeout(() => text.focus(), 0);
  return h('tr', {class: 'invite-row'}, h('td', {colspan: '6'}, form));
}
