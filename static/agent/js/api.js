'use strict';
// REST client for /api/v1 (protocol.md, REST). Cookie session + X-CSRF-Token on unsafe
// methods. Every failure becomes an ApiError with the server's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The endpoint does not exist on this server (yet): show "not available". */
  get missing() {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class Api {
  constructor(base = '/api/v1') {
    this.base = base;
    this.csrf = null;
  }

  async request(method, path, body) {
    const headers = {Accept: 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (UNSAFE.has(method) && this.csrf) headers['X-CSRF-Token'] = this.csrf;
    let response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || `http_${response.status}`, err.message || response.statusText);
    }
    return data;
  }

  get(path, query) {
    const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v != null)) : null;
    return this.request('GET', qs && String(qs) ? `${path}?${qs}` : path);
  }

  post(path, body = {}) {
    return this.request('POST', path, body);
  }

  async login(email, password) {
    const me = await this.post('/auth/login', {email, password});
    this.csrf = me.csrf_token;
    return me;
  }

  async me() {
    const me = await this.get('/me');
    this.csrf = me.csrf_token;
    return me;
  }

  async logout() {
    try {
      await this.post('/auth/logout');
    } finally {
      this.csrf = null;
    }
  }
}
