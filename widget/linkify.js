'use strict';
// Message text → DOM nodes. Text stays text; http(s) URLs become <a> elements built with DOM
// APIs (never markup), so `<img onerror=...>` or `javascript:` in a message is inert.

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}]+$/;

B.linkify = (text) => {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const raw = match[0].replace(TRAILING, '');
    let url = null;
    try {
      url = new URL(raw);
    } catch (err) {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(B.el('a', { href: url.href, rel: 'noopener nofollow ugc', target: '_blank', text: raw }));
    last = match.index + raw.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
};
