// Plugins: what is installed (with what it provides) and what failed to load, with why.
import { html, Component } from '../html.js';
import { get } from '../api.js';
import { Notice, Loading, Empty } from '../widgets.js';

// What a plugin provides, as tags: its steps by phase ("extract: csv.read"), executors,
// notification channels and hooks.
function provided(plugin) {
  const parts = [];
  const steps = plugin.steps || {};
  for (const [phase, names] of Object.entries(Array.isArray(steps) ? { step: steps } : steps)) {
    for (const name of names || []) parts.push([phase, typeof name === 'string' ? name : name.name]);
  }
  for (const [key, label] of [['executors', 'executor'], ['notifiers', 'notifier']]) {
    for (const name of plugin[key] || []) parts.push([label, typeof name === 'string' ? name : name.name]);
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
    const installed = body ? body.plugins || [] : [];
    const failed = body ? body.failed || [] : [];
    return html`<section class="page">
      <div class="page-head"><h1>Plugins</h1></div>
      <${Notice} error=${error} title="The plugins could not be listed" />
      ${!body && !error ? html`<${Loading} />` : null}
      ${body && html`<h2>Failed to load <span class=${`count ${failed.length ? 'bad' : ''}`}>${failed.length}</span></h2>
      ${failed.length === 0 ? html`<${Empty}>Every plugin found loaded.<//>` : html`<table class="grid plugins failed">
        <thead><tr><th>Plugin</th><th>Distribution</th><th>Why</th></tr></thead>
        <tbody>${failed.map((p) => html`<tr class="plugin-row failed"><td><span class="badge tone-failed"><span class="glyph" aria-hidden="true">✕</span>failed</span> <b>${p.name ?? ''}</b></td>
          <td>${p.distribution ?? ''} ${p.version ?? ''}</td><td><pre class="error-text">${p.error ?? ''}</pre></td></tr>`)}</tbody>
      </table>`}
      <h2>Installed <span class="count">${installed.length}</span></h2>
      <table class="grid plugins">
        <thead><tr><th>Plugin</th><th>Distribution</th><th>Version</th><th>Provides</th></tr></thead>
        <tbody>${installed.map((p) => {
          const parts = provided(p);
          return html`<tr class="plugin-row"><td><b>${p.name ?? ''}</b>${p.description ? html`<div class="sub">${p.description}</div>` : null}</td>
          <td class="nowrap">${p.distribution ?? ''}</td><td class="mono">${p.version ?? ''}</td>
          <td>${parts.length ? html`<div class="tags">${parts.map(([kind, name]) => html`<span class="tag"><span class="tag-kind">${kind}</span><code>${name}</code></span>`)}</div>` : null}
            ${(p.hooks || []).length ? html`<div class="hooks">hooks: ${p.hooks.join(', ')}</div>` : null}
            ${!parts.length && !(p.hooks || []).length ? html`<span class="muted">—</span>` : null}</td></tr>`;
        })}</tbody>
      </table>`}
    </section>`;
  }
}
