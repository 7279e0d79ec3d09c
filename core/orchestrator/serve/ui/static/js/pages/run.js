// A run: its DAG coloured by state, updating live over server-sent events; under it each
// pipeline's phases, steps, timeline, errors and log lines; its dead letters; and the actions
// that fit its state (resume, cancel, replay dead letters), each a POST to the API.
import { html, Component } from '../html.js';
import { get, post, listen, throttle, query, link, segment } from '../api.js';
import { Badge, statusOf, duration, stamp, When, seconds, count } from '../format.js';
import { Notice, Loading, Empty, ActionButton } from '../widgets.js';
import { Dag, edgeEnds } from '../dag.js';
import { flowOrder } from '../layout.js';
import { PipelineDetail } from '../steps.js';

const PIPELINE_STATES = {
  pipeline_started: 'running',
  pipeline_retry: 'retrying',
  pipeline_skipped: 'skipped',
  pipeline_reused: 'reused',
};

function listOf(body, key) {
  if (Array.isArray(body)) return body;
  return (body && body[key]) || [];
}

// Whether an event seen live is newer than what the history returned (its writes are batched, so
// a read right after an event may not hold it yet).
function newer(seen, row) {
  const recorded = Math.max(seconds(row.finished) ?? 0, seconds(row.started) ?? 0);
  return seen.at > recorded;
}

const NONE = [];
// the sections a big run lists before "show all"
const FIRST = 30;
// a run of more pipelines is big: its sections start closed, and their steps are read as they open
const MANY = 20;

// Rows by their pipeline: each pipeline's section gets its own without scanning all of them.
function group(list) {
  const found = new Map();
  for (const item of list) {
    if (!found.has(item.pipeline)) found.set(item.pipeline, []);
    found.get(item.pipeline).push(item);
  }
  return found;
}

const nameOf = (pipeline) => pipeline.pipeline ?? pipeline.name;

// Anchors for pipeline names of any text: an index, never the name itself.
function anchors(names) {
  const map = new Map(names.map((name, index) => [name, `pipeline-${index + 1}`]));
  return (name) => map.get(name) || 'pipelines';
}

export class RunPage extends Component {
  constructor(props) {
    super(props);
    this.state = { detail: null, logs: [], parts: {}, letters: [], counts: [], live: { pipelines: {}, run: null }, error: null, flash: null, previous: null };
    // the sections of a big run whose steps were asked for
    this.opened = new Set();
    this.load = this.load.bind(this);
    this.refresh = throttle(this.load, 600);
    this.pending = [];
    this.flushing = null;
  }

  componentDidMount() {
    // the stream after the first read: its backlog (a big run's is thousands of events) would
    // otherwise compete with the read that draws the page
    this.load().then(() => this.follow());
    // a running run's duration counts up; and the history, which records a run's steps in
    // batches, is read again now and then even when no event came (a step can run for hours)
    let ticks = 0;
    this.ticker = setInterval(() => {
      if (!this.running) return;
      ticks += 1;
      if (ticks % 3 === 0) this.refresh();
      else this.forceUpdate();
    }, 1000);
  }

  componentWillUnmount() {
    if (this.stop) this.stop();
    clearInterval(this.ticker);
    clearTimeout(this.flushing);
  }

  // Follow the run's events until it ends (the server then closes the stream; the browser would
  // open it again and again) or the server stops; an action that continues the run follows it again.
  follow() {
    if (this.stop) this.stop();
    this.stop = listen(`/api/runs/${segment(this.props.runId)}/events`, (event) => {
      if (event.kind === 'end' || event.kind === 'server_stopping') {
        this.stop();
        this.stop = null;
      }
      this.event(event);
    });
  }

  // Events colour the DAG at once: gathered for a tenth of a second and applied together (a run's
  // stream may bring thousands at a time, the backlog of a big run), then the run is read again
  // (throttled) for the rest.
  event(event) {
    this.pending.push(event);
    if (!this.flushing) this.flushing = setTimeout(() => this.flush(), 100);
  }

  flush() {
    this.flushing = null;
    const events = this.pending;
    this.pending = [];
    const pipelines = { ...this.state.live.pipelines };
    let run = this.state.live.run;
    let changed = false;
    for (const event of events) {
      const at = Number(event.time) || Date.now() / 1000;
      let status = null;
      if (event.pipeline && PIPELINE_STATES[event.kind]) status = PIPELINE_STATES[event.kind];
      if (event.pipeline && event.kind === 'pipeline_finished') status = event.status || 'succeeded';
      if (status) {
        pipelines[event.pipeline] = { status, at };
        changed = true;
      }
      if (event.kind === 'run_started') run = { status: 'running', at };
      if (event.kind === 'run_finished' || event.kind === 'end') run = { status: event.status || 'succeeded', at };
      changed ||= run !== this.state.live.run;
    }
    if (changed) this.setState({ live: { pipelines, run } });
    this.refresh();
  }

  // The run without its steps first (a big run's are thousands of rows the page does not show):
  // the DAG and the pipelines' summaries. Then, for a small run, all its steps and log lines; for
  // a big one, those of the pipelines whose sections are open, one pipeline at a time.
  async load() {
    const id = segment(this.props.runId);
    try {
      const [light, letters] = await Promise.all([
        get(`/api/runs/${id}?steps=0`),
        get(`/api/runs/${id}/dead-letters`).catch(() => ({ counts: [], rows: [] })),
      ]);
      const big = (light.dag?.nodes || light.pipelines || []).length > MANY;
      const found = { letters: listOf(letters, 'rows'), counts: letters.counts || [], error: null };
      // the graph is drawn from the light answer; a small run's sections say "Loading…" until its
      // steps come (on a later read they keep the steps they have meanwhile)
      if (big || !this.state.detail) this.setState({ detail: light, ...found });
      if (big) {
        for (const p of light.pipelines || []) if (statusOf(p.status).tone === 'failed') this.opened.add(nameOf(p));
        await Promise.all([...this.opened].map((name) => this.loadPart(name)));
      } else {
        const [detail, logs] = await Promise.all([
          get(`/api/runs/${id}`),
          get(`/api/runs/${id}/logs`).catch(() => ({ lines: [] })),
        ]);
        this.setState({ detail, logs: listOf(logs, 'lines'), ...found });
      }
      if (!this.state.previous) this.findPrevious(light.run || light);
    } catch (error) {
      this.setState({ error });
    }
  }

  // One pipeline's phases, steps and log lines (a section of a big run, opened).
  async loadPart(name) {
    const id = segment(this.props.runId);
    const [part, logs] = await Promise.all([
      get(`/api/runs/${id}/pipelines/${segment(name)}`),
      get(`/api/runs/${id}/logs${query({ pipeline: name })}`).catch(() => ({ lines: [] })),
    ]);
    this.setState({ parts: { ...this.state.parts, [name]: { phases: part.phases || [], steps: part.steps || [], logs: listOf(logs, 'lines') } } });
  }

  // A section opened (by a click, or because its pipeline failed or was picked in the DAG).
  opening(name) {
    if (this.opened.has(name) || !this.state.detail || !this.big) return;
    this.opened.add(name);
    this.loadPart(name).catch((error) => this.setState({ error }));
  }

  // The run of the same file just before this one: what "diff with previous" compares against.
  async findPrevious(run) {
    const file = run.file ?? run.config;
    if (!file) return;
    try {
      const runs = listOf(await get(`/api/runs${query({ file, limit: 100 })}`), 'runs');
      const index = runs.findIndex((r) => r.run_id === run.run_id);
      const previous = index >= 0 ? runs[index + 1] : null;
      if (previous) this.setState({ previous: previous.run_id });
    } catch {
      // no link then; the page itself is unaffected
    }
  }

  async act(path, done) {
    const body = await post(`/api/runs/${segment(this.props.runId)}/${path}`);
    const runId = body && (body.run_id || body.run?.run_id);
    if (runId && runId !== this.props.runId) {
      location.assign(link(`/runs/${segment(runId)}`));
      return;
    }
    this.setState({ flash: done });
    this.follow();
    this.load();
  }

  // The pipelines in the order they run (column by column of the DAG), worked out once per graph.
  ordered(names, edges) {
    const key = JSON.stringify([names, edges]);
    if (key !== this.orderKey) {
      this.orderKey = key;
      this.order = flowOrder(names, edges.map(edgeEnds));
    }
    return this.order;
  }

  render({ runId }, { detail, logs, parts, letters, counts, live, error, flash, previous }) {
    if (!detail) return html`<section class="page"><${Notice} error=${error} title="This run could not be read" />${error ? null : html`<${Loading} />`}</section>`;
    const run = detail.run || detail;
    const pipelines = detail.pipelines || [];
    const phases = detail.phases || [];
    const attempts = detail.steps || [];
    const dag = detail.dag || {};
    const nodes = this.ordered((dag.nodes || pipelines.map(nameOf)).map((node) => (typeof node === 'string' ? node : node.name ?? node.id)), dag.edges || []);
    const states = {};
    const elapsed = {};
    for (const node of dag.nodes || []) if (typeof node === 'object') states[node.name ?? node.id] = node.status;
    for (const p of pipelines) {
      states[nameOf(p)] = p.status;
      elapsed[nameOf(p)] = p.elapsed;
    }
    const rows = new Map(pipelines.map((p) => [nameOf(p), p]));
    for (const [name, seen] of Object.entries(live.pipelines)) {
      const row = rows.get(name);
      if (!row || newer(seen, row)) states[name] = seen.status;
    }
    const status = live.run && newer(live.run, run) ? live.run.status : run.status;
    const tone = statusOf(status).tone;
    this.running = tone === 'running';
    const t0 = seconds(run.started) ?? Date.now() / 1000;
    let t1 = Math.max(seconds(run.finished) ?? 0, tone === 'running' ? Date.now() / 1000 : 0, t0 + 0.001);
    for (const a of attempts) t1 = Math.max(t1, seconds(a.finished) ?? 0);
    const anchor = anchors(nodes);
    const many = nodes.length > MANY;
    this.big = many;
    const byPhase = group(phases);
    const byAttempt = group(attempts);
    const byLog = group(logs);
    for (const [name, part] of Object.entries(parts)) {
      byPhase.set(name, part.phases);
      byAttempt.set(name, part.steps);
      byLog.set(name, part.logs);
      for (const a of part.steps) t1 = Math.max(t1, seconds(a.finished) ?? 0);
    }
    // a big run lists its failed and running pipelines, the first few others, and the one the DAG
    // was clicked on; the rest on request (a thousand sections help no reader, and cost time)
    const shown = many && !this.state.all
      ? nodes.filter((name, i) => i < FIRST || name === this.state.focus || ['failed', 'running'].includes(statusOf(states[name]).tone))
      : nodes;
    const rejected = counts.reduce((sum, c) => sum + (Number(c.rows) || 0), 0) || letters.length;
    const params = run.params && typeof run.params === 'object' ? Object.entries(run.params) : [];
    // a resumed run's time is its last resume's; its steps began at its first start. The history
    // says when it was resumed (a page opened after a quick resume ended never saw its events)
    const resumed = run.resumed != null || nodes.some((name) => states[name] === 'reused');
    return html`<section class="page run-page" data-status=${statusOf(status).label}>
      <div class="page-head">
        <div>
          <div class="crumbs"><a href=${link('/runs')}>Runs</a> / <a href=${link(`/runs${query({ file: run.file ?? run.config })}`)}>${run.file ?? run.config}</a></div>
          <h1 class="run-title"><${Badge} status=${status} /> <span class="mono">${runId}</span></h1>
          <div class="facts">
            <span>Started <${When} value=${run.started} /> <span class="muted">(${stamp(run.started)})</span></span>
            <span>Duration <b>${duration(run.elapsed ?? (tone === 'running' ? t1 - t0 : null))}</b>${resumed && tone !== 'running'
              ? html` <span class="muted">(its last resume; ${duration(t1 - t0)} since it first started)</span>` : null}</span>
            ${run.host ? html`<span>Host <b>${run.host}</b></span>` : null}
            ${params.map(([k, v]) => html`<code class="param">${k}=${typeof v === 'string' ? v : JSON.stringify(v)}</code>`)}
          </div>
        </div>
        <div class="toolbar actions">
          ${['failed', 'interrupted'].includes(tone) ? html`<${ActionButton} name="resume" kind="primary" label="Resume" action=${() => this.act('resume', 'Resume requested: the failed pipelines run again from their checkpoints.')} />` : null}
          ${tone === 'running' ? html`<${ActionButton} name="cancel" kind="danger-outline" label="Cancel run" confirm="Click again to cancel" action=${() => this.act('cancel', 'Cancel requested.')} />` : null}
          ${rejected > 0 && tone !== 'running' ? html`<${ActionButton} name="replay" label="Replay dead letters" action=${() => this.act('replay-dead-letters', 'Dead letters sent for replay.')} />` : null}
          <a class="btn secondary" href=${link(`/runs/${segment(runId)}/config`)}>Config</a>
          ${previous ? html`<a class="btn secondary" href=${link(`/runs/${segment(previous)}/diff/${segment(runId)}`)}>Diff with previous</a>` : null}
        </div>
      </div>
      ${flash && html`<div class="notice ok" role="status">${flash}</div>`}
      <${Notice} error=${error} title="The run could not be refreshed" />
      <h2>Pipelines</h2>
      <${Dag} nodes=${nodes} edges=${dag.edges || []} states=${states} elapsed=${elapsed} anchor=${anchor} onPick=${(name) => this.setState({ focus: name }, () => document.getElementById(anchor(name))?.scrollIntoView())} />
      <div class="details" id="pipelines">
        ${shown.map((name) => {
          const p = rows.get(name) || { pipeline: name };
          const failed = statusOf(states[name]).tone === 'failed';
          return html`<${PipelineDetail} key=${name} id=${anchor(name)} open=${!many || failed || name === this.state.focus}
            pipeline=${{ ...p, status: states[name] }} phases=${byPhase.get(name) || NONE}
            attempts=${byAttempt.get(name) || NONE} logs=${byLog.get(name) || NONE} span=${[t0, t1]}
            loading=${many ? !parts[name] : !detail.steps} onOpen=${() => this.opening(name)} />`;
        })}
        ${shown.length < nodes.length ? html`<button type="button" class="btn secondary show-all" onClick=${() => this.setState({ all: true })}>
          Show all ${count(nodes.length)} pipelines (${count(nodes.length - shown.length)} more)</button>` : null}
      </div>
      <h2>Dead letters <span class=${`count ${rejected ? 'bad' : ''}`}>${count(rejected)}</span></h2>
      ${letters.length === 0 ? html`<${Empty}>No rows were dead-lettered in this run.<//>` : html`<table class="grid letters">
        <thead><tr><th>Pipeline</th><th>Step</th><th class="right">Row #</th><th>Reason</th><th>Row</th></tr></thead>
        <tbody>${letters.map((letter) => html`<tr class="letter-row">
          <td>${letter.pipeline ?? ''}</td>
          <td><div class="step-name">${letter.step ?? ''}</div><div class="sub">${letter.phase ?? ''}${letter.plugin ? ` · ${letter.plugin}` : ''}</div></td>
          <td class="right num">${letter.position ?? ''}</td>
          <td class="reason">${letter.error ?? letter.reason ?? ''}</td>
          <td><code class="row-data">${JSON.stringify(letter.row ?? null)}</code></td>
        </tr>`)}</tbody>
      </table>`}
      ${letters.length > 0 && letters.length < rejected ? html`<p class="muted">The first ${count(letters.length)} of ${count(rejected)} rows.</p>` : null}
    </section>`;
  }
}
