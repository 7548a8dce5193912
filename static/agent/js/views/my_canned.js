'use strict';
// Your own canned replies: per site, kept by the agent (scope "agent"; the
// site's shared ones are an admin's, in the admin's Team page). Shown in the profile
// dialog; the composer's "/" picker offers them with the shared ones, tagged "mine".

import {h} from '../dom.js';

const SHORTCUT = /^[\w-]{1,64}$/;

/** The "My replies" section for the profile dialog. */
export function myCannedSection(ctl) {
  const sites = [...ctl.state.sites.values()];
  const site = h('select', {id: 'my-canned-site', 'aria-label': 'Site'}, ...sites.map((s) => h('option', {value: s.id, text: s.name || s.id})));
  const list = h('ul', {class: 'my-canned', 'aria-label': 'My replies'});
  const shortcut = h('input', {type: 'text', id: 'my-canned-shortcut', maxlength: '64', placeholder: 'e.g. thanks', 'aria-label': 'Shortcut'});
  const text = h('textarea', {id: 'my-canned-text', rows: '2', maxlength: '4000', 'aria-label': 'Reply text', placeholder: 'The reply ({visitor.name} becomes the visitor\'s name)'});
  const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const add = h('button', {type: 'submit', class: 'btn btn-sm', text: 'Add reply'});
  const fail = (message) => {
    error.textContent = message;
    error.hidden = !message;
  };

  const render = async () => {
    if (!site.value) return list.replaceChildren(h('li', {class: 'muted small', text: 'You answer for no site yet.'}));
    const {items} = await ctl.canned.load(site.value, {refresh: true});
    const mine = items.filter((i) => i.scope === 'agent');
    list.replaceChildren(
      ...(mine.length
        ? mine.map((item) =>
            h('li', {}, h('code', {text: `/${item.shortcut}`}), ' ', h('span', {text: item.text}), ' ',
              h('button', {type: 'button', class: 'btn btn-sm', text: 'Delete', 'aria-label': `Delete /${item.shortcut}`, onclick: () => remove(item)})))
        : [h('li', {class: 'muted small', text: 'No replies of your own yet.'})]),
    );
  };
  const remove = async (item) => {
    try {
      await ctl.api.request('DELETE', `/sites/${encodeURIComponent(site.value)}/canned-replies/${encodeURIComponent(item.id)}`);
    } catch (err) {
      return fail(err.message);
    }
    fail('');
    await render();
  };
  const form = h('form', {class: 'my-canned-add', novalidate: true}, shortcut, text, add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = shortcut.value.trim().replace(/^\//, '');
    if (!SHORTCUT.test(key)) return fail('A shortcut is one word: letters, digits, - or _.');
    if (!text.value.trim()) return fail('Write the reply the shortcut inserts.');
    add.disabled = true;
    try {
      await ctl.canned.create(site.value, key, text.value.trim(), 'agent');
      shortcut.value = '';
      text.value = '';
      fail('');
      await render();
    } catch (err) {
      fail(err.message);
    } finally {
      add.disabled = false;
    }
  });
  site.addEventListener('change', render);
  render();
  return h('section', {class: 'dialog-body', 'aria-label': 'My replies'}, h('h2', {text: 'My replies'}),
    h('p', {class: 'muted small', text: 'Type / and the shortcut in a chat to insert one. Only you see these.'}),
    sites.length > 1 ? site : null, list, form, error);
}
