'use strict';
// Files in the chat, the visitor's side. A file picked with the composer's
// button, dropped on the window or pasted uploads at once (PUT with the visitor token,
// CORS from the shop's page) with a progress bar, cancel and retry — a retry keeps its
// upload id, so it is the same attachment — and is sent as its own message (its name as
// the text) once stored. Files on messages show as a thumbnail (click: full size) or a
// chip with the name and size; their URLs are signed per reader and expire, so each is
// asked for when the message is drawn, never kept.

const CSS =
  '.cp .at{background:none;color:inherit}' +
  '.up{list-style:none;margin:0;padding:6px 10px 0;display:grid;gap:4px;font-size:12px}' +
  '.up li{display:flex;align-items:center;gap:6px;min-width:0}' +
  '.up .nm{flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}' +
  '.up progress{width:70px}.up .er{color:#b91c1c}' +
  '.up button{font:inherit;border:1px solid rgba(127,127,127,.4);background:none;color:inherit;border-radius:6px;padding:1px 6px;cursor:pointer}' +
  '.fs{display:grid;gap:6px;white-space:normal}.m>.fs:not(:first-child){margin-top:6px}' +
  '.fs .th img{display:block;max-width:100%;max-height:200px;border-radius:10px;background:rgba(127,127,127,.15)}' +
  '.fs .ch{display:flex;gap:8px;align-items:baseline;padding:6px 10px;border-radius:10px;border:1px solid rgba(127,127,127,.4);text-decoration:none}' +
  '.fs .ch span{overflow-wrap:anywhere}.fs .gone{opacity:.5}';
const ICON_FILE = 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z';
const MAX_FILES = 10; // per drop or paste, as per message on the server

let chat = null;
let at = 0; // index of the server uploads go to; moves on after a network error

const base = (conversationId) =>
  chat.servers[at % chat.servers.length] + '/api/v1/conversations/' + encodeURIComponent(conversationId) + '/attachments/';
const token = () => ({ 'X-Visitor-Token': chat.s.stored.vt || '' });

/** 1536 → "1.5 KB" (powers of 1024, one decimal below 10). */
const sizeOf = (bytes) => {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    unit++;
  }
  return (unit && value < 10 ? value.toFixed(1) : Math.round(value)) + ' ' + ['B', 'KB', 'MB', 'GB'][unit];
};

/** A message's files, drawn into its bubble (messages.js calls this). When the text is
 * only the files' names (a file sent alone), the file replaces it. */
B.showFiles = (node, frame) => {
  const bubble = node.querySelector('.m');
  if (!bubble || !chat || !frame.conversation_id) return;
  const items = frame.attachments;
  if (frame.text === items.map((item) => item.name).join(', ')) bubble.textContent = '';
  bubble.append(B.el('div', { class: 'fs' }, items.map((item) => fileLink(frame.conversation_id, item))));
};

const fileLink = (conversationId, item) => {
  const image = item.width != null; // re-encoded raster images have a thumbnail
  const link = B.el('a', { class: image ? 'th' : 'ch', target: '_blank', rel: 'noopener noreferrer', title: item.name, 'data-id': item.id });
  if (image) link.append(B.el('img', { alt: item.name, width: Math.min(item.width, 320) }));
  else link.append(B.el('span', { text: item.name }), B.el('small', { text: sizeOf(item.size) }));
  fetch(base(conversationId) + encodeURIComponent(item.id), { headers: token() })
    .then((answer) => (answer.ok ? answer.json() : Promise.reject(new Error(answer.status))))
    .then(({ attachment }) => {
      link.href = attachment.url;
      if (image) link.firstChild.src = attachment.thumb_url;
      else link.download = item.name; // (cross-origin: the server's Content-Disposition decides)
    })
    .catch(() => link.classList.add('gone'));
  return link;
};

B.files = (c) => {
  chat = c;
  const { s, view } = chat;
  const root = view.wrap.getRootNode();
  if (root.adoptedStyleSheets && window.CSSStyleSheet) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  } else root.append(B.el('style', { text: CSS }));

  let items = [];
  const tray = B.el('ul', { class: 'up' });
  const picker = B.el('input', { type: 'file', multiple: true, hidden: true, onchange: () => add(picker.files) });
  view.composer.prepend(tray, picker);
  const button = view.composer.querySelector('.at');
  button.append(B.icon(ICON_FILE));
  button.hidden = false;

  // An upload needs a conversation: the first file of a visitor who has none starts one.
  const waiting = [];
  chat.events.on('chat_started', () => waiting.splice(0).forEach((ready) => ready()));
  const conversation = () =>
    new Promise((resolve, reject) => {
      if (s.conv && s.conv.status !== 'closed') return resolve(s.conv.id);
      if (s.conv) chat.newChat();
      if (!chat.send({ type: 'chat_start', ref: 'start', prechat: s.prechat || undefined })) return reject();
      waiting.push(() => resolve(s.conv.id));
      setTimeout(reject, 20000);
    });

  const draw = () => {
    tray.replaceChildren(
      ...items.map((item) => {
        const failed = item.error != null;
        const cancel = B.el('button', { type: 'button', text: '×', 'aria-label': B.t('cancel'), onclick: () => drop(item) });
        return B.el('li', { 'data-state': failed ? 'failed' : 'uploading' }, [
          B.el('span', { class: 'nm', dir: 'auto', text: item.file.name || 'image' }),
          B.el('small', { text: sizeOf(item.file.size) }),
          failed ? B.el('span', { class: 'er', role: 'alert', text: item.error }) : item.bar,
          failed ? B.el('button', { type: 'button', text: B.t('retry'), onclick: () => upload(item) }) : null,
          cancel,
        ]);
      }),
    );
  };

  const drop = (item) => {
    item.gone = true;
    if (item.xhr) item.xhr.abort();
    items = items.filter((other) => other !== item);
    draw();
  };

  const fail = (item, message) => {
    if (item.gone) return;
    item.xhr = null;
    item.error = message || B.t('error');
    draw();
  };

  const upload = (item) => {
    item.error = null;
    item.bar = B.el('progress', { max: '1', value: '0', 'aria-label': item.file.name || 'image' });
    draw();
    conversation().then((conversationId) => {
      if (item.gone) return;
      const xhr = (item.xhr = new XMLHttpRequest());
      xhr.open('PUT', base(conversationId) + item.id + '?name=' + encodeURIComponent(item.file.name || 'image'));
      xhr.setRequestHeader('X-Visitor-Token', token()['X-Visitor-Token']);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) item.bar.value = event.loaded / event.total;
      };
      xhr.onload = () => {
        let body = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch (err) {
          // not JSON: the status says enough
        }
        if (xhr.status !== 200 && xhr.status !== 201) return fail(item, body.error && body.error.message);
        drop(item);
        chat.say(body.attachment.name, [body.attachment.id]);
      };
      xhr.onerror = () => {
        at++; // this server may be gone: a retry tries the next one
        fail(item);
      };
      xhr.send(item.file);
    }, () => fail(item));
  };

  const add = (list) => {
    if (!list) return picker.click();
    for (const file of Array.from(list).slice(0, MAX_FILES)) {
      const item = { file, id: 'up' + B.uid() };
      items.push(item);
      upload(item);
    }
    picker.value = '';
  };

  return { add };
};
