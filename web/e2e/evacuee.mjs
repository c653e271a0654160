// Browser test of the evacuee's page: open a household's link, see its
// instruction verified on the phone (genuine and current), acknowledge it
// and find the acknowledgement on the server, check a changed token
// pasted into the page (forged), measure what the page loads, and open a
// Dari or Pashto household's page: right to left, screenshotted.
// Usage: node web/e2e/evacuee.mjs BASE_URL SCREENSHOT_DIR

import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { api, baseURL, check, issuedInstructions, linkFor, planner, run, shots } from './pages/common.mjs';
import { guard } from './lib/browser.mjs';

await run(async (browser) => {
  const as = await api(planner);
  const all = await issuedInstructions(as);
  const en = all.find((i) => i.instruction.language === 'en') || all[0];
  const rtl = all.find((i) => i.instruction.language === 'fa') || all.find((i) => i.instruction.language === 'ps');
  check(en && rtl, `the server has household instructions in English and in Dari or Pashto (${all.length} in all)`);

  // 1. An English household's page, on a 360-pixel phone.
  const ctx = await browser.newContext({ viewport: { width: 360, height: 800 }, ignoreHTTPSErrors: true, locale: 'en-US' });
  const page = await ctx.newPage();
  const watch = guard(page); // nothing from elsewhere, no CSP violation
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A 404 for /favicon.ico is the browser's own, not the page's.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 404/.test(m.text())) errors.push(m.text()); });
  const loaded = [];
  page.on('requestfinished', async (req) => {
    const res = await req.response();
    if (!res) return;
    const body = await res.body().catch(() => Buffer.alloc(0));
    loaded.push({ url: req.url(), bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
  });
  const link = await linkFor(as, en.instruction.household);
  await page.goto(`${baseURL}/me/${link}`);
  await page.waitForSelector('#badge[data-status]', { timeout: 15000 });
  const status = await page.getAttribute('#badge', 'data-status');
  check(status === 'current', `the badge says genuine and current (${status}: ${await page.textContent('#badge')})`);
  check((await page.textContent('#token')).trim() === en.token, 'the page shows the household\'s own token');
  check((await page.textContent('#instruction-text')).includes(en.instruction.group_code), 'the instruction text is there, with the group code');
  check(await page.locator('figure.map svg polyline').count() === 1 || !en.instruction.walk.steps, 'the walk is sketched');
  check(await page.getAttribute('html', 'dir') === 'ltr', 'English reads left to right');
  await page.screenshot({ path: join(shots, 'evacuee-en.png'), fullPage: true });

  // Acknowledge; the server keeps the first acknowledgement and answers it again.
  await page.click('#ack');
  await page.waitForFunction(() => document.querySelector('#ack').hidden, null, { timeout: 10000 });
  const stored = await page.evaluate((id) => localStorage.getItem(`muster.ack.${id}`), en.id);
  const again = await (await api()).post(`/api/ack/${link}`, { instruction_id: en.id });
  check(again.status === 200 && again.body.instruction_id === en.id && again.body.acknowledged_at === stored,
    `the acknowledgement is on the server (${again.body.acknowledged_at}, the page's ${stored})`);

  // A changed character, pasted into "check a message": forged, on the phone.
  const tok = en.token;
  const i = Math.floor(tok.length / 2);
  const changed = tok.slice(0, i) + (tok[i] === 'A' ? 'B' : 'A') + tok.slice(i + 1);
  await page.click('details.check-other summary');
  await page.fill('#other-token', changed);
  await page.click('details.check-other button');
  await page.waitForSelector('#other-verdict[data-status]');
  check(await page.getAttribute('#other-verdict', 'data-status') === 'forged', 'a changed token pasted into the page is forged');
  await page.fill('#other-token', tok);
  await page.click('details.check-other button');
  await page.waitForSelector('#other-verdict[data-status="current"]');
  check(true, 'the genuine token pasted is genuine and current');

  // A superseded one, if the server has one: said so, with the version in force.
  const old = await as.get('/api/instructions?status=superseded&limit=1');
  if (old.status === 200 && old.body.instructions.length && old.body.instructions[0].token) {
    await page.fill('#other-token', old.body.instructions[0].token);
    await page.click('details.check-other button');
    await page.waitForSelector('#other-verdict[data-status="superseded"]');
    check(true, `a superseded token is called superseded (${old.body.instructions[0].id})`);
  }

  // What the page loaded: the shell, its script and style, /api/me, the bundle.
  const total = loaded.reduce((s, r) => s + r.bytes, 0);
  const gz = loaded.reduce((s, r) => s + r.gzip, 0);
  for (const r of loaded) console.log(`#   ${r.bytes} bytes (${r.gzip} gzipped) ${r.url.replace(link, '{link}')}`);
  console.log(`# page weight: ${total} bytes, ${gz} gzipped, in ${loaded.length} responses`);
  check(gz < 60 * 1024, `the evacuee's page loads under 60 KB gzipped (${gz})`);
  check(errors.length === 0, `no script errors (${errors.join('; ')})`);
  check(!/\b(null|undefined|NaN)\b/.test(await page.textContent('main')), 'no "null", "undefined" or "NaN" on the page');
  check(watch.problems().length === 0, `nothing loaded from elsewhere, no CSP violation (${watch.problems().join('; ')})`);

  // The household now reads Pashto: its instruction is issued again (v2
  // supersedes v1). Its page, reloaded, is in Pashto, right to left, says
  // it replaces the first and that it changed since the last visit; the
  // first token, pasted, is superseded by the second.
  const hh = await as.get(`/api/households/${en.instruction.household}`);
  const upd = Object.fromEntries(Object.entries(hh.body).filter(([k]) => !['status', 'created_at', 'updated_at', 'history'].includes(k)));
  upd.language = 'ps';
  const put = await as.put(`/api/households/${en.instruction.household}`, upd);
  check(put.status === 200, `the household now reads Pashto (${put.status} ${JSON.stringify(put.body).slice(0, 200)})`);
  const issued = await as.post('/api/instructions/issue', {});
  check(issued.status === 200 && issued.body.superseded >= 1, `its instruction is issued again (${JSON.stringify(issued.body).slice(0, 300)})`);
  await page.reload();
  await page.waitForSelector('#badge[data-status="current"]', { timeout: 15000 });
  check(await page.getAttribute('html', 'dir') === 'rtl' && await page.getAttribute('html', 'lang') === 'ps', 'the page is now in Pashto, right to left');
  check(await page.locator('#replaces').count() === 1 && (await page.textContent('#replaces')).includes(en.id), `it says it replaces ${en.id}`);
  check(await page.locator('#changed-since').count() === 1, 'it says the instruction changed since the last visit');
  await page.click('details.check-other summary');
  await page.fill('#other-token', en.token);
  await page.click('details.check-other button');
  await page.waitForSelector('#other-verdict[data-status]');
  check(await page.getAttribute('#other-verdict', 'data-status') === 'superseded' && (await page.textContent('#other-verdict')).includes('2'),
    `the first token is superseded by version 2 (${await page.textContent('#other-verdict')})`);
  await page.screenshot({ path: join(shots, 'evacuee-ps-replaced.png'), fullPage: true });
  await ctx.close();

  // 2. A Dari or Pashto household's page: right to left.
  const ctx2 = await browser.newContext({ viewport: { width: 360, height: 800 }, ignoreHTTPSErrors: true });
  const p2 = await ctx2.newPage();
  const watch2 = guard(p2);
  await p2.goto(`${baseURL}/me/${await linkFor(as, rtl.instruction.household)}`);
  await p2.waitForSelector('#badge[data-status="current"]', { timeout: 15000 });
  const lang = await p2.getAttribute('html', 'lang');
  check(await p2.getAttribute('html', 'dir') === 'rtl' && (lang === 'fa-AF' || lang === 'ps'), `the ${lang} page is right to left`);
  const layout = await p2.evaluate(() => {
    // The heading's text, not its box (a block is as wide as the page).
    const range = document.createRange();
    range.selectNodeContents(document.querySelector('h1'));
    const h1 = range.getBoundingClientRect();
    const text = document.querySelector('#instruction-text');
    return { direction: getComputedStyle(text).direction, h1Right: h1.right, h1Left: h1.left, width: document.documentElement.clientWidth };
  });
  check(layout.direction === 'rtl', 'the instruction text runs right to left');
  check(layout.width - layout.h1Right < 20 && layout.h1Left > 40, `the heading hugs the right edge (${JSON.stringify(layout)})`);
  check(!(await p2.textContent('h1')).match(/[A-Za-z]/), 'the heading is not in Latin letters');
  await p2.screenshot({ path: join(shots, `evacuee-${lang}.png`), fullPage: true });
  check(watch2.problems().length === 0, `the ${lang} page: nothing from elsewhere, no CSP violation (${watch2.problems().join('; ')})`);
  await ctx2.close();
});
