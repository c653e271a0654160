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
