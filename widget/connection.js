'use strict';
// One visitor socket that keeps itself connected. It knows nothing about chat: on every open
// it sends the `hello` the caller builds fresh (so resume points are current) and hands
// frames up. Reconnects use exponential backoff with full jitter so a restarted server is
// not hit by every widget at once. With several server URLs (`data-servers`, nodes of one
// deployment), a lost or refused socket moves on to the next URL, round robin: any node
// can resume any conversation. Close codes (protocol.md, "Errors"): 4403 = this origin
// is not allowed, stop for good; 4429 = abuse, back off long; anything else (1006, 1012
// shutdown, 4408 slow reader, ...) reconnect and resume.

const BASE_MS = 500;
const CAP_MS = 30000;
const ABUSE_MS = 30000;
const PING_MS = 25000;
const DEAD_MS = 60000; // nothing heard for this long: the network died silently

B.connection = (urls, hooks) => {
  let at = 0; // index in `urls` of the server to try next
  let ws = null;
  let attempt = 0;
  let timer = 0;
  let stopped = false;
  let heard = 0;

  const connect = () => {
    clearTimeout(timer);
    timer = 0;
    if (stopped || ws) return;
    let sock;
    try {
      sock = new WebSocket(urls[at]);
    } catch (err) {
      at = (at + 1) % urls.length;
      return retry(0);
    }
    ws = sock;
    sock.onopen = () => {
      heard = Date.now();
      sock.send(JSON.stringify(hooks.hello()));
    };
    sock.onmessage = (event) => {
      heard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame.type === 'welcome') attempt = 0;
      hooks.frame(frame);
    };
    sock.onclose = (event) => lost(sock, event.code, event.reason);
  };

  const lost = (sock, code, reason) => {
    if (ws !== sock) return;
    ws = null;
    sock.onclose = sock.onmessage = sock.onopen = null;
    at = (at + 1) % urls.length;
    hooks.down();
    if (code === 4403) {
      stopped = true;
      console.warn('Beckon: chat disabled on this page (' + (reason || 'origin not allowed') + ')');
      return;
    }
    retry(code === 4429 ? ABUSE_MS : 0);
  };

  const retry = (floor) => {
    if (stopped || timer) return;
    const cap = Math.min(CAP_MS, BASE_MS * 2 ** attempt++);
    timer = setTimeout(connect, Math.max(floor, Math.random() * cap));
  };

  // A socket on a dead mobile network may never fire `close`: ping, and drop it ourselves.
  setInterval(() => {
    if (!ws || ws.readyState !== 1) return;
    if (Date.now() - heard > DEAD_MS) {
      const sock = ws;
      lost(sock, 1006, '');
      sock.close();
    } else ws.send('{"type":"ping"}');
  }, PING_MS);

  // Back online or back in the tab: try now instead of waiting out the backoff.
  const now = () => {
    if (!ws && !stopped) {
      attempt = 0;
      connect();
    }
  };
  addEventListener('online', now);
  document.addEventListener('visibilitychange', () => B.visible() && now());

  return {
    start: connect,
    /** Send a frame now; false when there is no open socket (callers keep what matters). */
    send(frame) {
      if (!ws || ws.readyState !== 1) return false;
      ws.send(JSON.stringify(frame));
      return true;
    },
    /** Say hello again (a new identity): drop this socket and reconnect at once. */
    restart() {
      if (ws) {
        const sock = ws;
        lost(sock, 1000, '');
        sock.close();
      }
      now();
    },
  };
};
