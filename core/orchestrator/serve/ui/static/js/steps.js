// Under each pipeline of a run: its phases, then its steps with a timeline (one Gantt bar per
// attempt, on the run's time scale), rows in and out, retries, duration, resource use when the
// history has it, the error of a failed step and the step's log lines.
import { html, Component } from './html.js';
import { Badge, statusOf, duration, count, bytes, number, seconds, stamp } from './format.js';

// Resource columns (the history's usage columns: CPU seconds, peak RSS in bytes, estimated cost),
// shown only when some step attempt carries them.
const RESOURCES = [
  ['cpu', 'CPU', (v) => `${number(v)} s`],
  ['rss', 'Peak RSS', bytes],
  ['cost', 'Cost', (v) => number(v, 4)],
];

// The attempts of a pipeline grouped into steps, in the order they first started.
export function stepsOf(attempts) {
  const steps = new Map();
  for (const attempt of attempts) {
    const key = attempt.step;
    if (!steps.has(key)) steps.set(key, { step: attempt.step, phase: attempt.phase, plugin: attempt.plugin, attempts: [] });
    steps.get(key).attempts.push(attempt);
  }
  for (const step of steps.values()) {
    step.attempts.sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0));
    const last = step.attempts[step.attempts.length - 1];
    step.status = last.status;
    step.rows = last.rows;
    step.rows_in = last.rows_in;
    step.rejected = last.rejected;
    // the error of the step's end; errors of attempts it got past are notes
    step.error = statusOf(last.status).tone === 'failed' ? last.error ?? null : null;
    step.earlier = step.attempts.filter((a) => a !== last && a.error).map((a) => `attempt ${a.attempt ?? 1}: ${a.error}`);
    // a running attempt has no elapsed yet: it counts up to now
    const now = Date.now() / 1000;
    step.elapsed = step.attempts.reduce((sum, a) => sum + (a.elapsed != null ? Number(a.elapsed) : a.finished == null && a.started != null ? Math.max(0, now - seconds(a.started)) : 0), 0);
    for (const [key] of RESOURCES) {
      const values = step.attempts.map((a) => a[key]).filter((v) => v !== null && v !== undefined);
      step[key] = values.length ? (key === 'rss' ? Math.max(...values) : values.reduce((s, v) => s + Number(v), 0)) : null;
    }
  }
  return [...steps.values()];
}

function Bars({ step, span }) {
  const [t0, t1] = span;
  const total = Math.max(t1 - t0, 0.001);
  return html`<div class="track">${step.attempts.map((attempt) => {
    const start = seconds(attempt.started) ?? t0;
    const end = seconds(attempt.finished) ?? (attempt.elapsed != null ? start + Number(attempt.elapsed) : t1);
    const left = Math.min(100, ((start - t0) / total) * 100);
    const size = Math.max(0.6, Math.min(100 - left, ((end - start) / total) * 100));
    const { tone, label } = statusOf(attempt.status);
    const text = `attempt ${attempt.attempt ?? 1}: ${label}, ${duration(end - start)}, from ${stamp(attempt.started)}`;
    return html`<span class=${`bar tone-${tone}`} style=${{ left: `${left}%`, width: `${size}%` }} title=${text} aria-label=${text}></span>`;
  })}</div>`;
}

// The pipeline's error when it says something its steps do not: the engine words a step's
// failure as "step 'x' (plugin) failed: <the step's error>", and that step's row already says
// it, under the step. A pipeline's own message (a timeout, why it was skipped) stays, and so
// does every message while the steps are not read yet.
function ownError(error, steps) {
  if (!error) return null;
  const repeats = (step) => step.error && (error === step.error
    || (error.startsWith('step ') && error.includes(step.step) && error.endsWith(` failed: ${step.error}`)));
  return steps.some(repeats) ? null : error;
}

function LogLines({ lines }) {
  return html`<ol class="log">${lines.map((line) => html`<li class=${`log-line level-${String(line.level || 'info').toLowerCase()}`}>
    <span class="log-time">${stamp(line.time).slice(11)}</span>
    <span class="log-level">${String(line.level || 'info').toUpperCase()}</span>
    <span class="log-message">${line.message ?? line.line ?? ''}</span>
  </li>`)}</ol>`;
}

// A pipeline's section; its body is rendered only while it is open, so a run of a thousand
// pipelines (whose sections start closed) costs a thousand summaries, not a thousand tables.
export class PipelineDetail extends Component {
  constructor(props) {
    super(props);
    this.state = { open: props.open };
    this.toggle = (event) => {
      const open = event.currentTarget.open;
      this.setState({ open });
      if (open && this.props.onOpen) this.props.onOpen();
    };
  }

  componentDidMount() {
    if (this.state.open && this.props.onOpen) this.props.onOpen();
  }

  componentDidUpdate(previous) {
    if (this.props.open && !previous.open && !this.state.open) { // it failed meanwhile, or was picked in the DAG
      this.setState({ open: true });
      if (this.props.onOpen) this.props.onOpen();
    }
  }

  render({ pipeline, phases, attempts, logs, span, id, loading }, { open }) {
    const steps = stepsOf(attempts);
    // a closed section of a big run has not read its steps: the run's answer counted them
    const stepCount = Math.max(steps.length, Number(pipeline.step_count) || 0);
    const resources = RESOURCES.filter(([key]) => attempts.some((a) => a[key] !== null && a[key] !== undefined));
    const name = pipeline.pipeline ?? pipeline.name;
    const retries = Math.max(0, (pipeline.attempts ?? 1) - 1);
    const loose = logs.filter((line) => !line.step || !steps.some((s) => s.step === line.step));
    const columns = 7 + resources.length;
    const message = ownError(pipeline.error, steps);
    // what is still running counts up, as its steps and the run do
    const took = (row) => row.elapsed ?? (statusOf(row.status).tone === 'running' && row.started != null ? Math.max(0, Date.now() / 1000 - seconds(row.started)) : null);
    return html`<details class="pipeline-detail" id=${id} open=${open} data-pipeline=${name} onToggle=${this.toggle}>
      <summary>
        <${Badge} status=${pipeline.status} />
        <span class="pipeline-name">${name}</span>
        <span class="meta">${duration(took(pipeline))}${retries ? ` · ${retries} ${retries === 1 ? 'retry' : 'retries'}` : ''} · ${count(stepCount)} ${stepCount === 1 ? 'step' : 'steps'}</span>
      </summary>
      ${open && html`<div class="pipeline-body">
      ${message && html`<pre class=${statusOf(pipeline.status).tone === 'failed' ? 'error-text' : 'note-text'}>${message}</pre>`}
      ${phases.length > 0 && html`<div class="phases">${phases.map((phase) => {
        const { tone, label, glyph } = statusOf(phase.status);
        return html`<span class=${`phase tone-${tone}`} title=${`${phase.phase}: ${label}`}><span aria-hidden="true">${glyph}</span> ${phase.phase} <span class="muted">${duration(took(phase))}</span></span>`;
      })}</div>`}
      ${loading ? html`<p class="loading">Loading…</p>` : steps.length === 0 ? html`<p class="muted">No step has run.</p>` : html`<table class="grid steps">
        <colgroup><col class="c-step" /><col class="c-status" /><col class="c-tries" /><col class="c-rows" /><col class="c-rejected" /><col class="c-duration" />${resources.map(() => html`<col class="c-resource" />`)}<col /></colgroup>
        <thead><tr>
          <th>Step</th><th>Status</th><th class="right">Tries</th><th class="right">Rows in → out</th><th class="right">Rejected</th><th class="right">Duration</th>
          ${resources.map(([, title]) => html`<th class="right">${title}</th>`)}
          <th class="timeline-head">Timeline <span class="scale">0 – ${duration(span[1] - span[0])}</span></th>
        </tr></thead>
        <tbody>${steps.map((step) => {
          const stepLogs = logs.filter((line) => line.step === step.step);
          const failed = statusOf(step.status).tone === 'failed';
          return html`<tr class="step-row" data-step=${step.step}>
              <td><div class="step-name">${step.step}</div><div class="sub">${step.phase}${step.plugin ? ` · ${step.plugin}` : ''}</div></td>
              <td><${Badge} status=${step.status} /></td>
              <td class="right num">${step.attempts.length}</td>
              <td class="right num">${step.rows_in != null ? `${count(step.rows_in)} → ` : ''}${count(step.rows)}</td>
              <td class="right num">${step.rejected ? count(step.rejected) : html`<span class="muted">0</span>`}</td>
              <td class="right num">${duration(step.elapsed)}</td>
              ${resources.map(([key, , show]) => html`<td class="right num">${step[key] == null ? '—' : show(step[key])}</td>`)}
              <td class="timeline"><${Bars} step=${step} span=${span} /></td>
            </tr>
            ${step.error && html`<tr class="step-error"><td colspan=${columns}><pre class="error-text">${step.error}</pre></td></tr>`}
            ${step.earlier.length > 0 && html`<tr class="step-error earlier"><td colspan=${columns}><pre class="note-text">${step.earlier.join('\n')}</pre></td></tr>`}
            ${stepLogs.length > 0 && html`<tr class="step-logs"><td colspan=${columns}>
              <details open=${failed}><summary>${stepLogs.length} log ${stepLogs.length === 1 ? 'line' : 'lines'}</summary><${LogLines} lines=${stepLogs} /></details>
            </td></tr>`}`;
        })}</tbody>
      </table>`}
      ${loose.length > 0 && html`<details class="loose-logs"><summary>${loose.length} other log ${loose.length === 1 ? 'line' : 'lines'}</summary><${LogLines} lines=${loose} /></details>`}
      </div>`}
    </details>`;
  }
}
