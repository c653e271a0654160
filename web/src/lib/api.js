// A small client of muster's JSON API for the operators' pages: the bearer
// token of the session is kept in sessionStorage (gone when the tab
// closes), every error is thrown with the server's own message.

const KEY = 'muster.session';

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function saveSession(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export async function api(method, path, body, opts = {}) {
  const headers = {};
  const s = session();
  if (s && s.token) headers.Authorization = 'Bearer ' + s.token;
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string') {
      payload = body;
      headers['Content-Type'] = opts.contentType || 'application/json';
    } else {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
  }
  const resp = await fetch(path, { method, headers, body: payload, signal: opts.signal, credentials: 'same-origin' });
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!resp.ok) {
    const e = data && data.error ? data.error : { code: String(resp.status), message: resp.statusText };
    if (resp.status === 401 && s) saveSession(null);
    throw new APIError(resp.status, e.code, e.message || resp.statusText);
  }
  return data;
}

export async function login(name, password) {
  const r = await api('POST', '/api/login', { name, password });
  saveSession({ token: r.token });
  const me = await api('GET', '/api/whoami');
  saveSession({ token: r.token, user: me.name || me.user || name, role: me.role });
  return session();
}

export async function logout() {
  try {
    await api('POST', '/api/logout');
  } finally {
    saveSession(null);
  }
}

// events reads the server-sent events of /api/events with the session's
// token (EventSource cannot send an Authorization header), calling
// onEvent(kind, data) for each, and reconnects after a break. It returns
// a function that stops it.
export function events(onEvent, onState) {
  let stopped = false;
  let ctrl = null;
  let delay = 1000;
  const run = async () => {
    while (!stopped) {
      ctrl = new AbortController();
      try {
        const s = session();
        if (!s) return;
        const resp = await fetch('/api/events', { headers: { Authorization: 'Bearer ' + s.token }, signal: ctrl.signal });
        if (!resp.ok || !resp.body) throw new Error('events: ' + resp.status);
        onState && onState(true);
        delay = 1000;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let kind = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) kind = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (data) {
              let parsed = data;
              try {
                parsed = JSON.parse(data);
              } catch {
                /* a hint without JSON */
              }
              onEvent(kind, parsed);
            }
          }
        }
      } catch (e) {
        if (stopped) return;
      }
      onState && onState(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  };
  run();
  return () => {
    stopped = true;
    if (ctrl) ctrl.abort();
  };
}
