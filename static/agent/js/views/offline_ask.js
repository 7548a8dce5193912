'use strict';
// Going offline with chats still open: the chats stay with the agent (nobody else gets
// them) while the visitors wait, so the console asks first.

import {h} from '../dom.js';

/** Resolves true to go offline, false to keep the status (Esc and Cancel: false). */
export function askGoOffline(openChats) {
  const n = openChats;
  const yes = h('button', {type: 'button', class: 'btn btn-danger-ghost', text: 'Go offline'});
  const no = h('button', {type: 'button', class: 'btn btn-primary', text: 'Stay online'});
  const text = h('p', {
    id: 'offline-ask-text',
    text:
      `You have ${n === 1 ? 'an open chat' : `${n} open chats`}. ` +
      `${n === 1 ? 'It stays' : 'They stay'} with you while you are offline, and ` +
      `${n === 1 ? 'the visitor waits' : 'the visitors wait'} for your answer. Go offline anyway?`,
  });
  const dialog = h(
    'dialog',
    {class: 'dialog', role: 'alertdialog', 'aria-label': 'Go offline?', 'aria-describedby': 'offline-ask-text'},
    h('div', {class: 'dialog-body'}, h('h2', {text: 'Go offline?'}), text, h('div', {class: 'dialog-actions'}, no, yes)),
  );
  document.body.appendChild(dialog);
  return new Promise((resolve) => {
    let answer = false;
    yes.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    no.focus();
  });
}
