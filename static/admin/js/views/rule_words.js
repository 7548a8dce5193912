'use strict';
// The rule form in the marketer's words: each fact and operator of the engine's
// catalogue with a label, a unit and help. The raw keys (page.time_s, gte) stay the
// option values and appear only in the JSON view.

const FACTS = {
  'page.url': ['Page address', ''],
  'page.path': ['Page path', ''],
  'page.title': ['Page title', ''],
  'page.time_s': ['Time on this page', 'seconds'],
  'page.scroll_pct': ['Scrolled down this page', '%'],
  'visit.time_s': ['Time on the site this visit', 'seconds'],
  'visit.page_views': ['Pages viewed this visit', 'pages'],
  'visit.referrer': ['Came from (referrer)', ''],
  'visit.landing_url': ['First page of the visit', ''],
  'visit.utm.source': ['Campaign source (utm_source)', ''],
  'visit.utm.medium': ['Campaign medium (utm_medium)', ''],
  'visit.utm.campaign': ['Campaign name (utm_campaign)', ''],
  idle_s: ['Idle for', 'seconds'],
  'visitor.visits': ['Number of visits', 'visits'],
  'visitor.returning': ['Returning visitor', ''],
  'visitor.chats': ['Chats so far', 'chats'],
  'visitor.lang': ['Language', ''],
  'visitor.device': ['Device', ''],
  'visitor.identified': ['Signed in (verified)', ''],
  'visitor.name': ['Visitor name', ''],
  'visitor.email': ['Visitor email', ''],
  'visitor.country': ['Country', ''],
  'cart.value': ['Cart value', 'in the cart currency'],
  'cart.items': ['Items in the cart', 'items'],
  'cart.currency': ['Cart currency', ''],
  'site.agents_online': ['Agents online', 'agents'],
  'site.queue_length': ['Chats waiting', 'chats'],
  'signal.count': ['Struggle signals this visit', 'times'],
  'signal.ago_s': ['Time since the last struggle signal', 'seconds'],
  'visitor.attr.NAME': ['Custom attribute…', ''],
  'event.NAME': ['Custom event…', 'times'],
};

const SIGNALS = {
  rage_click: 'Rage clicks',
  dead_click: 'Dead clicks',
  form_error: 'Form errors',
  page_loop: 'Going back and forth',
  search_no_results: 'Searches with no results',
  error_page: 'Error pages seen',
  long_wait: 'Long waits in the queue',
};

const GROUPS = [
  ['page.', 'This page'],
  ['visit.', 'This visit'],
  ['idle_s', 'This visit'],
  ['visitor.', 'The visitor'],
  ['cart.', 'Cart'],
  ['site.', 'Your team'],
  ['signal.', 'Struggle signals'],
  ['event.', 'Custom'],
];

/** {label, unit, help} of a fact name from the catalogue (the `.NAME` families too). */
export function factWords(spec) {
  const name = spec.name;
  let [label, unit] = FACTS[name] || [];
  const signal = name.match(/^signal\.(\w+)(\.ago_s)?$/);
  if (!label && signal && SIGNALS[signal[1]]) {
    [label, unit] = signal[2] ? [`Time since the last: ${SIGNALS[signal[1]].toLowerCase()}`, 'seconds'] : [`${SIGNALS[signal[1]]} this visit`, 'times'];
  }
  if (!label) label = name;
  return {label, unit: unit || '', help: spec.description || ''};
}

/** The group a fact is listed under. */
export function factGroup(name) {
  const found = GROUPS.find(([prefix]) => name.startsWith(prefix) || name === prefix);
  if (name.startsWith('visitor.attr.')) return 'Custom';
  return found ? found[1] : 'Other';
}

const NUMBER_OPS = {eq: 'is exactly', ne: 'is not', gt: 'more than', gte: 'at least', lt: 'less than', lte: 'at most'};
const TEXT_OPS = {eq: 'is', ne: 'is not'};
const OPS = {
  in: 'is one of',
  not_in: 'is none of',
  contains: 'contains',
  not_contains: 'does not contain',
  starts_with: 'starts with',
  ends_with: 'ends with',
  glob: 'matches the pattern',
  regex: 'matches the regular expression',
  exists: 'is known',
  not_exists: 'is not known',
};

/** The words for operator `op` on a fact of `type` (number, string, bool, any). */
export function opLabel(op, type) {
  if (type === 'number' && NUMBER_OPS[op]) return NUMBER_OPS[op];
  if (type === 'any' && ['gt', 'gte', 'lt', 'lte'].includes(op)) return NUMBER_OPS[op];
  return TEXT_OPS[op] || OPS[op] || op;
}
