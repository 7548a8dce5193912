'use strict';
// The agent socket (protocol.md, "Agent socket") with reconnect. The console only counts
// as connected once `welcome` arrives; the app then resumes every chat and re-sends its
// outbox. Close codes: 4401 → sign in again, 4403 → origin refused (stop), anything else
// (1006 network, 1012 restart, 4408 too slow, 4429 abuse) → reconnect with backoff.

import {randomId} from './dom.js';

const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;
const REQUEST_TIMEOUT_MS = 10000;
const BACKOFF_MIN_MS = 300;
const BACKOFF_MAX_MS = 8000;

export class AgentSocket {
  /**
   * onFrame(frame) for every server frame; onState(state, detail) where state is
   * 'connecting' | 'ready' | 'reconnecting' | 'unauthorized' | 'forbidden' | 'stopped'.
   */
  constructor(url, {onFrame, onState}) {
    this.url = url;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.everReady = false;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this._online = () => this.reconnectNow();
    window.addEventListener('online', this._online);
  }

  start() {
    this.stopped = false;
    this._open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this._drop(1000, 'signed out');
    this._setState('stopped');
  }

  /** Reconnect at once (the browser says the network is back). */
  reconnectNow() {
    if (this.stopped || this.ready) return;
    clearTimeout(this.retryTimer);
    if (!this.ws) this._open();
  }

  /** Send if connected; returns false otherwise (callers keep what they must resend). */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Send with a fresh ref; resolves with the reply carrying it, rejects on `error`. */
  request(frame, timeoutMs = REQUEST_TIMEOUT_MS) {
    const ref = frame.ref || randomId('r');
    return new Promise((resolve, reject) => {
      if (!this.send({...frame, ref})) {
        reject({code: 'offline', message: 'Not connected; try again in a moment.'});
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject({code: 'timeout', message: 'The server did not answer in time.'});
      }, timeoutMs);
      this.pending.set(ref, {resolve, reject, timer});
    });
  }

  _open() {
    this._setState(this.everReady ? 'reconnecting' : 'connecting', {attempt: this.attempt});
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (event) => this._message(ws, event);
    ws.onclose = (event) => this._closed(ws, event.code);
    ws.onerror = () => {}; // onclose follows and decides
  }

  _message(ws, event) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    if (frame.type === 'welcome') {
      this.ready = true;
      this.everReady = true;
      this.attempt = 0;
      this._startHeartbeat();
    }
    if (frame.type === 'pong') {
      clearTimeout(this.pongTimer);
    }
    const waiter = frame.ref ? this.pending.get(frame.ref) : null;
    this.onFrame(frame);
    if (waiter) {
      this.pending.delete(frame.ref);
      clearTimeout(waiter.timer);
      if (frame.type === 'error') waiter.reject(frame);
      else waiter.resolve(frame);
    }
    if (frame.type === 'welcome') this._setState('ready');
  }

  _closed(ws, code) {
    if (ws !== this.ws) return;
    this._teardown();
    if (this.stopped) return;
    if (code === 4401) {
      this.stopped = true;
      this._setState('unauthorized');
      return;
    }
    if (code === 4403) {
      this.stopped = true;
      this._setState('forbidden');
      return;
    }
    // 4429: the server asked us to slow down — start the backoff further along.
    if (code === 4429) this.attempt = Math.max(this.attempt, 4);
    this._scheduleRetry();
  }

  _scheduleRetry() {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2); // jitter: nodes restart together
    this.attempt += 1;
    this._setState(this.everReady ? 'reconnecting' : 'connecting', {attempt: this.attempt, delay});
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this._open(), delay);
  }

  _startHeartbeat() {
    clearInterval(this.pingTimer);
    // A half-open TCP connection (laptop sleep, NAT drop) never fires onclose; a
    // missing pong does, so we notice and reconnect.
    this.pingTimer = setInterval(() => {
      if (!this.send({type: 'ping'})) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        this._drop(4000, 'no pong');
        this._scheduleRetry();
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  _teardown() {
    this.ready = false;
    this.ws = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    for (const [ref, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject({code: 'offline', message: 'Connection lost.'});
      this.pending.delete(ref);
    }
  }

  /** Close the current socket without waiting for its close handshake. */
  _drop(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closing */
    }
    this._teardown();
  }

  _setState(state, detail = {}) {
    this.onState(state, detail);
  }
}

export function agentSocketUrl(loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws/agent`;
}
