'use strict';
// The console on a phone (css/phone.css, below 700 px): the chats view shows one pane at a
// time — list, conversation or visitor — chosen from the pane bar; picking or accepting a
// chat opens its conversation. The top bar's status, settings and sign-out fold into the
// Menu. With the on-screen keyboard open the console is as tall as what is visible
// (visualViewport), so the composer stays above the keyboard.

import {$} from '../dom.js';

export function mountPhone(ctl) {
  const view = $('view-chats');
  const tabs = [...view.querySelectorAll('.pane-bar .pane-tab')];
  const show = (pane) => {
    view.dataset.pane = pane;
    for (const tab of tabs) tab.setAttribute('aria-pressed', String(tab.dataset.pane === pane));
  };
  for (const tab of tabs) tab.addEventListener('click', () => show(tab.dataset.pane));

  // A chat picked or accepted in the list opens the conversation once it is the active one
  // (an accept becomes active when the server answers); a chat that opens itself does not
  // take the agent away from the list.
  let picked = false;
  view.querySelector('.inbox').addEventListener('click', (e) => {
    // The chat list's own handler ran first (the click bubbles here): the chat is active.
    if (e.target.closest('.chat-item')) show('chat');
    else if (e.target.closest('.card .btn-primary')) picked = true;
  });
  ctl.state.on('active', () => {
    if (!picked) return;
    picked = false;
    show('chat');
  });

  mountMenu();
  followVisibleHeight();
  return {show};
}

function mountMenu() {
  const consoleEl = $('console');
  const button = $('menu-button');
  const menu = $('topbar-menu');
  const set = (open) => {
    consoleEl.dataset.menu = open ? 'open' : 'closed';
    button.setAttribute('aria-expanded', String(open));
  };
  set(false);
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    set(consoleEl.dataset.menu !== 'open');
  });
  document.addEventListener('click', (e) => {
    if (consoleEl.dataset.menu === 'open' && !menu.contains(e.target)) set(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && consoleEl.dataset.menu === 'open') {
      set(false);
      button.focus();
    }
  });
}

function followVisibleHeight() {
  const vv = window.visualViewport;
  if (!vv) return;
  const root = document.documentElement;
  const update = () => {
    root.style.setProperty('--visible-height', `${Math.round(vv.height)}px`);
    // The browser may scroll the page to show the focused composer: the console is
    // already as tall as what is visible, so put it back at the top.
    if (window.scrollY) window.scrollTo(0, 0);
  };
  vv.addEventListener('resize', update);
  update();
}
