// Access: plans, projects, subscriptions, keys (a new key is shown once), and a project's usage.
import { api } from '../api.js';
import { barChart } from '../charts.js';
import { errorBox, fill, h, section, table } from '../dom.js';

let selected = null;
let granularity = 'hour';

/** A form whose submit runs `action(values)` and shows its error next to it; `done` redraws what changed. */
function form(id, fields, label, action) {
  const message = h('div', { class: 'form-message' });
  const element = h('form', { id, class: 'inline' }, fields, h('button', { type: 'submit', text: label }), message);
  element.addEventListener('submit', async event => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(element).entries());
    fill(message);
    try {
      await action(values);
      element.reset();
    } catch (e) {
      fill(message, errorBox(e));
    }
  });
  return element;
}

function input(name, placeholder, attrs) {
  return h('input', Object.assign({ name, placeholder, 'aria-label': placeholder }, attrs || {}));
}

function positive(value, field) {
  if (value === '' || value === undefined) {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw { code: 'invalid_request', message: `${field} must be a whole number of at least 1` };
  }
  return n;
}

function describeRate(p) {
  return p.rate_limit ? `${p.rate_limit.requests} per ${p.rate_limit.per} (burst ${p.rate_limit.burst})` : '–';
}

async function drawPlans(box, onChange) {
  const { plans } = await api('GET', '/plans');
  fill(box,
    table(['plan', 'rate limit', 'quota', 'services'], plans.map(p => h('tr', { dataset: { plan: p.name } },
      h('td', { text: p.name }), h('td', { text: describeRate(p) }),
      h('td', { text: p.quota ? `${p.quota.requests} per ${p.quota.per}` : '–' }),
      h('td', { text: p.services ? p.services.join(', ') : 'all' }))), { id: 'plans' }),
    form('plan-form', [input('name', 'name', { required: true }), input('rate', 'requests per…', { inputmode: 'numeric' }),
      input('per', 'per (1s, 1m)'), input('quota', 'quota requests', { inputmode: 'numeric' }),
      h('select', { name: 'quota_per', 'aria-label': 'quota period' }, h('option', { value: 'day', text: 'per day' }),
        h('option', { value: 'month', text: 'per month' })),
      input('services', 'services (comma separated, empty: all)')], 'Create plan', async v => {
      const plan = { name: v.name.trim() };
      const requests = positive(v.rate, 'requests');
      if (requests) {
        plan.rate_limit = { requests, per: v.per.trim() || '1s' };
      }
      const quota = positive(v.quota, 'quota');
      if (quota) {
        plan.quota = { requests: quota, per: v.quota_per };
      }
      const services = v.services.split(',').map(x => x.trim()).filter(Boolean);
      if (services.length) {
        plan.services = services;
      }
      await api('POST', '/plans', plan);
      await onChange();
    }));
  return plans;
}

async function drawProjects(box, onSelect) {
  const { projects } = await api('GET', '/projects');
  fill(box,
    table(['project', 'id', 'plans now', 'active keys', ''], projects.map(p => h('tr', { dataset: { project: p.id, name: p.name },
      class: p.id === selected ? 'selected' : '' },
    h('td', { text: p.name }), h('td', { class: 'mono', text: p.id }), h('td', { text: p.plans.join(', ') || '–' }),
    h('td', { class: 'num', text: String(p.active_keys) }),
    h('td', null, h('button', { type: 'button', class: 'open-project', text: 'Open', onclick: () => onSelect(p.id) })))), { id: 'projects' }),
    form('project-form', [input('name', 'project name', { required: true })], 'Create project', async v => {
      const created = await api('POST', '/projects', { name: v.name.trim() });
      await onSelect(created.id);
    }));
}

function keyRow(k, redraw) {
  const state = k.revoked_at ? 'revoked' : k.expires_at && Date.parse(k.expires_at) < Date.now() ? 'expired' : 'active';
  const revoke = h('button', { type: 'button', class: 'revoke', text: 'Revoke' });
  revoke.addEventListener('click', async () => {
    if (revoke.dataset.armed !== 'true') {
      revoke.dataset.armed = 'true';
      revoke.textContent = 'Confirm revoke';
      return;
    }
    revoke.disabled = true;
    try {
      await api('DELETE', `/keys/${encodeURIComponent(k.id)}`);
      await redraw();
    } catch (e) {
      revoke.replaceWith(errorBox(e));
    }
  });
  return h('tr', { dataset: { key: k.id, state } },
    h('td', { text: k.name }), h('td', { class: 'mono', text: `${k.prefix}…` }), h('td', { text: k.created_at }),
    h('td', { text: k.expires_at || 'never' }), h('td', { class: `state ${state}`, text: k.revoked_at ? `revoked ${k.revoked_at}` : state }),
    h('td', null, state === 'active' ? revoke : null));
}

async function drawProject(box, plans, redrawProjects) {
  if (!selected) {
    fill(box, h('p', { class: 'muted', text: 'Open a project to see its subscriptions, keys and usage.' }));
    return;
  }
  const id = selected;
  const [project, { keys }] = await Promise.all([api('GET', `/projects/${encodeURIComponent(id)}`),
    api('GET', `/projects/${encodeURIComponent(id)}/keys`)]);
  const revealed = h('div', { id: 'new-key' });
  const usage = h('div', { id: 'usage' });
  const redraw = async () => {
    await drawProject(box, plans, redrawProjects);
    await redrawProjects();
  };
  fill(box,
    h('h3', { text: `${project.name} (${project.id})` }),
    h('h4', { text: 'Subscriptions' }),
    table(['plan', 'from', 'until'], project.subscriptions.map(s => h('tr', null, h('td', { text: s.plan }),
      h('td', { text: s.active_from }), h('td', { text: s.active_until || 'open-ended' }))), { id: 'subscriptions' }),
    form('subscribe-form', [h('select', { name: 'plan', 'aria-label': 'plan' }, plans.map(p => h('option', { value: p.name, text: p.name })))],
      'Subscribe', async v => {
        await api('POST', `/projects/${encodeURIComponent(id)}/subscriptions`, { plan: v.plan });
        await redraw();
      }),
    h('h4', { text: 'Keys' }),
    table(['name', 'prefix', 'created', 'expires', 'state', ''], keys.map(k => keyRow(k, redraw)), { id: 'keys' }),
    form('key-form', [input('name', 'key name', { value: 'default' })], 'Create key', async v => {
      const created = await api('POST', `/projects/${encodeURIComponent(id)}/keys`, { name: v.name.trim() || 'default' });
      await redraw();
      // the secret exists nowhere else: shown here once, never fetched again
      fill(document.getElementById('new-key'), h('div', { class: 'secret' },
        h('p', { text: `Key ${created.name} (${created.id}) — copy it now, it is not shown again:` }),
        h('code', { id: 'new-key-secret', text: created.key }),
        h('button', { type: 'button', text: 'I copied it', onclick: e => e.target.closest('.secret').remove() })));
    }),
    revealed,
    h('h4', { text: 'Usage' }),
    usage);
  await drawUsage(usage, id);
}

async function drawUsage(box, id) {
  const usage = await api('GET', `/projects/${encodeURIComponent(id)}/usage?granularity=${granularity}`);
  const buckets = new Map();
  const services = new Map();
  for (const row of usage.rows) {
    const b = buckets.get(row.start) || { requests: 0, errors: 0 };
    b.requests += row.requests;
    b.errors += row.errors;
    buckets.set(row.start, b);
    const s = services.get(row.service) || { requests: 0, errors: 0, latency: 0 };
    s.requests += row.requests;
    s.errors += row.errors;
    s.latency += row.latency_ms_sum;
    services.set(row.service, s);
  }
  // every bucket of the range, empty ones too, so the chart's time axis is true
  const step = granularity === 'hour' ? 3600000 : 86400000;
  const bars = [];
  for (let t = Date.parse(usage.from); t < Date.parse(usage.to); t += step) {
    const key = new Date(t).toISOString().replace('.000Z', 'Z');
    const b = buckets.get(key) || { requests: 0, errors: 0 };
    const label = granularity === 'hour' ? key.slice(11, 16) : key.slice(5, 10);
    bars.push({ label, value: b.requests, errors: b.errors });
  }
  const select = h('select', { id: 'granularity', 'aria-label': 'granularity' },
    ['hour', 'day'].map(g => h('option', { value: g, text: `by ${g}`, selected: g === granularity })));
  select.addEventListener('change', async () => {
    granularity = select.value;
    await drawUsage(box, id);
  });
  fill(box,
    h('p', null, select, ' ', h('span', { id: 'usage-total', dataset: { total: String(usage.total) }, text: `${usage.total} requests` }),
      h('span', { class: 'muted', text: ` from ${usage.from} to ${usage.to}` })),
    barChart(bars, `requests per ${granularity}`),
    table(['service', 'requests', 'errors', 'mean latency'], [...services.entries()].map(([name, s]) => h('tr', { dataset: { service: name } },
      h('td', { text: name }), h('td', { class: 'num', text: String(s.requests) }), h('td', { class: 'num', text: String(s.errors) }),
      h('td', { class: 'num', text: s.requests ? `${(s.latency / s.requests).toFixed(1)} ms` : '–' }))), { id: 'usage-services' }));
}

export async function render(view) {
  const plansBox = h('div');
  const projectsBox = h('div');
  const projectBox = h('div', { id: 'project' });
  let plans = [];
  const redrawProjects = () => drawProjects(projectsBox, async id => {
    selected = id;
    await redrawProjects();
    await drawProject(projectBox, plans, redrawProjects);
  });
  const redrawPlans = async () => {
    plans = await drawPlans(plansBox, redrawPlans);
    if (selected) {
      await drawProject(projectBox, plans, redrawProjects);
    }
  };
  fill(view.root, section('Plans', plansBox), section('Projects', projectsBox), section('Project', projectBox));
  await redrawPlans();
  await redrawProjects();
  await drawProject(projectBox, plans, redrawProjects);
  view.every(5000, async () => {
    const usage = document.getElementById('usage');
    if (selected && usage) {
      await drawUsage(usage, selected);
      view.status(null);
    }
  });
}
