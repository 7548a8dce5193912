'use strict';
// The widget's CSS, scoped by its shadow root: host page rules cannot reach in, ours cannot
// leak out. `--c` is the site colour and `--f` the text colour picked for contrast on it.
// Motion only when the visitor has not asked for less (prefers-reduced-motion).

B.CSS = `
:host{all:initial}
*{box-sizing:border-box;margin:0;font:inherit;color:inherit}
.r{--c:#2563eb;--f:#fff;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827;-webkit-font-smoothing:antialiased}
button,textarea,input,select{font:inherit}
button{cursor:pointer}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
.l{position:fixed;right:var(--x,20px);bottom:var(--y,20px);min-width:58px;height:58px;border-radius:29px;font-weight:600;border:0;padding:0;background:var(--c);color:var(--f);box-shadow:0 4px 16px rgba(0,0,0,.28);display:flex;align-items:center;justify-content:center}
.left .l{right:auto;left:var(--x,20px)}
.l:has(b:not(:empty)){padding:0 18px;gap:8px}
.l svg{width:28px;height:28px;fill:currentColor}
.badge{position:absolute;top:-3px;right:-3px;min-width:21px;height:21px;padding:0 6px;border-radius:11px;background:#b91c1c;color:#fff;font-size:12px;font-weight:700;line-height:21px;text-align:center;border:2px solid #fff}
.badge:empty{display:none}
.w{position:fixed;right:var(--x,20px);bottom:calc(var(--y,20px) + 72px);width:372px;height:min(620px,calc(100vh - 112px));display:flex;flex-direction:column;background:#fff;border-radius:16px;box-shadow:0 12px 48px rgba(0,0,0,.28);overflow:hidden}
.left .w,.left .inv{right:auto;left:var(--x,20px)}
[hidden]{display:none!important}
.hd{display:flex;align-items:center;gap:10px;padding:14px 12px 14px 16px;background:var(--c);color:var(--f)}
.hd .who{flex:1;min-width:0}
.hd h2{font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.av svg{width:20px;height:20px;fill:currentColor}
.hd p{font-size:12.5px;opacity:.92}
.ib{background:none;border:0;color:inherit;width:34px;height:34px;border-radius:8px;display:flex;align-items:center;justify-content:center;padding:0;flex:none}
.ib:hover{background:rgba(127,127,127,.22)}
.ib svg{width:20px;height:20px;fill:currentColor}
.av{width:36px;height:36px;border-radius:50%;flex:none;object-fit:cover;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:700}
.bn{padding:8px 14px;background:#fef3c7;color:#78350f;font-size:13px;border-bottom:1px solid #fde68a}
.bn:empty{display:none}
.ms{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:8px;overscroll-behavior:contain;background:#f9fafb}
.list,.pend{display:flex;flex-direction:column;gap:8px}
.row{display:flex;flex-direction:column;align-items:flex-end;gap:2px}
.ra{align-items:flex-start}
.m{max-width:82%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}
.m a{color:inherit;text-decoration:underline}
.a{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}
.v{align-self:flex-end;background:var(--c);color:var(--f);border-bottom-right-radius:4px}
.n{font-size:11.5px;font-weight:600;color:#4b5563;margin-bottom:2px}
.meta{font-size:11px;color:#4b5563}
.pending .m{opacity:.7}
.failed .meta{color:#b91c1c}
.sys{align-self:center;text-align:center;font-size:12.5px;color:#4b5563;max-width:90%}
.ty{padding:0 16px 6px;font-size:12.5px;color:#4b5563;background:#f9fafb;font-style:italic}
.p{border-top:1px solid #e5e7eb;background:#fff}
.cp{display:flex;align-items:flex-end;gap:8px;padding:10px 10px 8px 14px}
.cp textarea{flex:1;resize:none;border:0;outline:0;max-height:120px;min-height:24px;padding:4px 0;background:none}
.cp .ib{background:var(--c);color:var(--f)}
.cp .eb{background:none;color:#4b5563}
.cnt{font-size:11px;color:#4b5563;text-align:right;padding:0 12px 6px}
.f{display:flex;flex-direction:column;gap:10px;padding:14px 16px;max-height:60vh;overflow-y:auto}
.f h3{font-size:15px;font-weight:600}
.f label{display:flex;flex-direction:column;gap:4px;font-size:13px;color:#374151}
.f input,.f textarea,.f select{border:1px solid #9ca3af;border-radius:8px;padding:8px 10px;background:#fff;color:#111827}
.f textarea{resize:vertical;min-height:64px}
.f .checkbox{flex-flow:row wrap;align-items:center}.checkbox input{order:-1}
.btn{border:0;border-radius:8px;padding:10px 14px;background:var(--c);color:var(--f);font-weight:600}
.btn2{background:#fff;color:#1f2937;border:1px solid #9ca3af}
.sc{display:flex;gap:4px}
.sc button{flex:1;min-width:0;padding:0;height:34px;border-radius:8px;border:1px solid #9ca3af;background:#fff;color:#111827}
.sc button[aria-pressed=true]{background:var(--c);color:var(--f);border-color:var(--c)}
.q{font-size:13px;color:#374151}
.err{color:#b91c1c;font-size:13px}
.inv{position:fixed;right:var(--x,20px);bottom:calc(var(--y,20px) + 72px);width:290px;background:#fff;border-radius:14px;box-shadow:0 10px 36px rgba(0,0,0,.25);padding:14px 14px 12px;display:flex;flex-direction:column;gap:8px}
.inv .top{display:flex;align-items:center;gap:8px;font-weight:600}
.inv .top span{flex:1}
.inv .av{background:var(--c);color:var(--f);width:32px;height:32px}
.inv .ib{color:#374151;width:28px;height:28px}
.inv p{white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}
.dk .w,.dk .p,.dk .inv{background:#111827;color:#f3f4f6}
.dk .ms,.dk .ty{background:#1f2937}
.dk .a{background:#374151;border-color:#4b5563}
.dk :is(.n,.meta,.sys,.ty,.cnt,.q,.f label,.inv .ib,.eb){color:#d1d5db}
@media (max-width:480px){
.w{inset:0;width:100%;height:100%;border-radius:0}
.open .l{display:none}
.inv{left:12px;right:12px;width:auto}
}
@media (prefers-reduced-motion:no-preference){
.w,.inv{animation:up .18s ease-out}
.l{transition:transform .15s}.l:hover{transform:scale(1.06)}
@keyframes up{from{opacity:0;transform:translateY(10px)}}
}
`;
