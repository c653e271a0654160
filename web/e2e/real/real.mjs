// The operations map of a real extract: Porto Alegre, with the drill's
// places and households (web/e2e_real_test.go serves them). The roads are
// drawn from the server's tiles of the real graph, every gate and rally
// point of the places file is on the map, and a plan made and approved
// has its routes drawn. What is expected comes from the API, not the page.
import { base, password, main, guard, check, shot } from '../lib/browser.mjs';

const call = (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
  const t = JSON.parse(sessionStorage.getItem('muster.session')).token;
  const r = await fetch(p, { method: m, headers: { Authorization: 'Bearer ' + t, ...(b ? { 'Content-Type': 'application/json' } : {}) }, body: b ? JSON.stringify(b) : undefined });
  const text = await r.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, body: data };
}, [method, path, body]);

await main(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const g = guard(page);
  const login = async () => {
    await page.goto(base + '/');
    await page.fill('#login-name', 'e2e-planner');
    await page.fill('#login-password', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app:not([hidden])');
    await page.waitForFunction(() => window.muster.map && window.muster.map.loaded(), null, { timeout: 60000 });
  };
  await login();

  // The roads: drawn from the tiles of Porto Alegre's graph.
  const roadLayers = ['roads-minor', 'roads-street', 'roads-arterial', 'roads-major'];
  await page.waitForFunction((ls) => window.muster.map.queryRenderedFeatures(undefined, { layers: ls }).length > 50, roadLayers, { timeout: 60000 });
  const roads = await page.evaluate((ls) => window.muster.map.queryRenderedFeatures(undefined, { layers: ls }).length, roadLayers);
  check(roads > 50, `Porto Alegre's roads are drawn (${roads} features on screen)`);
  const centre = await page.evaluate(() => window.muster.map.getCenter());
  check(centre.lng > -51.27 && centre.lng < -51.13 && centre.lat > -30.12 && centre.lat < -29.98, `the map opens on the extract (${centre.lng.toFixed(3)}, ${centre.lat.toFixed(3)})`);

  // Every gate and rally point of the places file.
  const gates = (await call(page, 'GET', '/api/gates')).body;
  const rallies = (await call(page, 'GET', '/api/rally-points')).body;
  const gateIDs = (gates.gates || gates.features || []).map((x) => x.id || (x.properties && x.properties.id));
  const rallyIDs = (rallies.rally_points || []).map((x) => x.id);
  check(gateIDs.length > 0 && rallyIDs.length > 0, `the server holds ${gateIDs.length} gates and ${rallyIDs.length} rally points`);
  // The view made to hold them all (the map keeps only what is in view).
  const pts = (rallies.rally_points || []).map((x) => [x.location.lon, x.location.lat]);
  await page.evaluate((ps) => new Promise((done) => {
    const lon = ps.map((p) => p[0]);
    const lat = ps.map((p) => p[1]);
    const m = window.muster.map;
    m.once('idle', done);
    m.fitBounds([[Math.min(...lon), Math.min(...lat)], [Math.max(...lon), Math.max(...lat)]], { padding: 40, animate: false });
  }), pts);
  await page.waitForFunction((n) => window.muster.map.querySourceFeatures('gates').length >= n, gateIDs.length, { timeout: 30000 });
  const onMap = await page.evaluate(() => ({
    gates: [...new Set(window.muster.map.querySourceFeatures('gates').map((f) => f.properties.id))],
    rally: [...new Set(window.muster.map.querySourceFeatures('rally').map((f) => f.properties.id))],
  }));
  check(gateIDs.every((id) => onMap.gates.includes(id)), `every gate is on the map (${onMap.gates.length})`);
  check(rallyIDs.every((id) => onMap.rally.includes(id)), `every rally point is on the map (${onMap.rally.length})`);
  await shot(page, 'real-porto-alegre');

  // A plan of the drill's households, approved: its routes drawn.
  const plan = await call(page, 'POST', '/api/plans', {});
  check(plan.status === 201, `a plan is made: ${plan.status}`);
  const ok = await call(page, 'POST', '/api/plans/' + plan.body.id + '/approve');
  check(ok.status === 200, `and approved: ${ok.status}`);
  const current = (await call(page, 'GET', '/api/plans/current')).body;
  const withRoute = (current.groups || []).filter((x) => x.route != null && current.routes[x.route]).map((x) => x.id);
  check(withRoute.length > 0, `the plan has ${withRoute.length} groups with a route`);
  await page.reload(); // the session is kept: the map opens on the plan now current
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.muster.map && window.muster.map.loaded(), null, { timeout: 60000 });
  await page.waitForFunction(() => window.muster.map.querySourceFeatures('routes').length > 0, null, { timeout: 60000 });
  const routeIDs = await page.evaluate(() => [...new Set(window.muster.map.querySourceFeatures('routes').map((f) => f.properties.id))]);
  check(withRoute.every((id) => routeIDs.includes(id)), `the plan's ${withRoute.length} group routes are on the map (${routeIDs.length})`);
  await shot(page, 'real-porto-alegre-plan');
  check(g.problems().length === 0, 'no request left the server, no page error, no CSP violation: ' + JSON.stringify(g.problems()));
  await ctx.close();
});
