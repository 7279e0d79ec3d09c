// The only way the UI reaches the server: the JSON API under /api/ (the same any other system
// uses) and its server-sent events.

// Where the UI lives: this module is served at <root>/static/js/api.js, so a reverse proxy that
// mounts the server under a prefix needs no setting here.
export const ROOT = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');

export function link(path) {
  return ROOT + path;
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status);
  }
  return body;
}

export async function get(path) {
  return parse(await fetch(link(path), { headers: { Accept: 'application/json' } }));
}

// Every state-changing call is a POST with this header: a cross-site form cannot set it, and a
// cross-site script cannot send it without the server's CORS consent, which it never gives.
export async function post(path, payload = {}) {
  const response = await fetch(link(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Orchestrator-Request': '1' },
    body: JSON.stringify(payload),
  });
  return parse(response);
}

// Server-sent events: ``onEvent`` gets each message's event dict. Returns the function that stops
// listening. The browser reconnects by itself when the stream drops.
export function listen(path, onEvent) {
  const source = new EventSource(link(path));
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    onEvent(event);
  };
  window.addEventListener('pagehide', () => source.close(), { once: true });
  return () => source.close();
}

// At most one call of ``fn`` per ``wait`` ms, the last call always made: many events, few reloads.
export function throttle(fn, wait) {
  let timer = null;
  let last = 0;
  const fire = () => {
    timer = null;
    last = Date.now();
    fn();
  };
  return () => {
    if (timer) return; // the call already due will read the newest state
    const due = Math.max(0, wait - (Date.now() - last));
    timer = setTimeout(fire, due);
  };
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '' && value !== false) search.set(key, value === true ? '1' : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const segment = encodeURIComponent;
