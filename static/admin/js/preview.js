'use strict';
// The admin's live preview: the real widget (/widget.js), with the socket replaced by a
// script that welcomes it with the look in this page's fragment (JSON, set by
// views/widget_look.js) and shows a short sample chat. Nothing reaches the server.

(() => {
  let look = {};
  try {
    look = JSON.parse(decodeURIComponent(location.hash.slice(1))) || {};
  } catch {
    look = {};
  }
  // A fresh visitor every time: nothing of an earlier preview is resumed.
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage blocked: the widget copes
  }
  const agent = {id: 'us_preview', name: 'Ana', avatar_url: null};
  const frames = (ref) => [
    {type: 'welcome', ref, visitor_id: 'vi_preview', visitor_token: 'preview', online: true, widget: look},
    {type: 'conversation', id: 'cv_preview', status: 'active', version: 1, agent},
    {type: 'message', conversation_id: 'cv_preview', seq: 1, text: 'Hello! How can I help?',
      author: {kind: 'agent', ...agent}, ts: Date.now()},
  ];

  class PreviewSocket {
    constructor() {
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 1;
        if (this.onopen) this.onopen();
      });
    }

    send(data) {
      let frame = {};
      try {
        frame = JSON.parse(data);
      } catch {
        return;
      }
      if (frame.type !== 'hello') return;
      for (const out of frames(frame.ref)) {
        setTimeout(() => this.onmessage && this.onmessage({data: JSON.stringify(out)}));
      }
      setTimeout(() => window.Beckon && window.Beckon('open'), 50);
    }

    close() {
      this.readyState = 3;
    }
  }
  window.WebSocket = PreviewSocket;

  const script = document.createElement('script');
  script.src = '/widget.js';
  script.dataset.site = 'preview';
  document.head.appendChild(script);
})();
