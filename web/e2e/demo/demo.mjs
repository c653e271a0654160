// The README's main command, in a browser: `muster demo --serve` printed
// its URL and an admin's password (web/e2e_demo_test.go passes them);
// the operations map of the demo city shows the threat, the plan's routes
// and its groups, which move along their routes as their times come.
// No request leaves the server.
import { base, password, main, guard, check, shot } from '../lib/browser.mjs';

const user = process.env.MUSTER_E2E_USER || 'admin';

// onLine is how far a point lies from a line (degrees, roughly), and how
// far along it (0..1 of its length) its nearest point is.
function onLine(line, p) {
  let best = { d: Infinity, at: 0 };
  let total = 0;
  const lens = [];
  for (let i = 1; i < line.length; i++) {
    const l = Math.hypot(line[i][0] - line[i - 1][0], line[i][1] - line[i - 1][1]);
    lens.push(l);
    total += l;
  }
  let so = 0;
  for (let i = 1; i < line.length; i++) {
    const [ax, ay] = line[i - 1];
    const [bx, by] = line[i];
    const dx = bx - ax;
    const dy = by - ay;
    const l2 = dx * dx + dy * dy;
    const r = l2 ? Math.max(0, Math.min(1, ((p[0] - ax) * dx + (p[1] - ay) * dy) / l2)) : 0;
    const d = Math.hypot(ax + r * dx - p[0], ay + r * dy - p[1]);
    if (d < best.d) best = { d, at: (so + r * lens[i - 1]) / total };
    so += lens[i - 1];
  }
  return best;
}

await main(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const g = guard(page);
  await page.goto(base + '/');
  await page.fill('#login-name', user);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.muster.map && window.muster.map.loaded(), null, { timeout: 60000 });
  check(true, `logged in as ${user} with the printed password`);

  // What the server holds, read as the page reads it.
  const held = await page.evaluate(async () => {
    const s = JSON.parse(sessionStorage.getItem('muster.session'));
    const get = async (p) => (await fetch(p, { headers: { Authorization: 'Bearer ' + s.token } })).json();
    const threats = await get('/api/threats');
    const plan = await get('/api/plans/current');
    return { zones: threats.features.map((f) => f.properties.id), groups: plan.groups.map((g) => ({ id: g.id, departure: g.departure, arrival: g.arrival, through: g.through, route_from: g.route_from, line: g.route && g.route.geometry && g.route.geometry.coordinates })) };
  });
  check(held.zones.length > 0 && held.groups.length > 0, `the demo server holds ${held.zones.length} threat zones and a current plan of ${held.groups.length} groups`);

  // The threat: every zone of the picture is on the map's source, and drawn.
  await page.waitForFunction((n) => window.muster.map.querySourceFeatures('zones').length >= n, held.zones.length, { timeout: 30000 }).catch(() => {});
  const zoneIDs = await page.evaluate(() => [...new Set(window.muster.map.querySourceFeatures('zones').map((f) => f.properties.id))]);
  check(held.zones.every((id) => zoneIDs.includes(id)), `every threat zone is on the map (${zoneIDs.length})`);
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['zones-fill'] }).length > 0, null, { timeout: 30000 });
  check(true, 'the threat zones are drawn');

  // The plan: its routes drawn, one per group with a route.
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['routes'] }).length > 0, null, { timeout: 60000 });
  const routeIDs = await page.evaluate(() => [...new Set(window.muster.map.querySourceFeatures('routes').map((f) => f.properties.id))]);
  const withRoute = held.groups.filter((x) => x.line && x.line.length);
  check(withRoute.every((x) => routeIDs.includes(x.id)), `the plan's ${withRoute.length} group routes are on the map (${routeIDs.length})`);

  // The groups, now: each is where the plan has it at this moment.
  await page.waitForFunction(() => window.muster.groups && window.muster.groups.features.length > 0, null, { timeout: 30000 });
  const now = await page.evaluate(() => window.muster.groups);
  check(now.features.length > 0, `the groups are on the map now: ${await page.textContent('#groups-summary')}`);
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['groups'] }).length > 0, null, { timeout: 30000 });
  check(true, 'the groups are drawn');
  // They are re-placed as the clock runs, without a reload.
  const t0 = Date.parse(now.at);
  await page.waitForFunction((t) => Date.parse(window.muster.groups.at) > t, t0, { timeout: 20000 });
  check(true, 'the groups are placed again as the clock runs');
  await shot(page, 'demo-map');

  // As their times come: a group the plan has leaving later is at its
  // rally point before, on its route (further along as time passes) while
  // it moves, at its gate on arrival.
  const later = withRoute.filter((x) => Date.parse(x.departure) > Date.now() + 2 * 60000 && Date.parse(x.arrival) - Date.parse(x.departure) > 8 * 60000)
    .sort((a, b) => Date.parse(a.departure) - Date.parse(b.departure))[0];
  check(later, `a group leaves later: ${later && later.id} at ${later && later.departure}`);
  const setAhead = async (when) => {
    const min = Math.ceil((when - Date.now()) / 60000);
    await page.evaluate((v) => {
      const r = document.getElementById('look-ahead');
      r.max = String(Math.max(Number(r.max), v));
      r.value = String(v);
      r.dispatchEvent(new Event('input', { bubbles: true }));
    }, min);
    return page.evaluate((id) => ({ at: window.muster.groups.at, f: window.muster.groups.features.find((x) => x.properties.id === id) }), later.id);
  };
  const dep = Date.parse(later.departure);
  const arr = Date.parse(later.arrival);
  const before = await setAhead(dep - 90000);
  check(before.f && before.f.properties.status === 'forming' && onLine(later.line, before.f.geometry.coordinates).at < 1e-6, `before it leaves, ${later.id} forms at the start of its route`);
  const first = await setAhead(dep + (arr - dep) * 0.3);
  const second = await setAhead(dep + (arr - dep) * 0.75);
  const p1 = first.f && onLine(later.line, first.f.geometry.coordinates);
  const p2 = second.f && onLine(later.line, second.f.geometry.coordinates);
  check(first.f && first.f.properties.status === 'moving' && p1.d < 1e-6 && p1.at > 0 && p1.at < 1, `${later.id} moves along its route (${p1 && p1.at.toFixed(2)} of the way at ${first.at})`);
  check(second.f && second.f.properties.status === 'moving' && p2.d < 1e-6 && p2.at > p1.at, `${later.id} is further along later (${p2 && p2.at.toFixed(2)} at ${second.at})`);
  await page.waitForFunction(() => window.muster.map.queryRenderedFeatures(undefined, { layers: ['groups'], filter: ['==', ['get', 'status'], 'moving'] }).length > 0, null, { timeout: 20000 });
  check(true, 'groups moving are drawn');
  const moving = await page.evaluate(() => window.muster.groups.features.filter((f) => f.properties.status === 'moving').length);
  check(moving > 0, `${moving} groups on the move then: ${await page.textContent('#groups-summary')}`);
  await shot(page, 'demo-groups-moving');
  const atGate = await setAhead(arr + 30000);
  const pg = atGate.f && onLine(later.line, atGate.f.geometry.coordinates);
  check(!atGate.f || (atGate.f.properties.status === 'at_gate' && pg.at > 1 - 1e-6), `on arrival ${later.id} is at its gate (or through)`);

  check(g.problems().length === 0, 'no request left the server, no page error, no CSP violation: ' + JSON.stringify(g.problems()));
  await ctx.close();
});
