'use strict';
// The emoji picker: a curated set of common emoji in categories, searched
// by name, used from the keyboard (arrows move, Enter picks, Esc closes) and inserted at the
// caret. In the second script: the core has only the composer's button. The same set is in
// static/agent/js/emoji.js for the console (a unit test keeps the two equal).

// 'Category:😀name words,…|…' — an emoji is the non-ASCII run before its lowercase name.
const EMOJI = 'Smileys:😀grinning face,😃smiling face,😄smile,😁beaming grin,😆laughing,😅sweat smile,😂joy tears,🤣rolling laughing,🙂slightly smiling,🙃upside down,😉wink,😊blush smiling,😇halo innocent,🥰hearts love,😍heart eyes,🤩star struck,😘kiss blowing,😋yum tasty,😛tongue,😜winking tongue,🤪zany crazy,🤗hug hugging,🤭hand over,🤫shush quiet,🤔thinking hmm,🤐zipper mouth,🤨raised eyebrow,😐neutral,😶no mouth,😏smirk,😒unamused,🙄eye roll,😬grimace,😌relieved,😔pensive,😴sleeping,😷mask sick,🤒thermometer ill,🤢nauseated,😵dizzy,🤯mind blown,🤠cowboy,🥳party celebrate,😎cool sunglasses,🤓nerd,🧐monocle,😕confused,😟worried,🙁slightly frowning,😮open mouth,😲astonished,😳flushed,🥺pleading,😦frowning,😨fearful,😰anxious sweat,😥sad relieved,😢cry tear,😭sob crying,😱scream fear,😞disappointed,😩weary,😫tired,🥱yawn,😤triumph huff,😡angry pout,😠angry,🤬cursing swearing,😈devil smiling,💀skull dead,💩poop,🤡clown,👻ghost,👽alien,🤖robot|People:👋wave hello,🤚raised back,✋raised hand,👌ok hand,✌️victory peace,🤞fingers crossed,🤙call me,👈point left,👉point right,👆point up,👇point down,👍thumbs up,👎thumbs down,✊raised fist,👊fist bump,👏clap applause,🙌raised hands,🤝handshake deal,🙏pray please,💪muscle strong,🧠brain,👀eyes look,👶baby,🧑person,👨man,👩woman,🙋raising hand,🙇bow,🤦facepalm,🤷shrug,💁tipping hand,🧑‍💻technologist computer,🏃running,🚶walking|Hearts:❤️red heart,🧡orange heart,💛yellow heart,💚green heart,💙blue heart,💜purple heart,🖤black heart,🤍white heart,💔broken heart,💕two hearts,💖sparkling heart,💯hundred points,💥collision boom,💬speech balloon,💭thought balloon,💤zzz sleep|Nature:🐶dog,🐱cat,🐰rabbit bunny,🦊fox,🐻bear,🐼panda,🦁lion,🐸frog,🐧penguin,🦄unicorn,🐝bee,🦋butterfly,🌵cactus,🌴palm tree,🍀four leaf,🌹rose,🌻sunflower,🌸cherry blossom,💐bouquet flowers,☀️sun sunny,☁️cloud,🌧️rain,❄️snowflake snow,🌈rainbow,⭐star,🌟glowing star,✨sparkles,⚡lightning zap,🔥fire hot,🌊wave ocean,🌍globe earth,🌙moon crescent|Food:🍎apple red,🍌banana,🍉watermelon,🍇grapes,🍓strawberry,🍒cherries,🥑avocado,🥐croissant,🍞bread,🧀cheese,🍔burger hamburger,🍟fries,🍕pizza,🌮taco,🍝spaghetti pasta,🍣sushi,🍦ice cream,🍩doughnut donut,🍪cookie,🎂birthday cake,🍰cake shortcake,🍫chocolate,☕coffee hot,🍵tea,🍺beer,🍻cheers beers,🥂clinking glasses,🍷wine|Activities:⚽soccer football,🏀basketball,🎾tennis,🏆trophy winner,🥇gold medal,🎯bullseye target,🎮video game,🎲dice game,🧩puzzle,🎨art palette,🎤microphone,🎧headphones,🎵music note,🎸guitar,🎉party popper,🎈balloon,🎁gift present,🎄christmas tree|Travel:🚗car,🚌bus,🚚delivery truck,🚲bicycle bike,✈️airplane plane,🚀rocket launch,🚢ship,🗺️map,🏠house home,🏢office building,🏥hospital,🏪store shop,🏖️beach,⏰alarm clock,⌛hourglass time|Objects:📱phone mobile,💻laptop computer,📷camera,📞telephone receiver,📺television tv,🔋battery,🔌plug,💡light bulb,📦package box,📧email,✉️envelope letter,📝memo note,📅calendar date,📈chart up,📊bar chart,📋clipboard,📌pushpin,📎paperclip attachment,✂️scissors,🔒lock locked,🔓unlocked,🔑key,🔧wrench tool,⚙️gear settings,🛒shopping cart,💳credit card,💰money bag,💎gem diamond,🔔bell notification,🔍magnifying glass|Symbols:✅check mark,✔️check,❌cross mark,➕plus,➖minus,❓question,❗exclamation,⚠️warning,🚫prohibited forbidden,⛔no entry,🆕new,🔄repeat arrows,➡️right arrow,⬅️left arrow,⬆️up arrow,⬇️down arrow,🔴red circle,🟢green circle,⏳hourglass waiting,♻️recycle,🚩red flag';
const COLUMNS = 8;
const CSS = `.ep{padding:8px 10px 4px;display:flex;flex-direction:column;gap:6px}
.ep input{border:1px solid #9ca3af;border-radius:8px;padding:6px 10px;background:#fff;color:#111827}
.ep .tb{display:flex;gap:2px}
.ep .tb button{flex:1;border:0;border-radius:6px;background:none;padding:3px 0;font-size:16px}
.ep .tb [aria-pressed=true]{background:rgba(127,127,127,.22)}
.ep .g{display:grid;grid-template-columns:repeat(${COLUMNS},1fr);height:150px;overflow-y:auto;align-content:start}
.ep .g button{border:0;background:none;font-size:21px;height:36px;border-radius:6px;padding:0}
.ep .g button:hover,.ep .g button:focus{background:rgba(127,127,127,.22)}`;

const categories = EMOJI.split('|').map((part) => {
  const [name, list] = part.split(':');
  return { name, items: list.split(',').map((entry) => entry.match(/^([^a-z]+)(.+)$/).slice(1)) };
});

/** Toggle the picker above the composer that holds `input`; `button` opened it. */
B.emoji = (button, input) => {
  const row = button.parentNode;
  const open = row.previousSibling;
  if (open && open.className === 'ep') return close(open, button);
  const root = button.getRootNode();
  if (!root.ep) {
    // A constructed sheet, as the core's: a host page's CSP style-src does not block it.
    root.ep = 1;
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    } catch (err) {
      root.append(B.el('style', { text: CSS }));
    }
  }
  const search = B.el('input', { type: 'search', 'aria-label': B.t('emojiSearch'), placeholder: B.t('emojiSearch') });
  const grid = B.el('div', { class: 'g', role: 'group', 'aria-label': B.t('emoji') });
  const tabs = categories.map((c) =>
    B.el('button', { type: 'button', 'aria-label': c.name, title: c.name, text: c.items[0][0], onclick: () => { search.value = ''; show(c.items, tabs[categories.indexOf(c)]); } }),
  );
  const pick = (char) => {
    input.setRangeText(char, input.selectionStart, input.selectionEnd, 'end');
    input.dispatchEvent(new Event('input'));
    close(picker, input);
  };
  const show = (items, tab) => {
    for (const t of tabs) t.setAttribute('aria-pressed', String(t === tab));
    grid.textContent = '';
    grid.scrollTop = 0;
    for (const [char, name] of items) grid.append(B.el('button', { type: 'button', tabindex: '-1', 'aria-label': name, title: name, text: char, onclick: () => pick(char) }));
    if (!items.length) grid.append(B.el('p', { class: 'q', role: 'status', text: B.t('noEmoji') }));
    else grid.firstChild.tabIndex = 0;
  };
  search.addEventListener('input', () => {
    const words = search.value.toLowerCase().trim();
    if (!words) return show(categories[0].items, tabs[0]);
    const found = [];
    for (const c of categories) for (const item of c.items) if (item[1].includes(words)) found.push(item);
    show(found, null);
  });
  // One tab stop in the grid; the arrows move within it (a row is COLUMNS wide).
  grid.addEventListener('keydown', (event) => {
    const keys = grid.querySelectorAll('button');
    const at = [...keys].indexOf(root.activeElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS, Home: -at, End: keys.length }[event.key];
    if (!step || at < 0) return;
    event.preventDefault();
    const next = keys[Math.max(0, Math.min(keys.length - 1, at + step))];
    keys[at].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  });
  const picker = B.el('div', { class: 'ep', role: 'dialog', 'aria-label': B.t('emoji') }, [search, B.el('div', { class: 'tb' }, tabs), grid]);
  picker.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.stopPropagation(); // Esc closes the picker, not the whole window
    close(picker, input);
  });
  show(categories[0].items, tabs[0]);
  button.setAttribute('aria-expanded', 'true');
  row.before(picker);
  search.focus();
};

const close = (picker, focus) => {
  picker.nextSibling.querySelector('[aria-expanded]').setAttribute('aria-expanded', 'false');
  picker.remove();
  focus.focus();
};

B.EN.emojiSearch = B.EN.emojiSearch || 'Search emoji';
B.EN.noEmoji = B.EN.noEmoji || 'No emoji found';
