// Health matrix: every backend of every service, as each node that checks it sees it.
import { api } from '../api.js';
import { ago, fill, h, section, table } from '../dom.js';

async function draw(root) {
  const view = await api('GET', '/cluster');
  const observers = view.nodes.filter(n => n.backends || n.backends_error);
  const rows = new Map();
  for (const node of observers) {
    for (const b of node.backends || []) {
      const key = `${b.service}\u0000${b.backend}`;
      if (!rows.has(key)) {
        rows.set(key, { service: b.service, backend: b.backend, owner: b.node, seen: {} });
      }
      rows.get(key).seen[node.id] = b;
    }
  }
  const sorted = [...rows.values()].sort((a, b) => a.service.localeCompare(b.service) || a.backend.localeCompare(b.backend));
  const body = sorted.map(r => h('tr', { dataset: { service: r.service, backend: r.backend } },
    h('td', { text: r.service }),
    h('td', { class: 'mono' }, r.backend, r.owner ? h('div', { class: 'muted', text: `on ${r.owner}` }) : null),
    observers.map(o => {
      const b = r.seen[o.id];
      if (!b) {
        return h('td', { class: 'muted', dataset: { observer: o.id }, text: o.backends_error ? 'no answer' : '–' });
      }
      return h('td', { class: b.up ? 'cell up' : 'cell down', dataset: { observer: o.id, up: String(b.up) },
        title: b.last_check ? `last check ${b.last_check}` : '' },
      h('span', { class: b.up ? 'pill up' : 'pill down', text: b.up ? 'up' : 'down' }),
      b.via ? h('div', { class: 'muted', text: `via ${b.via}` }) : null,
      b.check ? h('div', { class: 'muted', text: `${b.check} check ${b.last_check ? ago(b.last_check) : ''}` }) : null,
      !b.up && b.last_error ? h('div', { class: 'error-text', text: b.last_error }) : null);
    })));
  const headers = ['service', 'backend', ...observers.map(o => o.backends_error ? `${o.id} (${o.backends_error})` : `seen by ${o.id}`)];
  fill(root, section('Health matrix',
    observers.length ? table(headers, body, { id: 'matrix' })
      : h('p', { class: 'muted', text: 'No node of the view has the health role.' }),
    h('p', { class: 'muted', text: 'Each column is one node\'s own view (nodes with the health role). Refreshed every 2 s.' })));
}

export const render = view => view.live(2000, draw);
