// Sign-in, navigation between pages (the hash names the page) and the timers of live pages.
import { api, setToken, signedIn } from './api.js';
import { errorBox, fill, h } from './dom.js';
import * as cluster from './pages/cluster.js';
import * as health from './pages/health.js';
import * as traffic from './pages/traffic.js';
import * as access from './pages/access.js';
import * as registry from './pages/registry.js';

const PAGES = { cluster, health, traffic, access, registry };
const $ = id => document.getElementById(id);
let timers = [];
let generation = 0;

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

function showLogin(message) {
  stopTimers();
  setToken(null);
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const value = $('token').value.trim();
  if (!value) {
    return;
  }
  setToken(value);
  try {
    await api('GET', '/cluster');
  } catch (e) {
    showLogin(e.status === 401 ? 'That token is not the admin token of this node.' : e.message);
    return;
  }
  $('token').value = '';
  $('login').hidden = true;
  $('app').hidden = false;
  show();
}

/** Renders the page the hash names; a page's timers run until another page is shown. */
async function show() {
  if (!signedIn()) {
    return;
  }
  stopTimers();
  const mine = ++generation;
  const name = PAGES[location.hash.slice(1)] ? location.hash.slice(1) : 'cluster';
  document.querySelectorAll('nav a').forEach(a => a.classList.toggle('active', a.dataset.page === name));
  const root = fill($('page'), h('p', { class: 'muted', text: 'Loading…' }));
  root.dataset.page = name;
  const view = {
    root,
    every(ms, fn) {
      if (mine === generation) {
        timers.push(setInterval(() => fn().catch(e => view.status(e)), ms));
      }
    },
    /** Draws the page now and again every `ms` while it is shown. */
    async live(ms, draw) {
      await draw(root);
      view.every(ms, async () => {
        await draw(root);
        view.status(null);
      });
    },
    status(e) {
      $('status').textContent = e ? `${e.code || 'error'}: ${e.message}` : `updated ${new Date().toLocaleTimeString()}`;
      $('status').classList.toggle('bad', Boolean(e));
    },
  };
  try {
    await PAGES[name].render(view);
    view.status(null);
  } catch (e) {
    if (mine === generation) {
      fill(root, errorBox(e));
      view.status(e);
    }
  }
}

window.addEventListener('ceiba:unauthorized', () => showLogin('The token was refused; sign in again.'));
window.addEventListener('hashchange', show);
document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', () => showLogin(''));
  showLogin('');
});
