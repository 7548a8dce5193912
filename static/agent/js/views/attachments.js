'use strict';
// Files on a message: an image as a thumbnail (click: full size in a new tab), any other
// file as a chip with its name and size that downloads it. URLs are signed per reader and
// expire, so each is asked for when the row is drawn (GET …/attachments/{id}), never kept.
import {h} from '../dom.js';

/** The list for a message frame's `attachments`, or null when it has none. */
export function attachmentList(conversationId, items) {
  if (!Array.isArray(items) || !items.length) return null;
  return h('ul', {class: 'msg-files'}, items.map((item) => fileItem(conversationId, item)));
}

function fileItem(conversationId, item) {
  const image = item.mime.startsWith('image/');
  const link = h('a', {class: image ? 'msg-file-thumb' : 'msg-file-chip', target: '_blank', rel: 'noopener noreferrer', title: item.name});
  const img = image ? h('img', {alt: item.name, loading: 'lazy'}) : null;
  if (img) link.append(img);
  else link.append(h('span', {class: 'msg-file-name', text: item.name}), h('span', {class: 'msg-file-size', text: sizeOf(item.size)}));
  signed(conversationId, item.id).then((fresh) => {
    if (!fresh) return link.classList.add('msg-file-missing');
    link.href = fresh.url;
    if (img) img.src = fresh.thumb_url || fresh.url;
    else link.setAttribute('download', item.name);
  });
  return h('li', {class: 'msg-file', dataset: {attachmentId: item.id}}, link);
}

async function signed(conversationId, attachmentId) {
  const path = `/api/v1/conversations/${encodeURIComponent(conversationId)}/attachments/${encodeURIComponent(attachmentId)}`;
  try {
    const response = await fetch(path, {credentials: 'same-origin'});
    return response.ok ? (await response.json()).attachment : null;
  } catch {
    return null;
  }
}

/** 1536 → "1.5 KB" (powers of 1024, one decimal below 10). */
export function sizeOf(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit && value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
