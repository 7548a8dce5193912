'use strict';
// Struggle signals (docs/rules.md, "Struggle signals"): rage and dead clicks, form errors,
// page loops, error pages, long queue waits, and what the site declares through the JS API.
// Each is a reserved `track` event carrying numbers only — never text, selectors or URLs.
// Nothing is observed, stored or sent while tracking consent is absent (`allowed()`).

const RAGE_MS = 1000;
const RAGE_CLICKS = 3;
const DEAD_MS = 1000;
const LONG_WAIT_MS = 60000;
const PER_PAGE = 10; // per kind and page load (the server counts at most 50 a visit)

B.signals = (track, allowed, key) => {
  const sent = {};
  const signal = (name, props) => {
    if (!allowed()) return;
    sent[name] = (sent[name] || 0) + 1;
    if (sent[name] <= PER_PAGE) track(name, props);
  };

  // Dead click: for a second after it, no DOM change, scroll, focus move or navigation.
  // The observer runs only in that second; a newer click takes over the watch.
  let watch = null;
  const watchDead = () => {
    if (watch) watch();
    const where = () => location.href + ' ' + scrollX + ' ' + scrollY;
    const before = where();
    const focus = document.activeElement;
    let changed = false;
    const observer = new MutationObserver(() => (changed = true));
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    const timer = setTimeout(() => {
      watch();
      if (!changed && before === where() && focus === document.activeElement) signal('dead_click');
    }, DEAD_MS);
    watch = () => {
      observer.disconnect();
      clearTimeout(timer);
      watch = null;
    };
  };

  // Rage click: 3+ clicks within a second on one element, one signal per burst.
  let last = null;
  let times = [];
  document.addEventListener(
    'click',
    (event) => {
      const target = event.target;
      // The widget's own clicks reach the page as clicks on its host element.
      if (!allowed() || !(target instanceof Element) || target.closest('beckon-chat')) return;
      const now = Date.now();
      if (target !== last) times = [];
      last = target;
      times = times.filter((t) => now - t < RAGE_MS).concat(now);
      if (times.length === RAGE_CLICKS) signal('rage_click', { clicks: RAGE_CLICKS });
      const quiet = target.closest('input,select,textarea,label,option,[contenteditable],a[target]');
      if (!quiet && !event.ctrlKey && !event.metaKey && !event.shiftKey) watchDead();
    },
    true,
  );

  // Form error: one signal per submit the browser blocked, counting the invalid fields.
  let invalid = 0;
  document.addEventListener(
    'invalid',
    () => {
      if (invalid++) return;
      setTimeout(() => {
        signal('form_error', { fields: Math.min(invalid, 1000) });
        invalid = 0;
      });
    },
    true,
  );

  // Page loop: A → B → A → B in this tab. Only 32-bit hashes of the paths are kept.
  const trail = B.store('sessionStorage', key + ':trail');
  const page = () => {
    if (!allowed()) return;
    const hash = [...location.pathname].reduce((h, c) => (h * 31 + c.charCodeAt(0)) | 0, 7);
    let t = trail.get() || [];
    if (t[t.length - 1] === hash) return;
    t = t.concat(hash).slice(-4);
    if (t.length === 4 && t[0] === t[2] && t[1] === t[3]) {
      signal('page_loop');
      t = [hash];
    }
    trail.set(t);
  };

  // Error page: the page's own HTTP status, or the site's error template saying so; once.
  let errored = false;
  const errorPage = (status) => {
    status = Math.round(Number(status));
    if (errored || !(status >= 400 && status <= 599)) return;
    errored = true;
    signal('error_page', { status });
  };
  const nav = performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
  if (nav && nav.responseStatus) errorPage(nav.responseStatus);

  // Long wait: the chat stayed queued for a minute (once per conversation, across pages).
  const waited = B.store('sessionStorage', key + ':waited');
  let waitFor = null;
  let waitTimer = 0;
  const queue = (conv) => {
    const id = conv && conv.status === 'queued' ? conv.id : null;
    if (id === waitFor) return;
    clearTimeout(waitTimer);
    waitFor = id;
    if (!id || waited.get() === id) return;
    const since = Date.now() - (conv.created_ts || Date.now());
    const due = since >= 0 && since < LONG_WAIT_MS ? LONG_WAIT_MS - since : LONG_WAIT_MS;
    waitTimer = setTimeout(() => {
      waited.set(id);
      signal('long_wait', { wait_s: LONG_WAIT_MS / 1000 });
    }, due);
  };

  return {
    page,
    queue,
    errorPage,
    formError: (fields) => signal('form_error', Number.isInteger(fields) && fields >= 0 ? { fields: Math.min(fields, 1000) } : undefined),
    noResults: () => signal('search_no_results'),
  };
};
