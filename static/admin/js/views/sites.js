'use strict';
// Sites (admins): the list, and one site's settings — origins, time zone, languages,
// widget look, pre-chat and survey, business hours, invitations and consent — plus the
// snippet to paste and the identity secret with a `user_hash` sample.

import {Errors, checkbox, field, h, input, panel, secretBox, select, table, toast, when} from '../ui.js';
import {lookEditor} from './widget_look.js';
import {prechatEditor} from './prechat_editor.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const ZONES = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];

export async function renderSites(ctx, page, siteId) {
  if (siteId) return renderSite(ctx, page, siteId === 'new' ? null : siteId);
  await ctx.reloadSites();
  page.append(
    h('div', {class: 'page-head'}, h('h1', {text: 'Sites'}),
      h('a', {class: 'btn btn-primary', href: '#sites/new', text: 'New site'})),
    panel('Your sites', table([
      {label: 'Name', value: (s) => h('a', {href: `#sites/${s.id}`, text: s.name})},
      {label: 'Allowed origins', value: (s) => s.allowed_origins.join(', ') || 'none yet'},
      {label: 'Time zone', value: (s) => s.timezone},
      {label: 'Languages', value: (s) => [s.default_lang, ...s.languages.filter((l) => l !== s.default_lang)].join(', ')},
      {label: 'Created', value: (s) => when(s.created_ts)},
    ], ctx.sites, 'No sites yet: create the first one.')),
  );
}

const list = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

async function renderSite(ctx, page, siteId) {
  const site = siteId ? await ctx.api.get(`/sites/${siteId}`) : null;
  const s = site || {name: '', allowed_origins: [], timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
    default_lang: 'en', languages: [], departments: [], widget: {}, business_hours: null, settings: {}};
  const w = {color: '#2563eb', position: 'right', greeting: 'Hi! How can we help?', prechat: false,
    prechat_fields: [], survey: ['csat'], sound: true, ...s.widget};
  const o = {attribution_window_days: 7, queue_timeout_s: 600, offline_mode: 'offline_message',
    max_invitations_per_visit: 2, max_invitations_per_day: 4, consent_mode: 'none', routing: 'least_busy',
    trust_client_conversions: false, ...s.settings};
  const errors = new Errors();

  const name = errors.at('name', input({value: s.name, maxlength: 200, required: true}));
  const origins = errors.at('allowed_origins', h('textarea', {rows: 3, value: s.allowed_origins.join('\n'), placeholder: 'https://shop.example.com'}));
  const zone = errors.at('timezone', select(ZONES.includes(s.timezone) ? ZONES : [s.timezone, ...ZONES], s.timezone));
  const lang = errors.at('default_lang', input({value: s.default_lang, maxlength: 16}));
  const langs = errors.at('languages', input({value: s.languages.join(', '), placeholder: 'en, hr, sl'}));
  const depts = errors.at('departments', input({value: s.departments.join(', '), placeholder: 'sales, support'}));
  const look = lookEditor(w, s.languages, errors);
  const [prechatLabel, prechat] = checkbox('Ask before the chat starts', w.prechat);
  const prechatFields = ['name', 'email', 'department'].map((f) => checkbox(f, w.prechat_fields.includes(f)));
  const ownFields = prechatEditor(w.prechat_custom, errors);
  const surveys = [['csat', 'CSAT (1–5)'], ['nps', 'NPS (0–10)'], ['ces', 'CES (effort)'], ['thumbs', 'Thumbs up/down']].map(([k, l]) => [k, ...checkbox(l, w.survey.includes(k))]);
  const [commentLabel, comment] = checkbox('Ask for a comment', w.survey_comment !== false);
  const [soundLabel, sound] = checkbox('Sound on new messages', w.sound);

  const numberInput = (path, value, min, max) => errors.at(path, h('input', {type: 'number', value, min, max}));
  const attribution = numberInput('settings.attribution_window_days', o.attribution_window_days, 1, 90);
  const queueTimeout = numberInput('settings.queue_timeout_s', o.queue_timeout_s, 30, 86400);
  const perVisit = numberInput('settings.max_invitations_per_visit', o.max_invitations_per_visit, 0, 20);
  const perDay = numberInput('settings.max_invitations_per_day', o.max_invitations_per_day, 0, 50);
  const consent = errors.at('settings.consent_mode', select([['none', 'Not needed'], ['required', 'Required before tracking']], o.consent_mode));
  const offline = errors.at('settings.offline_mode', select([['offline_message', 'Offer an offline message'], ['keep_queued', 'Keep the chat queued']], o.offline_mode));
  const [trustLabel, trust] = checkbox('Count conversions the widget reports', o.trust_client_conversions);
  errors.at('settings.trust_client_conversions', trustLabel);
  // Files in chats: null = all the server accepts, [] = none (shown as "none").
  const allowed = o.attachments_allowed;
  const files = errors.at('settings.attachments_allowed', input({value: allowed == null ? '' : allowed.length ? allowed.join(', ') : 'none', placeholder: 'any', 'aria-label': 'Files accepted'}));
  const routing = errors.at('settings.routing', select([['least_busy', 'Least busy agent'], ['round_robin', 'Round robin'], ['offer', 'Offer to one agent at a time']], o.routing));

  const hoursBox = h('div', {class: 'stack'});
  const windows = [];
  const addWindow = (win) => {
    const days = DAYS.map((d) => checkbox(d, win.days.includes(d)));
    const from = h('input', {type: 'time', value: win.from, 'aria-label': 'Opens at'});
    const to = h('input', {type: 'time', value: win.to === '24:00' ? '23:59' : win.to, 'aria-label': 'Closes at'});
    const remove = h('button', {type: 'button', class: 'btn btn-sm btn-ghost btn-danger-ghost', text: 'Remove'});
    const row = h('div', {class: 'window-row'}, ...days.map(([l]) => l), from, h('span', {text: '–'}), to, remove);
    const entry = {row, read: () => ({days: DAYS.filter((_, i) => days[i][1].checked), from: from.value, to: to.value})};
    remove.addEventListener('click', () => { row.remove(); windows.splice(windows.indexOf(entry), 1); });
    windows.push(entry);
    hoursBox.appendChild(row);
  };
  for (const win of (s.business_hours && s.business_hours.windows) || []) addWindow(win);
  const addHours = h('button', {type: 'button', class: 'btn btn-sm', text: 'Add opening hours'});
  addHours.addEventListener('click', () => addWindow({days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00'}));
  const holidays = errors.at('business_hours.holidays', input({value: ((s.business_hours && s.business_hours.holidays) || []).join(', '), placeholder: '2026-12-25, 2026-12-26'}));
  errors.at('business_hours', hoursBox);

  const save = h('button', {type: 'submit', class: 'btn btn-primary', text: site ? 'Save changes' : 'Create site'});
  const form = h('form', {class: 'stack', novalidate: true},
    panel('Basics', h('div', {class: 'form-grid'},
      field('Site name', name, null, 'wide'),
      field('Allowed origins', origins, 'One per line: scheme://host[:port], or https://*.example.com', 'wide'),
      field('Time zone', zone), field('Default language', lang),
      field('Other languages', langs, 'Comma separated, e.g. hr, sl'), field('Departments', depts, 'Comma separated'))),
    panel('Widget', h('div', {class: 'form-grid'},
      h('div', {class: 'field wide'}, look.element),
      h('div', {class: 'field'}, h('span', {class: 'field-label', text: 'Pre-chat form'}), h('div', {class: 'checks'}, prechatLabel, ...prechatFields.map(([l]) => l))),
      ownFields.element,
      h('div', {class: 'field'}, h('span', {class: 'field-label', text: 'Survey after the chat'}), h('div', {class: 'checks'}, ...surveys.map(([, l]) => l), commentLabel, soundLabel),
        h('span', {class: 'hint', text: 'Word the questions per language under Widget texts: csat, nps, ces, thumbs, comment.'})))),
    panel('Business hours', h('p', {class: 'panel-note', text: 'Outside these hours visitors can leave a message. No hours: always open.'}),
      hoursBox, h('div', {class: 'row'}, addHours), h('div', {class: 'form-grid'}, field('Holidays', holidays, 'Dates closed all day, YYYY-MM-DD', 'wide'))),
    panel('Chats and invitations', h('div', {class: 'form-grid'},
      field('Routing', routing), field('When no agent is free', offline),
      field('Queue timeout (s)', queueTimeout), field('Consent mode', consent, 'Required: the widget tracks behaviour only after consent'),
      field('Attribution window (days)', attribution, 'Conversions this long after an accepted invitation count for its rule'),
      field('Invitations per visit', perVisit), field('Invitations per day', perDay),
      field('Files accepted', files, 'Comma separated: images, pdf, text or types such as image/png; empty or any: all this server accepts; none: no files'),
      h('div', {class: 'field wide'}, h('span', {class: 'field-label', text: 'Widget conversions'}), trustLabel,
        h('span', {class: 'hint', text: 'Any visitor can report one. Off: rule stats and uplift count only orders your backend posts to /events.'})))),
    h('div', {class: 'form-foot'}, save, h('a', {class: 'btn btn-ghost', href: '#sites', text: 'Cancel'}), errors.footer));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    const body = {
      name: name.value.trim(), allowed_origins: list(origins.value), timezone: zone.value,
      default_lang: lang.value.trim(), languages: list(langs.value), departments: list(depts.value),
      widget: {...look.read(), prechat: prechat.checked, prechat_custom: ownFields.read(),
        prechat_fields: ['name', 'email', 'department'].filter((_, i) => prechatFields[i][1].checked),
        survey: surveys.filter(([, , box]) => box.checked).map(([k]) => k), survey_comment: comment.checked, sound: sound.checked},
      business_hours: windows.length || list(holidays.value).length ? {windows: windows.map((e) => e.read()), holidays: list(holidays.value)} : null,
      settings: {attribution_window_days: Number(attribution.value), queue_timeout_s: Number(queueTimeout.value),
        offline_mode: offline.value, max_invitations_per_visit: Number(perVisit.value),
        max_invitations_per_day: Number(perDay.value), consent_mode: consent.value, routing: routing.value,
        trust_client_conversions: trust.checked,
        attachments_allowed: files.value.trim() === '' ? null : files.value.trim() === 'none' ? [] : list(files.value)},
    };
    save.disabled = true;
    try {
      const saved = site ? await ctx.api.patch(`/sites/${site.id}`, body) : await ctx.api.post('/sites', body);
      ctx.siteId = saved.id;
      await ctx.reloadSites();
      toast(site ? 'Site saved' : 'Site created');
      ctx.go(`#sites/${saved.id}`);
    } catch (err) {
      errors.show(err);
    } finally {
      save.disabled = false;
    }
  });

  page.append(h('div', {class: 'crumbs'}, h('a', {href: '#sites', text: 'Sites'}), ' / ', site ? site.name : 'New site'),
    h('div', {class: 'page-head'}, h('h1', {text: site ? site.name : 'New site'})));
  if (site) page.appendChild(installPanel(ctx, site));
  page.appendChild(form);
}

function installPanel(ctx, site) {
  const rotate = h('button', {type: 'button', class: 'btn btn-sm', text: 'Rotate identity secret'});
  const secretSlot = h('div');
  const showSecret = (secret) => secretSlot.replaceChildren(
    h('div', {class: 'field'}, h('span', {class: 'field-label', text: 'Identity secret'}),
      h('code', {class: 'secret-value', text: secret}),
      h('span', {class: 'hint', text: 'Keep it on your server. Sign each logged-in user id with it so chats show who the visitor really is.'})),
    h('pre', {class: 'code', 'aria-label': 'user_hash sample', text: identitySample(secret)}));
  if (site.identity_secret) showSecret(site.identity_secret);
  rotate.addEventListener('click', async () => {
    if (!confirm('Rotate the identity secret? Hashes made with the old one stop working.')) return;
    const saved = await ctx.api.patch(`/sites/${site.id}`, {rotate_identity_secret: true});
    showSecret(saved.identity_secret);
    toast('New identity secret issued');
  });
  const copy = h('button', {type: 'button', class: 'btn btn-sm', text: 'Copy snippet'});
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(site.snippet);
      toast('Snippet copied');
    } catch {
      toast('Select the snippet and copy it', true);
    }
  });
  return h('section', {class: 'panel', 'aria-label': 'Install'},
    h('div', {class: 'panel-head'}, h('h2', {text: 'Install'}), copy, rotate),
    h('p', {class: 'panel-note', text: 'Paste this line before </body> on every page of the site.'}),
    h('pre', {class: 'code', 'aria-label': 'Snippet', text: site.snippet}),
    h('p', {class: 'small muted', text: `Site key: ${site.key}`}),
    secretSlot);
}

function identitySample(secret) {
  return [
    '// Node.js — on your server, never in the browser',
    "const crypto = require('crypto');",
    `const userHash = crypto.createHmac('sha256', '${secret}').update(user.id).digest('hex');`,
    '',
    '# Python',
    'import hmac, hashlib',
    `user_hash = hmac.new(b"${secret}", user_id.encode(), hashlib.sha256).hexdigest()`,
    '',
    '// then, on the page:',
    "Beckon('identify', {user_id: user.id, user_hash: userHash, name: user.name, email: user.email});",
  ].join('\n');
}
