'use strict';
// Your profile: display name, title and avatar, as visitors see them in the
// chat window (GET/PATCH /me/profile, PUT/DELETE /me/avatar). Opened from the top bar;
// the avatar is uploaded as soon as it is chosen (the server re-encodes it).

import {$, h} from '../dom.js';
import {setAvatar} from '../avatars.js';
import {initials} from './inbox.js';
import {myCannedSection} from './my_canned.js';

const IMAGE_TYPES = 'image/png,image/jpeg,image/gif,image/webp';

/** Show the signed-in agent's name and avatar in the top bar. */
export function showMe(ctl) {
  const me = ctl.me;
  setAvatar(me.id, me.avatar_url);
  $('me-name').textContent = me.display_name || me.email;
  // Created only when there is an avatar: the console holds no image it did not need.
  const img = $('me-avatar');
  if (!me.avatar_url) {
    if (img) img.remove();
    return;
  }
  if (img) img.src = me.avatar_url;
  else $('me-name').before(h('img', {id: 'me-avatar', class: 'me-avatar', alt: '', src: me.avatar_url}));
}

export function mountProfile(ctl) {
  showMe(ctl);
  $('profile-button').addEventListener('click', () => {
    ctl.closeMenus();
    openProfile(ctl);
  });
}

async function uploadAvatar(api, file) {
  let response;
  try {
    response = await fetch(`${api.base}/me/avatar`, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: {'X-CSRF-Token': api.csrf || '', 'Content-Type': file.type || 'application/octet-stream', Accept: 'application/json'},
      body: file,
    });
  } catch {
    throw new Error('Cannot reach the server. Check your connection.');
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.error && data.error.message) || response.statusText);
  return data;
}

function openProfile(ctl) {
  const me = ctl.me;
  let profile = {display_name: me.display_name || '', title: me.title || '', avatar_url: me.avatar_url || null};
  const preview = h('span', {class: 'profile-preview'});
  const showPreview = () => {
    preview.replaceChildren(
      profile.avatar_url ? h('img', {class: 'profile-avatar', src: profile.avatar_url, alt: 'Your avatar'}) : h('span', {class: 'avatar avatar-lg', 'aria-hidden': 'true', text: initials(profile.display_name || me.email)}),
    );
    remove.hidden = !profile.avatar_url;
  };
  const file = h('input', {type: 'file', id: 'profile-avatar-file', accept: IMAGE_TYPES, class: 'profile-file'});
  const remove = h('button', {type: 'button', class: 'btn btn-sm', text: 'Remove avatar'});
  const name = h('input', {type: 'text', id: 'profile-name', maxlength: '100', required: true, autocomplete: 'name', value: profile.display_name});
  const title = h('input', {type: 'text', id: 'profile-title', maxlength: '80', placeholder: 'e.g. Support lead', value: profile.title});
  const error = h('p', {class: 'form-error', role: 'alert', hidden: true});
  const status = h('p', {class: 'muted small', role: 'status'});
  const save = h('button', {type: 'submit', class: 'btn btn-primary', text: 'Save'});
  const cancel = h('button', {type: 'button', class: 'btn', text: 'Cancel'});
  const form = h(
    'form',
    {method: 'dialog', class: 'dialog-body', novalidate: true},
    h('h2', {text: 'Your profile'}),
    h('div', {class: 'profile-avatar-row'}, preview, h('div', {class: 'profile-avatar-actions'}, h('label', {for: 'profile-avatar-file', text: 'Avatar (PNG, JPEG, GIF or WebP)'}), file, remove)),
    h('label', {for: 'profile-name', text: 'Display name'}),
    name,
    h('label', {for: 'profile-title', text: 'Title'}),
    title,
    h('p', {class: 'muted small', text: 'Visitors see your name, title and avatar in the chat window.'}),
    error,
    status,
    h('div', {class: 'dialog-actions'}, cancel, save),
  );
  const dialog = h('dialog', {class: 'dialog', 'aria-label': 'Your profile'}, form, myCannedSection(ctl));
  document.body.appendChild(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  cancel.addEventListener('click', () => dialog.close());
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    status.textContent = '';
  };
  const applied = (data) => {
    profile = {...profile, ...data};
    ctl.me = {...ctl.me, ...data};
    showMe(ctl);
    showPreview();
  };
  file.addEventListener('change', async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    error.hidden = true;
    status.textContent = 'Uploading…';
    try {
      applied(await uploadAvatar(ctl.api, chosen));
      status.textContent = 'Avatar saved.';
    } catch (err) {
      fail(err.message);
    }
    file.value = '';
  });
  remove.addEventListener('click', async () => {
    error.hidden = true;
    try {
      applied(await ctl.api.request('DELETE', '/me/avatar'));
      status.textContent = 'Avatar removed.';
    } catch (err) {
      fail(err.message);
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!name.value.trim()) {
      fail('Enter the name visitors see.');
      name.focus();
      return;
    }
    error.hidden = true;
    save.disabled = true;
    try {
      applied(await ctl.api.request('PATCH', '/me/profile', {display_name: name.value.trim(), title: title.value.trim()}));
      dialog.close();
    } catch (err) {
      fail(err.message);
    } finally {
      save.disabled = false;
    }
  });
  showPreview();
  dialog.showModal();
}
