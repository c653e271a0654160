// The field page's outbox: every check-in, departure, arrival and gate
// count is first written to IndexedDB with an id made on the phone, then
// sent when there is a connection. The server records an id once
// (POST /api/checkin/sync and POST /api/field-events are idempotent by
// it), so a resend after a lost answer, a reload or a second tab never
// makes a duplicate. Nothing is dropped: an event leaves the queue only
// when the server has answered for it.

const DB = 'muster-field';
const STORE = 'events';

function req(r) {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

let dbp = null;
function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const r = indexedDB.open(DB, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'id' });
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  }
  return dbp;
}

async function tx(mode, fn) {
  const d = await db();
  const t = d.transaction(STORE, mode);
  const out = fn(t.objectStore(STORE));
  await new Promise((resolve, reject) => { t.oncomplete = resolve; t.onerror = () => reject(t.error); t.onabort = () => reject(t.error); });
  return out;
}

/** A new client id: random, so that two phones never make the same one. */
export function newID(prefix) {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** Adds an event: {id, type: "checkin"|"field", body, label}; state queued. */
export async function enqueue(ev) {
  const rec = { ...ev, state: 'queued', note: '', created: new Date().toISOString() };
  await tx('readwrite', (s) => s.put(rec));
  return rec;
}

export async function all() {
  const d = await db();
  const rows = await req(d.transaction(STORE).objectStore(STORE).getAll());
  return rows.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
}

async function update(rows) {
  if (rows.length) await tx('readwrite', (s) => rows.forEach((r) => s.put(r)));
}

/**
 * settle applies a sync answer to the queued check-ins it answers (pure:
 * tested without a browser). Outcomes are in request order.
 */
export function settleCheckins(rows, answer) {
  return rows.map((r, i) => {
    const o = (answer.outcomes || [])[i] || {};
    if (o.refused) return { ...r, state: 'refused', note: o.refused };
    if (o.duplicate) {
      const f = o.first || {};
      return { ...r, state: 'sent', note: `DUPLICATE: ${o.token_id} was checked in first at ${f.rally_point || '?'} by ${f.by || '?'} at ${f.at || '?'}` };
    }
    return { ...r, state: 'sent', note: o.token_id ? `recorded: ${o.token_id}` : 'recorded' };
  });
}

let flushing = null;

/**
 * Sends what is queued; one flush at a time. send(path, body) posts JSON
 * and returns {status, body}, throwing when there is no connection.
 * Returns {sent, left, error}.
 */
export function flush(send, device) {
  if (!flushing) flushing = doFlush(send, device).finally(() => { flushing = null; });
  return flushing;
}

async function doFlush(send, device) {
  const rows = (await all()).filter((r) => r.state === 'queued');
  let sent = 0;
  let error = '';
  const checkins = rows.filter((r) => r.type === 'checkin');
  if (checkins.length) {
    try {
      const r = await send('/api/checkin/sync', { device, checkins: checkins.map((c) => ({ id: c.id, ...c.body })) });
      if (r.status === 200) {
        await update(settleCheckins(checkins, r.body));
        sent += checkins.length;
      } else {
        error = `check-ins: the server answered ${r.status}${r.body && r.body.error ? ': ' + r.body.error.message : ''}`;
      }
    } catch (e) {
      error = `offline: ${e.message}`;
    }
  }
  const events = rows.filter((r) => r.type === 'field');
  if (events.length && !error.startsWith('offline')) {
    try {
      const r = await send('/api/field-events', { events: events.map((e) => ({ id: e.id, ...e.body })) });
      if (r.status >= 200 && r.status < 300) {
        await update(events.map((e) => ({ ...e, state: 'sent', note: 'recorded' })));
        sent += events.length;
      } else if (r.status === 404 || r.status === 405) {
        await update(events.map((e) => ({ ...e, note: 'kept on this phone: this server does not take field events yet' })));
      } else {
        error = `field events: the server answered ${r.status}${r.body && r.body.error ? ': ' + r.body.error.message : ''}`;
      }
    } catch (e) {
      error = `offline: ${e.message}`;
    }
  }
  const left = (await all()).filter((r) => r.state === 'queued').length;
  return { sent, left, error };
}
