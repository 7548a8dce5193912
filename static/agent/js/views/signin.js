'use strict';
// Sign-in form: POST /auth/login; the server sets the HttpOnly session cookie and
// answers with the user and the CSRF token. "Forgot password?" asks for an emailed link.

import {$, h} from '../dom.js';

export function showSignin(api, onSignedIn, notice = '') {
  const form = $('signin-form');
  const error = $('signin-error');
  const button = $('signin-submit');
  $('signin').hidden = false;
  mountForgot(api);
  error.hidden = !notice;
  error.textContent = notice;
  $('signin-password').value = '';
  ($('signin-email').value ? $('signin-password') : $('signin-email')).focus();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const email = $('signin-email').value.trim();
    const password = $('signin-password').value;
    if (!email || !password) {
      error.textContent = 'Enter your email and password.';
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const me = await api.login(email, password);
      error.hidden = true;
      $('signin').hidden = true;
      onSignedIn(me);
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong email or password.' : err.message;
      error.hidden = false;
      $('signin-password').select();
    } finally {
      button.disabled = false;
      button.textContent = 'Sign in';
    }
  };
}

/** "Forgot password?" under the sign-in form (the console's, and the admin's, which has the
 * same ids): POST /auth/forgot, whose answer is the same
 * whether the address has an account — and so is what this says. Built once. */
export function mountForgot(api) {
  if ($('signin-forgot')) return;
  const email = h('input', {type: 'email', id: 'forgot-email', autocomplete: 'username', maxlength: '254'});
  const send = h('button', {type: 'button', id: 'forgot-send', class: 'btn btn-block', text: 'Email me a link'});
  const note = h('p', {id: 'forgot-note', role: 'status', class: 'muted', hidden: true});
  const box = h('div', {id: 'forgot-panel', hidden: true}, h('label', {for: 'forgot-email', text: 'Your account’s address'}), email, send, note);
  email.style.width = '100%'; // the card's column layout does not reach into the box
  const toggle = h('button', {type: 'button', id: 'signin-forgot', class: 'btn btn-sm btn-ghost', text: 'Forgot password?', 'aria-expanded': 'false', 'aria-controls': 'forgot-panel'});
  toggle.addEventListener('click', () => {
    box.hidden = !box.hidden;
    toggle.setAttribute('aria-expanded', String(!box.hidden));
    if (box.hidden) return;
    email.value = email.value || $('signin-email').value.trim();
    email.focus();
  });
  const ask = async () => {
    const address = email.value.trim();
    note.hidden = false;
    if (!address || !email.checkValidity()) {
      note.textContent = 'Enter the email address of your account.';
      return;
    }
    send.disabled = true;
    try {
      await api.post('/auth/forgot', {email: address, lang: pageLang()});
      note.textContent = 'If this address has an account, an email with a link to choose a new password is on its way. The link works once, for an hour.';
    } catch (err) {
      note.textContent = err.code === 'rate_limited' ? 'Too many requests from here; try again later.' : err.message;
    } finally {
      send.disabled = false;
    }
  };
  send.addEventListener('click', ask);
  // Enter here asks for the link; it must not submit the sign-in form around it.
  email.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    ask();
  });
  $('signin-form').append(toggle, box);
}

/** The browser's language when the emails have it, else English. */
function pageLang() {
  const lang = (navigator.language || 'en').slice(0, 2).toLowerCase();
  return ['en', 'hr', 'sl', 'sr', 'de', 'it', 'fr', 'es'].includes(lang) ? lang : 'en';
}
