// The agent's avatar beside their name on their messages. The core passes the
// avatar of the agent in the header (window.js, `B.face`) for messages by that agent; this
// module, loaded at idle, draws it and brings its own style into the widget's shadow root.

B.fa = (src) => B.el('img', { src, alt: '', class: 'fa' });

// Rows drawn before the face was known get it now: the invitation's first line is said
// before the chat is assigned, and a message may arrive before this script.
B.faceRows = (root) => {
  const [id, src] = B.face || [];
  if (id) for (const n of root.querySelectorAll(`.ra[data-a="${CSS.escape(id)}"] .n`)) n.querySelector('.fa') || n.prepend(B.fa(src));
};

{
  const css = '.fa{width:18px;height:18px;border-radius:50%;object-fit:cover;vertical-align:middle;margin-right:6px}';
  const root = document.querySelector('beckon-chat');
  const shadow = root && root.shadowRoot;
  if (shadow && shadow.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [...shadow.adoptedStyleSheets, sheet];
  } else if (shadow) shadow.append(B.el('style', { text: css }));
  if (shadow) B.faceRows(shadow);
}
