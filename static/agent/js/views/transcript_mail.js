'use strict';
// "Send transcript": emails a conversation's transcript to the visitor's stored address
// (POST /conversations/{id}/transcript). The server picks the address — the console
// never names one — and answers 409 when the visitor left none.

import {h} from '../dom.js';

/** A button for the conversation `conversationId()` names when clicked. */
export function transcriptButton(ctl, conversationId, props = {}) {
  const button = h('button', {type: 'button', class: 'btn', text: 'Send transcript', title: 'Email the transcript to the visitor', ...props});
  button.addEventListener('click', async () => {
    const id = conversationId();
    if (!id) return;
    button.disabled = true;
    try {
      await ctl.api.post(`/conversations/${encodeURIComponent(id)}/transcript`);
      ctl.toast('Transcript emailed to the visitor.');
    } catch (err) {
      ctl.toast(`Could not send the transcript: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
