'use strict';
// The console's emoji picker: the same curated set as the widget's
// (widget/more/emoji.js; a unit test keeps the two equal), in categories, searched by name,
// used from the keyboard (arrows move in the grid, Enter picks, Esc closes), inserted at
// the caret of the composer.

import {h} from './dom.js';

// 'Category:😀name words,…|…' — an emoji is the non-ASCII run before its lowercase name.
export const EMOJI = 'Smileys:😀grinning face,😃smiling face,😄smile,😁beaming grin,😆laughing,😅sweat smile,😂joy tears,🤣rolling laughing,🙂slightly smiling,🙃upside down,😉wink,😊blush smiling,😇halo innocent,🥰hearts love,😍heart eyes,🤩star struck,😘kiss blowing,😋yum tasty,😛tongue,😜winking tongue,🤪zany crazy,🤗hug hugging,🤭hand over,🤫shush quiet,🤔thinking hmm,🤐zipper mouth,🤨raised eyebrow,😐neutral,😶no mouth,😏smirk,😒unamused,🙄eye roll,😬grimace,😌relieved,😔pensive,😴sleeping,😷mask sick,🤒thermometer ill,🤢nauseated,😵dizzy,🤯mind blown,🤠cowboy,🥳party celebrate,😎cool sunglasses,🤓nerd,🧐monocle,😕confused,😟worried,🙁slightly frowning,😮open mouth,😲astonished,😳flushed,🥺pleading,😦frowning,😨fearful,😰anxious sweat,😥sad relieved,😢cry tear,😭sob crying,😱scream fear,😞disappointed,😩weary,😫tired,🥱yawn,😤triumph huff,😡angry pout,😠angry,🤬cursing swearing,😈devil smiling,💀skull dead,💩poop,🤡clown,👻ghost,👽alien,🤖robot|People:👋wave hello,🤚raised back,✋raised hand,👌ok hand,✌️victory peace,🤞fingers crossed,🤙call me,👈point left,👉point right,👆point up,👇point down,👍thumbs up,👎thumbs down,✊raised fist,👊fist bump,👏clap applause,🙌raised hands,🤝handshake deal,🙏pray please,💪muscle strong,🧠brain,👀eyes look,👶baby,🧑person,👨man,👩woman,🙋raising hand,🙇bow,🤦facepalm,🤷shrug,💁tipping hand,🧑‍💻technologist computer,🏃running,🚶walking|Hearts:❤️red heart,🧡orange heart,💛yellow heart,💚green heart,💙blue heart,💜purple heart,🖤black heart,🤍white heart,💔broken heart,💕two hearts,💖sparkling heart,💯hundred points,💥collision boom,💬speech balloon,💭thought balloon,💤zzz sleep|Nature:🐶dog,🐱cat,🐰rabbit bunny,🦊fox,🐻bear,🐼panda,🦁lion,🐸frog,🐧penguin,🦄unicorn,🐝bee,🦋butterfly,🌵cactus,🌴palm tree,🍀four leaf,🌹rose,🌻sunflower,🌸cherry blossom,💐bouquet flowers,☀️sun sunny,☁️cloud,🌧️rain,❄️snowflake snow,🌈rainbow,⭐star,🌟glowing star,✨sparkles,⚡lightning zap,🔥fire hot,🌊wave ocean,🌍globe earth,🌙moon crescent|Food:🍎apple red,🍌banana,🍉watermelon,🍇grapes,🍓strawberry,🍒cherries,🥑avocado,🥐croissant,🍞bread,🧀cheese,🍔burger hamburger,🍟fries,🍕pizza,🌮taco,🍝spaghetti pasta,🍣sushi,🍦ice cream,🍩doughnut donut,🍪cookie,🎂birthday cake,🍰cake shortcake,🍫chocolate,☕coffee hot,🍵tea,🍺beer,🍻cheers beers,🥂clinking glasses,🍷wine|Activities:⚽soccer football,🏀basketball,🎾tennis,🏆trophy winner,🥇gold medal,🎯bullseye target,🎮video game,🎲dice game,🧩puzzle,🎨art palette,🎤microphone,🎧headphones,🎵music note,🎸guitar,🎉party popper,🎈balloon,🎁gift present,🎄christmas tree|Travel:🚗car,🚌bus,🚚delivery truck,🚲bicycle bike,✈️airplane plane,🚀rocket launch,🚢ship,🗺️map,🏠house home,🏢office building,🏥hospital,🏪store shop,🏖️beach,⏰alarm clock,⌛hourglass time|Objects:📱phone mobile,💻laptop computer,📷camera,📞telephone receiver,📺television tv,🔋battery,🔌plug,💡light bulb,📦package box,📧email,✉️envelope letter,📝memo note,📅calendar date,📈chart up,📊bar chart,📋clipboard,📌pushpin,📎paperclip attachment,✂️scissors,🔒lock locked,🔓unlocked,🔑key,🔧wrench tool,⚙️gear settings,🛒shopping cart,💳credit card,💰money bag,💎gem diamond,🔔bell notification,🔍magnifying glass|Symbols:✅check mark,✔️check,❌cross mark,➕plus,➖minus,❓question,❗exclamation,⚠️warning,🚫prohibited forbidden,⛔no entry,🆕new,🔄repeat arrows,➡️right arrow,⬅️left arrow,⬆️up arrow,⬇️down arrow,🔴red circle,🟢green circle,⏳hourglass waiting,♻️recycle,🚩red flag';
const COLUMNS = 8;

/** [{name, items: [[emoji, name], …]}, …] */
export const categories = EMOJI.split('|').map((part) => {
  const [name, list] = part.split(':');
  return {name, items: list.split(',').map((entry) => entry.match(/^([^a-z]+)(.+)$/).slice(1))};
});

/** Every emoji whose name contains `words` (lower-cased), in category order. */
export function searchEmoji(words) {
  const query = words.toLowerCase().trim();
  return categories.flatMap((c) => c.items.filter(([, name]) => name.includes(query)));
}

function ensureStyles() {
  // The composer's extra stylesheet (the console's CSP allows 'self' styles only, not inline ones).
  if (document.getElementById('composer-css')) return;
  document.head.appendChild(h('link', {id: 'composer-css', rel: 'stylesheet', href: new URL('../composer.css', import.meta.url).href}));
}

/**
 * A button that opens the picker in `host` (set with `.host(el)`, positioned relative) and
 * inserts the picked emoji into `input` at its caret, then fires `input` so drafts and
 * counters follow.
 */
export function emojiButton(input, host) {
  ensureStyles();
  const button = h('button', {type: 'button', class: 'btn btn-ghost emoji-btn', 'aria-label': 'Emoji', title: 'Emoji', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', text: '🙂'});
  let picker = null;

  const close = (focus = true) => {
    if (!picker) return;
    picker.remove();
    picker = null;
    button.setAttribute('aria-expanded', 'false');
    if (focus) input.focus();
  };

  const open = () => {
    const search = h('input', {type: 'search', class: 'emoji-search', 'aria-label': 'Search emoji', placeholder: 'Search emoji'});
    const grid = h('div', {class: 'emoji-grid', role: 'group', 'aria-label': 'Emoji'});
    const tabs = categories.map((c, i) => h('button', {type: 'button', class: 'emoji-tab', 'aria-label': c.name, title: c.name, text: c.items[0][0],
      onclick: () => { search.value = ''; show(c.items, i); }}));
    const pick = (char) => {
      input.focus();
      input.setRangeText(char, input.selectionStart, input.selectionEnd, 'end');
      input.dispatchEvent(new Event('input', {bubbles: true}));
      close();
    };
    const show = (items, tab) => {
      tabs.forEach((t, i) => t.setAttribute('aria-pressed', String(i === tab)));
      grid.replaceChildren(...items.map(([char, name], i) => h('button', {type: 'button', class: 'emoji-item', tabindex: i ? '-1' : '0', 'aria-label': name, title: name, text: char, onclick: () => pick(char)})));
      if (!items.length) grid.appendChild(h('p', {class: 'emoji-empty muted', role: 'status', text: 'No emoji matches.'}));
      grid.scrollTop = 0;
    };
    search.addEventListener('input', () => (search.value.trim() ? show(searchEmoji(search.value), -1) : show(categories[0].items, 0)));
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        const first = grid.querySelector('button');
        if (first) pick(first.textContent);
      } else if (e.key === 'ArrowDown') {
        e.preventDefault();
        const first = grid.querySelector('button');
        if (first) first.focus();
      }
    });
    // One tab stop in the grid; the arrows move within it (a row is COLUMNS wide).
    grid.addEventListener('keydown', (e) => {
      const keys = [...grid.querySelectorAll('button')];
      const at = keys.indexOf(document.activeElement);
      const step = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS, Home: -at, End: keys.length}[e.key];
      if (!step || at < 0) return;
      e.preventDefault();
      const next = keys[Math.max(0, Math.min(keys.length - 1, at + step))];
      keys[at].tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    });
    picker = h('div', {class: 'emoji-picker', role: 'dialog', 'aria-label': 'Emoji'}, search, h('div', {class: 'emoji-tabs'}, ...tabs), grid);
    picker.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      e.stopPropagation();
      close();
    });
    picker.addEventListener('focusout', (e) => {
      if (picker && !picker.contains(e.relatedTarget) && e.relatedTarget !== button && e.relatedTarget) close(false);
    });
    show(categories[0].items, 0);
    host.appendChild(picker);
    button.setAttribute('aria-expanded', 'true');
    search.focus();
  };

  button.addEventListener('click', () => (picker ? close() : open()));
  return {button, close: () => close(false), host: (el) => (host = el)};
}
