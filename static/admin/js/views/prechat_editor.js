'use strict';
// The site's own pre-chat fields (widget.prechat_custom): add, remove and
// reorder text, email, phone, select (with its options) and checkbox (with a link, e.g.
// a consent box and its privacy policy) fields, each required or not and asked for all
// departments or some. Saved with the site (PATCH /sites/{id}); the server checks them
// and its errors show next to the field they name (widget.prechat_custom.<n>.<key>).

import {checkbox, h, input, select} from '../ui.js';

const TYPES = [['text', 'Text'], ['email', 'Email'], ['phone', 'Phone'], ['select', 'Choice (select)'], ['checkbox', 'Checkbox']];
const MAX_FIELDS = 20; // as the server's

const list = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

/** A field id from its label ("Work email" → "work_email"), as the server allows. */
export const idFrom = (label, taken) => {
  const base = (label.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '_').replace(/^[^a-z]+|_+$/g, '') || 'field').slice(0, 28);
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  return id;
};

/** The editor over `fields` (as saved), its element and `read()` for the PATCH body. */
export function prechatEditor(fields, errors) {
  const rows = [];
  const box = h('ol', {class: 'prechat-fields stack', 'aria-label': 'Your own fields'});
  const empty = h('p', {class: 'hint', text: 'No fields of your own yet: the form asks only what is ticked above.'});
  const add = h('button', {type: 'button', class: 'btn btn-sm', text: 'Add a field'});

  const renumber = () => {
    rows.forEach((row, i) => row.place(i));
    empty.hidden = rows.length > 0;
    add.disabled = rows.length >= MAX_FIELDS;
  };

  const addRow = (spec) => {
    const f = {id: '', type: 'text', label: '', required: false, options: [], link: null, departments: [], ...spec};
    const label = input({value: f.label, maxlength: 200, 'aria-label': 'Label'});
    const type = select(TYPES, f.type, {'aria-label': 'Type'});
    const [requiredLabel, required] = checkbox('Required', f.required);
    const options = h('textarea', {rows: 2, value: f.options.join('\n'), 'aria-label': 'Options', placeholder: 'One per line'});
    const linkText = input({value: (f.link && f.link.text) || '', maxlength: 100, 'aria-label': 'Link text', placeholder: 'Privacy policy'});
    const linkUrl = input({type: 'url', value: (f.link && f.link.url) || '', maxlength: 500, 'aria-label': 'Link address', placeholder: 'https://…'});
    const departments = input({value: f.departments.join(', '), 'aria-label': 'Departments', placeholder: 'All departments'});
    const up = h('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: '↑', 'aria-label': 'Move up'});
    const down = h('button', {type: 'button', class: 'btn btn-sm btn-ghost', text: '↓', 'aria-label': 'Move down'});
    const remove = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Remove'});
    const labelled = (text, control, hint) => h('label', {class: 'field'}, h('span', {class: 'field-label', text}), control, hint ? h('span', {class: 'hint', text: hint}) : null);
    const optionsBox = labelled('Options', options, 'One per line');
    const linkBox = h('div', {class: 'form-grid'}, labelled('Link text', linkText), labelled('Link address', linkUrl));
    const element = h('li', {class: 'prechat-field panel'},
      h('div', {class: 'form-grid'}, labelled('Label', label), labelled('Type', type),
        labelled('Departments', departments, 'Comma separated; empty: asked for every department'),
        h('div', {class: 'field'}, h('span', {class: 'field-label', text: 'Answer'}), requiredLabel)),
      optionsBox, linkBox, h('div', {class: 'row'}, up, down, remove));
    const shown = () => {
      optionsBox.hidden = type.value !== 'select';
      linkBox.hidden = type.value !== 'checkbox';
    };
    type.addEventListener('change', shown);
    shown();
    const row = {
      element,
      id: f.id,
      place(i) {
        // Where the server's errors for this field go (its index in the saved list).
        const at = `widget.prechat_custom.${i}`;
        element.setAttribute('aria-label', `Field ${i + 1}`);
        errors.at(at, remove);
        errors.at(`${at}.label`, label);
        errors.at(`${at}.id`, label);
        errors.at(`${at}.type`, type);
        errors.at(`${at}.options`, options);
        errors.at(`${at}.link`, linkUrl);
        errors.at(`${at}.link.text`, linkText);
        errors.at(`${at}.link.url`, linkUrl);
        errors.at(`${at}.departments`, departments);
        up.disabled = i === 0;
        down.disabled = i === rows.length - 1;
      },
      read(taken) {
        const text = label.value.trim();
        // A saved field keeps its id (its answers are stored under it); a new one gets it
        // from its label.
        const id = row.id || idFrom(text, taken);
        const out = {id, type: type.value, label: text, required: required.checked, departments: list(departments.value)};
        if (type.value === 'select') out.options = list(options.value);
        if (type.value === 'checkbox' && (linkText.value.trim() || linkUrl.value.trim())) out.link = {text: linkText.value.trim(), url: linkUrl.value.trim()};
        return out;
      },
    };
    const move = (by) => {
      const i = rows.indexOf(row);
      rows.splice(i, 1);
      rows.splice(i + by, 0, row);
      box.replaceChildren(...rows.map((r) => r.element));
      renumber();
      (by < 0 ? up : down).focus();
    };
    up.addEventListener('click', () => move(-1));
    down.addEventListener('click', () => move(1));
    remove.addEventListener('click', () => {
      rows.splice(rows.indexOf(row), 1);
      element.remove();
      renumber();
      add.focus();
    });
    rows.push(row);
    box.appendChild(element);
    renumber();
    return row;
  };

  for (const f of fields || []) addRow(f);
  add.addEventListener('click', () => addRow({}).element.querySelector('input').focus());
  renumber();

  const element = h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Your own pre-chat fields'}),
    h('span', {class: 'hint', text: 'Asked after the fields above; the answers show in the console with their labels.'}), box, empty, h('div', {class: 'row'}, add));
  const read = () => {
    const taken = new Set(rows.map((r) => r.id).filter(Boolean));
    return rows.map((r) => {
      const out = r.read(taken);
      taken.add(out.id);
      return out;
    });
  };
  return {element, read};
}
