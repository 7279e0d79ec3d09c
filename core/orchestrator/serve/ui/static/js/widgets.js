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

// Key/value rows for a run's params: what `orchestrator run -p key=value` takes.
export class ParamsForm extends Component {
  constructor(props) {
    super(props);
    this.state = { rows: [['', '']], busy: false, error: null };
    this.submit = this.submit.bind(this);
  }

  async submit(event) {
    event.preventDefault();
    const params = {};
    for (const [key, value] of this.state.rows) if (key.trim()) params[key.trim()] = value;
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
          <input name="param-value" placeholder="value" value=${value} onInput=${(e) => this.set(index, 1, e.currentTarget.value)} aria-label="param value" />
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
