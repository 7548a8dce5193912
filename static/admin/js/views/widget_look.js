'use strict';
// The site form's widget look: colours (WCAG AA contrast checked as you pick; the server
// refuses below it too), theme, launcher side/offsets/label, greeting, agent display,
// stacking order and the widget's texts per language — beside a live preview, the real
// widget in an iframe (/admin/widget-preview), reloaded with the edited look.

import {checkbox, field, h, input, select} from '../ui.js';

const AA = 4.5;
const DEFAULTS = {color: '#2563eb', text_color: null, theme: 'light', position: 'right', offset_x: 20,
  offset_y: 20, launcher_label: '', greeting: 'Hi! How can we help?', show_agent_name: true,
  show_agent_avatar: true, z_index: 2147483647, strings: {}};

// WCAG 2.x relative luminance and contrast (as server/widget_contrast.py).
const luminance = (hex) => {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
export const contrast = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const autoText = (accent) => (contrast(accent, '#111827') > contrast(accent, '#ffffff') ? '#111827' : '#ffffff');

/** Texts as editable lines, `key = text`, one per line. */
const toLines = (texts) => Object.entries(texts || {}).map(([k, v]) => `${k} = ${v}`).join('\n');
const fromLines = (text) => Object.fromEntries(text.split('\n').map((line) => line.trim()).filter(Boolean)
  .map((line) => { const at = line.indexOf('='); return at < 0 ? [line, ''] : [line.slice(0, at).trim(), line.slice(at + 1).trim()]; }));

/** The look fields, their preview, and `read()` for the PATCH body's widget part. */
export function lookEditor(widget, languages, errors) {
  const w = {...DEFAULTS, ...widget};
  const strings = JSON.parse(JSON.stringify(w.strings || {}));
  const color = errors.at('widget.color', h('input', {type: 'color', value: w.color}));
  const [autoLabel, auto] = checkbox('Automatic (black or white)', !w.text_color);
  const textColor = errors.at('widget.text_color', h('input', {type: 'color', value: w.text_color || autoText(w.color), 'aria-label': 'Text colour'}));
  const contrastNote = errors.at('widget', h('p', {class: 'hint', role: 'status', 'aria-live': 'polite'}));
  const theme = errors.at('widget.theme', select([['light', 'Light'], ['dark', 'Dark'], ['auto', "Follow the visitor's system"]], w.theme));
  const position = errors.at('widget.position', select([['right', 'Bottom right'], ['left', 'Bottom left']], w.position));
  const number = (path, value, min, max) => errors.at(path, h('input', {type: 'number', value, min, max}));
  const offsetX = number('widget.offset_x', w.offset_x, 0, 400);
  const offsetY = number('widget.offset_y', w.offset_y, 0, 400);
  const label = errors.at('widget.launcher_label', input({value: w.launcher_label, maxlength: 40, placeholder: 'Icon only'}));
  const greeting = errors.at('widget.greeting', h('textarea', {rows: 2, maxlength: 500, value: w.greeting}));
  const [nameLabel, showName] = checkbox("Show the agent's name", w.show_agent_name);
  const [avatarLabel, showAvatar] = checkbox("Show the agent's picture", w.show_agent_avatar);
  const zIndex = number('widget.z_index', w.z_index, 0, 2147483647);
  const langs = [...new Set(['en', ...languages, ...Object.keys(strings)])];
  const lang = select(langs, langs[0], {'aria-label': 'Language of the texts'});
  let shownLang = lang.value;
  const texts = errors.at('widget.strings', h('textarea', {rows: 5, value: toLines(strings[shownLang]),
    placeholder: 'title = Chat with us\nopen = Open chat', spellcheck: false}));
  lang.addEventListener('change', () => {
    strings[shownLang] = fromLines(texts.value);
    shownLang = lang.value;
    texts.value = toLines(strings[shownLang]);
    refresh();
  });

  const frame = h('iframe', {class: 'widget-preview', title: 'Widget preview', src: 'about:blank'});
  const read = () => {
    strings[shownLang] = fromLines(texts.value);
    const kept = Object.fromEntries(Object.entries(strings).filter(([, t]) => Object.keys(t).length));
    return {color: color.value, text_color: auto.checked ? null : textColor.value, theme: theme.value,
      position: position.value, offset_x: Number(offsetX.value), offset_y: Number(offsetY.value),
      launcher_label: label.value.trim(), greeting: greeting.value, show_agent_name: showName.checked,
      show_agent_avatar: showAvatar.checked, z_index: Number(zIndex.value), strings: kept};
  };
  let timer = 0;
  let version = 0;
  const refresh = () => {
    textColor.disabled = auto.checked;
    const text = auto.checked ? autoText(color.value) : textColor.value;
    if (auto.checked) textColor.value = text;
    const ratio = contrast(color.value, text);
    contrastNote.textContent = ratio >= AA
      ? `Contrast ${ratio.toFixed(2)}:1 — passes WCAG AA.`
      : `Contrast ${ratio.toFixed(2)}:1 is below WCAG AA (${AA}:1): the text would be hard to read, so the site cannot be saved with these colours.`;
    contrastNote.classList.toggle('form-error', ratio < AA);
    clearTimeout(timer);
    // Reload the preview once typing pauses; a new query makes it a new page view.
    timer = setTimeout(() => {
      // As the server sends it: the text colour resolved, the pre-chat form as saved.
      const look = {...widget, ...read(), lang: lang.value};
      look.text_color = look.text_color || autoText(look.color);
      frame.src = `/admin/widget-preview?v=${++version}#${encodeURIComponent(JSON.stringify(look))}`;
    }, 250);
  };
  for (const el of [color, auto, textColor, theme, position, offsetX, offsetY, label, greeting, showName, showAvatar, zIndex, texts]) {
    el.addEventListener('input', refresh);
    el.addEventListener('change', refresh);
  }
  refresh();

  const element = h('div', {class: 'look-editor'},
    h('div', {class: 'form-grid'},
      field('Accent colour', color), h('div', {class: 'field'}, h('label', {for: textColor.id || (textColor.id = 'look-text'), text: 'Text colour'}), textColor, autoLabel, contrastNote),
      field('Theme', theme), field('Position', position),
      field('Side offset (px)', offsetX), field('Bottom offset (px)', offsetY),
      field('Launcher label', label), field('Stacking order (z-index)', zIndex, 'Raise it if the page covers the widget'),
      field('Greeting', greeting, null, 'wide'),
      h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Agent'}), h('div', {class: 'checks'}, nameLabel, avatarLabel)),
      h('div', {class: 'field wide'}, h('label', {for: texts.id || (texts.id = 'look-texts'), text: 'Widget texts'}), lang, texts,
        h('span', {class: 'hint', text: 'One per line, key = text, replacing the widget’s own in this language (keys: greeting, launcher_label, title, open, online, offline, placeholder, prechatTitle, csat, nps, ces, thumbs, comment, …).'}))),
    h('div', {class: 'preview-box'}, h('span', {class: 'field-label', text: 'Live preview'}), frame));
  return {element, read};
}
