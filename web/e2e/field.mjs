// Browser test of the field page: sign in, go offline, check a household
// in by its typed token, reload the page with no connection (the service
// worker serves it; the queue is in IndexedDB), reconnect and see the
// check-in on the server, once; send the same event again and still see
// it once.
// Usage: node web/e2e/field.mjs BASE_URL SCREENSHOT_DIR

import { join } from 'node:path';
import { api, baseURL, check, issuedInstructions, officer, planner, run, settleFieldQueue, shots } from './pages/common.mjs';
import { guard } from './lib/browser.mjs';

await run(async (browser) => {
  const as = await api(planner);
  const all = await issuedInstructions(as);
  let target = null;
  for (const i of all.slice().reverse()) {
    const r = await as.get(`/api/checkins?token=${encodeURIComponent(i.id)}`);
    if (r.status === 200 && r.body.checkins.length === 0) { target = i; break; }
  }
  check(target, 'a household instruction not checked in yet');
  const rally = target.instruction.rally_point.id;

  const ctx = await browser.newContext({ viewport: { width: 360, height: 760 }, ignoreHTTPSErrors: true, serviceWorkers: 'allow' });
  const page = await ctx.newPage();
  const watch = guard(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseURL}/field`);
  await page.fill('#name', officer.name);
  await page.fill('#password', officer.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#code');
  await page.waitForFunction(() => /Bundle of/.test(document.querySelector('#bundle')?.textContent || ''), null, { timeout: 15000 });
  await page.fill('#rally-point', rally);
  await page.dispatchEvent('#rally-point', 'change');
  // The service worker has the page and its assets before we go offline.
  await page.evaluate(async () => { await navigator.serviceWorker.ready; });
  await page.reload();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 15000 });
  check(true, 'the service worker controls the page');
  await page.screenshot({ path: join(shots, 'field.png'), fullPage: true });

  // Offline: verify on the phone and check in; nothing reaches the server.
  await ctx.setOffline(true);
  await page.waitForSelector('#net.bad');
  await page.fill('#code', target.token);
  await page.click('#verify');
  await page.waitForSelector('#verdict[data-status]');
  check(await page.getAttribute('#verdict', 'data-status') === 'current', 'offline, the token verifies on the phone: genuine and current');
  check((await page.textContent('#v-household')) === target.instruction.household, 'the verdict names the household');
  await page.click('#checkin');
  await page.waitForFunction(() => /1 waiting/.test(document.querySelector('#queue-count')?.textContent || ''));
  const none = await as.get(`/api/checkins?token=${encodeURIComponent(target.id)}`);
  check(none.body.checkins.length === 0, 'offline, the server has no check-in yet');
  await page.screenshot({ path: join(shots, 'field-offline.png'), fullPage: true });

  // Reload with no connection: the page comes from the service worker, the queue from IndexedDB.
  await page.reload();
  await page.waitForSelector('#queue-count');
  await page.waitForFunction(() => /1 waiting/.test(document.querySelector('#queue-count')?.textContent || ''));
  check(true, 'the page reloads offline and still holds the check-in');

  // Back online: the queue is sent; the check-in is recorded once.
  await settleFieldQueue(page, () => ctx.setOffline(false), 0);
  const once = await as.get(`/api/checkins?token=${encodeURIComponent(target.id)}`);
  check(once.body.checkins.length === 1 && once.body.checkins[0].rally_point === rally && !once.body.checkins[0].duplicate_of,
    `online again, the check-in is on the server once (${JSON.stringify(once.body.checkins)})`);

  // The answer was lost, say: the phone sends the same event again. Still once.
  await page.evaluate(() => new Promise((resolve, reject) => {
    const r = indexedDB.open('muster-field', 1);
    r.onsuccess = () => {
      const t = r.result.transaction('events', 'readwrite');
      const s = t.objectStore('events');
      s.getAll().onsuccess = (e) => { for (const row of e.target.result) s.put({ ...row, state: 'queued' }); };
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error);
    };
  }));
  await settleFieldQueue(page, () => page.click('#send-now'), 0);
  const still = await as.get(`/api/checkins?token=${encodeURIComponent(target.id)}`);
  const dups = await as.get(`/api/checkins?duplicates=true&token=${encodeURIComponent(target.id)}`);
  check(still.body.checkins.length === 1 && dups.body.checkins.length === 0, 'sent again, it is still recorded once, and not flagged');
  const hh = target.instruction.household;
  const ev = await as.get(`/api/field-events?kind=checkin&household=${encodeURIComponent(hh)}`);
  if (ev.status === 200) {
    check(ev.body.events.length === 1 && ev.body.events[0].rally_point === rally, `the check-in is one field event for the live picture (${ev.body.events.length})`);

    // The group leaves; it reaches its gate; people are counted through it.
    const group = target.instruction.group;
    const escorts = await as.get(`/api/instructions?status=current&audience=escort&limit=1000`);
    const brief = escorts.body.instructions.find((i) => i.instruction.group === group);
    const gate = brief ? brief.instruction.escort.gate.id : '';
    check(gate, `the group ${group} has a gate (${gate})`);
    await page.fill('#gate', gate);
    await page.dispatchEvent('#gate', 'change');
    await page.fill('#group', group);
    await page.fill('#group-people', String(target.instruction.people));
    await settleFieldQueue(page, async () => {
      await page.click('#departed');
      await page.click('#arrived');
      for (let i = 0; i < 3; i++) await page.click('#plus');
      await page.waitForTimeout(1100); // a count covers an interval of at least a second
      await page.click('#send-count');
    }, 3);
    const dep = await as.get(`/api/field-events?kind=departed&group=${encodeURIComponent(group)}`);
    const arr = await as.get(`/api/field-events?kind=arrived&group=${encodeURIComponent(group)}`);
    const cnt = await as.get(`/api/field-events?kind=gate_count&gate=${encodeURIComponent(gate)}`);
    check(dep.body.events.length === 1 && dep.body.events[0].people === target.instruction.people, 'the departure is recorded with its people');
    check(arr.body.events.length === 1 && arr.body.events[0].gate === gate, 'the arrival at the gate is recorded');
    check(cnt.body.events.length === 1 && cnt.body.events[0].people === 3, 'three people counted through the gate');
    const refused = await page.locator('#queue li.refused').count();
    check(refused === 0, 'no event refused');

    // A token of another rally point: not checked in on a tap; admitted
    // only with the officer's reason, which goes to the server with it.
    let other = null;
    for (const i of all) {
      if (i.instruction.rally_point.id === rally) continue;
      const r = await as.get(`/api/checkins?token=${encodeURIComponent(i.id)}`);
      if (r.status === 200 && r.body.checkins.length === 0) { other = i; break; }
    }
    check(other, 'an instruction of another rally point, not checked in yet');
    await page.fill('#code', other.token);
    await page.click('#verify');
    await page.waitForSelector('#verdict[data-status="current"] #v-elsewhere');
    check(await page.locator('#checkin').count() === 0, 'another rally point\'s token has no check-in button');
    check(await page.isDisabled('#admit-other'), 'admitting it here waits for a reason');
    await page.fill('#other-rally-reason', 'its rally point is overrun');
    check(!(await page.isDisabled('#admit-other')), 'with a reason it can be admitted');
    await settleFieldQueue(page, () => page.click('#admit-other'), 1);
    const admitted = await as.get(`/api/checkins?token=${encodeURIComponent(other.id)}`);
    check(admitted.body.checkins.length === 1 && admitted.body.checkins[0].rally_point === rally,
      `admitted at this rally point, once (${JSON.stringify(admitted.body.checkins)})`);
    const oev = await as.get(`/api/field-events?kind=checkin&household=${encodeURIComponent(other.instruction.household)}`);
    check(oev.body.events.length === 1 && /its instruction naming .*: its rally point is overrun/.test(oev.body.events[0].note || ''),
      `the officer's reason is on the event (${JSON.stringify(oev.body.events[0] || {})})`);
    check((oev.body.events[0].flags || []).includes('other_rally_point'), 'the admission at another rally point is flagged for the operators');
    check(/flagged: other_rally_point/.test(await page.textContent('#queue')), 'the phone shows the flag beside the event');

    // The operators see it on the operations map, among the flagged
    // field events: counted where it was seen, the flag in words.
    const opsCtx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
    const ops = await opsCtx.newPage();
    ops.on('pageerror', (e) => errors.push('ops: ' + e.message));
    await ops.goto(`${baseURL}/`);
    await ops.fill('#login-name', planner.name);
    await ops.fill('#login-password', planner.password);
    await ops.click('#login-form button[type=submit]');
    await ops.waitForSelector('#app:not([hidden])');
    const hh = other.instruction.household;
    await ops.waitForFunction((h) => [...document.querySelectorAll('#op-flagged tr')].some((tr) => tr.textContent.includes(h)), hh, { timeout: 30000 });
    const flaggedRow = await ops.evaluate((h) => [...document.querySelectorAll('#op-flagged tr')].find((tr) => tr.textContent.includes(h)).textContent, hh);
    const rallyName = target.instruction.rally_point.name;
    check(/at another rally point/.test(flaggedRow) && /yes/.test(flaggedRow) && flaggedRow.includes(rallyName),
      `the operations map lists the admission among the flagged field events, counted at ${rallyName} (${flaggedRow})`);
    check(/Flagged field events \(\d+/.test(await ops.textContent('#op-flagged caption')), 'the table says how many are flagged');
    await ops.locator('#operation').screenshot({ path: join(shots, 'ops-flagged.png') });
    await opsCtx.close();
  } else {
    console.log(`# this server has no field events (${ev.status}): check-ins went by /api/checkin/sync`);
  }
  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
  // Offline, requests fail by design: only those of the page's own origin count.
  const problems = watch.problems().filter((p) => !/net::ERR_INTERNET_DISCONNECTED|Failed to fetch/.test(p));
  check(problems.length === 0, `nothing loaded from elsewhere, no CSP violation (${problems.join('; ')})`);
  check(!/\b(null|undefined|NaN)\b/.test(await page.textContent('main')), 'no "null", "undefined" or "NaN" on the page');
  await page.screenshot({ path: join(shots, 'field-synced.png'), fullPage: true });
  await ctx.close();
});
