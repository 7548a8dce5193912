'use strict';
// Messages the visitor typed that the server has not stored yet (no `message` echo with
// their client_msg_id). Kept in sessionStorage, so a reload or a navigation in this tab
// re-sends them instead of losing them; the server dedupes by client_msg_id and answers a
// retry with the original seq, so re-sending is always safe. sessionStorage (not local)
// because another tab must not send this tab's messages a second time.

B.outbox = (key) => {
  const store = B.store('sessionStorage', key);
  let items = store.get() || [];
  const save = () => store.set(items);
  return {
    items: () => items,
    /** Queue `text` (with attachment ids `att`); `conv` is the conversation id, or null
     * before one exists. */
    add(text, conv, att) {
      const item = { id: B.uid(), text, ts: Date.now(), conv, att };
      items.push(item);
      save();
      return item;
    },
    /** Forget an item (acked, or refused for good). True if it was there. */
    drop(id) {
      const before = items.length;
      items = items.filter((item) => item.id !== id);
      if (items.length !== before) save();
      return items.length !== before;
    },
    /** Give items typed before the conversation existed their conversation. */
    assign(conv) {
      for (const item of items) if (!item.conv) item.conv = conv;
      save();
    },
  };
};
