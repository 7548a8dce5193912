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

/**
 * The second script (`widget/more/`, built as widget-more.<hash>.js): what is not needed to
 * paint the bubble or connect. Fetched once, after the widget has started; resolves with `B`
 * once its modules have run. A failed fetch is tried again by the next call.
 */
let more = null;
B.more = () =>
  more ||
  (more = new Promise((resolve, reject) => {
    window.__beckonMore = (fill) => {
      delete window.__beckonMore;
      fill(B);
      resolve(B);
    };
    const fail = () => {
      more = null;
      reject(new Error('Beckon: widget-more did not load'));
    };
    document.head.append(B.el('script', { src: B.assets + /*MORE*/ '', async: true, onerror: fail }));
  }));

/**
 * A stand-in for `B[name](...args)` from the second script: its `methods` queue their calls
 * (at most 100) until the real object exists, then pass straight through.
 */
B.later = (name, methods, ...args) => {
  let real = null;
  const calls = [];
  const stub = {};
  for (const method of methods) {
    stub[method] = (...a) => (real ? real[method](...a) : calls.length < 100 && calls.push([method, a]));
  }
  B.more().then(() => {
    real = B[name](...args);
    for (const [method, a] of calls.splice(0)) real[method](...a);
  }, console.warn);
  return stub;
};
