'use strict';
// What the window shows for the current state: the header (agent or site), the banner
// (reconnecting, queue position and wait) and the bottom panel — composer, pre-chat,
// offline form, survey or "chat ended".

B.panels = (chat) => {
  const { s, view } = chat;

  const minutes = (seconds) => Math.max(1, Math.round(seconds / 60));

  const header = () => {
    const agent = s.conv && s.conv.status === 'active' && s.conv.agent;
    let sub = B.t(s.online ? 'online' : 'offline');
    if (s.conv && s.conv.status === 'queued') sub = B.t('queued');
    if (agent) sub = agent.title || B.t('agentRole');
    view.header(agent ? (s.cfg.show_agent_name === false ? B.t('agentRole') : agent.name) : B.t('title'), sub, agent && s.cfg.show_agent_avatar !== false && agent.avatar_url, !!s.conv && s.conv.status !== 'closed', agent);
  };

  const banner = () => {
    if (!s.welcomed && s.stored.vid) return view.banner(B.t('reconnecting'));
    const c = s.conv;
    if (!c || c.status !== 'queued') return view.banner('');
    const parts = [];
    if (c.queue_position) parts.push(B.t('position', { n: c.queue_position }));
    if (c.estimated_wait_s) parts.push(B.t('wait', { n: minutes(c.estimated_wait_s) }));
    view.banner(parts.join(' · ') || B.t('queued'));
  };

  const survey = () =>
    B.surveyForm(
      s.survey.kinds,
      (scores, comment) => {
        let first = true;
        for (const [kind, score] of Object.entries(scores)) {
          chat.send({ type: 'survey', conversation_id: s.survey.conv, kind, score, comment: first ? comment : undefined });
          first = false;
        }
        s.survey = null;
        chat.list.note(B.t('thanks'));
        refresh();
      },
      () => {
        s.survey = null;
        refresh();
      },
      s.cfg.survey_comment === false,
    );

  const ending = () =>
    B.el('div', { class: 'f', role: 'alertdialog', 'aria-label': B.t('end') }, [
      B.el('p', { class: 'q', text: B.t('endAsk') }),
      B.el('button', { class: 'btn', type: 'button', text: B.t('end'), onclick: () => chat.end(true) }),
      B.el('button', { class: 'btn btn2', type: 'button', text: B.t('keepChatting'), onclick: () => chat.end(false) }),
    ]);

  const ended = () =>
    B.el('div', { class: 'f' }, [
      B.el('button', { class: 'btn', type: 'button', text: B.t('newChat'), onclick: () => { chat.newChat(); view.focusPanel(); } }),
    ]);

  const offline = () =>
    s.offlineSent
      ? B.el('div', { class: 'f' }, [B.el('p', { class: 'q', role: 'status', text: B.t('offlineThanks') })])
      : B.offlineForm((data, fail) => {
          s.offlineFail = fail;
          // Thanks only once stored (`offline_message_saved`); an error shows on the form.
          if (!chat.send({ type: 'offline_message', ref: 'offline', name: data.name, email: data.email, text: data.text })) {
            fail(B.t('error'));
          }
        });

  const prechat = () =>
    B.prechatForm(s.cfg.prechat_fields || [], s.cfg.departments, (data, text) => {
      s.prechat = data;
      refresh();
      chat.say(text);
      view.focusPanel();
    }, s.cfg.prechat_custom);

  let shown = null;
  const refresh = () => {
    view.greeting(s.cfg.greeting);
    header();
    banner();
    let name = 'composer';
    let build = null;
    if (s.ending && s.conv && s.conv.status !== 'closed') [name, build] = ['ending', ending];
    else if (s.survey) [name, build] = ['survey', survey];
    else if (s.conv && s.conv.status === 'closed') [name, build] = ['ended', ended];
    else if (!s.conv && !s.online && s.welcomed && !s.outbox.items().length) [name, build] = ['offline' + s.offlineSent, offline];
    else if (!s.conv && s.cfg.prechat && !s.prechat && !s.outbox.items().length) [name, build] = ['prechat', prechat];
    if (name + B.lang === shown) return; // (a language arriving late redraws the form)
    shown = name + B.lang;
    view.panel(name, build);
  };
  return { refresh };
};
