// The entry: picks the page from the address and renders it inside the shared frame.
import { html, render } from './html.js';
import { ROOT, link } from './api.js';
import { PipelinesPage } from './pages/pipelines.js';
import { RunsPage } from './pages/runs.js';
import { RunPage } from './pages/run.js';
import { ConfigPage, DiffPage } from './pages/config.js';
import { PluginsPage } from './pages/plugins.js';

const ROUTES = [
  [/^\/$/, 'pipelines', () => html`<${PipelinesPage} />`],
  [/^\/runs$/, 'runs', () => html`<${RunsPage} />`],
  [/^\/runs\/([^/]+)$/, 'runs', (id) => html`<${RunPage} runId=${id} />`],
  [/^\/runs\/([^/]+)\/config$/, 'runs', (id) => html`<${ConfigPage} runId=${id} />`],
  [/^\/runs\/([^/]+)\/diff\/([^/]+)$/, 'runs', (a, b) => html`<${DiffPage} runId=${a} other=${b} />`],
  [/^\/plugins$/, 'plugins', () => html`<${PluginsPage} />`],
];

const NAV = [
  ['pipelines', '/', 'Pipelines'],
  ['runs', '/runs', 'Runs'],
  ['plugins', '/plugins', 'Plugins'],
];

function route() {
  const path = location.pathname.slice(ROOT.length) || '/';
  for (const [pattern, section, page] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return [section, page(...match.slice(1).map(decodeURIComponent))];
  }
  return [null, html`<section class="empty"><h1>Not found</h1><p>There is no page at this address. <a href=${link('/')}>See the pipelines</a>.</p></section>`];
}

function Frame({ section, children }) {
  return html`
    <header class="top">
      <a class="brand" href=${link('/')}><img src=${link('/static/favicon.svg')} alt="" width="20" height="20" />orchestrator</a>
      <nav>
        ${NAV.map(([key, path, label]) => html`<a href=${link(path)} class=${key === section ? 'active' : ''} aria-current=${key === section ? 'page' : null}>${label}</a>`)}
      </nav>
      <a class="api-link" href=${link('/api/openapi.json')}>API</a>
    </header>
    <main>${children}</main>`;
}

const [section, page] = route();
const root = document.getElementById('app');
root.textContent = ''; // the shell's "Loading…"
render(html`<${Frame} section=${section}>${page}<//>`, root);
