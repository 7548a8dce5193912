'use strict';
// Sign-in form: POST /auth/login; the server sets the HttpOnly session cookie and
// answers with the user and the CSRF token.

import {$} from '../dom.js';

export function showSignin(api, onSignedIn, notice = '') {
  const form = $('signin-form');
  const error = $('signin-error');
  const button = $('signin-submit');
  $('signin').hidden = false;
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
