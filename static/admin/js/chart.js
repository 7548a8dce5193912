'use strict';
// Charts with the vendored uPlot (/vendor/uplot, MIT). uPlot styles its elements through
// the CSSOM, which the page's CSP allows; no HTML strings are involved.

import {h} from './ui.js';

/** Draw a chart into `box`: x values (unix seconds) and series [{label, values, color,
    bars?, dash?}]; `days`: one point a day, so the x axis ticks by whole days (never
    hours) and labels them as dates. Returns the element, or a note when uPlot did not load. */
export function chart(box, {x, series, height = 260, yLabel = '', pad = 0, days = false}) {
  const holder = h('div', {class: 'chart', role: 'img', 'aria-label': series.map((s) => s.label).join(' and ')});
  box.appendChild(holder);
  if (typeof window.uPlot !== 'function') {
    holder.appendChild(h('p', {class: 'empty', text: 'The chart library did not load.'}));
    return holder;
  }
  const uPlot = window.uPlot;
  const opts = {
    height,
    scales: {
      x: {time: true, range: pad && x.length ? () => [Math.min(...x) - pad, Math.max(...x) + pad] : undefined},
      // Counts: the axis starts at zero so heights compare honestly.
      y: {range: (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.1))]},
    },
    legend: {live: false},
    cursor: {drag: {x: false, y: false}},
    axes: [{stroke: '#6b7280', grid: {stroke: '#eef0f3'}, ...(days ? dayAxis(holder) : {})}, {stroke: '#6b7280', grid: {stroke: '#eef0f3'}, label: yLabel, size: 50}],
    series: [{}, ...series.map((s) => ({
      label: s.label,
      stroke: s.color,
      width: s.bars ? 1 : 2,
      fill: s.bars ? `${s.color}55` : undefined,
      dash: s.dash,
      points: {show: !s.bars && x.length < 40},
      paths: s.bars ? uPlot.paths.bars({size: [0.7, 40]}) : undefined,
    }))],
  };
  holder.dataset.points = String(x.length);
  // Measured once the box is in the page (callers often draw before attaching it).
  const build = () => new uPlot({...opts, width: Math.max(320, holder.clientWidth - 8)}, [x, ...series.map((s) => s.values)], holder);
  if (holder.isConnected && holder.clientWidth) build();
  else requestAnimationFrame(build);
  return holder;
}

const DAY_S = 86400;
/** Ticks at whole days only, labelled as dates; the labels drawn (on the canvas) are kept
    in `data-ticks` too, so they can be read. */
const dayAxis = (holder) => ({
  incrs: [1, 2, 7, 14, 28, 91, 182, 364].map((n) => n * DAY_S),
  values: (u, splits) => {
    const labels = splits.map((s) => new Date(s * 1000).toLocaleDateString('en', {month: 'short', day: 'numeric'}));
    holder.dataset.ticks = labels.join('|');
    return labels;
  },
});

/** "2026-11-23" → unix seconds at local midnight (uPlot's x for daily series). */
export function daySeconds(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d).getTime() / 1000;
}
