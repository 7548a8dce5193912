'use strict';
// Entry point: find our <script data-site>, paint the bubble at once (before any network),
// then connect. The widget lives in a shadow root on a host element that is put in the top
// layer (popover) where supported, so host pages' z-index wars, transforms and `all: unset`
// rules cannot hide or move it.

const HOST_CSS =
  'all:initial!important;position:fixed!important;inset:auto 0 0 auto!important;width:0!important;' +
  'height:0!important;margin:0!important;padding:0!important;border:0!important;overflow:visible!important;' +
  'background:none!important;z-index:2147483647!important;display:block!important;transform:none!important;' +
  'visibility:visible!important;opacity:1!important;contain:none!important;zoom:1!important';

const boot = () => {
  performance.mark('beckon:start');
  const script = document.currentScript || document.querySelector('script[data-site]');
  const site = script && script.dataset.site;
  if (!site || window.__beckon) return;
  window.__beckon = true;
  // Language files come from where the script came from; the socket from there too, unless
  // data-server names another Beckon server (e.g. the script is on a CDN), or data-servers
  // several (space-separated: nodes of one deployment, tried in turn when one fails).
  const assets = (B.assets = new URL(script.src, location.href).origin);
  const servers = (script.dataset.servers || script.dataset.server || assets)
    .split(/\s+/)
    .filter((url) => /^https?:\/\//i.test(url))
    .map((url) => url.replace(/\/+$/, ''));
  if (!servers.length) servers.push(assets);

  const host = document.createElement('beckon-chat');
  host.style.cssText = HOST_CSS;
  // A zoomed page would zoom the widget too: undo it.
  const zoom = parseFloat(getComputedStyle(document.documentElement).zoom) * parseFloat(getComputedStyle(document.body || document.documentElement).zoom);
  if (zoom && zoom !== 1) host.style.setProperty('zoom', String(1 / zoom), 'important');
  const root = host.attachShadow({ mode: 'open' });
  if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    // Constructed sheets are not blocked by a host page's CSP style-src.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(B.CSS);
    root.adoptedStyleSheets = [sheet];
  } else root.append(B.el('style', { text: B.CSS }));

  const bubble = B.launcher(root, () => chat && chat.open(!chat.s.open));
  (document.body || document.documentElement).append(host);
  if (host.showPopover) {
    host.setAttribute('popover', 'manual');
    try {
      host.showPopover();
    } catch (err) {
      // not in the top layer: the z-index above still applies
    }
  }
  // A task queued from the next frame runs after that frame is painted: the bubble is on
  // screen then (budget: 50 ms). Everything else is built only after that.
  let chat = null;
  requestAnimationFrame(() => {
    setTimeout(() => performance.measure('beckon:bubble', 'beckon:start'));
    setTimeout(init);
  });
  const init = () => {
    const events = B.emitter();
    const view = B.view(root, bubble, {
      toggle: (on) => chat.open(on === undefined ? !chat.s.open : on),
      send: (text) => chat.say(text),
      typing: () => chat.setTyping(true),
      end: () => chat.end(),
      transcript: () => chat.transcript(),
      files: (list) => chat.files.add(list),
    });
    chat = B.chat({ site, servers, assets, view, events });
    B.api(chat, events);
    const lang = B.pickLang([chat.s.cfg.lang].concat(navigator.languages || []));
    if (lang !== 'en') B.setLang(lang, assets, chat.s.cfg.strings);
    chat.start();
  };
};

boot();
