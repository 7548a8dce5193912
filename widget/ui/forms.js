'use strict';
// The forms that replace the composer: pre-chat, offline message and post-chat survey.
// Each returns a <form>; the chat controller decides which one is shown and sends frames.

const SCALES = { csat: [1, 5], nps: [0, 10], ces: [1, 7], thumbs: [0, 1] };

const field = (key, input) =>
  B.el('label', null, [B.el('span', { text: B.t(key) }), input]);

const values = (form) => {
  const out = {};
  for (const node of form.querySelectorAll('[name]:enabled')) {
    const value = node.type === 'checkbox' ? (node.checked ? 'true' : '') : node.value.trim();
    if (value) out[node.name] = value;
  }
  return out;
};

const errorLine = () => B.el('p', { class: 'err', role: 'alert', hidden: true });

/** Pre-chat: the site's fields (name, email, department, then its own `custom` ones,
 * each shown only for its departments) and the first message. */
B.prechatForm = (fields, departments, onSubmit, custom) => {
  const kids = [B.el('h3', { text: B.t('prechatTitle') })];
  if (fields.includes('name')) kids.push(field('name', B.el('input', { name: 'name', autocomplete: 'name', maxlength: 200 })));
  if (fields.includes('email')) {
    kids.push(field('email', B.el('input', { name: 'email', type: 'email', required: true, autocomplete: 'email', maxlength: 254 })));
  }
  if (fields.includes('department')) {
    const select = B.el('select', { name: 'department' }, [B.el('option', { value: '', text: '—' })]);
    for (const dep of departments || []) select.append(B.el('option', { value: dep, text: dep }));
    kids.push(field('department', departments && departments.length ? select : B.el('input', { name: 'department', maxlength: 64 })));
  }
  const own = (custom || []).map((c) => {
    const props = { name: 'f.' + c.id, required: c.required, type: c.type === 'phone' ? 'tel' : c.type };
    const input = c.options[0] ? B.el('select', props, [''].concat(c.options).map((o) => B.el('option', { value: o, text: o || '—' }))) : B.el('input', props);
    const row = B.el('label', { class: c.type }, [B.el('span', { text: c.label }), input, c.link ? B.el('a', { href: c.link.url, target: '_blank', text: c.link.text }) : null]);
    kids.push(row);
    return () => (row.hidden = input.disabled = c.departments[0] && !c.departments.includes(form.department && form.department.value));
  });
  const only = () => own.forEach((f) => f());
  kids.push(field('message', B.el('textarea', { name: 'text', required: true, maxlength: 4000 })));
  kids.push(B.el('button', { class: 'btn', type: 'submit', text: B.t('startChat') }));
  const form = B.el('form', {
    class: 'f',
    onchange: only,
    onsubmit(event) {
      event.preventDefault();
      const data = values(event.target);
      const text = data.text;
      delete data.text;
      for (const key in data) if (key[1] === '.') (data.fields = data.fields || {})[key.slice(2)] = data[key], delete data[key];
      onSubmit(data, text);
    },
  }, kids);
  only();
  return form;
};

/** Offline: no agent can take a chat now — leave a message for email follow-up. */
B.offlineForm = (onSubmit) => {
  const error = errorLine();
  const form = B.el('form', {
    class: 'f',
    onsubmit(event) {
      event.preventDefault();
      onSubmit(values(form), (message) => {
        error.textContent = message;
        error.hidden = false;
      });
    },
  }, [
    B.el('h3', { text: B.t('offlineTitle') }),
    B.el('p', { class: 'q', text: B.t('offlineText') }),
    field('name', B.el('input', { name: 'name', autocomplete: 'name', maxlength: 200 })),
    field('email', B.el('input', { name: 'email', type: 'email', required: true, autocomplete: 'email', maxlength: 254 })),
    field('message', B.el('textarea', { name: 'text', required: true, maxlength: 4000 })),
    error,
    B.el('button', { class: 'btn', type: 'submit', text: B.t('send') }),
  ]);
  return form;
};

/** Survey after close: one scale per kind the site asks (csat 1–5, nps 0–10, ces 1–7,
 * thumbs down/up = 0/1), worded by the site's strings; a comment box unless `noComment`. */
B.surveyForm = (kinds, onSubmit, onSkip, noComment) => {
  const scores = {};
  const kids = [B.el('h3', { text: B.t('surveyTitle') })];
  for (const kind of kinds) {
    const range = SCALES[kind];
    if (!range) continue;
    const buttons = [];
    for (let score = range[0]; score <= range[1]; score++) {
      const button = B.el('button', {
        type: 'button',
        'aria-pressed': 'false',
        'aria-label': B.t(kind) + ' ' + score,
        text: kind === 'thumbs' ? ['👎', '👍'][score] : String(score),
        onclick() {
          scores[kind] = score;
          for (const other of buttons) other.setAttribute('aria-pressed', String(other === button));
        },
      });
      buttons.push(button);
    }
    const id = 'q-' + kind;
    kids.push(B.el('p', { class: 'q', id, text: B.t(kind) }));
    kids.push(B.el('div', { class: 'sc', role: 'group', 'aria-labelledby': id, 'data-kind': kind }, buttons));
  }
  if (!noComment) kids.push(field('comment', B.el('textarea', { name: 'comment', maxlength: 2000 })));
  kids.push(B.el('button', { class: 'btn', type: 'submit', text: B.t('submit') }));
  kids.push(B.el('button', { class: 'btn btn2', type: 'button', text: B.t('skip'), onclick: onSkip }));
  return B.el('form', {
    class: 'f',
    onsubmit(event) {
      event.preventDefault();
      onSubmit(scores, values(event.target).comment);
    },
  }, kids);
};
