'use strict';
// The live visitor view's query as flat parameters — the same names the server reads
// (protocol.md, "Live visitor view") — and the deep link `#visitors?site=…&q=…`.

export const FILTER_KEYS = ['q', 'state', 'url', 'cart_min', 'returning', 'country', 'device', 'lang', 'sort', 'group'];
export const STATES = [
  ['browsing', 'Browsing'],
  ['invited', 'Invited'],
  ['in_chat', 'In chat'],
  ['queued', 'Queued'],
];
export const STATE_LABEL = Object.fromEntries(STATES);

/** {site, query} from the part of the hash after `?` (unknown keys are dropped). */
export function fromHash(search) {
  const params = new URLSearchParams(search || '');
  const query = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value !== null && value !== '') query[key] = value;
  }
  return {site: params.get('site') || null, query};
}

/** `#visitors?…` for a site and query (empty values left out). */
export function toHash(site, query) {
  const params = new URLSearchParams();
  if (site) params.set('site', site);
  for (const key of FILTER_KEYS) {
    const value = query[key];
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `#visitors?${text}` : '#visitors';
}

/** The query without empty values: what the `view` frame carries. */
export function cleaned(query) {
  const out = {};
  for (const key of FILTER_KEYS) {
    const value = query[key];
    if (value !== undefined && value !== null && value !== '') out[key] = String(value);
  }
  return out;
}

export function sameQuery(a, b) {
  const x = cleaned(a);
  const y = cleaned(b);
  return FILTER_KEYS.every((k) => x[k] === y[k]);
}
