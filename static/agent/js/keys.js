'use strict';
// Keyboard shortcuts. Alt+letter by physical key (e.code), so they work
// on any layout and do not clash with typing in the composer.

export function mountKeys(ctl) {
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') ctl.closeMenus();
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    const action = {
      KeyN: () => ctl.cycleChat(1),
      ArrowDown: () => ctl.cycleChat(1),
      KeyP: () => ctl.cycleChat(-1),
      ArrowUp: () => ctl.cycleChat(-1),
      KeyA: () => ctl.acceptNext(),
      KeyC: () => ctl.focusComposer(),
      KeyI: () => ctl.toggleNote(),
    }[e.code];
    if (action) {
      e.preventDefault();
      action();
    }
  });
}
