// The operations map's panels, as a planner uses them on an approved plan:
// a threat appears, the re-plan proposals are compared side by side, one
// is read household by household and approved; delivery and the
// households not acknowledged are followed (one acknowledges and leaves
// the list); the plots over time are drawn with as many points as the
// server's series; an advisory is sent, updated, then cancelled; a household is
// found by a part of its name with the keyboard, and the search and the
// read are in the audit log. Then a planner on a 360-pixel phone: nothing
// wider than the screen. No request leaves the server.
import { base, password, main, guard, check, shot } from './lib/browser.mjs';

const rally = { lat: 34.5328485, lon: 69.1734505 }; // the demo city's first rally point (Bagh Park)

async function login(page, name) {
  await page.goto(base + '/');
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.muster.map && window.muster.map.loaded(), null, { timeout: 60000 });
}

// call is the API as the page's session (or another login's token).
const call = (page, method, path, body, token) => page.evaluate(async ([m, p, b, tok]) => {
  const t = tok || JSON.parse(sessionStorage.getItem('muster.session')).token;
  const r = await fetch(p, { method: m, headers: { Authorization: 'Bearer ' + t, ...(b ? { 'Content-Type': 'application/json' } : {}) }, body: b ? JSON.stringify(b) : undefined });
  const text = await r.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, body: data };
}, [method, path, body, token]);

const pairs = (points) => (points.trim() ? points.trim().split(/\s+/).length : 0);

await main(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const g = guard(page);
  await login(page, 'e2e-planner');

  // An approved plan, made through the API (ops.mjs tests the buttons).
  const made = await call(page, 'POST', '/api/plans', {});
  check(made.status === 201, 'a plan is made: ' + made.status);
  const ok = await call(page, 'POST', `/api/plans/${made.body.id}/approve`);
  check(ok.status === 200, 'and approved: ' + ok.status);

  // A threat at the first rally point, after the plan: a re-plan moves people.
  const report = {
    id: 'e2e-panels-1', received_at: new Date().toISOString(), source: { id: 'ops-desk', kind: 'official' }, reliability: 'A', credibility: 1,
    kind: 'attack-threat', claim: 'present', likelihood: 'almost certain', severity: 5, area: { point: [rally.lon, rally.lat], radius_m: 600 }, text: 'armed group at Bagh Park',
  };
  const added = await call(page, 'POST', '/api/reports', report);
  check(added.status < 300 && !(added.body.rejected || []).length, 'a report of a threat at Bagh Park is added: ' + added.status);
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.muster.map && window.muster.map.loaded() && window.muster.picture, null, { timeout: 60000 });

  // --- proposals side by side, a diff read, one approved ---
  await page.click('#make-proposals');
  await page.waitForFunction(() => /proposals re-planning|Refused/.test(document.getElementById('proposals-status').textContent), null, { timeout: 240000 });
  check(/proposals re-planning/.test(await page.textContent('#proposals-status')), 'proposals made: ' + (await page.textContent('#proposals-status')));
  const props = await page.evaluate(() => window.muster.panels.proposals);
  check(props.proposals.length === 3, `three proposals: ${props.proposals.map((p) => p.kind).join(', ')}`);
  const head = await page.$$eval('#proposals-table thead th', (ths) => ths.map((t) => t.textContent));
  check(head.length === 4, 'side by side: one column each ' + JSON.stringify(head));
  const changedRow = await page.$$eval('#proposals-table tbody tr', (trs) => {
    const tr = trs.find((r) => r.querySelector('th').textContent === 'Instructions changed');
    return [...tr.querySelectorAll('td')].map((td) => Number(td.textContent));
  });
  check(JSON.stringify(changedRow) === JSON.stringify(props.proposals.map((p) => p.numbers.instructions_changed)), `the instructions changed of each, as the server counts them: ${changedRow}`);
  check(await page.$$eval('[data-approve]', (bs) => bs.every((b) => b.disabled)), 'no proposal can be approved before its changes are read');
  const pick = props.proposals.find((p) => p.numbers.instructions_changed > 0 && p.kind !== 'fresh') || props.proposals.find((p) => p.numbers.instructions_changed > 0);
  check(pick, `a proposal changes instructions: ${pick && pick.kind} (${pick && pick.numbers.instructions_changed})`);
  await page.click(`button[data-kind="${pick.kind}"]`);
  await page.waitForSelector('#diff-list ol.diff', { timeout: 60000 });
  // The diff, checked against the plans themselves.
  const truth = await page.evaluate(async ([id, basis]) => {
    const t = JSON.parse(sessionStorage.getItem('muster.session')).token;
    const get = async (p) => (await fetch(p, { headers: { Authorization: 'Bearer ' + t } })).json();
    const [after, before] = await Promise.all([get('/api/plans/' + id), get('/api/plans/' + basis)]);
    const counts = {};
    for (const c of after.diff.changes) for (const f of c.fields) counts[f] = (counts[f] || 0) + 1;
    // plan.json version 2: a household names its rally point only where
    // it is not its group's.
    const rp = (p, h) => {
      const x = p.households.find((y) => y.id === h) || {};
      return x.rally_point || (p.groups.find((g) => g.id === x.group) || {}).rally_point;
    };
    const moved = after.diff.changes.filter((c) => c.fields.includes('rally_point')).map((c) => ({ id: c.household, before: rp(before, c.household), after: rp(after, c.household) }));
    return { n: after.diff.changes.length, counts, moved };
  }, [pick.plan.id, props.basis]);
  check(truth.n === pick.numbers.instructions_changed, `the proposal's diff holds its ${truth.n} changes`);
  const shownCounts = await page.$$eval('#proposal-diff tr[data-field]', (trs) => Object.fromEntries(trs.map((r) => [r.dataset.field, Number(r.querySelectorAll('td')[1].textContent)])));
  check(JSON.stringify(shownCounts) === JSON.stringify(Object.fromEntries(Object.entries(truth.counts).sort((a, b) => ['rally_point', 'group', 'gate', 'time', 'route', 'walk', 'assigned', 'unassigned'].indexOf(a[0]) - ['rally_point', 'group', 'gate', 'time', 'route', 'walk', 'assigned', 'unassigned'].indexOf(b[0])))), `counts by field as in the plan: ${JSON.stringify(shownCounts)}`);
  const rows = await page.locator('#diff-list li[data-household]').count();
  check(rows === Math.min(25, truth.n), `the first ${rows} households are listed`);
  if (truth.moved.length) {
    await page.selectOption('#diff-filter', 'rally_point');
    const m = truth.moved[0];
    const names = await page.evaluate(async () => {
      const t = JSON.parse(sessionStorage.getItem('muster.session')).token;
      return Object.fromEntries((await (await fetch('/api/rally-points', { headers: { Authorization: 'Bearer ' + t } })).json()).rally_points.map((r) => [r.id, r.name]));
    });
    const row = page.locator(`#diff-list li[data-household="${m.id}"]`);
    if (await row.count()) {
      const cell = await row.locator('[data-col=rally]').textContent();
      check(cell === `rally point ${names[m.before] || m.before} → ${names[m.after] || m.after}`, `household ${m.id}'s rally point reads "${cell}"`);
    }
    check((await page.locator('#diff-list li[data-household]').count()) === Math.min(25, truth.moved.length), `filtered to the ${truth.moved.length} households whose rally point changes`);
  }
  if (truth.n > 25) {
    await page.selectOption('#diff-filter', '');
    await page.click('#diff-more');
    check((await page.locator('#diff-list li[data-household]').count()) === Math.min(50, truth.n), 'twenty-five more on asking');
  }
  await page.evaluate(() => document.getElementById('proposals').scrollIntoView({ block: 'start' }));
  await shot(page, 'ops-proposals');
  const approveBtn = page.locator(`[data-approve="${pick.kind}"]`);
  check(await approveBtn.isEnabled(), 'read, it can be approved');
  await approveBtn.click();
  await page.waitForFunction(() => /approved|Refused/.test(document.getElementById('proposals-status').textContent), null, { timeout: 120000 });
  const approved = await page.textContent('#proposals-status');
  check(/approved: \d+ instructions issued/.test(approved), approved);
  const plans = await call(page, 'GET', '/api/plans');
  check(plans.body.plans.find((p) => p.status === 'current').id === pick.plan.id, 'the proposal approved is the current plan');

  // --- delivery and acknowledgement ---
  // A read begun now, after the approval, drawn (an earlier one is not drawn over it).
  const reads = Number(await page.getAttribute('#delivery', 'data-read')) || 0;
  await page.selectOption('#unack-older', '0m');
  await page.waitForFunction((n) => Number(document.getElementById('delivery').dataset.read) > n && document.querySelector('#outbox-counts table'), reads, { timeout: 30000 });
  const shownOutbox = await page.$$eval('#outbox-counts tbody tr', (trs) => Object.fromEntries(trs.map((r) => [r.dataset.channel, [...r.querySelectorAll('td')].map((td) => Number(td.textContent))])));
  for (const [ch, cells] of Object.entries(shownOutbox)) {
    const api = (await call(page, 'GET', `/api/outbox?channel=${ch}&limit=1`)).body.counts;
    check(JSON.stringify(cells) === JSON.stringify(['queued', 'sending', 'sent', 'failed-retrying', 'dead'].map((s) => api[s] || 0)), `${ch}: ${cells} by status, as the outbox counts`);
  }
  const unack = (await call(page, 'GET', '/api/unacknowledged?older_than=0m')).body.households;
  const listed = await page.locator('#unack-list tbody tr').count();
  check(unack.length > 0 && listed === Math.min(100, unack.length), `${listed} households to call are listed (${unack.length} not acknowledged)`);
  const first = unack[0];
  const link = await call(page, 'POST', `/api/households/${first.household_id}/links`, {});
  const ack = await page.evaluate(async (tok) => (await fetch('/api/ack/' + tok, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, link.body.token);
  check(ack === 200, `household ${first.household_id} acknowledges through its link`);
  await page.click('#delivery-refresh');
  await page.waitForFunction((id) => !document.querySelector(`#unack-list tr[data-household="${id}"]`), first.household_id, { timeout: 30000 });
  check(true, `${first.household_id} is no longer on the list to call`);
  await page.evaluate(() => document.getElementById('delivery').scrollIntoView({ block: 'start' }));
  await shot(page, 'ops-delivery');

  // --- plots over time ---
  await page.click('#plots-refresh');
  await page.waitForFunction(() => window.muster.panels.series && window.muster.panels.series.acknowledged.at(-1) >= 1, null, { timeout: 30000 });
  const series = (await call(page, 'GET', '/api/operation/series?points=48')).body;
  const figs = await page.locator('#plots figure').count();
  check(figs === series.gates.length + 1, `a plot per gate and one of acknowledgements (${figs})`);
  for (const gs of series.gates) {
    const pts = await page.$$eval(`#plots figure[data-gate="${gs.id}"] polyline`, (ls) => Object.fromEntries(ls.map((l) => [l.dataset.series, l.getAttribute('points')])));
    check(pairs(pts['planned-through']) === gs.planned_through.length && pairs(pts['planned-waiting']) === gs.planned_waiting.length && pairs(pts.through) === gs.through.length && pairs(pts.waiting) === gs.waiting.length,
      `gate ${gs.id}: ${pairs(pts['planned-through'])} planned points, ${pairs(pts.through)} measured (the series: ${gs.planned_through.length}, ${gs.through.length})`);
  }
  const ackPts = await page.$eval('#plots figure[data-plot="acknowledged"] polyline[data-series="acknowledged"]', (l) => l.getAttribute('points'));
  check(pairs(ackPts) === series.acknowledged.length && series.acknowledged.at(-1) >= 1, `acknowledgements over time: ${pairs(ackPts)} points, ${series.acknowledged.at(-1)} by now`);
  await page.evaluate(() => document.getElementById('plots-panel').scrollIntoView({ block: 'start' }));
  await shot(page, 'ops-plots');

  // --- advisories: new, updated, then cancelled ---
  const zone = await page.evaluate(() => window.muster.picture.features.find((f) => f.properties.forbidden).properties.id);
  await page.selectOption('#adv-canned', 'avoid-gates');
  await page.fill('#adv-area', 'Bagh Park');
  await page.selectOption('#adv-zone', zone);
  await page.click('#adv-submit');
  await page.waitForFunction(() => /queued to|Refused/.test(document.getElementById('adv-result').textContent), null, { timeout: 60000 });
  const sent = await page.textContent('#adv-result');
  check(/^Advisory \S+ queued to \d+ households/.test(sent), sent);
  const advID = sent.split(' ')[1];
  await page.waitForSelector(`#adv-list li[data-advisory="${advID}"]`);
  // Updated: the form turns into an update, and what it sends references
  // the advisory (CAP msgType Update).
  await page.locator(`#adv-list li[data-advisory="${advID}"]`).getByRole('button', { name: 'Update' }).click();
  check((await page.textContent('#adv-submit')) === 'Send the update', 'the form turns into an update of the advisory');
  await page.fill('#adv-area', 'Bagh Park and the road north of it');
  await page.click('#adv-submit');
  await page.waitForFunction(() => /^Update .* queued to|Refused/.test(document.getElementById('adv-result').textContent), null, { timeout: 60000 });
  const upd = await page.textContent('#adv-result');
  check(/^Update \S+ queued to \d+ households/.test(upd), upd);
  const updID = upd.split(' ')[1];
  check((await page.textContent('#adv-submit')) === 'Send the advisory', 'the form is back to a new advisory');
  const updXML = await page.evaluate(async (id) => (await fetch('/api/advisories/' + encodeURIComponent(id) + '.xml')).text(), updID);
  check(/<msgType>Update<\/msgType>/.test(updXML) && updXML.includes(advID) && updXML.includes('the road north of it'), `the server holds the update, referencing ${advID}, with the new area`);
  // Cancelled: the update, the advisory's current version.
  await page.waitForSelector(`#adv-list li[data-advisory="${updID}"]`);
  await page.locator(`#adv-list li[data-advisory="${updID}"]`).getByRole('button', { name: 'Cancel' }).click();
  await page.waitForFunction(() => /cancelled|Refused/.test(document.getElementById('adv-result').textContent), null, { timeout: 60000 });
  check(/cancelled/.test(await page.textContent('#adv-result')), await page.textContent('#adv-result'));
  await page.waitForSelector(`#adv-list li.cancelled[data-advisory="${updID}"]`);
  const advs = (await call(page, 'GET', '/api/advisories')).body.advisories;
  check(advs.some((a) => a.msg_type === 'Cancel') && advs.some((a) => a.id === updID && a.msg_type === 'Update') && advs.some((a) => a.id === advID), 'the server holds the advisory, its update and the cancel');
  await page.evaluate(() => document.getElementById('advisories').scrollIntoView({ block: 'start' }));
  await shot(page, 'ops-advisories');

  // --- household search, by keyboard, audited ---
  const someone = (await call(page, 'GET', '/api/households?limit=5')).body.households.find((h) => h.name && h.name.split(' ').at(-1).length >= 3);
  const part = someone.name.split(' ').at(-1);
  await page.focus('#hh-q');
  await page.keyboard.type(part);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#hh-results li[data-household="${someone.id}"]`, { timeout: 60000 });
  check(true, `searching "${part}" finds ${someone.id}`);
  await page.locator(`#hh-results li[data-household="${someone.id}"] button`).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelector('#hh-detail h3') && document.querySelector('#hh-detail h3').textContent.includes(n), someone.name);
  check(await page.evaluate(() => document.activeElement === document.querySelector('#hh-detail h3')), 'the household opens, and the focus moves to it');
  await page.evaluate(() => document.getElementById('search').scrollIntoView({ block: 'start' }));
  await shot(page, 'ops-search');
  const admin = await page.evaluate(async (pw) => (await (await fetch('/api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'e2e-admin', password: pw }) })).json()).token, password);
  const audit = (await call(page, 'GET', '/api/audit?limit=1000', undefined, admin)).body.entries.filter((e) => e.actor === 'e2e-planner');
  check(audit.some((e) => e.action === 'household.search' && e.detail.includes(someone.id) && !e.detail.includes(part)), 'the search is audited with the ids shown, not the words');
  check(audit.some((e) => e.action === 'household.read' && e.target === 'household:' + someone.id), 'the read is audited');

  check(g.problems().length === 0, 'no request left the server, no page error, no CSP violation: ' + JSON.stringify(g.problems()));
  await ctx.close();

  // A planner on a 360-pixel phone: every panel fits.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  const g2 = guard(p2);
  await login(p2, 'e2e-planner');
  await p2.waitForSelector('#plots figure', { timeout: 30000 });
  await p2.waitForSelector('#adv-list li[data-advisory]', { timeout: 30000 });
  await p2.click('#make-proposals');
  await p2.waitForFunction(() => /proposals re-planning|Refused/.test(document.getElementById('proposals-status').textContent), null, { timeout: 240000 });
  await p2.locator('#proposals-table button[data-kind]').first().click();
  // Attached, not visible: with nothing new since the approval, the
  // minimal proposal may change no instruction, and its list is empty.
  await p2.waitForSelector('#diff-list ol.diff', { state: 'attached', timeout: 60000 });
  const width = await p2.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 360, `nothing is wider than the screen (${width} px) with the proposals, diff, plots and lists drawn`);
  await p2.evaluate(() => document.getElementById('proposals').scrollIntoView({ block: 'start' }));
  await shot(p2, 'ops-panels-360');
  check(g2.problems().length === 0, 'no problem on the phone: ' + JSON.stringify(g2.problems()));
  await phone.close();
});
