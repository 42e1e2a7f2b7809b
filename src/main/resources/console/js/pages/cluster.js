// Cluster: every node of the view, its roles, build, uptime, readiness (and why not), registry version.
import { api } from '../api.js';
import { ago, fill, h, section, table } from '../dom.js';

function readiness(status) {
  if (!status) {
    return h('span', { class: 'muted', text: 'no answer' });
  }
  if (status.error) {
    return h('span', { class: 'bad', text: `no answer: ${status.error}` });
  }
  const ready = status.ready || {};
  // failing checks, and those that answer UP while saying they are degraded (redis absent, usage spooling)
  const failing = (ready.checks || []).filter(c => c.status !== 'UP' || (c.data && c.data.degraded === true));
  const up = ready.status === 'UP';
  return h('div', null,
    h('span', { class: up ? 'pill up' : 'pill down', text: up ? 'ready' : 'not ready' }),
    failing.length ? h('ul', { class: 'reasons' }, failing.map(c => h('li', null,
      `${c.id}${c.status === 'UP' || !c.required ? ' (degraded)' : ''}: ${(c.data && (c.data.reason || c.data.error)) || c.status}`))) : null,
    ready.reason ? h('div', { class: 'muted', text: ready.reason }) : null);
}

async function draw(root) {
  const [view, status] = await Promise.all([api('GET', '/cluster'), api('GET', '/cluster/status')]);
  const byNode = Object.fromEntries(status.nodes.map(n => [n.node, n]));
  const newest = Math.max(...view.nodes.map(n => n.registry_version));
  const rows = view.nodes.map(n => h('tr', { dataset: { node: n.id } },
    h('td', null, h('strong', { text: n.id }), n.id === view.self ? h('span', { class: 'muted', text: ' (this node)' }) : null),
    h('td', { text: n.roles.join(', ') }),
    h('td', { text: (byNode[n.id] && byNode[n.id].version) || '?' }),
    h('td', { title: n.up_since }, ago(n.up_since)),
    h('td', null, h('span', { class: n.serving ? 'pill up' : 'pill down', text: n.serving ? 'serving' : 'starting' })),
    h('td', { class: 'ready' }, readiness(byNode[n.id])),
    h('td', { class: n.registry_version < newest ? 'bad' : '', title: n.registry_version < newest ? `behind version ${newest}` : '' },
      String(n.registry_version)),
    h('td', { class: 'mono', text: n.edge || '' }),
    h('td', { class: 'mono', text: n.control || '' })));
  fill(root, section(`Cluster: ${view.nodes.length} node${view.nodes.length === 1 ? '' : 's'} in the view of ${view.self}`,
    table(['node', 'roles', 'version', 'up since', 'state', 'readiness', 'registry', 'edge', 'control'], rows, { id: 'nodes' }),
    h('p', { class: 'muted', text: 'A node its membership dropped is not listed. Refreshed every 3 s.' })));
}

export const render = view => view.live(3000, draw);
