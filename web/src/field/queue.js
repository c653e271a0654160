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

/**
 * settleEvents applies a POST /api/field-events answer to the events it
 * answers (pure). Outcomes carry each event's id.
 */
export function settleEvents(rows, answer) {
  const byID = new Map((answer.outcomes || []).map((o) => [o.id, o]));
  return rows.map((r) => {
    const o = byID.get(r.id);
    if (!o) return r; // not answered: stays queued
    const flags = o.flags && o.flags.length ? ` (flagged: ${o.flags.join(', ')})` : '';
    if (o.outcome === 'refused') return { ...r, state: 'refused', note: o.reason || 'refused' };
    if (o.outcome === 'duplicate') return { ...r, state: 'sent', note: `already recorded${flags}` };
    return { ...r, state: 'sent', note: `recorded${flags}` };
  });
}

/** The field event a queued check-in is (kind checkin, with its signed token). */
export function checkinEvent(r) {
  const ev = { id: r.id, kind: 'checkin', at: r.body.at, token: r.body.token, rally_point: r.body.rally_point };
  const o = r.body.other_rally;
  // Admitted at another rally point than its instruction's: the officer's
  // reason goes with the event, for the operators.
  if (o) ev.note = `admitted at ${r.body.rally_point}, its instruction naming ${o.instructed}: ${o.reason}`.slice(0, 2000);
  return ev;
}

let flushing = null;

/**
 * Sends what is queued; one flush at a time. send(path, body) posts JSON
 * and returns {status, body}, throwing when there is no connection.
 * Returns {sent, left, error}.
 *
 * Everything goes to POST /api/field-events, check-ins included (a
 * check-in event spends its token there, and the operations map sees
 * it). A server without that endpoint (404) records nothing of the batch;
 * then check-ins go to POST /api/checkin/sync and the other events stay
 * on the phone. Never both for one check-in: it would be spent twice.
 */
export function flush(send, device) {
  if (!flushing) flushing = doFlush(send, device).finally(() => { flushing = null; });
  return flushing;
}

function why(what, r) {
  return `${what}: the server answered ${r.status}${r.body && r.body.error ? ': ' + r.body.error.message : ''}`;
}

async function doFlush(send, device) {
  const rows = (await all()).filter((r) => r.state === 'queued');
  let sent = 0;
  let error = '';
  if (!rows.length) return { sent, left: 0, error };
  const checkins = rows.filter((r) => r.type === 'checkin');
  const events = rows.filter((r) => r.type === 'field');
  try {
    const r = await send('/api/field-events', { events: rows.map((e) => (e.type === 'checkin' ? checkinEvent(e) : { id: e.id, ...e.body })) });
    if (r.status === 200) {
      await update(settleEvents(rows, r.body));
      sent += rows.length;
    } else if (r.status === 404 || r.status === 405) {
      if (checkins.length) {
        const c = await send('/api/checkin/sync', { device, checkins: checkins.map((x) => ({ id: x.id, token: x.body.token, rally_point: x.body.rally_point, by: x.body.by, at: x.body.at })) });
        if (c.status === 200) {
          await update(settleCheckins(checkins, c.body));
          sent += checkins.length;
        } else {
          error = why('check-ins', c);
        }
      }
      await update(events.map((e) => ({ ...e, note: 'kept on this phone: this server does not take field events yet' })));
    } else {
      error = why('field events', r);
    }
  } catch (e) {
    error = `offline: ${e.message}`;
  }
  const left = (await all()).filter((r) => r.state === 'queued').length;
  return { sent, left, error };
}
