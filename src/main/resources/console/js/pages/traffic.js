// Traffic: requests, errors and upstream p99 per service and node, from each node's own meters (GET /v1/cluster/status),
// sampled every 2 s while this page is open; rates are differences between samples.
import { api } from '../api.js';
import { lineChart } from '../charts.js';
import { fill, h, rate, section, table } from '../dom.js';

const WINDOW_MS = 5 * 60 * 1000;
const P99_WINDOW_MS = 30 * 1000;
const samples = [];

function figures(sample, node, service) {
  const n = sample.nodes.find(x => x.node === node);
  return n && n.traffic && n.traffic.services[service];
}

/** Per second between two samples; null when the node restarted (its counters went back) or is missing. */
function perSecond(older, newer, node, service, pick) {
  const a = figures(older, node, service);
  const b = figures(newer, node, service);
  const seconds = (newer.time - older.time) / 1000;
  if (!b || seconds <= 0) {
    return null;
  }
  const delta = pick(b) - (a ? pick(a) : 0);
  return delta < 0 ? null : delta / seconds;
}

const codes = cls => f => f.codes[cls] || 0;

/** The upstream p99 over the last P99_WINDOW_MS, to the histogram's bucket: "≤ 25 ms". */
function p99(node, service) {
  const newer = samples[samples.length - 1];
  const older = samples.find(x => x.time >= newer.time - P99_WINDOW_MS) || samples[0];
  const b = figures(newer, node, service);
  if (!b || b.upstream.count === 0) {
    return '–';
  }
  const a = older === newer ? null : figures(older, node, service);
  const total = b.upstream.count - (a ? a.upstream.count : 0);
  if (total <= 0) {
    return a ? 'idle' : '–';
  }
  const target = 0.99 * total;
  // one sample so far (or the node's first): the whole life of the node, not the last 30 s
  const since = ' (since start)';
  for (let i = 0; i < b.upstream.buckets.length; i++) {
    const delta = b.upstream.buckets[i].count - (a && a.upstream.buckets[i] ? a.upstream.buckets[i].count : 0);
    if (delta >= target) {
      return `≤ ${b.upstream.buckets[i].le_ms} ms${a ? '' : since}`;
    }
  }
  return `> ${b.upstream.buckets.length ? b.upstream.buckets[b.upstream.buckets.length - 1].le_ms : 0} ms${a ? '' : since}`;
}

function draw(root) {
  const newer = samples[samples.length - 1];
  const older = samples.length > 1 ? samples[samples.length - 2] : null;
  const nodes = newer.nodes.filter(n => n.traffic).map(n => n.node);
  const silent = newer.nodes.filter(n => !n.traffic);
  const services = [...new Set(newer.nodes.flatMap(n => n.traffic ? Object.keys(n.traffic.services) : []))].sort();
  const rows = [];
  for (const service of services) {
    for (const node of nodes) {
      const f = figures(newer, node, service);
      if (!f) {
        continue;
      }
      const r = (pick) => older ? rate(perSecond(older, newer, node, service, pick)) : '…';
      rows.push(h('tr', { dataset: { service, node } },
        h('td', { text: service }), h('td', { text: node }),
        h('td', { class: 'num', text: r(x => x.requests) }),
        h('td', { class: 'num', text: r(codes('4xx')) }),
        h('td', { class: 'num', text: r(codes('5xx')) }),
        h('td', { class: 'num', text: p99(node, service) }),
        h('td', { class: 'num requests', text: String(f.requests) }),
        h('td', { class: 'num', text: String(f.codes['5xx'] || 0) })));
    }
  }
  // the x axis grows with the samples taken, from one minute up to WINDOW_MS
  const span = Math.min(WINDOW_MS, Math.max(60000, newer.time - samples[0].time));
  const charts = services.map(service => lineChart(nodes.map(node => ({
    name: node,
    points: samples.slice(1).map((x, i) => [x.time, perSecond(samples[i], x, node, service, f => f.requests)]).filter(p => p[1] !== null),
  })), span, `${service}: requests per second by node`, newer.time));
  const reasons = [...new Set(newer.nodes.flatMap(n => n.traffic ? Object.keys(n.traffic.decisions) : []))].sort();
  const decisions = reasons.map(reason => h('tr', { dataset: { reason } }, h('td', { text: reason }),
    nodes.map(node => h('td', { class: 'num', text: String(newer.nodes.find(n => n.node === node).traffic.decisions[reason] || 0) }))));
  fill(root,
    section('Traffic by service and node',
      rows.length ? table(['service', 'node', 'req/s', '4xx/s', '5xx/s', 'upstream p99 (30 s)', 'requests', '5xx'], rows, { id: 'traffic' })
        : h('p', { class: 'muted', text: 'No requests yet.' }),
      silent.length ? h('p', { class: 'bad', text: `No figures from: ${silent.map(n => `${n.node} (${n.error})`).join(', ')}` }) : null,
      h('p', { class: 'muted', text: 'Counted by each node since it started; rates over the last 2 s; p99 to the histogram bucket (1, 5, 25, 100, 500, 2000, 10000 ms).' })),
    section('Charts', h('div', { class: 'charts' }, charts)),
    section('Access decisions by reason (since start)',
      reasons.length ? table(['reason', ...nodes], decisions, { id: 'decisions' }) : h('p', { class: 'muted', text: 'No keyed or limited requests yet.' })));
}

async function sample() {
  const status = await api('GET', '/cluster/status');
  samples.push({ time: Date.parse(status.time), nodes: status.nodes });
  while (samples.length > 2 && samples[0].time < samples[samples.length - 1].time - WINDOW_MS) {
    samples.shift();
  }
}

export async function render(view) {
  await sample();
  draw(view.root);
  view.every(2000, async () => {
    await sample();
    draw(view.root);
    view.status(null);
  });
}
