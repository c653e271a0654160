// The operations map, as a planner uses it: log in, see the city drawn from
// the server's road tiles, add a report and see its zone on the map, make
// a plan, read it, approve it (its routes appear), issue instructions; a
// place named in Dari is drawn; a plan that leaves households without a
// rally point in reach has its suggestions drawn, explained and toggled; a viewer on a 360-pixel phone sees the map
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
  await page.goto(base + '/');
  check(await page.evaluate(() => window.isSecureContext && location.protocol === 'https:'), 'the page is served over HTTPS, a secure context');
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
  await page.waitForFunction(() => window.muster.map.querySourceFeatures('density').length > 0, null, { timeout: 30000 }).catch(() => {});
  const cells = await page.evaluate(() => window.muster.map.querySourceFeatures('density').map((f) => f.properties));
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

  // A plan that leaves households without a rally point in reach (walks of
  // at most 4 min): approved, its suggestions are drawn, each ring where
  // the plan puts it, with a popup saying whom it would serve and why; the
  // layer can be switched off and on.
  const made = await page.evaluate(async () => {
    const s = JSON.parse(sessionStorage.getItem('muster.session'));
    const h = { Authorization: 'Bearer ' + s.token, 'Content-Type': 'application/json' };
    const r = await fetch('/api/plans', { method: 'POST', headers: h, body: JSON.stringify({ max_walk_s: 240 }) });
    const p = await r.json();
    if (!r.ok) return { error: JSON.stringify(p) };
    const a = await fetch(`/api/plans/${encodeURIComponent(p.id)}/approve`, { method: 'POST', headers: h });
    const body = await (await fetch('/api/plans/' + encodeURIComponent(p.id), { headers: h })).json();
    return { id: p.id, approved: a.status, suggestions: (body.reach && body.reach.suggestions) || [], unassigned: (body.unassigned || []).length };
  });
  check(!made.error && made.approved === 200, `a plan with walks of at most 4 min is made and approved (${made.error || made.id})`);
  const rallies = made.suggestions.filter((x) => x.kind === 'rally_point');
  check(rallies.length > 0, `it suggests ${made.suggestions.length} ways (${rallies.length} new rally points) for its ${made.unassigned} unserved households`);
  await page.waitForFunction((id) => window.muster.current && window.muster.current.id === id, made.id, { timeout: 30000 });
  await page.waitForFunction(async (n) => ((await window.muster.map.getSource('suggestions').getData()).features || []).length >= n, made.suggestions.length, { timeout: 30000 }).catch(() => {});
  const onMap = await page.evaluate(async () => ((await window.muster.map.getSource('suggestions').getData()).features || []).map((f) => ({ id: f.properties.id, kind: f.properties.kind, people: f.properties.people, at: f.geometry.coordinates, keys: Object.keys(f.properties).sort().join(), households: f.properties.households })));
  const byId = new Map(onMap.map((f) => [f.id, f]));
  check(byId.size === made.suggestions.length && made.suggestions.every((x) => {
    const f = byId.get(x.id);
    return f && f.kind === x.kind && f.people === x.people && Math.abs(f.at[0] - x.lon) < 1e-5 && Math.abs(f.at[1] - x.lat) < 1e-5;
  }), `every suggestion of the plan is on the map where the plan puts it, with its kind and people (${byId.size} of ${made.suggestions.length})`);
  check(onMap.every((f) => f.keys === 'households,id,kind,people' && typeof f.households === 'number'), 'the map holds no household id for a suggestion, only counts');
  const summary = await page.textContent('#suggestions-summary');
  check(new RegExp(`suggests ${rallies.length} new rally point`).test(summary), 'the legend says what the plan suggests: ' + summary);
  const first = rallies[0];
  await page.evaluate(({ lat, lon }) => window.muster.map.jumpTo({ center: [lon, lat], zoom: 15 }), first);
  await page.waitForFunction(() => window.muster.map.loaded() && window.muster.map.areTilesLoaded(), null, { timeout: 30000 });
  await drawn(page, 'suggestions', 1, 'the suggested rally point is drawn');
  const stroke = await page.evaluate((id) => {
    const f = window.muster.map.queryRenderedFeatures(undefined, { layers: ['suggestions'] }).find((x) => x.properties.id === id);
    return f && f.layer.paint['circle-stroke-color'];
  }, first.id);
  const rallyColor = await page.evaluate(() => window.muster.map.getPaintProperty('rally', 'circle-color'));
  check(stroke && JSON.stringify(stroke) !== JSON.stringify(rallyColor), `a suggested rally point is marked unlike the rally points (${JSON.stringify(stroke)})`);
  const mapBox = await page.locator('#map').boundingBox();
  const px = await page.evaluate(({ lat, lon }) => window.muster.map.project([lon, lat]), first);
  await page.mouse.click(mapBox.x + px.x, mapBox.y + px.y);
  await page.waitForSelector('.maplibregl-popup .suggestion-popup');
  const sp = await page.textContent('.maplibregl-popup .suggestion-popup');
  const n = first.households.length;
  check(sp.includes(`${first.id}: New rally point`) && sp.includes(`${n} household${n === 1 ? '' : 's'}, ${first.people} people`) && sp.includes(first.why),
    'its popup gives the households and people it would serve, and why: ' + sp.slice(0, 200));
  await shot(page, 'ops-suggestions');
  await page.click('.maplibregl-popup-close-button');
  await page.uncheck('[data-layer=suggestions]');
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['suggestions'] }).length === 0, null, { timeout: 10000 }).catch(() => {});
  check((await rendered(page, 'suggestions')) === 0 && (await page.evaluate(() => window.muster.map.getLayoutProperty('suggestions', 'visibility'))) === 'none', 'the suggestions layer switches off');
  await page.check('[data-layer=suggestions]');
  await drawn(page, 'suggestions', 1, 'and on again');

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
