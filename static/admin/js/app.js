'use strict';
// The admin's shell: sign-in (same cookie + CSRF flow as the console), the role check,
// the site picker, and a hash router that hands each screen its part of the page.

import {AdminApi, $, h, toast} from './ui.js';
import {renderSites} from './views/sites.js';
import {renderTeam} from './views/team.js';
import {renderRules} from './views/rules.js';
import {renderEditor} from './views/editor.js';
import {renderStats} from './views/stats.js';
import {renderReports} from './views/reports.js';
import {renderWebhooks} from './views/webhooks.js';
import {renderAccount} from './views/account.js';
import {renderPrivacy} from './views/privacy.js';
import {renderBans} from './views/bans.js';
import {renderAudit} from './views/audit.js';
import {mountForgot} from '/agent/js/views/signin.js';

const api = new AdminApi();
const ROLES = new Set(['admin', 'marketer']);
const SITE_KEY = 'beckon.admin.site';

const ctx = {
  api,
  me: null,
  sites: [],
  siteId: null,
  site() {
    return this.sites.find((s) => s.id === this.siteId) || null;
  },
  async reloadSites() {
    const page = await api.get('/sites', {limit: 200});
    this.sites = page.items;
    if (!this.site()) this.siteId = this.sites.length ? this.sites[0].id : null;
    fillSitePicker();
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
};

const SCREENS = [
  // [pattern, roles, render]
  [/^#sites(?:\/([\w-]+))?$/, ['admin'], (root, m) => renderSites(ctx, root, m[1])],
  [/^#team$/, ['admin'], (root) => renderTeam(ctx, root)],
  [/^#rules$/, ['admin', 'marketer'], (root) => renderRules(ctx, root)],
  [/^#rules\/([\w-]+)\/stats$/, ['admin', 'marketer'], (root, m) => renderStats(ctx, root, m[1])],
  [/^#rules\/([\w-]+)(?:\/(copy))?$/, ['admin', 'marketer'], (root, m) => renderEditor(ctx, root, m[1], m[2] === 'copy')],
  [/^#reports$/, ['admin', 'marketer'], (root) => renderReports(ctx, root)],
  [/^#webhooks$/, ['admin'], (root) => renderWebhooks(ctx, root)],
  [/^#bans$/, ['admin'], (root) => renderBans(ctx, root)],
  [/^#audit$/, ['admin'], (root) => renderAudit(ctx, root)],
  [/^#account$/, ['admin', 'marketer'], (root) => renderAccount(ctx, root)],
  [/^#privacy$/, ['admin'], (root) => renderPrivacy(ctx, root)],
];

let routeToken = 0;

async function route() {
  const hash = location.hash || (ctx.me.role === 'admin' ? '#sites' : '#rules');
  const root = $('view');
  const token = ++routeToken;
  for (const tab of document.querySelectorAll('.tab')) {
    tab.classList.toggle('active', hash.startsWith(tab.getAttribute('href')));
    tab.setAttribute('aria-current', hash.startsWith(tab.getAttribute('href')) ? 'page' : 'false');
  }
  const screen = SCREENS.find(([re]) => re.test(hash));
  root.replaceChildren();
  if (!screen || !screen[1].includes(ctx.me.role)) {
    root.appendChild(h('div', {class: 'page'}, h('div', {class: 'unavailable', role: 'note',
      text: screen ? 'Your role cannot open this screen.' : 'No such screen.'})));
    return;
  }
  const page = h('div', {class: 'page'});
  root.appendChild(page);
  root.dataset.screen = hash.slice(1).split('/')[0];
  delete root.dataset.ready;
  try {
    await screen[2](page, hash.match(screen[0]));
  } catch (err) {
    if (token !== routeToken) return;
    if (err.status === 401) return signedOut('Your session ended. Sign in again.');
    page.appendChild(h('p', {class: 'form-error', role: 'alert', text: err.message}));
  }
  if (token === routeToken) root.dataset.ready = 'true';
}

function fillSitePicker() {
  const picker = $('site-select');
  picker.replaceChildren(...ctx.sites.map((s) => h('option', {value: s.id, text: s.name, selected: s.id === ctx.siteId})));
  picker.disabled = !ctx.sites.length;
  if (!ctx.sites.length) picker.appendChild(h('option', {value: '', text: 'No sites yet'}));
}

async function start(me) {
  ctx.me = me;
  $('boot').hidden = true;
  if (!ROLES.has(me.role)) {
    $('noaccess').hidden = false;
    $('noaccess-text').textContent =
      `Signed in as ${me.display_name} (${me.role}). The admin is for admins and marketers; agents work in the console.`;
    return;
  }
  for (const tab of document.querySelectorAll('.tab')) {
    tab.hidden = !tab.dataset.roles.split(' ').includes(me.role);
  }
  $('me-name').textContent = `${me.display_name} · ${me.role}`;
  ctx.siteId = sessionStorage.getItem(SITE_KEY);
  await ctx.reloadSites();
  $('admin').hidden = false;
  window.addEventListener('hashchange', route);
  await route();
}

function signedOut(notice = '') {
  $('admin').hidden = true;
  $('noaccess').hidden = true;
  $('boot').hidden = true;
  $('signin').hidden = false;
  mountForgot(api);
  const error = $('signin-error');
  error.hidden = !notice;
  error.textContent = notice;
  $('signin-email').focus();
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('signin-email').value.trim();
  const password = $('signin-password').value;
  const error = $('signin-error');
  if (!email || !password) {
    error.textContent = 'Enter your email and password.';
    error.hidden = false;
    return;
  }
  const button = $('signin-submit');
  button.disabled = true;
  try {
    const me = await api.login(email, password);
    $('signin').hidden = true;
    await start(me);
  } catch (err) {
    error.textContent = err.status === 401 ? 'Wrong email or password.' : err.message;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});

async function signOut() {
  try {
    await api.logout();
  } finally {
    location.hash = '';
    location.reload();
  }
}

$('signout').addEventListener('click', signOut);
$('noaccess-signout').addEventListener('click', signOut);
$('site-select').addEventListener('change', (event) => {
  ctx.siteId = event.target.value;
  sessionStorage.setItem(SITE_KEY, ctx.siteId);
  // Screens of one rule belong to the old site: go back to the list.
  if (/^#rules\//.test(location.hash)) ctx.go('#rules');
  else route();
});
window.addEventListener('unhandledrejection', (event) => {
  toast(event.reason && event.reason.message ? event.reason.message : 'Something went wrong', true);
});

api.me().then(start, (err) => {
  if (err.status === 401) signedOut();
  else {
    $('boot').textContent = `Cannot load the admin: ${err.message}`;
  }
});
