// Two small SVG charts: lines over time (traffic) and bars per bucket (usage). Colours come from console.css
// (series-0 … series-5), so the markup carries no style.
import { h, s } from './dom.js';

const W = 560;
const H = 160;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

function niceMax(value) {
  if (value <= 0) {
    return 1;
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * magnitude) {
      return step * magnitude;
    }
  }
  return 10 * magnitude;
}

function frame(max, labels) {
  const g = s('g', { class: 'axis' });
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - fraction);
    g.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: 'grid' }));
    g.append(s('text', { x: PAD.left - 4, y: y + 4, 'text-anchor': 'end', text: formatTick(max * fraction) }));
  }
  for (const [x, text] of labels) {
    g.append(s('text', { x, y: H - 4, 'text-anchor': 'middle', text }));
  }
  return g;
}

function formatTick(v) {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** series: [{name, points: [[timeMs, value], …]}]; the x axis spans `windowMs` up to `now` (the server's clock). */
export function lineChart(series, windowMs, title, now) {
  const from = now - windowMs;
  const max = niceMax(Math.max(0, ...series.flatMap(x => x.points.map(p => p[1]))));
  const x = t => PAD.left + (W - PAD.left - PAD.right) * ((t - from) / windowMs);
  const y = v => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  const span = windowMs >= 120000 ? `-${Math.round(windowMs / 60000)} min` : `-${Math.round(windowMs / 1000)} s`;
  svg.append(frame(max, [[x(from), span], [x(now), 'now']]));
  series.forEach((serie, i) => {
    const points = serie.points.filter(p => p[0] >= from);
    if (points.length > 1) {
      svg.append(s('polyline', { class: `line series-${i % 6}`, points: points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ') }));
    }
  });
  const legend = h('div', { class: 'legend' }, series.map((serie, i) => h('span', { class: `key series-${i % 6}` }, serie.name)));
  return h('figure', { class: 'chart-box' }, h('figcaption', { text: title }), svg, legend);
}

/** bars: [{label, value, errors}] in order; errors are drawn over the value. */
export function barChart(bars, title) {
  const max = niceMax(Math.max(0, ...bars.map(b => b.value)));
  const width = (W - PAD.left - PAD.right) / Math.max(1, bars.length);
  const y = v => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  const labels = [];
  if (bars.length) {
    labels.push([PAD.left + width / 2, bars[0].label], [W - PAD.right - width / 2, bars[bars.length - 1].label]);
  }
  svg.append(frame(max, labels));
  bars.forEach((bar, i) => {
    const left = PAD.left + i * width + 1;
    const w = Math.max(1, width - 2);
    svg.append(s('rect', { class: 'bar series-0', x: left, y: y(bar.value), width: w, height: y(0) - y(bar.value) },
      s('title', { text: `${bar.label}: ${bar.value} requests, ${bar.errors} errors` })));
    if (bar.errors > 0) {
      svg.append(s('rect', { class: 'bar errors', x: left, y: y(bar.errors), width: w, height: y(0) - y(bar.errors) }));
    }
  });
  const legend = h('div', { class: 'legend' }, h('span', { class: 'key series-0' }, 'requests'), h('span', { class: 'key errors' }, 'errors'));
  return h('figure', { class: 'chart-box' }, h('figcaption', { text: title }), svg, legend);
}
