// Runs: the history, newest first, a page at a time (the API's cursor), filtered by file,
// pipeline and status; the first page follows new runs live.
import { html, Component } from '../html.js';
import { get, listen, throttle, query, link, segment } from '../api.js';
import { Badge, duration, When, shortId } from '../format.js';
import { Notice, Loading, Empty } from '../widgets.js';

const PAGE = 50;
const STATUSES = ['', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'];

function Params({ params }) {
  let value = params;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return html`<code>${value}</code>`;
    }
  }
  const entries = Object.entries(value || {});
  if (!entries.length) return html`<span class="muted">—</span>`;
  return html`<span class="params-inline">${entries.map(([k, v]) => html`<code>${k}=${typeof v === 'string' ? v : JSON.stringify(v)}</code>`)}</span>`;
}

export class RunsPage extends Component {
  constructor() {
    super();
    const search = new URLSearchParams(location.search);
    this.filters = { file: search.get('file') || '', pipeline: search.get('pipeline') || '', status: search.get('status') || '' };
    this.before = search.get('before') || '';
    this.state = { runs: null, next: null, error: null };
    this.load = this.load.bind(this);
  }

  componentDidMount() {
    this.load();
    if (!this.before) {
      const refresh = throttle(this.load, 1000);
      this.stop = listen('/api/events', (event) => {
        if (String(event.kind || '').startsWith('run_') || String(event.kind || '').startsWith('pipeline_')) refresh();
      });
    }
  }

  componentWillUnmount() {
    if (this.stop) this.stop();
  }

  async load() {
    try {
      const body = await get(`/api/runs${query({ ...this.filters, limit: PAGE, before: this.before })}`);
      this.setState({ runs: Array.isArray(body) ? body : body.runs || [], next: body.next ?? null, error: null });
    } catch (error) {
      this.setState({ error });
    }
  }

  go(changes) {
    location.assign(link(`/runs${query({ ...this.filters, ...changes })}`));
  }

  render(_, { runs, next, error }) {
    const { file, pipeline, status } = this.filters;
    return html`<section class="page">
      <div class="page-head">
        <h1>Runs</h1>
        <div class="toolbar">
          ${file ? html`<span class="chip">file <b>${file}</b><a href=${link(`/runs${query({ ...this.filters, file: '' })}`)} aria-label="clear file filter">×</a></span>` : null}
          ${pipeline ? html`<span class="chip">pipeline <b>${pipeline}</b><a href=${link(`/runs${query({ ...this.filters, pipeline: '' })}`)} aria-label="clear pipeline filter">×</a></span>` : null}
          <label class="select">Status
            <select value=${status} onChange=${(e) => this.go({ status: e.currentTarget.value })} aria-label="status filter">
              ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
            </select>
          </label>
        </div>
      </div>
      <${Notice} error=${error} title="The runs could not be listed" />
      ${runs === null && !error ? html`<${Loading} />` : null}
      ${runs && runs.length === 0 ? html`<${Empty}>No runs${file || pipeline || status ? ' match these filters' : ' yet'}.<//>` : null}
      ${runs && runs.length > 0 && html`<table class="grid runs">
        <thead><tr><th>Status</th><th>Run</th><th>File</th><th>Pipelines</th><th>Started</th><th class="right">Duration</th><th>Params</th></tr></thead>
        <tbody>${runs.map((run) => html`<tr class="run-row" data-run=${run.run_id}>
          <td><${Badge} status=${run.status} /></td>
          <td><a class="mono" href=${link(`/runs/${segment(run.run_id)}`)} title=${run.run_id}>${shortId(run.run_id)}</a></td>
          <td><a href=${link(`/runs${query({ file: run.file ?? run.config })}`)}>${run.file ?? run.config ?? ''}</a></td>
          <td class="num">${run.pipelines ?? '—'}${run.not_succeeded ? html` <span class="sub-inline bad">${run.not_succeeded} not succeeded</span>` : null}</td>
          <td><${When} value=${run.started} /></td>
          <td class="right num">${duration(run.elapsed)}</td>
          <td><${Params} params=${run.params} /></td>
        </tr>`)}</tbody>
      </table>`}
      <div class="pager">
        ${this.before ? html`<a class="btn secondary" href=${link(`/runs${query(this.filters)}`)}>← Newest</a>` : null}
        ${next ? html`<a class="btn secondary" href=${link(`/runs${query({ ...this.filters, before: next })}`)}>Older →</a>` : null}
      </div>
    </section>`;
  }
}
