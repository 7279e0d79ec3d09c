// A run's config as it was when the run ran (redacted by the server), and the diff between the
// configs of two runs: what changed in a pipeline file from one run to the next.
import { html, Component } from '../html.js';
import { get, query, link, segment } from '../api.js';
import { Notice, Loading, Empty } from '../widgets.js';
import { shortId, When } from '../format.js';

function textOf(body, ...keys) {
  if (typeof body === 'string') return body;
  for (const key of keys) if (body && typeof body[key] === 'string') return body[key];
  return null;
}

function Crumbs({ runId, label }) {
  return html`<div class="crumbs"><a href=${link('/runs')}>Runs</a> / <a class="mono" href=${link(`/runs/${segment(runId)}`)}>${shortId(runId)}</a> / ${label}</div>`;
}

export class ConfigPage extends Component {
  constructor(props) {
    super(props);
    this.state = { body: null, runs: [], error: null };
  }

  async componentDidMount() {
    try {
      const body = await get(`/api/runs/${segment(this.props.runId)}/config`);
      this.setState({ body });
      const file = body.file ?? body.config_path ?? (await get(`/api/runs/${segment(this.props.runId)}`).then((d) => (d.run || d).file ?? (d.run || d).config));
      if (file) {
        const runs = await get(`/api/runs${query({ file, limit: 50 })}`);
        this.setState({ runs: (Array.isArray(runs) ? runs : runs.runs || []).filter((r) => r.run_id !== this.props.runId) });
      }
    } catch (error) {
      this.setState({ error });
    }
  }

  render({ runId }, { body, runs, error }) {
    const text = textOf(body, 'config', 'text', 'yaml');
    const lines = text === null ? [] : text.replace(/\n$/, '').split('\n');
    return html`<section class="page">
      <div class="page-head">
        <div><${Crumbs} runId=${runId} label="config" /><h1>Config of this run</h1>
          <p class="muted">The pipeline file as it was when the run ran, secrets redacted${body && body.config_hash ? html` · fingerprint <code>${String(body.config_hash).slice(0, 12)}</code>` : null}.</p></div>
        ${runs.length > 0 && html`<div class="toolbar">
          <label class="select">Compare with
            <select aria-label="compare with run" onChange=${(e) => e.currentTarget.value && location.assign(link(`/runs/${segment(e.currentTarget.value)}/diff/${segment(runId)}`))}>
              <option value="">a run…</option>
              ${runs.map((r) => html`<option value=${r.run_id}>${shortId(r.run_id)} (${r.status})</option>`)}
            </select>
          </label>
        </div>`}
      </div>
      <${Notice} error=${error} title="The config could not be read" />
      ${!body && !error ? html`<${Loading} />` : null}
      ${body && text === null ? html`<${Empty}>The history keeps no config text for this run.<//>` : null}
      ${text !== null && html`<pre class="code config"><code>${lines.map((line, i) => html`<span class="line"><span class="ln" aria-hidden="true">${i + 1}</span>${line}\n</span>`)}</code></pre>`}
    </section>`;
  }
}

function diffLines(body) {
  const text = textOf(body, 'diff', 'unified', 'text');
  if (text !== null) return text ? text.replace(/\n$/, '').split('\n') : [];
  return Array.isArray(body) ? body : (body && body.lines) || [];
}

export class DiffPage extends Component {
  constructor(props) {
    super(props);
    this.state = { body: null, error: null };
  }

  async componentDidMount() {
    try {
      this.setState({ body: await get(`/api/runs/${segment(this.props.runId)}/diff/${segment(this.props.other)}`) });
    } catch (error) {
      this.setState({ error });
    }
  }

  render({ runId, other }, { body, error }) {
    const lines = body ? diffLines(body) : [];
    const added = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length;
    const removed = lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length;
    return html`<section class="page">
      <div class="page-head"><div>
        <${Crumbs} runId=${other} label="diff" />
        <h1>Config diff</h1>
        <p class="muted">From run <a class="mono" href=${link(`/runs/${segment(runId)}`)}>${shortId(runId)}</a> to run <a class="mono" href=${link(`/runs/${segment(other)}`)}>${shortId(other)}</a>${body && lines.length ? html` · <span class="plus">+${added}</span> <span class="minus">−${removed}</span>` : null}</p>
      </div></div>
      <${Notice} error=${error} title="The configs could not be compared" />
      ${!body && !error ? html`<${Loading} />` : null}
      ${body && lines.length === 0 ? html`<${Empty}>The two runs ran the same config.<//>` : null}
      ${lines.length > 0 && html`<pre class="code diff"><code>${lines.map((line) => {
        const kind = line.startsWith('@@') ? 'hunk' : line.startsWith('+++') || line.startsWith('---') ? 'head' : line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'same';
        return html`<span class=${`line ${kind}`}>${line}\n</span>`;
      })}</code></pre>`}
    </section>`;
  }
}
