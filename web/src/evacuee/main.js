// The evacuee's page (/me/{link}): the household's current instruction in
// its language, a sketch of the walk to the rally point, the QR code to
// show there, an authenticity badge from verifying the token on this
// phone against the deployment's signed bundle, and a button to
// acknowledge. docs/web.md, "Evacuee and field pages".

import './evacuee.css';
import { h } from './dom.js';
import { LANGS, langOf, t } from './i18n.js';
import { drawWalk } from './walkmap.js';
import { verifyToken, age } from '../lib/verify.js';
import { loadBundle } from '../lib/verify-store.js';

const app = document.getElementById('app');
const link = decodeURIComponent(location.pathname.split('/')[2] || '');
let lang = 'en';

function setLanguage(code) {
  lang = langOf(code);
  document.documentElement.lang = LANGS[lang].tag;
  document.documentElement.dir = LANGS[lang].dir;
  document.title = t(lang, 'title');
}

function fmtTime(iso, zone) {
  const opts = { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  // The Gregorian calendar, as the instruction's own text dates in every language.
  try { return new Intl.DateTimeFormat(`${LANGS[lang].tag}-u-ca-gregory`, { ...opts, timeZone: zone || undefined }).format(new Date(iso)); } catch { return new Date(iso).toLocaleString(); }
}

function fmtDist(m) { return m >= 1000 ? `${(m / 1000).toFixed(1)} km` : `${m} m`; }

function show(...nodes) { app.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }

async function fetchBundle() {
  const r = await fetch('/api/bundle', { cache: 'no-store' });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// badge verifies token and returns the element saying what it found.
async function badge(token, bundleState) {
  const box = h('section', { class: 'badge checking', id: 'badge', 'aria-live': 'polite' }, t(lang, 'checking'));
  (async () => {
    const { bundle, warning } = await bundleState;
    if (!bundle) {
      box.className = 'badge unknown';
      box.replaceChildren(t(lang, 'cannotCheck', { why: warning }));
      return;
    }
    const v = await verifyToken(token, bundle);
    box.className = `badge ${v.status}`;
    box.dataset.status = v.status;
    const asOf = new Date(bundle.asOf * 1000);
    box.replaceChildren(
      h('strong', {}, v.status === 'superseded' ? t(lang, 'superseded', { n: v.latest }) : t(lang, v.status)),
      h('small', {}, ' ', t(lang, 'checkedAgainst', { asOf: fmtTime(asOf.toISOString()), age: age(v.ageS) })),
      h('small', { class: 'fp' }, ' ', t(lang, 'keyFingerprint', { fp: (bundle.keys.find((k) => k.id === v.keyId) || bundle.keys[0]).fingerprint.slice(0, 16) })),
    );
    if (warning) box.append(h('small', {}, ' ', warning));
  })();
  return box;
}

function checkOther(bundleState) {
  const input = h('textarea', { id: 'other-token', rows: 3, dir: 'ltr', spellcheck: 'false', autocapitalize: 'characters' });
  const out = h('p', { class: 'verdict', id: 'other-verdict', 'aria-live': 'polite' });
  const check = async () => {
    const token = input.value;
    if (!token.trim()) { out.textContent = t(lang, 'checkEmpty'); return; }
    const { bundle, warning } = await bundleState;
    if (!bundle) { out.textContent = t(lang, 'cannotCheck', { why: warning }); return; }
    const v = await verifyToken(token, bundle);
    out.className = `verdict ${v.status}`;
    out.dataset.status = v.status;
    // A message someone sent: not "reload this page", but which version counts.
    out.replaceChildren(h('strong', {}, v.status === 'superseded' ? t(lang, 'supersededOther', { n: v.latest }) : t(lang, v.status)),
      v.claims ? h('small', { dir: 'ltr' }, ` ${v.claims.tokenId}`) : '');
  };
  return h('details', { class: 'check-other' },
    h('summary', {}, t(lang, 'checkOther')),
    h('label', { for: 'other-token' }, t(lang, 'checkOtherHelp')),
    input,
    h('button', { type: 'button', onclick: check }, t(lang, 'checkButton')),
    out);
}

function ackButton(inst) {
  const key = `muster.ack.${inst.id}`;
  const status = h('p', { id: 'ack-status', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'ack', class: 'ack' }, t(lang, 'ack'));
  const done = (at) => {
    button.hidden = true;
    status.textContent = t(lang, 'acked', { at: fmtTime(at) });
  };
  const held = localStorage.getItem(key);
  if (held) done(held);
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = t(lang, 'acking');
    try {
      const r = await fetch(`/api/ack/${encodeURIComponent(link)}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ instruction_id: inst.id }),
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((body.error && body.error.message) || `HTTP ${r.status}`);
      localStorage.setItem(key, body.acknowledged_at);
      done(body.acknowledged_at);
    } catch (e) {
      button.disabled = false;
      status.textContent = t(lang, 'ackFailed', { why: e.message });
    }
  });
  return h('section', { class: 'ack-box' }, button, status);
}

function page(view) {
  const inst = view.instruction;
  setLanguage(inst ? inst.language : view.language);
  const head = h('header', {}, h('h1', {}, t(lang, 'title')), h('p', { class: 'who' }, t(lang, 'household', { id: view.id })));
  if (!inst) return show(head, h('p', {}, t(lang, 'noInstruction')));

  const bundleState = loadBundle(localStorage, fetchBundle);
  const notices = [];
  const seenKey = `muster.seen.${view.id}`;
  const seen = localStorage.getItem(seenKey);
  if (seen && seen !== inst.id) notices.push(h('p', { class: 'notice changed', id: 'changed-since' }, t(lang, 'changedSinceLast')));
  localStorage.setItem(seenKey, inst.id);
  if (inst.supersedes) {
    notices.push(h('p', { class: 'notice replaces', id: 'replaces' }, t(lang, 'replaces', { previous: inst.supersedes }),
      inst.changes && inst.changes.length ? h('span', {}, ' ', t(lang, 'changed', { what: inst.changes.join(', ') })) : null));
  }

  const rp = inst.rally_point || {};
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t(lang, 'rally')), h('dd', { id: 'rally-name' }, rp.name || rp.id || ''),
    inst.report_from ? [h('dt', {}, t(lang, 'whenLabel')), h('dd', { id: 'when' }, inst.report_from === inst.report_by
      ? t(lang, 'whenAt', { at: fmtTime(inst.report_from, inst.time_zone) })
      : t(lang, 'when', { from: fmtTime(inst.report_from, inst.time_zone), to: fmtTime(inst.report_by, inst.time_zone) }))] : null,
    h('dt', {}, t(lang, 'group')), h('dd', { class: 'code', dir: 'ltr' }, inst.group_code || ''),
    h('dt', {}, t(lang, 'people')), h('dd', {}, String(inst.people)));

  let map = null;
  if (inst.walk && inst.walk.steps && inst.walk.steps.length) {
    const caption = t(lang, 'mapCaption');
    map = h('figure', { class: 'map' },
      drawWalk(inst.walk.steps, { start: t(lang, 'start'), rally: rp.name || rp.id || '', caption }),
      h('figcaption', {}, t(lang, 'walk', { min: Math.round(inst.walk.duration_s / 60), dist: fmtDist(inst.walk.distance_m) }), ' ', caption));
  }
  const geo = rp.lat || rp.lon ? h('p', {}, h('a', { href: `geo:${rp.lat},${rp.lon}`, class: 'geo' }, t(lang, 'openMap'))) : null;

  const qr = h('figure', { class: 'qr' },
    h('img', { src: 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(inst.qr_svg), alt: t(lang, 'showAtRally'), width: 240, height: 240 }),
    h('figcaption', {}, t(lang, 'showAtRally'), h('code', { dir: 'ltr', id: 'token' }, inst.token)));

  const text = h('section', { class: 'text' }, h('h2', {}, t(lang, 'instruction')), h('p', { id: 'instruction-text', class: 'instruction' }, inst.text));
  show(head, ...notices, facts, map, geo, ackButton(inst), qr, text, h('p', { class: 'warning' }, t(lang, 'warning')), checkOther(bundleState));
  badge(inst.token, bundleState).then((b) => head.after(b));
}

// The household's last instruction read on this device, for opening the
// page with no connection: kept in the Cache API under this link's own
// address, the only entry there (opening another household's link on the
// same phone replaces it), and removed when the server says the link is
// no longer valid. Nothing is kept where the browser has no Cache API.
const KEPT = 'muster-me-data';
const dataURL = () => `/api/me/${encodeURIComponent(link)}`;

async function keep(view) {
  if (!self.caches) return;
  try {
    const c = await caches.open(KEPT);
    for (const k of await c.keys()) if (new URL(k.url).pathname !== dataURL()) await c.delete(k);
    await c.put(dataURL(), new Response(JSON.stringify({ saved_at: new Date().toISOString(), view }), { headers: { 'Content-Type': 'application/json' } }));
  } catch { /* private mode, quota: the page works online all the same */ }
}

async function kept() {
  if (!self.caches) return null;
  try {
    const hit = await (await caches.open(KEPT)).match(dataURL());
    return hit ? await hit.json() : null;
  } catch {
    return null;
  }
}

async function forget() {
  if (self.caches) await caches.open(KEPT).then((c) => c.delete(dataURL())).catch(() => {});
}

async function main() {
  setLanguage(navigator.language && navigator.language.startsWith('fa') ? 'fa' : navigator.language && navigator.language.startsWith('ps') ? 'ps' : 'en');
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/me/sw.js', { scope: '/me/' }).catch(() => {});
  show(h('p', {}, t(lang, 'loading')));
  let r;
  try {
    r = await fetch(dataURL(), { cache: 'no-store' });
  } catch {
    const copy = await kept();
    if (!copy) return show(h('p', { class: 'notice' }, t(lang, 'offline')));
    page(copy.view);
    const savedS = Math.max(0, (Date.now() - Date.parse(copy.saved_at)) / 1000);
    app.prepend(h('p', { class: 'notice offline', id: 'offline-copy', 'data-saved-at': copy.saved_at },
      t(lang, 'offlineCopy', { at: fmtTime(copy.saved_at), age: age(savedS) })));
    return;
  }
  if (!r.ok) {
    if (r.status === 404 || r.status === 401 || r.status === 403) await forget();
    return show(h('p', { class: 'notice' }, t(lang, 'badLink')));
  }
  const view = await r.json();
  page(view);
  keep(view);
}

main();
