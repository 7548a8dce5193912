'use strict';
// Left column: offers (with countdown), the queue (with live wait time) and my chats
// (with unread counts). Clocks are updated by the app's one-second ticker through
// data-since / data-until, so nothing here re-renders every second.

import {$, h, clock, money, visitorLabel, safeUrl} from '../dom.js';

export function mountInbox(ctl) {
  const {state} = ctl;
  state.on('queue', () => renderQueue(ctl));
  state.on('offers', () => {
    renderOffers(ctl);
    renderQueue(ctl); // a chat offered to me is shown with its offer, not twice
  });
  state.on('chats', () => renderChats(ctl));
  renderQueue(ctl);
  renderOffers(ctl);
  renderChats(ctl);
}

function facts(ctl, conv) {
  const out = [];
  if (ctl.state.sites.size > 1) out.push(ctl.state.siteName(conv.site_id));
  if (conv.department) out.push(conv.department);
  out.push(...visitorFacts(conv.visitor));
  return out.filter(Boolean);
}

/** The visitor brief (protocol.md, conversation `visitor`) as short strings: page,
 * cart, language. Every value is visitor-supplied: callers render it as text. */
export function visitorFacts(v) {
  if (!v || typeof v !== 'object') return [];
  const out = [];
  if (v.page && (v.page.title || v.page.url)) out.push(pageLabel(v.page));
  const cart = v.cart && money(v.cart.value, v.cart.currency);
  if (cart) out.push(`Cart ${cart}`);
  if (v.lang) out.push(String(v.lang));
  return out;
}

function nameRow(label, visitor) {
  const verified = visitor && visitor.identified;
  return [h('span', {class: 'card-name', text: label}), verified ? verifiedMark() : null];
}

function verifiedMark() {
  return h('span', {class: 'verified', title: 'Identity verified by the site'}, h('span', {'aria-hidden': 'true', text: '✓'}), h('span', {class: 'sr-only', text: 'verified'}));
}

export function pageLabel(page) {
  if (!page) return '';
  if (page.title) return String(page.title);
  const url = safeUrl(page.url);
  return url ? url.pathname + url.search : String(page.url || '');
}

function renderQueue(ctl) {
  const items = ctl.state.queueItems().filter((c) => !ctl.state.offers.has(c.id));
  const list = $('queue-list');
  $('queue-count').textContent = String(items.length);
  $('queue-empty').hidden = items.length > 0;
  $('queue-empty').textContent = ctl.state.offers.size ? 'No one else is waiting.' : 'No one is waiting.';
  list.replaceChildren(
    ...items.map((conv, index) => {
      const label = visitorLabel(conv.visitor_id, conv.visitor);
      const since = conv.created_ts || Date.now();
      return h(
        'li',
        {class: 'card', dataset: {conversation: conv.id}},
        h(
          'div',
          {class: 'card-main'},
          h('div', {class: 'card-title'}, h('span', {class: 'avatar avatar-sm', 'aria-hidden': 'true', text: initials(label)}), ...nameRow(label, conv.visitor)),
          h('div', {class: 'card-facts', text: facts(ctl, conv).join(' · ')}),
          h('div', {class: 'card-wait'}, 'Waiting ', h('span', {class: 'js-since', dataset: {since: String(since)}, text: clock((Date.now() - since) / 1000)})),
        ),
        h('button', {
          class: 'btn btn-primary btn-sm',
          type: 'button',
          'aria-label': `Accept chat with ${label}`,
          'aria-keyshortcuts': index === 0 ? 'Alt+A' : null,
          text: 'Accept',
          onclick: (e) => {
            e.currentTarget.disabled = true;
            ctl.accept(conv.id);
          },
        }),
      );
    }),
  );
}

function renderOffers(ctl) {
  const offers = [...ctl.state.offers.values()];
  $('offers').hidden = offers.length === 0;
  $('offer-list').replaceChildren(
    ...offers.map((offer) => {
      const label = visitorLabel(offer.visitor && (offer.visitor.id || offer.visitor_id), offer.visitor);
      const conv = {...offer, id: offer.conversation_id};
      return h(
        'li',
        {class: 'card card-offer', dataset: {conversation: offer.conversation_id}},
        h(
          'div',
          {class: 'card-main'},
          h('div', {class: 'card-title'}, h('span', {class: 'avatar avatar-sm', 'aria-hidden': 'true', text: initials(label)}), ...nameRow(label, offer.visitor)),
          h('div', {class: 'card-facts', text: facts(ctl, conv).join(' · ')}),
          h('div', {class: 'card-wait'}, 'Expires in ', h('span', {class: 'js-until', dataset: {until: String(offer.expires_ts || 0), conversation: offer.conversation_id}, text: clock(((offer.expires_ts || 0) - Date.now()) / 1000)})),
        ),
        h(
          'div',
          {class: 'card-actions'},
          h('button', {class: 'btn btn-primary btn-sm', type: 'button', text: 'Accept', 'aria-label': `Accept chat with ${label}`, onclick: () => ctl.accept(offer.conversation_id)}),
          h('button', {class: 'btn btn-sm', type: 'button', text: 'Decline', 'aria-label': `Decline chat with ${label}`, onclick: () => ctl.decline(offer.conversation_id)}),
        ),
      );
    }),
  );
}

function renderChats(ctl) {
  const {state} = ctl;
  const ids = state.order;
  $('chats-count').textContent = String(ids.length);
  $('chats-empty').hidden = ids.length > 0;
  $('chat-list').replaceChildren(
    ...ids.map((id) => {
      const chat = state.chats.get(id);
      const label = visitorLabel(chat.visitor_id, chat.visitor);
      const unread = state.unread(id);
      const last = state.transcript(id).filter((m) => !m.internal).pop();
      const active = state.activeId === id;
      const statusText = chat.status === 'closed' ? 'Closed' : chat.status === 'transferred' ? 'Transferred' : '';
      const brief = visitorFacts(chat.visitor).slice(0, 2); // page and cart fit a tab
      return h(
        'li',
        {role: 'presentation'},
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: `chat-item${active ? ' active' : ''}${chat.status === 'closed' || chat.status === 'transferred' ? ' ended' : ''}`,
            'aria-selected': active ? 'true' : 'false',
            'aria-label': `${label}${unread ? `, ${unread} unread` : ''}${statusText ? `, ${statusText}` : ''}`,
            dataset: {conversation: id},
            onclick: () => ctl.openChat(id),
          },
          h('span', {class: 'avatar', 'aria-hidden': 'true', text: initials(label)}),
          h(
            'span',
            {class: 'chat-item-main'},
            h('span', {class: 'chat-item-top'}, h('span', {class: 'chat-item-name', text: label}), chat.visitor && chat.visitor.identified ? verifiedMark() : null, statusText ? h('span', {class: 'chip chip-muted', text: statusText}) : null),
            h('span', {class: 'chat-item-last', text: last ? `${last.author.kind === 'agent' ? 'You: ' : ''}${last.text}` : chat.typing ? 'typing…' : 'No messages yet'}),
            brief.length ? h('span', {class: 'chat-item-facts', text: brief.join(' · ')}) : null,
          ),
          unread ? h('span', {class: 'badge unread-badge', text: String(unread), 'aria-hidden': 'true'}) : null,
        ),
      );
    }),
  );
  const total = state.totalUnread();
  $('nav-unread').hidden = total === 0;
  $('nav-unread').textContent = String(total);
  document.title = total ? `(${total}) Beckon console` : 'Beckon console';
}

export function initials(label) {
  const words = String(label).trim().split(/\s+/).filter(Boolean);
  if (words[0] === 'Visitor') return 'V';
  return (words[0] ? words[0][0] : '?').toUpperCase() + (words[1] ? words[1][0].toUpperCase() : '');
}
