'use strict';
// `window.Beckon`, the site developer's API. Calls made before the script loaded were queued
// by the snippet stub and are replayed in order:
//   window.Beckon = window.Beckon || function () { (Beckon.q = Beckon.q || []).push(arguments) };
// (an object stub `window.Beckon = {q: []}` with `Beckon.q.push(['open'])` works too).
// Then `Beckon('open')` and `Beckon.open()` are the same call.

B.api = (chat, events) => {
  const { s } = chat;
  const scalars = (obj) => {
    const out = {};
    for (const [key, value] of Object.entries(obj || {})) {
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) out[key] = value;
    }
    return out;
  };
  const methods = {
    open: () => chat.open(true),
    close: () => chat.open(false),
    on: (name, fn) => events.on(name, fn),
    /** Signed identity (user_hash = HMAC-SHA256(identity secret, user_id)); sent in hello. */
    identify(who) {
      if (!who || typeof who.user_id !== 'string' || typeof who.user_hash !== 'string') {
        return console.warn('Beckon.identify needs user_id and user_hash');
      }
      s.identity = { user_id: who.user_id, user_hash: who.user_hash, name: who.name, email: who.email };
      if (s.welcomed) chat.restart(); // identity only travels in hello
    },
    setAttributes(attrs) {
      const clean = scalars(attrs);
      Object.assign(s.attributes, clean);
      chat.send({ type: 'attributes', ...clean });
    },
    setCart(cart) {
      if (!cart) return;
      s.cart = { type: 'cart', value: Number(cart.value) || 0, currency: String(cart.currency || '').toUpperCase(), items: cart.items };
      chat.send(s.cart);
    },
    track: (event, props) => chat.behave({ type: 'track', event: String(event).slice(0, 64), props: props && scalars(props) }),
    conversion: (props) => chat.behave({ type: 'track', event: 'conversion', props: scalars(props) }),
    consent: (given) => chat.consent(given),
    // Struggle signals the site declares (docs/rules.md): numbers only, never text.
    searchNoResults: () => chat.signals.noResults(),
    errorPage: (status) => chat.signals.errorPage(status),
    formError: (fields) => chat.signals.formError(fields),
  };
  const Beckon = function (name, ...args) {
    if (typeof methods[name] === 'function') return methods[name](...args);
    console.warn('Beckon: unknown call ' + name);
  };
  Object.assign(Beckon, methods);
  const stub = window.Beckon;
  window.Beckon = Beckon;
  const queued = (stub && stub.q) || [];
  for (const args of queued) Beckon(...Array.from(args));
};
