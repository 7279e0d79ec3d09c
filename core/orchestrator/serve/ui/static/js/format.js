// How values read: statuses (a colour AND a word AND a glyph, never colour alone), durations,
// times, counts.
import { html } from './html.js';

const STATUSES = {
  succeeded: ['ok', 'succeeded', '✓'],
  success: ['ok', 'succeeded', '✓'],
  reused: ['reused', 'reused', '↺'],
  failed: ['failed', 'failed', '✕'],
  error: ['failed', 'failed', '✕'],
  running: ['running', 'running', '●'],
  started: ['running', 'running', '●'],
  starting: ['running', 'starting', '●'],
  retrying: ['retrying', 'retrying', '↻'],
  queued: ['queued', 'queued', '○'],
  pending: ['pending', 'pending', '○'],
  skipped: ['skipped', 'skipped', '–'],
  interrupted: ['interrupted', 'interrupted', '!'],
  cancelled: ['interrupted', 'cancelled', '!'],
  canceled: ['interrupted', 'cancelled', '!'],
};

export function statusOf(value) {
  const key = String(value || 'pending').toLowerCase();
  const [tone, label, glyph] = STATUSES[key] || ['pending', key, '○'];
  return { tone, label, glyph };
}

export function Badge({ status }) {
  const { tone, label, glyph } = statusOf(status);
  return html`<span class=${`badge tone-${tone}`}><span class="glyph" aria-hidden="true">${glyph}</span>${label}</span>`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '—';
  const s = Number(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

// Times come as epoch seconds or ISO text; shown in the viewer's zone.
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function seconds(value) {
  const date = toDate(value);
  return date ? date.getTime() / 1000 : null;
}

const pad = (n) => String(n).padStart(2, '0');

export function stamp(value) {
  const date = toDate(value);
  if (!date) return '—';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function ago(value) {
  const date = toDate(value);
  if (!date) return '—';
  const delta = (Date.now() - date.getTime()) / 1000;
  const future = delta < 0;
  const s = Math.abs(delta);
  let text;
  if (s < 45) text = `${Math.round(s)} s`;
  else if (s < 3600) text = `${Math.round(s / 60)} min`;
  else if (s < 86400) text = `${Math.round(s / 3600)} h`;
  else text = `${Math.round(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function When({ value }) {
  return html`<time datetime=${toDate(value)?.toISOString() ?? ''} title=${stamp(value)}>${ago(value)}</time>`;
}

export function count(value) {
  if (value === null || value === undefined) return '—';
  return Number(value).toLocaleString('en-US');
}

export function bytes(value) {
  if (value === null || value === undefined) return '—';
  let n = Number(value);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${n.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function number(value, digits = 2) {
  if (value === null || value === undefined) return '—';
  return Number(value).toFixed(digits);
}

export function shortId(runId) {
  const text = String(runId ?? '');
  return text.length > 22 ? `${text.slice(0, 10)}…${text.slice(-8)}` : text;
}
