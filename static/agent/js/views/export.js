'use strict';
// A visitor's data as one JSON file (docs/privacy.md, the right of access): the
// context panel's "Export visitor data" asks POST /sites/{id}/privacy/export and
// downloads the answer. Erasure is the admin's (Privacy screen), not the console's.

import {h} from '../dom.js';

export function exportSection(ctl, chat) {
  const status = h('span', {class: 'muted small', role: 'status'});
  const button = h('button', {type: 'button', class: 'btn btn-sm', text: 'Export visitor data'});
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = '';
    try {
      const doc = await ctl.api.post(`/sites/${encodeURIComponent(chat.site_id)}/privacy/export`, {visitor_id: chat.visitor_id});
      const blob = new Blob([JSON.stringify(doc, null, 2)], {type: 'application/json'});
      const link = h('a', {href: URL.createObjectURL(blob), download: `beckon-visitor-${chat.visitor_id}.json`});
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      status.textContent = 'Downloaded.';
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return h('section', {class: 'context-section', 'aria-label': 'Visitor data'},
    h('h3', {text: 'Visitor data'}), h('div', {class: 'row'}, button, ' ', status));
}
