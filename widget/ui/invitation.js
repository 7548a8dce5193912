'use strict';
// A proactive invitation card above the bubble, with the agent persona. The controller
// shows it only while the tab is visible (so `invitation_shown` means really seen).

B.invitationCard = (wrap, frame, onAccept, onDismiss) => {
  // A rule's persona (or the agent inviting by hand) speaks; without one, the site.
  const agent = frame.agent || {};
  const name = agent.name || B.t('title');
  const close = B.el('button', { class: 'ib', type: 'button', 'aria-label': B.t('dismiss'), onclick: onDismiss }, [B.icon(B.icons.close)]);
  const card = B.el('div', { class: 'inv', role: 'dialog', 'aria-label': B.t('invitation') }, [
    B.el('div', { class: 'top' }, [
      B.el('div', { class: 'av', 'aria-hidden': 'true' }, [/^https?:\/\//i.test(agent.avatar_url) ? B.el('img', { src: agent.avatar_url, alt: '', class: 'av' }) : agent.name ? name.trim().charAt(0).toUpperCase() : B.icon(B.icons.chat)]),
      B.el('span', { dir: 'auto', text: name }),
      close,
    ]),
    B.el('p', { dir: 'auto', text: frame.text }),
    B.el('button', { class: 'btn', type: 'button', text: B.t('reply'), onclick: onAccept }),
  ]);
  card.addEventListener('keydown', (event) => event.key === 'Escape' && onDismiss());
  wrap.append(card);
  return card;
};
