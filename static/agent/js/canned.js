'use strict';
// Canned replies: GET /api/v1/sites/{id}/canned-replies → {items: [{id, shortcut, text,
// scope}]}. Fetched once per site; a 404 means the server has none (not an error).

export class CannedReplies {
  constructor(api) {
    this.api = api;
    this.bySite = new Map(); // site_id → Promise<{available, items}>
  }

  load(siteId, {refresh = false} = {}) {
    if (refresh || !this.bySite.has(siteId)) {
      const loading = this.api
        .get(`/sites/${encodeURIComponent(siteId)}/canned-replies`)
        .then((data) => ({available: true, items: (data && data.items) || []}))
        .catch((err) => ({available: false, items: [], error: err.missing ? null : err.message}));
      this.bySite.set(siteId, loading);
    }
    return this.bySite.get(siteId);
  }

  async create(siteId, shortcut, text, scope = 'agent') {
    const item = await this.api.post(`/sites/${encodeURIComponent(siteId)}/canned-replies`, {shortcut, text, scope});
    this.bySite.delete(siteId);
    return item;
  }
}

/** Replies whose shortcut or text contains the query, shortcut prefix matches first. */
export function searchCanned(items, query) {
  const q = query.trim().toLowerCase();
  const scored = [];
  for (const item of items) {
    const shortcut = String(item.shortcut || '').toLowerCase();
    const text = String(item.text || '').toLowerCase();
    let score = -1;
    if (!q) score = 1;
    else if (shortcut.startsWith(q)) score = 3;
    else if (shortcut.includes(q)) score = 2;
    else if (text.includes(q)) score = 1;
    if (score >= 0) scored.push([score, item]);
  }
  scored.sort((a, b) => b[0] - a[0] || String(a[1].shortcut).localeCompare(String(b[1].shortcut)));
  return scored.map(([, item]) => item).slice(0, 8);
}

// When a value is unknown the sentence must still read well: "Hi {visitor.name}!" →
// "Hi there!" rather than "Hi !" or a raw placeholder sent to a customer.
const FALLBACKS = {'visitor.name': 'there', 'visitor.first_name': 'there'};

/** Fill {visitor.name}, {visitor.email}, {agent.name}, {site.name}, … from `context`. */
export function fillPlaceholders(text, context) {
  return String(text).replace(/\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*\}/gi, (whole, path) => {
    let value = context;
    for (const part of path.split('.')) {
      value = value && typeof value === 'object' ? value[part] : undefined;
    }
    if (value === undefined || value === null || value === '') {
      return path in FALLBACKS ? FALLBACKS[path] : '';
    }
    return String(value);
  });
}

/** The placeholder context for a chat: what we know about the visitor, me and the site. */
export function placeholderContext(chat, me, site, details) {
  const visitor = {...((details && details.visitor) || details || {}), ...(chat.visitor || {})};
  const name = visitor.name ? String(visitor.name) : '';
  const agentName = (me && me.display_name) || '';
  return {
    visitor: {...visitor, name, first_name: name.split(/\s+/)[0] || ''},
    agent: {name: agentName, first_name: agentName.split(/\s+/)[0] || '', email: me && me.email},
    site: {name: site ? site.name : ''},
  };
}
