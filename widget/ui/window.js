'use strict';
// The launcher bubble and the chat window (a labelled dialog with a focus trap; Esc closes
// and focus returns where it was). The view only draws: the chat controller owns state and
// calls these methods; visitor actions come back through `hooks`.

const ICON_CHAT = 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z';
const ICON_CLOSE = 'M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7l-1.4-1.4L9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z';
const ICON_SEND = 'M2 21 23 12 2 3v7l15 2-15 2z';
const ICON_SAVE = 'M5 20h14v-2H5v2zm14-9h-4V3H9v8H5l7 7 7-7z';
const ICON_END = 'M6 6h12v12H6z';
const ICON_EMOJI = 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zM9 11a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm6 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm-3 6.5c2.3 0 4.3-1.5 5-3.5H7c.7 2 2.7 3.5 5 3.5z';
const MAX_CHARS = 4000;

B.icons = { close: ICON_CLOSE, chat: ICON_CHAT };

/** The bubble alone: painted first, before the rest of the widget is even built. */
B.launcher = (root, toggle) => {
  const wrap = B.el('div', { class: 'r' });
  const badge = B.el('span', { class: 'badge', 'aria-hidden': 'true' });
  const launcher = B.el('button', { class: 'l', type: 'button', 'aria-expanded': 'false', onclick: () => toggle() }, [
    B.icon(ICON_CHAT),
    badge,
  ]);
  B.label(launcher, 'open', 'aria-label');
  wrap.append(launcher);
  root.append(wrap);
  return { wrap, launcher, badge };
};

B.view = (root, bubble, hooks) => {
  const { wrap, launcher, badge } = bubble;
  const label = launcher.appendChild(B.el('b'));
  const title = B.el('h2', { id: 'bk-title' });
  const subtitle = B.el('p');
  const avatar = B.el('div', { class: 'av', 'aria-hidden': 'true' });
  const iconButton = (icon, key, onclick) => B.label(B.el('button', { class: 'ib', type: 'button', onclick }, [B.icon(icon)]), key, 'aria-label');
  const endButton = B.label(iconButton(ICON_END, 'end', () => hooks.end()), 'end', 'title');
  const header = B.el('div', { class: 'hd' }, [
    avatar,
    B.el('div', { class: 'who' }, [title, subtitle]),
    iconButton(ICON_SAVE, 'transcript', () => hooks.transcript()),
    endButton,
    iconButton(ICON_CLOSE, 'close', () => hooks.toggle(false)),
  ]);
  const banner = B.el('div', { class: 'bn', role: 'status' });
  const scroller = B.el('div', { class: 'ms', role: 'log', 'aria-live': 'polite', tabindex: '0' });
  B.label(scroller, 'messages', 'aria-label');
  const greet = B.el('div', { class: 'm a', dir: 'auto', hidden: true });
  scroller.append(greet);
  const messages = B.messageList(scroller);
  const typing = B.el('div', { class: 'ty', hidden: true, 'aria-live': 'polite' });
  const panel = B.el('div', { class: 'p' });
  const win = B.el('div', { class: 'w', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'bk-title', hidden: true }, [
    header,
    banner,
    scroller,
    typing,
    panel,
  ]);

  // Composer: Enter sends, Shift+Enter is a newline, the count shows near the limit and
  // says when the text is over it (not cut: a paste stays whole, to be shortened).
  const input = B.el('textarea', { rows: '1' });
  B.label(input, 'placeholder', 'placeholder');
  B.label(input, 'message', 'aria-label');
  const counter = B.el('div', { class: 'cnt', 'aria-live': 'polite' });
  const sendButton = iconButton(ICON_SEND, 'send', () => submit());
  // The picker is in the second script (widget/more/emoji.js).
  const emojiButton = iconButton(ICON_EMOJI, 'emoji', () => B.more().then(() => B.emoji(emojiButton, input), console.warn));
  emojiButton.classList.add('eb');
  emojiButton.setAttribute('aria-expanded', 'false');
  // Files: attach, drop on the window, paste. widget/more/files.js does the rest (and gives
  // the button its icon and shows it once it is there to handle it).
  const attach = B.label(B.el('button', { class: 'ib at', type: 'button', hidden: true, onclick: () => hooks.files() }), 'attach', 'aria-label');
  const composer = B.el('div', null, [B.el('div', { class: 'cp' }, [attach, input, emojiButton, sendButton]), counter]);
  // Where focus goes in the panel: the message box, or a form's first field.
  const field = () => (composer.isConnected ? input : panel.querySelector('textarea,input,select,button'));
  const files = (event, list) => {
    if (!list || !list.length) return;
    event.preventDefault(); // a file dropped anywhere on the window must not open in the tab
    if (composer.isConnected) hooks.files(list);
  };
  input.addEventListener('paste', (event) => files(event, event.clipboardData && event.clipboardData.files));
  const grow = () => {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 120) + 'px';
    const n = input.value.length;
    counter.textContent = n > MAX_CHARS ? B.t('tooLong', { n, max: MAX_CHARS }) : n > MAX_CHARS - 500 ? n + ' / ' + MAX_CHARS : '';
    counter.classList.toggle('err', n > MAX_CHARS);
  };
  const submit = () => {
    const text = input.value.trim();
    if (!text || text.length > MAX_CHARS) return;
    input.value = '';
    grow();
    hooks.send(text);
    input.focus();
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => {
    grow();
    hooks.typing();
  });

  // Focus stays inside the open window; Esc closes it.
  win.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.stopPropagation();
      return hooks.toggle(false);
    }
    if (event.key !== 'Tab') return;
    const focusable = [...win.querySelectorAll('button,textarea,input,select,a[href],[tabindex="0"]')].filter(
      (node) => !node.disabled && node.getClientRects().length,
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = root.activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  });

  win.addEventListener('dragover', (event) => event.preventDefault());
  win.addEventListener('drop', (event) => files(event, event.dataTransfer && event.dataTransfer.files));

  wrap.prepend(win);
  let returnFocus = null;

  return {
    launcher,
    messages,
    wrap,
    composer,
    /** Site look from `welcome.widget`: colours (the text colour comes resolved),
     * theme, side and offsets, launcher label, stacking order. */
    look(w) {
      const hex = (c) => /^#[0-9a-f]{6}$/i.test(c) && c;
      const color = hex(w.color) || '#2563eb';
      const set = (k, v) => wrap.style.setProperty(k, v);
      set('--c', color);
      set('--f', hex(w.text_color) || '#fff'); // the server picks it (widget_contrast.py)
      set('--x', (w.offset_x ?? 20) + 'px');
      set('--y', (w.offset_y ?? 20) + 'px');
      wrap.classList.toggle('left', w.position === 'left');
      wrap.classList.toggle('dk', w.theme === 'dark' || (w.theme === 'auto' && matchMedia('(prefers-color-scheme:dark)').matches));
      label.textContent = w.launcher_label || '';
      if (w.z_index >= 0) root.host.style.setProperty('z-index', w.z_index, 'important');
    },
    open(on, focus) {
      if (on === !win.hidden) return;
      win.hidden = !on;
      wrap.classList.toggle('open', on);
      launcher.setAttribute('aria-expanded', String(on));
      B.label(launcher, on ? 'close' : 'open', 'aria-label');
      if (on) {
        const active = document.activeElement;
        returnFocus = active && active !== root.host ? active : launcher;
        scroller.scrollTop = scroller.scrollHeight;
        if (focus) (field() || win).focus();
      } else if (returnFocus) {
        returnFocus.focus();
        returnFocus = null;
      }
    },
    unread(n) {
      badge.textContent = n ? String(n > 99 ? '99+' : n) : '';
      launcher.setAttribute('aria-label', B.t(win.hidden ? 'open' : 'close') + (n ? ' — ' + B.t('unread', { n }) : ''));
    },
    header(name, sub, avatarUrl, canEnd, isAgent) {
      title.textContent = name;
      subtitle.textContent = sub;
      avatar.textContent = '';
      let url = null;
      try {
        url = avatarUrl ? new URL(avatarUrl) : null;
      } catch (err) {
        url = null;
      }
      // The agent's avatar also goes on their messages (messages.js).
      B.face = isAgent && url && /^https?:$/.test(url.protocol) && [isAgent.id, url.href];
      if (B.face) avatar.append(B.el('img', { src: url.href, alt: '', class: 'av' })), B.faceRows && B.faceRows(win);
      else if (isAgent) avatar.textContent = (name || '?').trim().charAt(0).toUpperCase();
      else avatar.append(B.icon(ICON_CHAT));
      endButton.hidden = !canEnd;
    },
    greeting(text) {
      greet.textContent = text || '';
      greet.hidden = !text;
    },
    banner(text) {
      banner.textContent = text || '';
    },
    typing(text) {
      typing.textContent = text || '';
      typing.hidden = !text;
    },
    /** Show one panel: 'composer' or a form element built by forms.js. */
    panel(name, build) {
      const hadFocus = panel.contains(root.activeElement);
      // A taller panel (a form) shrinks the list: keep its last line in view.
      const bottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
      panel.textContent = '';
      panel.append(name === 'composer' ? composer : build());
      if (bottom) scroller.scrollTop = scroller.scrollHeight;
      if (hadFocus) this.focusPanel(); // the focused control was just replaced
    },
    focusPanel() {
      const target = field();
      if (target && !win.hidden) target.focus();
    },
  };
};
