'use strict';
// The message list: stored messages in `seq` order (each seq shown once, whatever arrives
// twice after a resume), then the visitor's pending ones from the outbox. Seqs may jump —
// agents' internal notes use seqs the visitor never sees — and that is not a loss.

const time = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

B.messageList = (scroller) => {
  const list = B.el('div', { class: 'list' });
  const pend = B.el('div', { class: 'pend' });
  scroller.append(list, pend);
  const bySeq = new Map(); // seq → row element
  const pending = new Map(); // client_msg_id → row element
  const transcript = []; // {seq, who, text, ts}, for the download
  let seen = null;

  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
  const keepBottom = (was) => {
    if (was) scroller.scrollTop = scroller.scrollHeight;
  };

  const row = (kind, text, name, meta, face, id) => {
    const bubble = B.el('div', { class: 'm ' + kind, dir: 'auto' }, B.linkify(text));
    const nodes = [];
    if (name) nodes.push(B.el('div', { class: 'n', dir: 'auto' }, [face && B.fa ? B.fa(face) : '', name]));
    nodes.push(bubble);
    const box = B.el('div', { class: kind === 'a' ? 'row ra' : 'row', 'data-a': id }, nodes);
    if (meta != null) box.append(B.el('div', { class: 'meta', text: meta }));
    return box;
  };

  const draw = (frame) => {
    const kind = frame.author && frame.author.kind;
    if (kind === 'system') return B.el('div', { class: 'sys', dir: 'auto', text: frame.text });
    if (kind === 'visitor') return row('v', frame.text, null, time(frame.ts));
    const a = frame.author || {};
    return row('a', frame.text, a.name || B.t('agent'), null, B.face && a.id === B.face[0] && B.face[1], a.id);
  };
  const render = (frame) => {
    const node = draw(frame);
    // Thumbnails and file chips are drawn by widget/more/files.js.
    if (frame.attachments) B.more().then(() => B.showFiles(node, frame), console.warn);
    return node;
  };

  return {
    /** Messages of a chat that is over (an agent's follow-up answer and what it answers),
     * appended as they come: outside the seq order of the chat on screen. */
    earlier(frames) {
      const was = atBottom();
      for (const frame of frames) list.append(render(frame));
      keepBottom(was);
    },
    /** A stored message frame. Returns false if that seq is already shown. */
    add(frame) {
      if (bySeq.has(frame.seq)) return false;
      const was = atBottom();
      if (frame.client_msg_id && pending.has(frame.client_msg_id)) {
        pending.get(frame.client_msg_id).remove();
        pending.delete(frame.client_msg_id);
      }
      const kind = frame.author && frame.author.kind;
      const node = render(frame);
      node.dataset.seq = frame.seq;
      // Insert before the first shown message with a higher seq: replays may arrive late.
      let next = null;
      for (const [seq, other] of bySeq) {
        if (seq > frame.seq && (!next || seq < next[0])) next = [seq, other];
      }
      list.insertBefore(node, next ? next[1] : null);
      bySeq.set(frame.seq, node);
      const who = kind === 'visitor' ? B.t('you') : (frame.author && frame.author.name) || B.t('agent');
      transcript.push({ seq: frame.seq, who, text: frame.text, ts: frame.ts });
      keepBottom(was || kind === 'visitor');
      return true;
    },
    /** A message still in the outbox, marked as sending. */
    addPending(item) {
      if (pending.has(item.id)) return;
      const node = row('v', item.text, null, B.t('sending'));
      node.classList.add('pending');
      pending.set(item.id, node);
      pend.append(node);
      scroller.scrollTop = scroller.scrollHeight;
    },
    /** The server refused a pending message for good (e.g. the chat had closed). */
    fail(id) {
      const node = pending.get(id);
      if (!node) return;
      node.classList.replace('pending', 'failed');
      node.lastChild.textContent = B.t('failed');
      pending.delete(id);
    },
    /** System lines that are not stored messages (ended, thanks, errors). */
    note(text) {
      const was = atBottom();
      const line = list.appendChild(B.el('div', { class: 'sys', dir: 'auto', text }));
      keepBottom(was);
      return line;
    },
    /** The agent has read up to `seq`: mark the last visitor message at or below it. */
    read(seq) {
      let best = null;
      for (const [s, node] of bySeq) {
        if (s <= seq && node.querySelector('.v') && (!best || s > best[0])) best = [s, node];
      }
      if (!best) return;
      if (!seen) seen = B.el('div', { class: 'meta' });
      seen.textContent = B.t('seen');
      best[1].append(seen);
    },
    /** The conversation as plain text, oldest first. */
    text: () =>
      transcript
        .slice()
        .sort((a, b) => a.seq - b.seq)
        .map((m) => '[' + new Date(m.ts).toLocaleString() + '] ' + m.who + ': ' + m.text)
        .join('\n'),
    clear() {
      list.textContent = '';
      bySeq.clear();
      transcript.length = 0;
    },
  };
};
