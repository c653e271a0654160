// Browser test of the field page's camera: Chromium's fake camera plays a
// film (a Y4M file web/e2e_test.go made, camera_e2e_test.go) of a real
// instruction's QR code; the page scans it with jsQR, verifies it on the
// phone (genuine and current: the household, its people and group) and
// checks it in; the server has the check-in once. Scanned again, on the
// same phone and on another, the code is refused as already checked in,
// and the server still has it once. A second browser's camera shows
// another instruction's token with one character of its signature
// changed: the page says FORGED, offers no check-in, and the server has
// none for it.
// Usage: node web/e2e/camera.mjs BASE_URL SCREENSHOT_DIR, with
// MUSTER_E2E_CAMERA_GENUINE, _GENUINE_ID, _FORGED, _FORGED_OF and
// _FORGED_TOKEN in the environment (see camera_e2e_test.go).

import { join } from 'node:path';
import { api, baseURL, browser, check, currentInstructions, officer, planner, run, settleFieldQueue, shots } from './pages/common.mjs';
import { guard } from './lib/browser.mjs';

const env = (k) => {
  const v = process.env[k];
  if (!v) { console.error(`camera.mjs needs ${k} (web/e2e_test.go sets it)`); process.exit(2); }
  return v;
};
const genuineFilm = env('MUSTER_E2E_CAMERA_GENUINE');
const genuineID = env('MUSTER_E2E_CAMERA_GENUINE_ID');
const forgedFilm = env('MUSTER_E2E_CAMERA_FORGED');
const forgedOf = env('MUSTER_E2E_CAMERA_FORGED_OF');
const forgedToken = env('MUSTER_E2E_CAMERA_FORGED_TOKEN');

// A fake camera, allowed without asking, playing film.
const camera = (film) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${film}`];

const text = async (page, sel) => ((await page.textContent(sel)) || '').trim();

/** A field officer's phone: signed in, at rally point rally, the bundle loaded. */
async function phone(b, rally) {
  const ctx = await b.newContext({ viewport: { width: 360, height: 760 }, ignoreHTTPSErrors: true, permissions: ['camera'] });
  const page = await ctx.newPage();
  const watch = guard(page);
  await page.goto(`${baseURL}/field`);
  await page.fill('#name', officer.name);
  await page.fill('#password', officer.password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#scan');
  await page.waitForFunction(() => /Bundle of/.test(document.querySelector('#bundle')?.textContent || ''), null, { timeout: 15000 });
  await page.fill('#rally-point', rally);
  await page.dispatchEvent('#rally-point', 'change');
  return { ctx, page, watch };
}

/** Scans with the camera: the verdict, once the page has read a code and checked it. */
async function scan(page) {
  await page.evaluate(() => { const v = document.querySelector('#verdict'); v.replaceChildren(); delete v.dataset.status; });
  await page.click('#scan');
  await page.waitForSelector('#verdict[data-status]', { timeout: 60000 });
  check(await page.isHidden('#camera'), 'the camera stops once a code is read');
  return page.getAttribute('#verdict', 'data-status');
}

async function clean(page, watch) {
  const problems = watch.problems();
  check(problems.length === 0, `no page error, nothing loaded from elsewhere, no CSP violation (${problems.join('; ')})`);
  check(!/\b(null|undefined|NaN)\b/.test(await page.textContent('main')), 'no "null", "undefined" or "NaN" on the page');
}

const as = await api(planner);
const current = await currentInstructions(as);
const target = current.find((i) => i.id === genuineID);
const source = current.find((i) => i.id === forgedOf);
check(target && source && target.token && source.token, `the filmed instructions ${genuineID} and ${forgedOf} are current`);
check(forgedToken !== source.token && forgedToken.length === source.token.length
  && [...forgedToken].filter((ch, i) => ch !== source.token[i]).length === 1, 'the forgery differs from the real token in one character');
const checkins = async (id, dups = false) => (await as.get(`/api/checkins?token=${encodeURIComponent(id)}${dups ? '&duplicates=true' : ''}`)).body.checkins;
check((await checkins(genuineID)).length === 0 && (await checkins(forgedOf)).length === 0, 'neither household is checked in yet');
const want = target.instruction;
const rally = want.rally_point.id;

await run(async (b) => {
  // The genuine code: read, verified on the phone, checked in.
  const { ctx, page, watch } = await phone(b, rally);
  check(await scan(page) === 'current', 'the camera reads the code: genuine and current');
  check(await page.inputValue('#code') === target.token, 'the page read exactly the token filmed');
  check(/GENUINE AND CURRENT/.test(await text(page, '#verdict .headline')), 'the page says GENUINE AND CURRENT');
  check(await text(page, '#v-household') === want.household, `it names the household (${want.household})`);
  check(await text(page, '#v-people') === String(want.people), `and its people (${want.people})`);
  check(await text(page, '#v-group') === want.group_code, `and its group's code (${want.group_code}, of group ${want.group})`);
  check(await text(page, '#v-rally-point') === rally, `and its rally point (${rally})`);
  check(await page.getAttribute('#verdict', 'data-checked-in') === 'no', 'not checked in yet');
  await page.screenshot({ path: join(shots, 'field-camera-genuine.png'), fullPage: true });
  await settleFieldQueue(page, () => page.click('#checkin'));
  let got = await checkins(genuineID);
  check(got.length === 1 && got[0].rally_point === rally && got[0].by === officer.name && !got[0].duplicate_of,
    `the server has the check-in once, at ${rally} by ${officer.name} (${JSON.stringify(got)})`);

  // The same code again, on this phone: refused, nothing sent.
  check(await scan(page) === 'current', 'scanned again, the token is still genuine');
  check(await page.getAttribute('#verdict', 'data-checked-in') === 'yes' && await page.locator('#checkin').count() === 0
    && (await page.getAttribute('#verdict', 'class')).split(' ').includes('spent'),
    'scanned again, it is refused: no check-in button');
  const already = await text(page, '#v-already');
  check(/^ALREADY CHECKED IN at /.test(already) && already.includes(rally) && already.includes('on this phone'), `the page says so: ${already}`);
  await page.screenshot({ path: join(shots, 'field-camera-again.png'), fullPage: true });
  await clean(page, watch);

  // On another phone (nothing in its queue): the server says it was.
  const other = await phone(b, rally);
  check(await scan(other.page) === 'current', 'another phone reads the same code: genuine');
  const said = await text(other.page, '#v-already');
  check(await other.page.locator('#checkin').count() === 0 && /^ALREADY CHECKED IN at /.test(said) && said.includes(officer.name) && !said.includes('on this phone'),
    `another phone refuses it too, from the server's record: ${said}`);
  await clean(other.page, other.watch);
  got = await checkins(genuineID);
  check(got.length === 1 && (await checkins(genuineID, true)).length === 0, 'the server still has one check-in, and no duplicate');
  const ev = await as.get(`/api/field-events?kind=checkin&household=${encodeURIComponent(want.household)}`);
  check(ev.status === 200 && ev.body.events.length === 1, `one check-in field event for ${want.household} (${ev.body.events?.length})`);
  await other.ctx.close();
  await ctx.close();

  // The forged code, in another browser whose camera films it.
  const fb = await browser(camera(forgedFilm));
  try {
    const f = await phone(fb, source.instruction.rally_point.id);
    check(await scan(f.page) === 'forged', 'the camera reads the forged code: forged');
    check(await f.page.inputValue('#code') === forgedToken, 'the page read exactly the forgery filmed');
    check(/^FORGED/.test(await text(f.page, '#verdict .headline')), 'the page says FORGED');
    check(/signature does not match/.test(await text(f.page, '#verdict')), 'because the signature does not match');
    check(await f.page.locator('#checkin').count() === 0 && await f.page.locator('#v-household').count() === 0,
      'no check-in offered, no household named');
    await f.page.screenshot({ path: join(shots, 'field-camera-forged.png'), fullPage: true });
    await clean(f.page, f.watch);
    const queued = await f.page.evaluate(() => document.querySelector('#queue-count')?.textContent || '');
    check(/Nothing waiting/.test(queued) && await f.page.locator('#queue li').count() === 0, 'nothing queued on the phone');
  } finally {
    await fb.close();
  }
  check((await checkins(forgedOf)).length === 0, `the server has no check-in of ${forgedOf}`);
  const fev = await as.get(`/api/field-events?kind=checkin&household=${encodeURIComponent(source.instruction.household)}`);
  check(fev.status === 200 && fev.body.events.length === 0, `and no check-in event for ${source.instruction.household}`);
}, camera(genuineFilm));
