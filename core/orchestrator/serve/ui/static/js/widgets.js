// Pieces every page uses: errors, empty states, a button that calls the API, a small toast.
import { html, Component } from './html.js';

export function Notice({ error, title = 'Something went wrong' }) {
  if (!error) return null;
  return html`<div class="notice error" role="alert"><strong>${title}</strong><span>${String(error.message || error)}</span></div>`;
}

export function Loading() {
  return html`<p class="loading">Loading…</p>`;
}

export function Empty({ children }) {
  return html`<div class="empty-state">${children}</div>`;
}

// A button whose click runs an async action: disabled while it runs, its error shown beside it.
export class ActionButton extends Component {
  constructor(props) {
    super(props);
    this.state = { busy: false, error: null, armed: false };
    this.click = this.click.bind(this);
  }

  async click() {
    if (this.props.confirm && !this.state.armed) {
      this.setState({ armed: true });
      return;
    }
    this.setState({ busy: true, error: null, armed: false });
    try {
      await this.props.action();
      this.setState({ busy: false });
    } catch (error) {
      this.setState({ busy: false, error });
    }
  }

  render({ label, kind = 'secondary', confirm, name }, { busy, error, armed }) {
    return html`<span class="action">
      <button type="button" class=${`btn ${armed ? 'danger' : kind}`} disabled=${busy} onClick=${this.click} data-action=${name}>
        ${busy ? '…' : armed ? confirm : label}
      </button>
      ${error && html`<span class="action-error" role="alert">${String(error.message || error)}</span>`}
    </span>`;
  }
}

// A declared default as the text a form field holds (a list as --param takes it: a,b,c).
function asText(value) {
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

// Key/value rows for a run's params: what `orchestrator run -p key=value` takes. The params the
// file declares (``declared``: name, default, type, secret) come pre-filled with their defaults;
// one left at its default is not sent, so the run gets the file's own value (a secret default,
// hidden here, included).
export class ParamsForm extends Component {
  constructor(props) {
    super(props);
    const declared = props.declared || [];
    this.defaults = new Map(declared.map((p) => [p.name, p.secret ? '' : asText(p.default)]));
    this.kinds = new Map(declared.map((p) => [p.name, p]));
    const rows = declared.map((p) => [p.name, this.defaults.get(p.name)]);
    this.state = { rows: rows.length ? rows : [['', '']], busy: false, error: null };
    this.submit = this.submit.bind(this);
  }

  async submit(event) {
    event.preventDefault();
    const params = {};
    for (const [key, value] of this.state.rows) {
      const name = key.trim();
      if (name && this.defaults.get(name) !== value) params[name] = value;
    }
    this.setState({ busy: true, error: null });
    try {
      await this.props.onSubmit(params);
      this.setState({ busy: false });
    } catch (error) {
      this.setState({ busy: false, error });
    }
  }

  set(index, column, value) {
    const rows = this.state.rows.map((row, i) => (i === index ? (column ? [row[0], value] : [value, row[1]]) : row));
    this.setState({ rows });
  }

  render({ title, onCancel }, { rows, busy, error }) {
    return html`<form class="params-form" onSubmit=${this.submit} aria-label=${title}>
      <div class="form-title">${title}</div>
      <div class="params">
        ${rows.map(([key, value], index) => html`<div class="param-row">
          <input name="param-key" placeholder="param" value=${key} onInput=${(e) => this.set(index, 0, e.currentTarget.value)} aria-label="param name" />
          <span class="eq">=</span>
          <input name="param-value" placeholder=${this.kinds.get(key)?.secret ? 'default (hidden)' : 'value'} value=${value} onInput=${(e) => this.set(index, 1, e.currentTarget.value)} aria-label="param value" />
          <span class="param-type muted">${this.kinds.get(key)?.type ?? ''}</span>
        </div>`)}
      </div>
      <div class="form-actions">
        <button type="button" class="btn link" onClick=${() => this.setState({ rows: [...rows, ['', '']] })}>+ param</button>
        <span class="grow"></span>
        <button type="button" class="btn secondary" onClick=${onCancel}>Close</button>
        <button type="submit" class="btn primary" disabled=${busy} data-action="start-run">${busy ? 'Starting…' : 'Start run'}</button>
      </div>
      ${error && html`<div class="action-error" role="alert">${String(error.message || error)}</div>`}
    </form>`;
  }
}
