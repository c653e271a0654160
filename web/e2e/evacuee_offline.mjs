// Browser test of the evacuee's page with no connection: opened once
// online, it opens again offline (its service worker keeps the page, the
// page keeps the household's last instruction on this device) and says
// how old the instruction shown is. Only one household's instruction is
// kept: opening another link on the same phone replaces it; a link the
// server no longer knows has its kept copy removed.
// Usage: node web/e2e/evacuee_offline.mjs BASE_URL SCREENSHOT_DIR

import { join } from 'node:path';
import { request } from 'playwright-core';
import { api, baseURL, check, issuedInstructions, planner, run, shots } from './pages/common.mjs';
import { guard } from './lib/browser.mjs';

const keptKeys = (page) => page.evaluate(async () => (await (await caches.open('muster-me-data')).keys()).map((r) => new URL(r.url).pathname));

await run(async (browser) => {
  const as = await api(planner);
  const all = await issuedInstructions(as);
  const [a, b] = all.filter((i) => i.instruction.language === 'en');
  check(a && b, 'two English households have instructions');
  const link = async (hh) => {
    const r = await as.post(`/api/households/${encodeURIComponent(hh)}/links`, {});
    if (r.status !== 201) throw new Error(`link: ${r.status}`);
    return r.body;
  };
  const la = await link(a.instruction.household);
  const lb = await link(b.instruction.household);

  const ctx = await browser.newContext({ viewport: { width: 360, height: 800 }, ignoreHTTPSErrors: true, locale: 'en-US' });
  const page = await ctx.newPage();
  const watch = guard(page);
  const opened = Date.now();
  await page.goto(`${baseURL}/me/${la.token}`);
  await page.waitForSelector('#instruction-text');
  const online = await page.textContent('#instruction-text');
  check(online.includes(a.instruction.group_code), 'online, the page shows the household\'s instruction');
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 30000 });
  check(true, 'the service worker controls the page');
  await page.waitForFunction(async () => (await (await caches.open('muster-me-data')).keys()).length === 1, null, { timeout: 10000 });
  check(JSON.stringify(await keptKeys(page)) === JSON.stringify([`/api/me/${la.token}`]), 'the instruction is kept on this device, under its own link');

  // No connection: the page opens, with the kept instruction and its age.
  await ctx.setOffline(true);
  const resp = await page.reload();
  check(resp && resp.fromServiceWorker(), 'offline, the page comes from the service worker');
  await page.waitForSelector('#offline-copy', { timeout: 15000 });
  check((await page.textContent('#instruction-text')) === online, 'offline, the same instruction is shown');
  const notice = await page.textContent('#offline-copy');
  const saved = Date.parse(await page.getAttribute('#offline-copy', 'data-saved-at'));
  check(/No connection/.test(notice) && /\d+[smh]\d*m? ago/.test(notice) && saved >= opened - 1000 && saved <= Date.now(), `it says how old it is: "${notice}"`);
  check(await page.evaluate(() => fetch('/api/bundle').then(() => 'online', () => 'offline')) === 'offline', 'the connection really is off');
  await page.screenshot({ path: join(shots, 'evacuee-offline.png'), fullPage: true });

  // Another household's link on the same phone: only its instruction is kept.
  await ctx.setOffline(false);
  await page.goto(`${baseURL}/me/${lb.token}`);
  await page.waitForSelector('#instruction-text');
  await page.waitForFunction((p) => caches.open('muster-me-data').then((c) => c.keys()).then((ks) => ks.length === 1 && new URL(ks[0].url).pathname === p), `/api/me/${lb.token}`, { timeout: 10000 });
  check(true, 'opening another link keeps that household\'s instruction only');
  await ctx.setOffline(true);
  await page.goto(`${baseURL}/me/${la.token}`);
  await page.waitForFunction(() => /No connection/.test(document.getElementById('app').textContent), null, { timeout: 15000 });
  check(!(await page.textContent('#app')).includes(a.instruction.group_code), 'the first household\'s instruction is no longer on the phone');

  // A link revoked: online, the page says so and forgets the kept copy.
  await ctx.setOffline(false);
  const r = await request.newContext({ baseURL, ignoreHTTPSErrors: true }); // the planner's client of common.mjs has no DELETE
  const login = await r.post('/api/login', { data: planner });
  const tok = (await login.json()).token;
  const gone = await r.delete(`/api/links/${encodeURIComponent(lb.id)}`, { headers: { Authorization: `Bearer ${tok}` } });
  check(gone.status() === 200 || gone.status() === 204, `the link of ${b.instruction.household} is revoked (${gone.status()})`);
  await r.dispose();
  await page.goto(`${baseURL}/me/${lb.token}`);
  await page.waitForFunction(() => /not valid/.test(document.getElementById('app').textContent), null, { timeout: 15000 });
  check((await keptKeys(page)).length === 0, 'its kept instruction is removed from the phone');
  check(watch.problems().every((p) => /ERR_INTERNET_DISCONNECTED|Failed to fetch|Failed to load resource/.test(p)), 'no request left the server, no page error, no CSP violation: ' + JSON.stringify(watch.problems()));
  await ctx.close();
  await as.dispose();
});
