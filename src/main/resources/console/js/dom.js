// DOM helpers: elements are built from data with textContent, never from HTML strings, so nothing an API returns
// can become markup or script.
const SVG = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) {
      continue;
    }
    if (name.startsWith('on')) {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'text') {
      element.textContent = String(value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name === 'value' && 'value' in element) {
      element.value = value;
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) {
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return element;
}

/** h('td', {class: 'up', dataset: {node: 'n1'}}, 'text', otherElement) */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

export function table(headers, rows, attrs) {
  return h('table', attrs, h('thead', null, h('tr', null, headers.map(t => h('th', { text: t })))), h('tbody', null, rows));
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', { text: title }), ...children);
}

export function errorBox(e) {
  const box = h('div', { class: 'error', role: 'alert' }, `${e.code ? e.code + ': ' : ''}${e.message}`);
  if (e.problems && e.problems.length) {
    box.append(h('ul', null, e.problems.map(p => h('li', null,
      `${p.field || ''}${p.line ? ' (line ' + p.line + ')' : ''}: ${p.reason || p.message || JSON.stringify(p)}`))));
  }
  return box;
}

export function ago(iso) {
  if (!iso) {
    return '';
  }
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 90) {
    return `${seconds} s ago`;
  }
  if (seconds < 5400) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 172800) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return `${Math.round(seconds / 86400)} days ago`;
}

export function rate(value) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '–';
  }
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Replaces the children of `root`. */
export function fill(root, ...children) {
  root.replaceChildren(...children.flat().filter(c => c !== null && c !== undefined));
  return root;
}
