'use strict';
// Files an agent attaches before sending: picked with the Attach button,
// dropped on the composer or pasted into it. Each uploads at once (PUT, with progress),
// keeps its upload id so a retry is the same attachment, and can be cancelled; the
// message sent next references the ones that finished.
import {h} from '../dom.js';
import {sizeOf} from './attachments.js';

function randomId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return 'up' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class UploadTray {
  /** `csrf()` gives the session's CSRF token (PUT is an unsafe method). */
  constructor(csrf) {
    this.csrf = csrf;
    this.items = [];
    this.chatId = null;
    this.root = h('ul', {class: 'upload-tray', 'aria-label': 'Files to send', hidden: true});
    this.picker = h('input', {type: 'file', multiple: true, hidden: true, onchange: () => this.addFiles(this.picker.files)});
    this.button = h('button', {type: 'button', class: 'btn btn-sm', text: 'Attach', 'aria-label': 'Attach files', onclick: () => this.picker.click()});
  }

  /** Another chat opened: files picked for the previous one are dropped (cancelled). */
  setChat(chatId) {
    if (chatId === this.chatId) return;
    for (const item of this.items) if (item.xhr) item.xhr.abort();
    this.items = [];
    this.chatId = chatId;
    this.render();
  }

  /** Wire drop and paste on `target` (the composer). */
  listen(target) {
    target.addEventListener('dragover', (e) => {
      if (e.dataTransfer && Array.from(e.dataTransfer.types).includes('Files')) e.preventDefault();
    });
    target.addEventListener('drop', (e) => {
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      e.preventDefault();
      this.addFiles(e.dataTransfer.files);
    });
    target.addEventListener('paste', (e) => {
      const files = e.clipboardData ? Array.from(e.clipboardData.files) : [];
      if (!files.length) return;
      e.preventDefault();
      this.addFiles(files);
    });
  }

  addFiles(files) {
    if (!this.chatId) return;
    for (const file of Array.from(files)) {
      const item = {file, uploadId: randomId(), state: 'uploading', progress: 0, attachment: null, error: '', xhr: null};
      this.items.push(item);
      this.upload(item);
    }
    this.picker.value = '';
    this.render();
  }

  upload(item) {
    const chatId = this.chatId;
    const path = `/api/v1/conversations/${encodeURIComponent(chatId)}/attachments/${item.uploadId}?name=${encodeURIComponent(item.file.name || 'pasted')}`;
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    item.state = 'uploading';
    item.error = '';
    xhr.open('PUT', path);
    xhr.setRequestHeader('X-CSRF-Token', this.csrf() || '');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) item.progress = e.loaded / e.total;
      this.render();
    };
    xhr.onload = () => {
      item.xhr = null;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 200 || xhr.status === 201) {
        item.state = 'done';
        item.attachment = body.attachment;
      } else {
        item.state = 'failed';
        item.error = (body && body.error && body.error.message) || `error ${xhr.status}`;
      }
      this.render();
    };
    xhr.onerror = () => {
      item.xhr = null;
      item.state = 'failed';
      item.error = 'network error';
      this.render();
    };
    xhr.send(item.file);
  }

  cancel(item) {
    if (item.xhr) item.xhr.abort();
    this.items = this.items.filter((i) => i !== item);
    this.render();
  }

  get busy() {
    return this.items.some((i) => i.state === 'uploading');
  }

  /** The finished attachments (ids and names), which the caller sends; the tray empties. */
  take() {
    const done = this.items.filter((i) => i.state === 'done').map((i) => i.attachment);
    this.items = this.items.filter((i) => i.state !== 'done');
    this.render();
    return done;
  }

  render() {
    this.root.hidden = this.items.length === 0;
    this.root.replaceChildren(
      ...this.items.map((item) =>
        h(
          'li',
          {class: `upload upload-${item.state}`, dataset: {state: item.state}},
          h('span', {class: 'upload-name', text: item.file.name || 'pasted image'}),
          h('span', {class: 'upload-size', text: sizeOf(item.file.size)}),
          item.state === 'uploading' ? h('progress', {max: '1', value: String(item.progress), 'aria-label': 'Upload progress'}) : null,
          item.state === 'failed' ? h('span', {class: 'upload-error', text: item.error}) : null,
          item.state === 'failed' ? h('button', {type: 'button', class: 'btn btn-sm', text: 'Retry', onclick: () => this.upload(item)}) : null,
          h('button', {type: 'button', class: 'btn btn-sm', text: item.state === 'uploading' ? 'Cancel' : 'Remove', onclick: () => this.cancel(item)}),
        ),
      ),
    );
  }
}
