// Plugins: what is installed (with what it provides) and what failed to load, with why.
import { html, Component } from '../html.js';
import { get } from '../api.js';
import { Notice, Loading, Empty } from '../widgets.js';

function provided(plugin) {
  const parts = [];
  for (const key of ['steps', 'step_types', 'kinds', 'provides', 'executors', 'hooks']) {
    const value = plugin[key];
    if (Array.isArray(value) && value.length) parts.push(...value.map((v) => (typeof v === 'string' ? v : v.name ?? JSON.stringify(v))));
    else if (value && typeof value === 'object' && !Array.isArray(value)) parts.push(...Object.keys(value));
  }
  return parts;
}

export class PluginsPage extends Component {
  constructor() {
    super();
    this.state = { body: null, error: null };
  }

  async componentDidMount() {
    try {
      this.setState({ body: await get('/api/plugins') });
    } catch (error) {
      this.setState({ error });
    }
  }

  render(_, { body, error }) {
    const installed = body ? (Array.isArray(body) ? body : body.installed || body.plugins || []) : [];
    const failed = body && !Array.isArray(body) ? body.failed || body.errors || [] : [];
    return html`<section class="page">
      <div class="page-head"><h1>Plugins</h1></div>
      <${Notice} error=${error} title="The plugins could not be listed" />
      ${!body && !error ? html`<${Loading} />` : null}
      ${body && html`<h2>Failed to load <span class=${`count ${failed.length ? 'bad' : ''}`}>${failed.length}</span></h2>
      ${failed.length === 0 ? html`<${Empty}>Every plugin found loaded.<//>` : html`<table class="grid plugins failed">
        <thead><tr><th>Plugin</th><th>Distribution</th><th>Why</th></tr></thead>
        <tbody>${failed.map((p) => html`<tr class="plugin-row failed"><td><span class="badge tone-failed"><span class="glyph" aria-hidden="true">✕</span>failed</span> <b>${p.name ?? p.entry_point ?? ''}</b></td>
          <td>${p.distribution ?? p.dist ?? ''} ${p.version ?? ''}</td><td><pre class="error-text">${p.error ?? p.why ?? p.reason ?? ''}</pre></td></tr>`)}</tbody>
      </table>`}
      <h2>Installed <span class="count">${installed.length}</span></h2>
      <table class="grid plugins">
        <thead><tr><th>Plugin</th><th>Distribution</th><th>Version</th><th>Provides</th></tr></thead>
        <tbody>${installed.map((p) => {
          const parts = provided(p);
          return html`<tr class="plugin-row"><td><b>${p.name ?? ''}</b>${p.description ? html`<div class="sub">${p.description}</div>` : null}</td>
          <td>${p.distribution ?? p.dist ?? ''}</td><td class="mono">${p.version ?? ''}</td>
          <td>${parts.length ? html`<div class="tags">${parts.map((part) => html`<code class="tag">${part}</code>`)}</div>` : html`<span class="muted">—</span>`}</td></tr>`;
        })}</tbody>
      </table>`}
    </section>`;
  }
}
