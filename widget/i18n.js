'use strict';
// UI strings. English is built in; other languages are fetched from /widget/i18n/<code>.json
// only when needed, so a visitor downloads one language. Sites override single keys per
// language with `welcome.widget.strings` ({de: {title: '…'}}).

B.EN = /*EN*/ {};
B.LANGS = /*LANGS*/ [];
B.strings = B.EN;
const labelled = [];

/** The string for `key`, with `{name}` placeholders filled from `vars`. */
B.t = (key, vars) =>
  String(B.strings[key] || B.EN[key] || key).replace(/\{(\w+)\}/g, (m, name) =>
    vars && vars[name] != null ? vars[name] : m,
  );

/** Label a long-lived element now and again whenever the language changes. */
B.label = (node, key, attr) => {
  labelled.push([node, key, attr]);
  if (attr) node.setAttribute(attr, B.t(key));
  else node.textContent = B.t(key);
  return node;
};

/** The first supported language among the wanted tags ('sr-Latn-RS' → 'sr'). */
B.pickLang = (wanted) => {
  for (const tag of wanted) {
    const code = String(tag || '').toLowerCase().split('-')[0];
    if (code === 'en' || B.LANGS.includes(code)) return code;
  }
  return 'en';
};

/** Switch to `code` (fetching it once) with the site's texts for it on top
 * (`overrides` is per language tag: {de: {title: '…'}}). */
B.setLang = (code, base, overrides) => {
  const load = code === 'en' ? Promise.resolve({}) : B.fetchLang(code, base);
  return load.then((strings) => {
    const merged = Object.assign({}, B.EN, strings);
    for (const [key, value] of Object.entries((overrides || {})[code] || {})) {
      if (typeof value === 'string') merged[key] = value;
    }
    B.strings = merged;
    B.lang = code;
    for (const [node, key, attr] of labelled) {
      if (attr) node.setAttribute(attr, B.t(key));
      else node.textContent = B.t(key);
    }
  });
};

const fetched = {};
B.fetchLang = (code, base) =>
  (fetched[code] =
    fetched[code] ||
    fetch(base + '/widget/i18n/' + code + '.json')
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({})));
