'use strict';
// Juniper & Co., the Beckon demo shop. The cart lives in localStorage; every page tells the
// widget about it (`setCart`), adding to the cart is a `track` event, and the confirmation
// page reports the order as a `conversion` — what a real shop's front end would do.
// The stub keeps calls made before the widget has loaded (the snippet loads it async).

window.Beckon = window.Beckon || function () { (Beckon.q = Beckon.q || []).push(arguments); };

const CURRENCY = 'EUR';
const CATALOGUE = {
  lamp: { name: 'Oak desk lamp', price: 89, pic: '/demo/assets/img/lamp.svg' },
  mugs: { name: 'Stoneware mug set', price: 34, pic: '/demo/assets/img/mugs.svg' },
  throw: { name: 'Wool throw', price: 129, pic: '/demo/assets/img/throw.svg' },
  cushion: { name: 'Linen cushion', price: 45, pic: '/demo/assets/img/cushion.svg' },
};
const CART_KEY = 'juniper-cart';
const ORDER_KEY = 'juniper-order';
const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: CURRENCY });

// -- storage -----------------------------------------------------------------------------
const read = (area, key, fallback) => {
  try {
    return JSON.parse(window[area].getItem(key)) || fallback;
  } catch (err) {
    return fallback;
  }
};
const write = (area, key, value) => {
  try {
    if (value == null) window[area].removeItem(key);
    else window[area].setItem(key, JSON.stringify(value));
  } catch (err) {
    // storage disabled: the cart lasts for this page only
  }
};

/** {sku: quantity}, only known products with a positive whole quantity. */
const loadCart = () => {
  const cart = {};
  for (const [sku, qty] of Object.entries(read('localStorage', CART_KEY, {}))) {
    if (CATALOGUE[sku] && Number.isInteger(qty) && qty > 0) cart[sku] = Math.min(qty, 99);
  }
  return cart;
};
const totals = (cart) => {
  let value = 0;
  let items = 0;
  for (const [sku, qty] of Object.entries(cart)) {
    value += CATALOGUE[sku].price * qty;
    items += qty;
  }
  return { value: Math.round(value * 100) / 100, items };
};
const saveCart = (cart) => {
  write('localStorage', CART_KEY, cart);
  announce(cart);
};
/** Header badge and the widget's idea of the cart (what invitation rules read). */
const announce = (cart) => {
  const { value, items } = totals(cart);
  for (const badge of document.querySelectorAll('[data-cart-count]')) badge.textContent = String(items);
  Beckon('setCart', { value, currency: CURRENCY, items });
};

// -- small DOM helpers (text only: nothing here parses markup) ---------------------------
const el = (tag, props, kids) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const kid of kids || []) node.append(kid);
  return node;
};
const stepper = (value, onChange, label) =>
  el('div', { class: 'qty', role: 'group', 'aria-label': label }, [
    el('button', { type: 'button', 'aria-label': 'One less', text: '−', onclick: () => onChange(value - 1) }),
    el('span', { text: String(value), 'aria-live': 'polite' }),
    el('button', { type: 'button', 'aria-label': 'One more', text: '+', onclick: () => onChange(value + 1) }),
  ]);

// -- pages -------------------------------------------------------------------------------
const pages = {
  list(main) {
    for (const node of document.querySelectorAll('[data-price-of]')) {
      const item = CATALOGUE[node.dataset.priceOf];
      if (item) node.textContent = money.format(item.price);
    }
    const search = main && main.querySelector('form.search');
    if (!search) return;
    // A search that finds nothing is a struggle signal only the site can see: declare it.
    search.addEventListener('submit', (event) => {
      event.preventDefault();
      const words = String(new FormData(search).get('q') || '').trim().toLowerCase();
      let shown = 0;
      for (const card of main.querySelectorAll('.grid .card')) {
        card.hidden = !!words && !card.textContent.toLowerCase().includes(words);
        if (!card.hidden) shown += 1;
      }
      main.querySelector('[data-no-results]').hidden = shown > 0;
      if (!shown) Beckon('searchNoResults');
    });
  },

  // The 404 template tells the widget (which also reads the status itself; it counts once).
  notfound() {
    Beckon('errorPage', 404);
  },

  product(main) {
    pages.list(null);
    const sku = main.dataset.sku;
    const item = CATALOGUE[sku];
    const box = main.querySelector('[data-buy]');
    let qty = 1;
    const draw = () => box.replaceChildren(
      stepper(qty, (n) => { qty = Math.max(1, Math.min(n, 9)); draw(); }, 'Quantity'),
      el('button', { class: 'btn', type: 'button', 'data-add': sku, text: 'Add to cart', onclick: add }),
    );
    const add = () => {
      const cart = loadCart();
      cart[sku] = Math.min((cart[sku] || 0) + qty, 99);
      saveCart(cart);
      Beckon('track', 'add_to_cart', { sku, qty, price: item.price });
      toast(qty + ' × ' + item.name + ' added to your cart.');
    };
    draw();
  },

  cart(main) {
    const box = main.querySelector('[data-cart]');
    const draw = () => {
      const cart = loadCart();
      if (!totals(cart).items) return box.replaceChildren(emptyCart());
      const lines = Object.entries(cart).map(([sku, qty]) => {
        const item = CATALOGUE[sku];
        const set = (n) => {
          const next = loadCart();
          if (n > 0) next[sku] = Math.min(n, 99);
          else delete next[sku];
          saveCart(next);
          draw();
        };
        return el('div', { class: 'line', 'data-line': sku }, [
          el('img', { class: 'pic', src: item.pic, alt: '' }),
          el('div', null, [
            el('h3', null, [el('a', { href: '/demo/products/' + sku, text: item.name })]),
            el('div', { class: 'each', text: money.format(item.price) + ' each' }),
            el('button', { class: 'remove', type: 'button', text: 'Remove', onclick: () => set(0) }),
          ]),
          stepper(qty, set, 'Quantity of ' + item.name),
          el('div', { class: 'total', text: money.format(item.price * qty) }),
        ]);
      });
      box.replaceChildren(
        el('div', { class: 'cart' }, [
          el('div', { class: 'lines' }, lines),
          summary(cart, [el('a', { class: 'btn', href: '/demo/checkout', text: 'Go to checkout' })]),
        ]),
      );
    };
    draw();
  },

  checkout(main) {
    const cart = loadCart();
    const form = main.querySelector('form.checkout');
    const side = main.querySelector('[data-summary]');
    if (!totals(cart).items) {
      form.hidden = true;
      return side.replaceChildren(emptyCart());
    }
    side.replaceChildren(summary(cart, []));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = Object.fromEntries(new FormData(form));
      const { value, items } = totals(cart);
      const order = {
        id: 'JC-' + String(Math.floor(100000 + Math.random() * 900000)),
        value,
        items,
        currency: CURRENCY,
        lines: cart,
        name: String(data.name || '').trim().slice(0, 100),
        email: String(data.email || '').trim().slice(0, 254),
        reported: false,
      };
      // The confirmation page reports the conversion: a navigation right after a send
      // could cut it off, and a thank-you page is where shops put their conversion tags.
      write('sessionStorage', ORDER_KEY, order);
      write('localStorage', CART_KEY, null);
      location.assign('/demo/confirmed');
    });
  },

  confirmed(main) {
    const order = read('sessionStorage', ORDER_KEY, null);
    const box = main.querySelector('[data-order]');
    if (!order || !order.id) {
      main.querySelector('[data-thanks]').textContent = 'No recent order';
      main.querySelector('[data-order-line]').textContent = 'There is no order from this tab to confirm.';
      return;
    }
    main.querySelector('[data-thanks]').textContent = order.name ? 'Thank you, ' + order.name + '!' : 'Thank you!';
    main.querySelector('[data-order-id]').textContent = order.id;
    box.replaceChildren(summary(order.lines || {}, []));
    if (!order.reported) {
      Beckon('conversion', { value: order.value, currency: order.currency, order_id: order.id });
      const attrs = {};
      if (order.name) attrs.name = order.name;
      if (order.email) attrs.email = order.email;
      if (Object.keys(attrs).length) Beckon('setAttributes', attrs);
      write('sessionStorage', ORDER_KEY, Object.assign(order, { reported: true }));
    }
  },
};

const summary = (cart, actions) => {
  const { value } = totals(cart);
  const lines = Object.entries(cart)
    .filter(([sku]) => CATALOGUE[sku])
    .map(([sku, qty]) =>
      el('li', null, [
        el('span', { text: qty + ' × ' + CATALOGUE[sku].name }),
        el('span', { text: money.format(CATALOGUE[sku].price * qty) }),
      ]),
    );
  return el('aside', { class: 'summary' }, [
    el('h2', { text: 'Order summary' }),
    el('ul', null, lines),
    el('div', { class: 'row' }, [el('span', { text: 'Shipping' }), el('span', { text: 'Free' })]),
    el('div', { class: 'row sum' }, [el('span', { text: 'Total' }), el('span', { 'data-total': '', text: money.format(value) })]),
    ...actions,
  ]);
};

const emptyCart = () =>
  el('div', { class: 'empty' }, [
    el('p', { text: 'Your cart is empty.' }),
    el('a', { class: 'btn', href: '/demo/', text: 'Browse products' }),
  ]);

let toastTimer = 0;
const toast = (text) => {
  let box = document.querySelector('.toast');
  if (!box) {
    box = el('div', { class: 'toast', role: 'status' });
    document.body.append(box);
  }
  box.replaceChildren(el('span', { text }), el('a', { href: '/demo/cart', text: 'View cart' }));
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.remove(), 6000);
};

document.addEventListener('DOMContentLoaded', () => {
  const main = document.querySelector('main[data-page]');
  const page = main && pages[main.dataset.page];
  if (page) page(main);
  announce(loadCart());
});
