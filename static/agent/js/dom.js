'use strict';
// DOM helpers. Every string a visitor, agent or server supplies reaches the page through
// textContent or a text node — never parsed as HTML (safety).

/** Create an element: h('div', {class: 'x', onclick: fn, 'aria-label': 'y'}, child, 'text'). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') {
      el[key] = value;
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function $(id) {
  return document.getElementById(id);
}

// A URL ends before whitespace or quotes; trailing punctuation belongs to the sentence.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Text with http(s) links as safe anchors, as a fragment of text nodes and <a>s. */
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    let raw = match[0];
    const trail = raw.match(TRAILING);
    if (trail) raw = raw.slice(0, -trail[0].length);
    const url = safeUrl(raw);
    if (!url) continue;
    if (match.index > last) frag.appendChild(document.createTextNode(text.slice(last, match.index)));
    frag.appendChild(link(url, raw));
    last = match.index + raw.length;
  }
  if (last < text.length) frag.appendChild(document.createTextNode(text.slice(last)));
  return frag;
}

/** The parsed URL if it is http(s); null for javascript:, data: and anything else. */
export function safeUrl(raw) {
  try {
    const url = new URL(String(raw));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/** An anchor to an external page, or plain text when the URL is not http(s). */
export function link(url, label) {
  const parsed = url instanceof URL ? url : safeUrl(url);
  if (!parsed) return document.createTextNode(String(label ?? url ?? ''));
  return h('a', {href: parsed.href, rel: 'noopener nofollow ugc', target: '_blank', text: label ?? parsed.href});
}

export function pad2(n) {
  return String(n).padStart(2, '0');
}

/** 42 → "0:42", 312 → "5:12", 3900 → "1:05:00" (seconds; for live waiting clocks). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return hh ? `${hh}:${pad2(mm)}:${pad2(s % 60)}` : `${mm}:${pad2(s % 60)}`;
}

/** A short duration for humans: "12 s", "5 min", "2 h 10 min". */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function timeOf(ts) {
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

export function dateTimeOf(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${timeOf(ts)}`;
}

/** A random id for client_msg_id and refs (≤ 64 chars, protocol.md). */
export function randomId(prefix = '') {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** "Visitor 4f2a" for a visitor with no name: stable, short, not an internal id dump. */
export function visitorLabel(visitorId, visitor) {
  if (visitor && visitor.name) return String(visitor.name);
  const id = String(visitorId || '');
  return `Visitor ${id.slice(-4) || '?'}`;
}

export function money(value, currency) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  try {
    return new Intl.NumberFormat(undefined, {style: 'currency', currency: currency || 'USD'}).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency || ''}`.trim();
  }
}
