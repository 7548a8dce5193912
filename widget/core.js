'use strict';
// Shared helpers. The build wraps every module in one function and hands them `B`, the
// widget's only namespace, so nothing leaks onto the host page except `window.Beckon`.

/**
 * Build an element with DOM APIs only: el('button', {type: 'button', onclick: fn}, [kids]).
 * String kids become text nodes and `text` sets textContent, so no string is ever parsed
 * as HTML — user and agent text cannot turn into markup.
 */
B.el = (tag, props, kids) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const kid of kids || []) if (kid != null) node.append(kid);
  return node;
};

/** An inline icon from one SVG path (24×24 viewBox), hidden from screen readers. */
B.icon = (d) => {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
};

/** A tiny event emitter for `Beckon.on(...)`; a throwing listener never breaks the widget. */
B.emitter = () => {
  const map = {};
  return {
    on(name, fn) {
      if (typeof fn === 'function') (map[name] = map[name] || []).push(fn);
    },
    emit(name, data) {
      for (const fn of map[name] || []) {
        try {
          fn(data);
        } catch (err) {
          console.error(err);
        }
      }
    },
  };
};

/**
 * One JSON value in Web Storage. Storage can be disabled, full or blocked in third-party
 * contexts; the widget then works for this page view only instead of failing.
 */
B.store = (area, key) => ({
  get() {
    try {
      return JSON.parse(window[area].getItem(key));
    } catch (err) {
      return null;
    }
  },
  set(value) {
    try {
      window[area].setItem(key, JSON.stringify(value));
    } catch (err) {
      // quota or disabled storage: keep going in memory
    }
  },
});

/** A random id for `client_msg_id` (crypto.randomUUID needs a secure context; this does not). */
B.uid = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');

B.visible = () => document.visibilityState === 'visible';
