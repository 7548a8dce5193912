'use strict';
// Behaviour the invitation rules watch (protocol.md, reserved `track` events): page views on
// load and SPA navigation (each also told to `onPage`, the page-loop watch), exit intent,
// scroll depth, idle/active and tab visibility. Every
// frame goes through `send`, which the chat gates on consent (false: held back) and queues
// while offline. What consent held back does not count against the throttles.

const IDLE_MS = 60000;
const EXIT_GAP_MS = 30000;
const SCROLL_MS = 1000;

B.tracking = (send, onPage) => {
  const track = (event, props) => send({ type: 'track', event, props });
  let url = location.href;

  // SPA navigation: wrap history so router pushes count as page views.
  const navigated = () => {
    if (location.href === url) return;
    const referrer = url;
    url = location.href;
    onPage();
    // Routers usually set document.title after pushState: read it a tick later.
    setTimeout(() => send({ type: 'page_view', url, title: document.title.slice(0, 1000), referrer }));
  };
  for (const name of ['pushState', 'replaceState']) {
    const original = history[name];
    history[name] = function () {
      const result = original.apply(this, arguments);
      navigated();
      return result;
    };
  }
  addEventListener('popstate', navigated);

  // Exit intent: the pointer leaves through the top edge (desktop pointers only).
  let lastExit = 0;
  document.addEventListener('mouseout', (event) => {
    if (event.relatedTarget || event.clientY > 0 || !matchMedia('(pointer: fine)').matches) return;
    if (Date.now() - lastExit < EXIT_GAP_MS) return;
    if (track('exit_intent')) lastExit = Date.now();
  });

  // Scroll depth: the deepest point seen, sent at most once a second in 10% steps.
  let deepest = 0;
  let sent = 0;
  let scrollTimer = 0;
  addEventListener(
    'scroll',
    () => {
      const page = document.documentElement.scrollHeight;
      const depth = Math.min(100, Math.round(((scrollY + innerHeight) / Math.max(page, 1)) * 100));
      deepest = Math.max(deepest, depth);
      if (scrollTimer) return;
      scrollTimer = setTimeout(() => {
        scrollTimer = 0;
        if ((deepest >= sent + 10 || (deepest === 100 && sent < 100)) && track('scroll', { depth: deepest })) {
          sent = deepest;
        }
      }, SCROLL_MS);
    },
    { passive: true },
  );

  // Idle after a minute without input; active again on the next input.
  let lastInput = Date.now();
  let idle = false;
  const input = () => {
    lastInput = Date.now();
    if (idle) {
      idle = false;
      track('active');
    }
  };
  for (const name of ['pointermove', 'keydown', 'scroll', 'touchstart']) {
    addEventListener(name, input, { passive: true, capture: true });
  }
  setInterval(() => {
    if (!idle && Date.now() - lastInput > IDLE_MS) {
      idle = true;
      track('idle');
    }
  }, IDLE_MS / 4);

  document.addEventListener('visibilitychange', () =>
    track('visibility', { state: document.visibilityState }),
  );

  return {
    /** The first page view of this page load. */
    pageView: () => {
      onPage();
      send({ type: 'page_view', url, title: document.title.slice(0, 1000), referrer: document.referrer });
    },
  };
};
