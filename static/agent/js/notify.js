'use strict';
// Desktop notifications (only after the agent turns them on and the browser grants
// permission) and a short sound, both switchable and remembered per agent.

import {Stored} from './storage.js';

export class Notifier {
  constructor(agentId) {
    this.settings = new Stored(`beckon.agent.${agentId}.notify`, {desktop: false, sound: true});
    this.audio = null;
  }

  get desktop() {
    return Boolean(this.settings.value.desktop) && this.permission() === 'granted';
  }

  get sound() {
    return Boolean(this.settings.value.sound);
  }

  permission() {
    return 'Notification' in window ? Notification.permission : 'unsupported';
  }

  /** Turn desktop notifications on or off; asks the browser the first time. */
  async setDesktop(on) {
    if (on && this.permission() === 'default') {
      try {
        await Notification.requestPermission();
      } catch {
        /* old browsers: callback form only, treat as denied */
      }
    }
    this.settings.value.desktop = on && this.permission() === 'granted';
    this.settings.save();
    return this.settings.value.desktop;
  }

  setSound(on) {
    this.settings.value.sound = Boolean(on);
    this.settings.save();
    if (on) this._unlockAudio();
  }

  /** Called from a user gesture so later sounds may play (autoplay policy). */
  _unlockAudio() {
    if (this.audio || !window.AudioContext) return;
    try {
      this.audio = new AudioContext();
    } catch {
      this.audio = null;
    }
  }

  unlockOnGesture() {
    const once = () => {
      if (this.sound) this._unlockAudio();
      window.removeEventListener('pointerdown', once);
      window.removeEventListener('keydown', once);
    };
    window.addEventListener('pointerdown', once);
    window.addEventListener('keydown', once);
  }

  /** title/body are plain text (the Notification API does not render HTML). */
  notify(title, body, {tag, onClick, chime = 'message'} = {}) {
    if (this.sound) this._beep(chime);
    const away = document.hidden || !document.hasFocus();
    if (!this.desktop || !away) return;
    try {
      const n = new Notification(title, {body, tag, silent: true});
      n.onclick = () => {
        window.focus();
        if (onClick) onClick();
        n.close();
      };
    } catch {
      /* some platforms only allow notifications from a service worker */
    }
  }

  _beep(kind) {
    const ctx = this.audio;
    if (!ctx || ctx.state === 'closed') return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const notes = kind === 'chat' ? [660, 880] : [740];
    notes.forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const start = ctx.currentTime + i * 0.14;
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.15, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.12);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.13);
    });
  }
}
