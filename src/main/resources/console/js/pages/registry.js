// Registry: the YAML every node serves, validate and apply an edit, the history with diffs, roll back.
import { api } from '../api.js';
import { diffLines } from '../diff.js';
import { errorBox, fill, h, section, table } from '../dom.js';

function diffView(before, after) {
  const lines = diffLines(before, after);
  return h('pre', { class: 'diff' }, lines.filter((l, i) => l.op !== ' '
    || lines.slice(Math.max(0, i - 2), i + 3).some(x => x.op !== ' '))
    .map(l => h('span', { class: l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'same', text: `${l.op} ${l.text}\n` })));
}

function outcome(result) {
  const nodes = Object.entries(result.nodes || {});
  return h('div', { class: result.complete ? 'ok' : 'error', id: 'registry-outcome' },
    `version ${result.version}${result.rolled_back_to ? ` (a copy of version ${result.rolled_back_to})` : ''}: `
    + (result.complete ? 'applied on every node' : 'not applied everywhere'),
    h('ul', null, nodes.map(([node, r]) => h('li', null, `${node}: ${r.result}${r.message ? ' — ' + r.message : ''}`))));
}

async function draw(root, note) {
  const current = await api('GET', '/registry');
  let history = [];
  let historyError = null;
  try {
    history = (await api('GET', '/registry/history')).versions;
  } catch (e) {
    historyError = e;
  }
  const editor = h('textarea', { id: 'registry-yaml', spellcheck: 'false', rows: 24, 'aria-label': 'registry YAML' });
  editor.value = current.yaml;
  const result = h('div', { id: 'registry-result' }, note);
  const run = async (action) => {
    fill(result, h('p', { class: 'muted', text: 'working…' }));
    try {
      const content = await action();
      if (content) {
        fill(result, content);
      }
    } catch (e) {
      fill(result, errorBox(e));
    }
  };
  const validate = h('button', { type: 'button', id: 'validate', text: 'Validate', onclick: () => run(async () => {
    const r = await api('POST', '/registry/validate', editor.value);
    return h('div', { class: 'ok', id: 'registry-valid' }, `valid: version ${r.version}`, h('pre', { text: JSON.stringify(r.summary, null, 2) }));
  }) });
  const apply = h('button', { type: 'button', id: 'apply', text: 'Apply to the cluster', onclick: () => run(async () => {
    const r = await api('PUT', '/registry', editor.value);
    await draw(root, outcome(r));
    return null;
  }) });
  const showDiff = h('button', { type: 'button', id: 'diff-edit', text: 'Diff against current', onclick: () => run(async () =>
    diffView(current.yaml, editor.value)) });
  const rows = history.map((v, i) => {
    const before = history[i + 1];
    const detail = h('div', { class: 'history-detail' });
    return [h('tr', { dataset: { version: String(v.version) } },
      h('td', { text: String(v.version) }), h('td', { text: v.created_at }), h('td', { text: v.applied_by }),
      h('td', { class: 'mono', text: v.sha256.slice(0, 12) }),
      h('td', null,
        before ? h('button', { type: 'button', class: 'show-diff', text: `Diff from ${before.version}`,
          onclick: () => fill(detail, detail.childElementCount ? null : diffView(before.yaml, v.yaml)) }) : null,
        v.version !== current.version ? h('button', { type: 'button', class: 'rollback', text: 'Roll back to this',
          onclick: () => run(async () => {
            const r = await api('POST', '/registry/rollback', { to: v.version });
            await draw(root, outcome(r));
            return null;
          }) }) : h('span', { class: 'muted', text: ' current' }))),
    h('tr', { class: 'detail-row' }, h('td', { colspan: 5 }, detail))];
  });
  fill(root,
    section(`Registry version ${current.version}`,
      h('p', { class: 'muted', text: `sha256 ${current.sha256} · http: ${current.http.join(', ') || '–'} · tcp: ${current.tcp.join(', ') || '–'}` }),
      h('p', { class: 'muted', text: 'Raise the version to apply an edit; every node of the view takes it.' }),
      editor, h('div', { class: 'buttons' }, validate, showDiff, apply), result),
    section('History',
      historyError ? errorBox(historyError) : table(['version', 'applied at', 'by', 'sha256', ''], rows.flat(), { id: 'history' })));
}

export async function render(view) {
  await draw(view.root);
}
