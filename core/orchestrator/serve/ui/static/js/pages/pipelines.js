// Pipelines: every pipeline of every served file, its schedule and next run, its last 25 runs as
// a grid of cells (newest on the right), failing ones first on request, a search box; run now
// with params, pause and unpause a schedule.
import { html, Component } from '../html.js';
import { get, post, listen, throttle, query, link, segment } from '../api.js';
import { Badge, statusOf, stamp, duration, When } from '../format.js';
import { Notice, Loading, Empty, ActionButton, ParamsForm } from '../widgets.js';

const CELLS = 25;

export function RunCells({ runs }) {
  const list = (runs || []).slice(0, CELLS).slice().reverse(); // oldest first, like a timeline
  const blanks = Array.from({ length: CELLS - list.length });
  return html`<div class="cells" role="list" aria-label="last runs, oldest first">
    ${blanks.map(() => html`<span class="cell blank" aria-hidden="true"></span>`)}
    ${list.map((run) => {
      const { tone, label } = statusOf(run.status);
      const text = `${label} · ${stamp(run.started)} · ${duration(run.elapsed)}`;
      return html`<a role="listitem" class=${`cell tone-${tone}`} href=${link(`/runs/${segment(run.run_id)}`)} title=${text} aria-label=${text}></a>`;
    })}
  </div>`;
}

function fileOf(pipeline) {
  return pipeline.file ?? pipeline.file_id ?? '';
}

// The schedule as the API gives it ({text, timezone, paused, next}), or the triggers that start
// the pipeline, or "manual".
function Schedule({ pipeline }) {
  const schedule = pipeline.schedule;
  const triggers = pipeline.triggers || [];
  if (!schedule) {
    if (triggers.length) return html`<div class="schedule">${triggers.map((t) => html`<code>${t}</code>`)}</div>`;
    return html`<span class="muted">manual</span>`;
  }
  return html`<div class="schedule">
    <code>${schedule.text}</code>${schedule.timezone && schedule.timezone !== 'UTC' ? html`<span class="muted">${schedule.timezone}</span>` : null}
    ${isPaused(pipeline) ? html`<span class="badge tone-interrupted"><span class="glyph" aria-hidden="true">❚❚</span>paused</span>` : null}
  </div>`;
}

const isPaused = (pipeline) => Boolean(pipeline.schedule && pipeline.schedule.paused);

export class PipelinesPage extends Component {
  constructor() {
    super();
    const search = new URLSearchParams(location.search);
    this.state = { pipelines: null, error: null, q: search.get('q') || '', failing: search.get('failing') === '1', form: null, flash: null };
    this.load = this.load.bind(this);
    this.refresh = throttle(this.load, 1000);
    this.typed = null;
  }

  componentDidMount() {
    this.load();
    this.stop = listen('/api/events', (event) => {
      if (String(event.kind || '').startsWith('run_') || String(event.kind || '').startsWith('pipeline_')) this.refresh();
    });
  }

  componentWillUnmount() {
    if (this.stop) this.stop();
  }

  async load() {
    const { q, failing } = this.state;
    try {
      const body = await get(`/api/pipelines${query({ q, failing })}`);
      this.setState({ pipelines: Array.isArray(body) ? body : body.pipelines || [], error: null });
    } catch (error) {
      this.setState({ error });
    }
  }

  filter(changes) {
    this.setState(changes, () => {
      const { q, failing } = this.state;
      history.replaceState(null, '', link(`/${query({ q, failing })}`));
      clearTimeout(this.typed);
      this.typed = setTimeout(this.load, 150);
    });
  }

  async start(pipeline, params) {
    const file = fileOf(pipeline);
    const body = await post(`/api/pipelines/${segment(file)}/${segment(pipeline.name)}/runs`, { params });
    const runId = body && (body.run_id || body.run?.run_id);
    if (runId) location.assign(link(`/runs/${segment(runId)}`));
    else {
      this.setState({ form: null, flash: `Run of ${pipeline.name} started.` });
      this.load();
    }
  }

  async pause(pipeline, paused) {
    await post(`/api/schedules/${segment(fileOf(pipeline))}/${segment(pipeline.name)}/${paused ? 'unpause' : 'pause'}`);
    await this.load();
  }

  render(_, { pipelines, error, q, failing, form, flash }) {
    const key = (p) => `${fileOf(p)}\u0000${p.name}`;
    return html`<section class="page">
      <div class="page-head">
        <h1>Pipelines</h1>
        <div class="toolbar">
          <input type="search" class="search" placeholder="Search pipelines and files" value=${q} aria-label="search pipelines"
            onInput=${(e) => this.filter({ q: e.currentTarget.value })} />
          <label class="toggle"><input type="checkbox" checked=${failing} onChange=${(e) => this.filter({ failing: e.currentTarget.checked })} /> Failing first</label>
        </div>
      </div>
      ${flash && html`<div class="notice ok" role="status">${flash}</div>`}
      <${Notice} error=${error} title="The pipelines could not be listed" />
      ${pipelines === null && !error ? html`<${Loading} />` : null}
      ${pipelines && pipelines.length === 0 ? html`<${Empty}>${q ? html`No pipeline matches <b>${q}</b>.` : 'No pipelines are served.'}<//>` : null}
      ${pipelines && pipelines.length > 0 && html`<table class="grid pipelines">
        <thead><tr><th>Pipeline</th><th>Schedule</th><th>Next run</th><th>Last ${CELLS} runs</th><th>Last</th><th class="right">Actions</th></tr></thead>
        <tbody>
          ${pipelines.map((p) => {
            const last = (p.runs || [])[0];
            const open = form === key(p);
            return html`<tr class="pipeline-row" data-pipeline=${p.name}>
                <td class="name-cell">
                  <a class="name" href=${link(`/runs${query({ file: fileOf(p), pipeline: p.name })}`)}>${p.name}</a>
                  <div class="sub"><span class="file">${fileOf(p)}</span>${p.type ? html` · <span>${p.type}</span>` : null}${(p.depends_on || []).length ? html` · after ${p.depends_on.join(', ')}` : null}</div>
                </td>
                <td><${Schedule} pipeline=${p} /></td>
                <td>${p.schedule && p.schedule.next ? (isPaused(p) ? html`<span class="muted">paused</span>` : html`<${When} value=${p.schedule.next} />`) : html`<span class="muted">—</span>`}</td>
                <td><${RunCells} runs=${p.runs} /></td>
                <td>${last ? html`<${Badge} status=${last.status} />` : html`<span class="muted">never run</span>`}</td>
                <td class="right actions">
                  ${p.schedule ? html`<${ActionButton} name=${isPaused(p) ? 'unpause' : 'pause'} label=${isPaused(p) ? 'Unpause' : 'Pause'} action=${() => this.pause(p, isPaused(p))} />` : null}
                  <button type="button" class="btn primary" data-action="run-now" onClick=${() => this.setState({ form: open ? null : key(p), flash: null })}>Run now</button>
                </td>
              </tr>
              ${open && html`<tr class="form-row"><td colspan="6">
                <${ParamsForm} title=${`Run ${p.name} now`} declared=${p.params || []} onCancel=${() => this.setState({ form: null })} onSubmit=${(params) => this.start(p, params)} />
              </td></tr>`}`;
          })}
        </tbody>
      </table>`}
      ${pipelines && pipelines.length > 0 && html`<p class="legend" aria-label="legend">
        <span class="cell tone-ok"></span> succeeded <span class="cell tone-failed"></span> failed <span class="cell tone-running"></span> running
        <span class="cell tone-interrupted"></span> interrupted or cancelled <span class="cell tone-skipped"></span> skipped — newest on the right; hover a cell for its time, click it for the run.
      </p>`}
    </section>`;
  }
}
