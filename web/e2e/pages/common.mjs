// What web/e2e/evacuee.mjs and field.mjs share (in a folder of its own so
// that the harness, which runs every web/e2e/*.mjs, does not run it): the arguments the harness
// passes (base URL, screenshot folder), the browser (Debian's Chromium),
// and the server's API as a planner or field officer, for setting up and
// for checking what the pages did.
//
// Accounts: those web/e2e_test.go makes (e2e-planner and e2e-field, with
// the password in MUSTER_E2E_PASSWORD), or MUSTER_E2E_PLANNER and
// MUSTER_E2E_FIELD ("name:password") against a server of one's own.

import { chromium, request } from 'playwright-core';
import { mkdirSync } from 'node:fs';

export const baseURL = (process.argv[2] || process.env.MUSTER_E2E_BASE_URL || '').replace(/\/$/, '');
export const shots = process.argv[3] || process.env.MUSTER_E2E_SCREENSHOTS || 'screenshots';
if (!baseURL) {
  console.error('usage: node web/e2e/<script>.mjs BASE_URL [SCREENSHOT_DIR]');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

function account(env, fallback) {
  const v = process.env[env] || fallback;
  const i = v.indexOf(':');
  return { name: v.slice(0, i), password: v.slice(i + 1) };
}
const shared = process.env.MUSTER_E2E_PASSWORD || '';
export const planner = account('MUSTER_E2E_PLANNER', `e2e-planner:${shared}`);
export const officer = account('MUSTER_E2E_FIELD', `e2e-field:${shared}`);

/** Debian's Chromium; extra: more command-line flags (camera.mjs: a fake camera). */
export async function browser(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--ignore-certificate-errors', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', ...extra],
  });
}

/** An API client signed in as who (none: anonymous); not affected by a browser context going offline. */
export async function api(who) {
  const ctx = await request.newContext({ baseURL, ignoreHTTPSErrors: true });
  let token = '';
  if (who) {
    const r = await ctx.post('/api/login', { data: who });
    if (!r.ok()) throw new Error(`login ${who.name}: ${r.status()} ${await r.text()}`);
    token = (await r.json()).token;
  }
  const call = async (method, path, data) => {
    const r = await ctx.fetch(path, { method, data, headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const text = await r.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: r.status(), body };
  };
  return { get: (p) => call('GET', p), post: (p, d) => call('POST', p, d ?? {}), put: (p, d) => call('PUT', p, d), dispose: () => ctx.dispose() };
}

/** The current household instructions the server holds (planner). */
export async function currentInstructions(as) {
  const out = [];
  let after = '';
  for (;;) {
    const r = await as.get(`/api/instructions?status=current&limit=1000${after ? '&after=' + encodeURIComponent(after) : ''}`);
    if (r.status !== 200) throw new Error(`instructions: ${r.status} ${JSON.stringify(r.body)}`);
    out.push(...r.body.instructions.filter((i) => i.instruction.audience === 'household'));
    if (!r.body.next) return out;
    after = r.body.next;
  }
}

/**
 * The current household instructions; if there are none yet (a fresh
 * server with households on record), the planner plans everyone and
 * approves the plan, which issues them.
 */
export async function issuedInstructions(as) {
  let all = await currentInstructions(as);
  if (all.length) return all;
  const plan = await as.post('/api/plans', {});
  if (plan.status !== 201) throw new Error(`plan: ${plan.status} ${JSON.stringify(plan.body).slice(0, 300)}`);
  const ok = await as.post(`/api/plans/${plan.body.id}/approve`, {});
  if (ok.status !== 200) throw new Error(`approve: ${ok.status} ${JSON.stringify(ok.body).slice(0, 300)}`);
  all = await currentInstructions(as);
  console.log(`# planned and approved ${plan.body.id}: ${all.length} household instructions issued`);
  return all;
}

/** A new capability link for a household (planner): its page's path. */
export async function linkFor(as, household) {
  const r = await as.post(`/api/households/${encodeURIComponent(household)}/links`, {});
  if (r.status !== 201) throw new Error(`link for ${household}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

export function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

/** Runs main, closing the browser and exiting non-zero on failure. */
export async function run(main, extra = []) {
  let b;
  try {
    b = await browser(extra);
    await main(b);
    console.log('PASS');
  } catch (e) {
    console.error(e && e.stack ? e.stack : e);
    process.exitCode = 1;
  } finally {
    if (b) await b.close();
  }
}

// The states of the field page's queued events (web/src/field/queue.js keeps
// them in IndexedDB). Read straight from the store, not from the queue's
// text: the page adds an event after an await, so "Nothing waiting" can
// still be on screen from before the click.
async function fieldQueueStates(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('muster-field', 1);
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('events')) { db.close(); resolve([]); return; }
      const q = db.transaction('events', 'readonly').objectStore('events').getAll();
      q.onsuccess = () => { db.close(); resolve(q.result.map((e) => e.state)); };
      q.onerror = () => { db.close(); reject(q.error); };
    };
  }));
}

/**
 * Does action on the field page (clicks, say) and waits until it has added
 * at least `added` events to the phone's queue and none is left waiting,
 * so that the server has answered for every one of them. With added 0, it
 * waits for events already queued (re-queued by hand, or from offline) to go.
 */
export async function settleFieldQueue(page, action, added = 1) {
  const before = (await fieldQueueStates(page)).length;
  await action();
  const deadline = Date.now() + 30000;
  for (;;) {
    const states = await fieldQueueStates(page);
    if (states.length >= before + added && !states.includes('queued')) break;
    if (Date.now() > deadline) throw new Error(`the field queue did not settle in 30 s: ${states.length - before} of ${added} events added, states ${JSON.stringify(states)}`);
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() => /Nothing waiting/.test(document.querySelector('#queue-count')?.textContent || ''), null, { timeout: 30000 });
}
