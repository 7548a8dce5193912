'use strict';
// The connection banner and short-lived toasts (both announced to screen readers).

import {$, h} from '../dom.js';

const BANNER_TEXT = {
  connecting: 'Connecting…',
  reconnecting: 'Connection lost. Reconnecting…',
  forbidden: 'This page’s address is not allowed to connect. Open the console from the server’s own URL.',
};

export function showConnection(state) {
  const banner = $('conn-banner');
  const text = BANNER_TEXT[state];
  // The first connect is quick and silent; only a lost connection gets the banner.
  if (!text || state === 'connecting') {
    banner.hidden = true;
    banner.dataset.state = state;
    return;
  }
  banner.textContent = text;
  banner.dataset.state = state;
  banner.hidden = false;
}

export function toast(message, kind = 'info', ms = 4500) {
  const box = $('toasts');
  const item = h('div', {class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', text: message});
  box.appendChild(item);
  setTimeout(() => item.remove(), ms);
}
