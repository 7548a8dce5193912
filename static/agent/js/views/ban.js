'use strict';
// "Ban this visitor" in the visitor panel: a reason and how long, then POST
// /sites/{site_id}/bans. The visitor is not told: their widget shows nobody online on
// every node at once. An address or network may be banned instead (typed in); admins
// list and lift bans in the admin.

import {h} from '../dom.js';
import {toast} from './feedback.js';

const DURATIONS = [
  ['3600000', '1 hour'],
  ['86400000', '1 day'],
  ['604800000', '7 days'],
  ['2592000000', '30 days'],
  ['', 'Until lifted'],
];

export function banSection(ctl, chat) {
  if (!chat || !chat.visitor_id || !chat.site_id) return null;
  const reason = h('input', {type: 'text', maxlength: 500, required: true, placeholder: 'Why (kept in the audit log)', 'aria-label': 'Ban reason', class: 'ban-reason'});
  const address = h('input', {type: 'text', maxlength: 64, placeholder: 'IP or network (optional, instead of this visitor)', 'aria-label': 'Address or network to ban', class: 'ban-address'});
  const length = h('select', {'aria-label': 'Ban for', class: 'ban-length'}, ...DURATIONS.map(([v, label]) => h('option', {value: v, text: label, selected: v === '86400000'})));
  const error = h('p', {class: 'form-error small', role: 'alert', hidden: true});
  const button = h('button', {type: 'submit', class: 'btn btn-sm btn-danger-ghost', text: 'Ban visitor'});
  const form = h('form', {class: 'ban-form', novalidate: true}, reason, address, length, button, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!reason.value.trim()) {
      error.textContent = 'Give a reason.';
      error.hidden = false;
      return;
    }
    const target = address.value.trim() ? {address: address.value.trim()} : {visitor_id: chat.visitor_id};
    const body = {reason: reason.value.trim(), ...target, expires_ts: length.value ? Date.now() + Number(length.value) : null};
    button.disabled = true;
    try {
      const ban = await ctl.api.post(`/sites/${encodeURIComponent(chat.site_id)}/bans`, body);
      toast(`Banned ${ban.visitor_id ? 'this visitor' : ban.network}. They now see nobody online.`);
      reason.value = '';
      address.value = '';
    } catch (err) {
      const details = Array.isArray(err.details) && err.details.length ? err.details.map((d) => d.message).join(' · ') : err.message;
      error.textContent = details;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return h('section', {class: 'context-section', 'aria-label': 'Ban'}, h('h3', {text: 'Ban'}), form);
}
