// The field page (/field), for field officers on a phone at a rally point
// or a gate: scan or type an instruction's code, verify it on the phone
// against the deployment's signed bundle, check the household in, mark a
// group departed or arrived, count people through a gate. It works with no
// connection: the service worker (sw.js) keeps the page, the bundle is
// kept on the phone, and events wait in IndexedDB (queue.js) until they
// can be sent. docs/web.md, "Evacuee and field pages".

import './field.css';
import jsQR from 'jsqr';
import { h } from '../evacuee/dom.js';
import { verifyToken, verdictHeadline, bundleAge } from '../lib/verify.js';
import { loadBundle, pins, setPins } from '../lib/verify-store.js';
import { enqueue, flush, all, newID } from './queue.js';

const app = document.getElementById('app');
const net = document.getElementById('net');
const who = document.getElementById('who');
const store = localStorage;
const SESSION = 'muster.field.session';
const SETTINGS = 'muster.field.settings';

let session = JSON.parse(store.getItem(SESSION) || 'null');
const settings = { rallyPoint: '', gate: '', device: '', ...JSON.parse(store.getItem(SETTINGS) || '{}') };
if (!settings.device) { settings.device = newID('phone'); saveSettings(); }
function saveSettings() { store.setItem(SETTINGS, JSON.stringify(settings)); }

let bundleState = { bundle: null, warning: 'not loaded yet' };

async function api(path, body, method = 'POST') {
  const headers = { 'Content-Type': 'application/json' };
  if (session) headers.Authorization = `Bearer ${session.token}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const text = await r.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { parsed = { raw: text }; }
  if (r.status === 401 && path !== '/api/login') { session = null; store.removeItem(SESSION); render(); }
  return { status: r.status, body: parsed };
}

async function fetchBundle() {
  const r = await fetch('/api/bundle', { cache: 'no-store' });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function refreshBundle() {
  bundleState = await loadBundle(store, fetchBundle);
  const el = document.getElementById('bundle');
  if (el) el.replaceChildren(...bundleLines().filter(Boolean));
}

function bundleLines() {
  const b = bundleState.bundle;
  if (!b) return [h('span', { class: 'bad' }, `No bundle to verify with: ${bundleState.warning}`)];
  const ageS = Math.floor(Date.now() / 1000 - b.asOf);
  return [
    h('span', {}, `Bundle of ${b.deployment}, as of ${new Date(b.asOf * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC (${Math.round(ageS / 60)} min old), ${b.statuses.size} changed instructions, ${bundleState.source === 'held' ? 'held on this phone' : 'fresh'}.`),
    bundleState.firstUse ? h('span', { class: 'warn' }, ' Trusted on first use: compare the fingerprint with the one you were given.') : null,
    ageS > 86400 ? h('span', { class: 'warn' }, ' Older than a day: revocations since are not known.') : null,
    bundleState.warning ? h('span', { class: 'warn' }, ` ${bundleState.warning}`) : null,
    h('small', { class: 'fp' }, ` Pinned: ${pins(store).map((f) => f.slice(0, 16)).join(', ')}`),
  ];
}

function setNet() {
  net.textContent = navigator.onLine ? 'online' : 'OFFLINE: events are kept and sent later';
  net.className = navigator.onLine ? 'ok' : 'bad';
}

async function sendQueued() {
  if (!session) return;
  const r = await flush(async (path, body) => api(path, body), settings.device);
  await renderQueue();
  return r;
}

// ---- login ------------------------------------------------------------

function loginView() {
  const name = h('input', { id: 'name', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('p', { role: 'alert' });
  const form = h('form', { class: 'card' },
    h('h1', {}, 'Field officer sign-in'),
    h('label', { for: 'name' }, 'Name'), name,
    h('label', { for: 'password' }, 'Password'), password,
    h('button', { type: 'submit' }, 'Sign in'), msg);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api('/api/login', { name: name.value, password: password.value });
      if (r.status !== 200) { msg.textContent = (r.body.error && r.body.error.message) || `refused (${r.status})`; return; }
      session = { token: r.body.token, user: r.body.user, role: r.body.role, expires: r.body.expires_at };
      store.setItem(SESSION, JSON.stringify(session));
      render();
      sendQueued();
    } catch (err) {
      msg.textContent = `No connection: sign in once online; afterwards this page works offline (${err.message}).`;
    }
  });
  return form;
}

// ---- scan and verify ----------------------------------------------------

let stream = null;
function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
}

function scanView() {
  const code = h('textarea', { id: 'code', rows: 3, spellcheck: 'false', autocapitalize: 'characters', placeholder: 'MU1:…' });
  const verdict = h('div', { id: 'verdict', class: 'verdict', 'aria-live': 'polite' });
  const video = h('video', { id: 'camera', playsinline: true, muted: true, hidden: true });
  const canvas = h('canvas', { hidden: true });
  const check = async (token) => {
    code.value = token;
    verdict.replaceChildren('Verifying…');
    const v = await verifyToken(token, bundleState.bundle);
    const first = v.status === 'current' ? await firstCheckin(token, v.claims.tokenId) : null;
    showVerdict(verdict, token, v, first);
  };
  const scan = async () => {
    if (stream) { stopCamera(); video.hidden = true; return; }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    } catch (e) {
      verdict.replaceChildren(`No camera (${e.message}): type the code instead.`);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const tick = () => {
      if (!stream) return;
      if (video.readyState >= 2 && video.videoWidth) {
        // Scan a downscaled frame: jsQR's time grows with the pixels.
        const scale = Math.min(1, 640 / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const qr = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
        if (qr && qr.data.startsWith('MU1:')) {
          stopCamera();
          video.hidden = true;
          check(qr.data);
          return;
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  return h('section', { class: 'card' },
    h('h2', {}, 'Check an instruction'),
    h('button', { type: 'button', id: 'scan', onclick: scan }, 'Scan QR code'),
    video, canvas,
    h('label', { for: 'code' }, 'or type or paste its code'), code,
    h('button', { type: 'button', id: 'verify', onclick: () => check(code.value) }, 'Verify'),
    verdict);
}

// firstCheckin returns where and when a token was checked in already, or
// null: by this phone (its queue, sent or not), else, when online, by
// anyone (the server's check-ins). A copy of a token shown a second time
// is not checked in again: the second scan is refused on the spot, not
// only flagged later by the server. Offline, another phone's check-in is
// not known here; the server flags it when the events arrive.
async function firstCheckin(token, tokenId) {
  const t = token.trim();
  const mine = (await all()).find((r) => r.type === 'checkin' && r.state !== 'refused' && r.body.token.trim() === t);
  if (mine) return { rallyPoint: mine.body.rally_point, by: mine.body.by, at: mine.body.at, here: true };
  if (!navigator.onLine || !session) return null;
  try {
    const ask = api(`/api/checkins?token=${encodeURIComponent(tokenId)}`, undefined, 'GET');
    const late = new Promise((resolve) => setTimeout(() => resolve(null), 5000));
    const r = await Promise.race([ask, late]);
    const c = r && r.status === 200 && r.body.checkins && r.body.checkins[0];
    return c ? { rallyPoint: c.rally_point, by: c.by, at: c.at, here: false } : null;
  } catch {
    return null; // no connection after all: the server flags a second check-in
  }
}

function showVerdict(box, token, v, first) {
  const c = v.claims;
  box.className = `verdict ${v.status}${first ? ' spent' : ''}`;
  box.dataset.status = v.status;
  const lines = [h('strong', { class: 'headline' }, verdictHeadline(v)), v.reason ? h('p', {}, v.reason) : null];
  if (c) {
    lines.push(h('dl', {},
      h('dt', {}, 'Household'), h('dd', { id: 'v-household' }, c.household),
      h('dt', {}, 'Token'), h('dd', {}, `${c.tokenId}`),
      h('dt', {}, 'People'), h('dd', { id: 'v-people' }, String(c.people)),
      h('dt', {}, 'Group'), h('dd', { id: 'v-group' }, c.group || '–'),
      h('dt', {}, 'Rally point'), h('dd', { id: 'v-rally-point' }, c.rallyPoint || '–'),
      c.reportFrom ? [h('dt', {}, 'Window'), h('dd', {}, `${new Date(c.reportFrom * 1000).toISOString().slice(11, 16)}–${new Date(c.reportBy * 1000).toISOString().slice(11, 16)} UTC`)] : null));
    if (elsewhere(c)) {
      lines.push(h('p', { class: 'warn', id: 'v-elsewhere' }, `This household belongs at ${c.rallyPoint}, not ${settings.rallyPoint}: send it there.`));
    }
  }
  for (const w of v.warnings || []) lines.push(h('p', { class: 'warn' }, w));
  lines.push(h('small', {}, bundleAge(v)));
  box.dataset.checkedIn = first ? 'yes' : 'no';
  if (first) {
    lines.push(h('p', { id: 'v-already', class: 'bad', role: 'alert' },
      `ALREADY CHECKED IN at ${first.rallyPoint} by ${first.by} at ${String(first.at).slice(11, 16)} UTC${first.here ? ' (on this phone)' : ''}: not checked in again. A second person showing this code has a copy.`));
  } else if (v.status === 'current') {
    // At another rally point than its instruction's, a token is not
    // checked in on a tap: a copy shown here first would spend it, and
    // the household it was issued to would be turned away at its own.
    // The officer who must admit it here says why (sent with the event).
    const other = elsewhere(c);
    const reason = other ? h('input', { id: 'other-rally-reason', maxlength: 300, autocomplete: 'off' }) : null;
    const btn = other
      ? h('button', { type: 'button', id: 'admit-other', class: 'warn', disabled: true }, `Admit ${c.household} here anyway (${c.people} people)`)
      : h('button', { type: 'button', id: 'checkin', class: 'go' }, `Check in ${c.household} (${c.people} people)`);
    if (reason) reason.addEventListener('input', () => { btn.disabled = !reason.value.trim(); });
    btn.addEventListener('click', async () => {
      if (!settings.rallyPoint) { alertBox(box, 'Set this rally point first (below).'); return; }
      if (reason && !reason.value.trim()) { alertBox(box, 'Say why it is admitted here, not at its own rally point.'); return; }
      btn.disabled = true;
      const body = { token: token.trim(), rally_point: settings.rallyPoint, by: session.user, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
      if (reason) body.other_rally = { instructed: c.rallyPoint, reason: reason.value.trim() };
      await enqueue({ id: newID('ci'), type: 'checkin', label: `check-in ${c.tokenId} at ${settings.rallyPoint}${reason ? ` (belongs at ${c.rallyPoint})` : ''}`, body });
      btn.textContent = navigator.onLine ? 'Checked in: sending…' : 'Checked in on this phone: will be sent when online';
      await renderQueue();
      sendQueued();
    });
    if (reason) lines.push(h('label', { for: 'other-rally-reason' }, `To admit it here anyway, say why (${c.rallyPoint} overrun, say)`), reason);
    lines.push(btn);
  }
  box.replaceChildren(...lines.filter(Boolean));
}

// elsewhere reports whether a token's instruction names another rally
// point than the one this phone is at.
function elsewhere(c) { return !!(settings.rallyPoint && c.rallyPoint && c.rallyPoint !== settings.rallyPoint); }

function alertBox(box, text) { box.append(h('p', { role: 'alert', class: 'bad' }, text)); }

// ---- groups and gates -------------------------------------------------

function now() { return new Date().toISOString().replace(/\.\d+Z$/, 'Z'); }

function groupView() {
  const group = h('input', { id: 'group', autocapitalize: 'characters' });
  const people = h('input', { id: 'group-people', type: 'number', min: 0, inputmode: 'numeric' });
  const msg = h('p', { 'aria-live': 'polite' });
  const mark = async (kind) => {
    if (!group.value.trim()) { msg.textContent = 'Which group?'; return; }
    const body = { kind, at: now(), group: group.value.trim() };
    if (kind === 'departed') { body.rally_point = settings.rallyPoint; body.people = Number(people.value) || 0; }
    if (kind === 'arrived') body.gate = settings.gate;
    await enqueue({ id: newID(kind), type: 'field', label: `${kind} ${body.group}`, body });
    msg.textContent = `${body.group} ${kind}: kept, and sent when possible.`;
    await renderQueue();
    sendQueued();
  };
  return h('section', { class: 'card' }, h('h2', {}, 'Groups'),
    h('label', { for: 'group' }, 'Group (its id, as on the escort’s brief)'), group,
    h('label', { for: 'group-people' }, 'People leaving'), people,
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'departed', onclick: () => mark('departed') }, 'Departed'),
      h('button', { type: 'button', id: 'arrived', onclick: () => mark('arrived') }, 'Arrived at gate')),
    msg);
}

function gateView() {
  let count = 0;
  let since = now();
  const shown = h('output', { id: 'gate-count', class: 'count' }, '0');
  const msg = h('p', { 'aria-live': 'polite' });
  const set = (n) => { count = Math.max(0, n); shown.textContent = String(count); };
  const send = async () => {
    if (!settings.gate) { msg.textContent = 'Set the gate first (below).'; return; }
    const at = now();
    if (at <= since) { msg.textContent = 'Wait a second between counts.'; return; }
    await enqueue({ id: newID('gc'), type: 'field', label: `${count} through ${settings.gate}`, body: { kind: 'gate_count', gate: settings.gate, since, at, people: count } });
    msg.textContent = `${count} people through ${settings.gate} since ${since.slice(11, 16)}: kept, and sent when possible.`;
    since = at;
    set(0);
    await renderQueue();
    sendQueued();
  };
  return h('section', { class: 'card' }, h('h2', {}, 'Count through the gate'),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'minus', 'aria-label': 'one fewer', onclick: () => set(count - 1) }, '−1'),
      shown,
      h('button', { type: 'button', id: 'plus', class: 'big', 'aria-label': 'one more person', onclick: () => set(count + 1) }, '+1')),
    h('button', { type: 'button', id: 'send-count', onclick: send }, 'Send this count'), msg);
}

function settingsView() {
  const rp = h('input', { id: 'rally-point', value: settings.rallyPoint, autocapitalize: 'characters' });
  const gate = h('input', { id: 'gate', value: settings.gate, autocapitalize: 'characters' });
  const fp = h('input', { id: 'fingerprint', placeholder: '64 hex digits', spellcheck: 'false' });
  rp.addEventListener('change', () => { settings.rallyPoint = rp.value.trim(); saveSettings(); });
  gate.addEventListener('change', () => { settings.gate = gate.value.trim(); saveSettings(); });
  const pin = async () => {
    const v = fp.value.replace(/[ :]/g, '');
    if (!/^[0-9a-fA-F]{64}$/.test(v)) { fp.setCustomValidity('64 hex digits'); fp.reportValidity(); return; }
    fp.setCustomValidity('');
    setPins(store, [v]);
    await refreshBundle();
  };
  return h('section', { class: 'card' }, h('h2', {}, 'This post'),
    h('label', { for: 'rally-point' }, 'Rally point (its id)'), rp,
    h('label', { for: 'gate' }, 'Gate (its id)'), gate,
    h('p', { id: 'bundle' }, ...bundleLines()),
    h('button', { type: 'button', onclick: refreshBundle }, 'Refresh the bundle'),
    h('details', {}, h('summary', {}, 'Pin the deployment’s fingerprint'),
      h('label', { for: 'fingerprint' }, 'The fingerprint you were given (muster keys init printed it)'), fp,
      h('button', { type: 'button', onclick: pin }, 'Pin')),
    h('p', {}, h('small', {}, `Device ${settings.device}`)),
    h('button', { type: 'button', class: 'quiet', onclick: () => { session = null; store.removeItem(SESSION); render(); } }, 'Sign out'));
}

async function renderQueue() {
  const el = document.getElementById('queue');
  if (!el) return;
  const rows = await all();
  const waiting = rows.filter((r) => r.state === 'queued').length;
  el.replaceChildren(
    h('h2', {}, 'Sent and waiting'),
    h('p', { id: 'queue-count' }, waiting ? `${waiting} waiting to be sent` : 'Nothing waiting'),
    h('button', { type: 'button', id: 'send-now', onclick: sendQueued }, 'Send now'),
    h('ol', { reversed: true }, ...rows.slice(-20).reverse().map((r) => h('li', { class: r.state, 'data-id': r.id },
      `${r.created.slice(11, 19)} ${r.label}: ${r.state}${r.note ? ' – ' + r.note : ''}`))));
}

function render() {
  stopCamera();
  who.textContent = session ? `${session.user} (${session.role})` : '';
  if (!session) { app.replaceChildren(loginView()); return; }
  app.replaceChildren(scanView(), groupView(), gateView(), h('section', { class: 'card', id: 'queue' }), settingsView());
  renderQueue();
}

async function main() {
  setNet();
  addEventListener('online', () => { setNet(); refreshBundle(); sendQueued(); });
  addEventListener('offline', setNet);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/field/sw.js', { scope: '/field' }).catch((e) => console.warn('service worker:', e.message));
  }
  render();
  await refreshBundle();
  sendQueued();
  setInterval(() => { if (navigator.onLine) sendQueued(); }, 20000);
}

main();
