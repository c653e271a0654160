// The operations map, as a planner uses it: log in, see the city drawn from
// the server's road tiles, add a report and see its zone on the map, make
// a plan, read it, approve it (its routes appear), issue instructions; a
// place named in Dari is drawn; a viewer on a 360-pixel phone sees the map
// and no planner's panel. No request leaves the server.
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

// rendered counts the features of a layer drawn on the screen now.
const rendered = (page, layer) => page.evaluate((l) => window.muster.map.queryRenderedFeatures(undefined, { layers: [l] }).length, layer);

// drawn waits until a layer has at least min features on the screen.
async function drawn(page, layer, min, what) {
  try {
    await page.waitForFunction(([l, n]) => window.muster.map.queryRenderedFeatures(undefined, { layers: [l] }).length >= n, [layer, min], { timeout: 30000 });
  } catch {
    /* reported below */
  }
  const n = await rendered(page, layer);
  check(n >= min, `${what} (${n} drawn)`);
}

await main(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const g = guard(page);
  let tiles = 0;
  page.on('response', (r) => {
    if (r.url().includes('/tiles/') && r.url().endsWith('.mvt') && r.status() === 200) tiles++;
  });

  // A wrong password is refused, with the server's words.
  await page.goto(base + '/');
  await page.fill('#login-name', 'e2e-planner');
  await page.fill('#login-password', 'not the password');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
  check(await page.isVisible('#login'), 'a wrong password leaves the login form');

  await login(page, 'e2e-planner');
  await page.waitForFunction(() => window.muster.map.areTilesLoaded(), null, { timeout: 60000 });
  check(tiles > 0, `the map loaded ${tiles} road tiles from the server`);
  check((await rendered(page, 'roads-street')) + (await rendered(page, 'roads-arterial')) + (await rendered(page, 'roads-major')) > 0, 'roads are drawn');
  await drawn(page, 'gates', 3, 'the gates are drawn');
  await drawn(page, 'rally', 3, 'the rally points are drawn');
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live', null, { timeout: 15000 });
  check(true, 'live updates are connected');
  await shot(page, 'ops-map');

  // A report: its zone appears in the list and on the map.
  await page.fill('#r-lat', String(rally.lat));
  await page.fill('#r-lon', String(rally.lon));
  await page.fill('#r-radius', '600');
  await page.selectOption('#r-kind', 'attack-threat');
  await page.selectOption('#r-likelihood', 'almost certain');
  await page.fill('#r-severity', '5');
  await page.fill('#r-text', 'armed group seen at Bagh Park');
  await page.click('#report-form button[type=submit]');
  await page.waitForFunction(() => /added/.test(document.getElementById('report-result').textContent), null, { timeout: 30000 });
  await page.waitForSelector('#zone-list li');
  const zoneText = await page.textContent('#zone-list');
  check(/forbidden/.test(zoneText), 'the new zone is listed, forbidden: ' + zoneText.trim());
  await page.evaluate(({ lat, lon }) => window.muster.map.jumpTo({ center: [lon, lat], zoom: 14 }), rally);
  await page.waitForFunction(() => window.muster.map.loaded() && window.muster.map.areTilesLoaded(), null, { timeout: 30000 });
  const atZone = await page.evaluate(({ lat, lon }) => {
    const m = window.muster.map;
    return m.queryRenderedFeatures(m.project([lon, lat]), { layers: ['zones-fill'] }).length;
  }, rally);
  check(atZone > 0, 'the zone is drawn on the map where the report placed it');
  // Its explanation opens from the list.
  await page.click('#zone-list li button');
  await page.waitForSelector('.maplibregl-popup .zone-popup');
  const pop = await page.textContent('.maplibregl-popup .zone-popup');
  check(/Reports for/.test(pop) && /armed group seen at Bagh Park/.test(pop), 'the zone explains itself and lists its report');
  await shot(page, 'ops-report');
  await page.click('.maplibregl-popup-close-button');

  // A plan: proposed, read, approved; its routes appear.
  await page.click('#make-plan');
  await page.waitForFunction(() => /proposed|Refused/.test(document.getElementById('plan-status').textContent), null, { timeout: 180000 });
  const status = await page.textContent('#plan-status');
  check(/proposed/.test(status), 'a plan is proposed: ' + status);
  const card = page.locator('article.plan.st-proposed').first();
  check(/Makespan/.test(await card.textContent()) && /Lower bound/.test(await card.textContent()), 'the plan card gives makespan and lower bound');
  await card.getByRole('button', { name: 'Read its detail' }).click();
  await page.locator('#plan-detail table').waitFor();
  check((await page.locator('#plan-detail table tr').count()) > 2, 'the detail lists the load per gate');
  await card.getByRole('button', { name: 'Approve and issue' }).click();
  await page.waitForFunction(() => /approved|Refused/.test(document.getElementById('plan-status').textContent), null, { timeout: 120000 });
  const approved = await page.textContent('#plan-status');
  check(/approved: \d+ instructions issued/.test(approved), 'the plan is approved and issued: ' + approved);
  await page.waitForSelector('article.plan.st-current');
  await page.evaluate(() => window.muster.map.zoomTo(12.5, { duration: 0 }));
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['routes'] }).length > 0, null, { timeout: 30000 });
  check(true, 'the routes of the current plan are drawn');
  check((await rendered(page, 'density')) >= 0, 'the density layer is there');
  const cells = await page.evaluate(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['density'] }).map((f) => f.properties));
  check(cells.length > 0 && cells.every((p) => Object.keys(p).join() === 'n' && p.n >= 3), `the density layer holds counts of 3 households or more per cell, nothing else (${cells.length} cells)`);
  await shot(page, 'ops-plan');

  // Instructions: nothing changed since approval, and it says so.
  await page.click('#issue');
  await page.waitForFunction(() => /Issued|Refused/.test(document.getElementById('issue-result').textContent), null, { timeout: 60000 });
  const issued = await page.textContent('#issue-result');
  check(/Issued 0, .*unchanged \d+/.test(issued), 'issuing again changes nothing: ' + issued);

  // A place named in Dari: the map draws it (Arabic script, right to left).
  const dari = 'پارک شهر نو';
  const put = await page.evaluate(async (name) => {
    const s = JSON.parse(sessionStorage.getItem('muster.session'));
    const body = { type: 'Feature', geometry: { type: 'Point', coordinates: [69.1602, 34.5335] }, properties: { id: 'rally-dari', name, kind: 'rally', capacity: 200 } };
    const r = await fetch('/api/places/rally-dari', { method: 'PUT', headers: { Authorization: 'Bearer ' + s.token, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return r.status;
  }, dari);
  check(put === 200, 'a rally point named in Dari is stored');
  await page.evaluate(() => window.muster.map.jumpTo({ center: [69.1602, 34.5335], zoom: 15.5 }));
  await page.waitForFunction((name) => window.muster.map.queryRenderedFeatures(undefined, { layers: ['place-labels'] }).some((f) => f.properties.name === name), dari, { timeout: 30000 });
  check(true, 'the Dari name is drawn on the map (live, after the place event)');
  await shot(page, 'ops-dari');

  check(g.problems().length === 0, 'no request left the server, no page error, no CSP violation: ' + JSON.stringify(g.problems()));
  await ctx.close();

  // A viewer on a 360-pixel phone: the map and the picture, no planner's panel.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  const g2 = guard(p2);
  await login(p2, 'e2e-viewer');
  check(await p2.isHidden('#plan-title'), 'a viewer sees no plan panel');
  check(await p2.isHidden('#report-title'), 'a viewer sees no report form');
  const overflow = await p2.evaluate(() => document.documentElement.scrollWidth);
  check(overflow <= 360, `nothing is wider than the screen (${overflow} px)`);
  await p2.waitForSelector('#zone-list li');
  await shot(p2, 'ops-360');
  check(g2.problems().length === 0, 'no problem on the phone: ' + JSON.stringify(g2.problems()));
  await phone.close();
});
