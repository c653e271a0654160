// The exercise panel of the operations map: before any exercise it says so;
// a planner runs one on the approved plan with a gate closing an hour in;
// the panel shows what the server computed, recomputed here from the
// server's own record (GET /api/simulations/latest): a row per run with
// its times and figures, people in safety as a line per run, and waiting
// at each gate under muster's plan with each gate's crowd limit dashed. A
// reload shows the latest again. A viewer sees it but has no button to
// run one, and the server refuses a viewer's run. Nothing leaves the server.
import { base, password, main, guard, check, shot } from './lib/browser.mjs';

async function login(page, name) {
  await page.goto(base + '/');
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

// call is the API as the page's session.
const call = (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
  const t = JSON.parse(sessionStorage.getItem('muster.session')).token;
  const r = await fetch(p, { method: m, headers: { Authorization: 'Bearer ' + t, ...(b ? { 'Content-Type': 'application/json' } : {}) }, body: b ? JSON.stringify(b) : undefined });
  const text = await r.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, body: data };
}, [method, path, body]);

// hhmm is how the panel writes a time in seconds (recomputed, not read from the page's code).
function hhmm(s) {
  if (s == null || s < 0) return 'never';
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
}

const panelText = (page) => page.evaluate(() => document.getElementById('sim-status').textContent);

await main(async (browser) => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const g = guard(page);
  await login(page, 'e2e-planner');

  // Before any exercise: the panel says there is none.
  await page.waitForFunction(() => /No exercise has run/.test(document.getElementById('sim-status').textContent), null, { timeout: 30000 });
  check(await page.locator('#sim-result *').count() === 0, 'before any exercise the panel says so and shows nothing: ' + await panelText(page));

  // An approved plan, made through the API (ops.mjs tests those buttons).
  const made = await call(page, 'POST', '/api/plans', {});
  check(made.status === 201, 'a plan is made: ' + made.status);
  const ok = await call(page, 'POST', `/api/plans/${made.body.id}/approve`);
  check(ok.status === 200, 'and approved: ' + ok.status);
  const places = await call(page, 'GET', '/api/places');
  const gates = (places.body.features || []).filter((f) => f.properties && f.properties.kind === 'gate').map((f) => f.properties.id);
  check(gates.length >= 2, `the demo city has gates to close one of (${gates.join(', ')})`);
  const closed = gates[0];

  // A planner runs an exercise with that gate closing an hour in.
  await page.fill('#sim-seed', '7');
  await page.fill('#sim-gate', closed);
  await page.click('#sim-run');
  await page.waitForFunction(() => /^(Done\.|.*(refused|error|failed).*)$/i.test(document.getElementById('sim-status').textContent), null, { timeout: 300000 });
  check(await panelText(page) === 'Done.', 'the exercise ran: ' + await panelText(page));

  const latest = await call(page, 'GET', '/api/simulations/latest');
  check(latest.status === 200, 'the server keeps it: ' + latest.status);
  const sim = latest.body;
  const shown = await page.evaluate(() => window.muster.simulation);
  check(JSON.stringify(shown) === JSON.stringify(sim), 'the panel shows the server\'s record of the exercise, nothing else');
  check(sim.seed === 7 && sim.plan === made.body.id && sim.by === 'e2e-planner', `seed 7, the approved plan, run by the planner (${sim.seed}, ${sim.plan}, ${sim.by})`);
  check((sim.injects || []).some((i) => i.kind === 'gate_close' && i.gate === closed && i.at_s === 3600), `the gate ${closed} closed at 1 h (${JSON.stringify(sim.injects)})`);
  check(sim.comparison.length >= 2 && sim.runs.length === sim.comparison.length, `muster's plan and the baselines: ${sim.comparison.map((c) => c.name).join(', ')}`);
  check(sim.runs[0].gates.some((gt) => gt.id === closed), 'muster\'s run has the closed gate among its gates');

  // The table: a row per run, each cell as the server's numbers give it.
  const rows = await page.$$eval('#sim-result table.sim-compare tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  check(rows.length === sim.comparison.length, `a row per run (${rows.length})`);
  sim.comparison.forEach((c, i) => {
    const want = [c.name, hhmm(c.egress_s), hhmm(c.t90_s), `${(100 * c.safe_share).toFixed(1)}%`, String(c.max_waiting), c.worst_level, String(c.gates_over_crowd_limit)];
    check(JSON.stringify(rows[i]) === JSON.stringify(want), `row ${i + 1}: ${rows[i].join(' | ')}`);
  });

  // The charts: a line per run in safety; per gate of muster's run, its
  // waiting and its crowd limit (dashed), each named.
  const charts = await page.$$eval('#sim-result svg.sim-chart', (svgs) => svgs.map((s) => ({
    label: s.getAttribute('aria-label'),
    paths: [...s.querySelectorAll('path')].map((p) => ({ name: p.querySelector('title')?.textContent, dashed: p.hasAttribute('stroke-dasharray'), points: (p.getAttribute('d').match(/[ML]/g) || []).length })),
  })));
  check(charts.length === 2, `two charts (${charts.map((c) => c.label).join('; ')})`);
  check(charts[0].label === 'People in safety' && JSON.stringify(charts[0].paths.map((p) => p.name)) === JSON.stringify(sim.runs.map((r) => r.name)),
    `people in safety: a line per run (${charts[0].paths.map((p) => p.name).join(', ')})`);
  const m = sim.runs[0];
  const wantGateLines = m.gates.flatMap((gt) => [[`${gt.name || gt.id} waiting`, false], [`${gt.name || gt.id} crowd limit`, true]]);
  check(JSON.stringify(charts[1].paths.map((p) => [p.name, p.dashed])) === JSON.stringify(wantGateLines),
    `waiting at each gate of ${m.name}: ${charts[1].paths.length} lines, the crowd limits dashed`);
  // At most about 300 points a line, and at least one a minute up to that:
  // a line has as many minutes as its run's series, drawn against muster's
  // minutes (a baseline done sooner ends sooner). How long the runs take
  // depends on the hour the exercise starts at (rally points keep hours):
  // from 600 minutes on, whole steps of minutes drew twice too many.
  const lengths = [sim.runs.map((r) => r.safe.length), m.gates.flatMap((gt) => [gt.waiting_per_minute.length, gt.waiting_per_minute.length])];
  charts.forEach((c, ci) => {
    c.paths.forEach((p, pi) => {
      const n = Math.min(lengths[ci][pi], m.minutes.length);
      check(p.points >= Math.min(n, 300) && p.points <= 302, `${c.label}, ${p.name}: ${p.points} points for ${n} minutes`);
    });
  });
  // The curves are the server's: the last point of muster's safe line is
  // its last count, the highest of a gate's waiting its max_waiting.
  check(m.safe[m.safe.length - 1] <= sim.people && Math.max(...m.safe) === m.safe[m.safe.length - 1], `people in safety only rise, to ${m.safe[m.safe.length - 1]} of ${sim.people}`);
  for (const gt of m.gates) check(Math.max(0, ...gt.waiting_per_minute) === gt.max_waiting, `${gt.id}: most waiting ${gt.max_waiting}, the top of its curve`);
  await shot(page, 'ops-simulation');

  // A reload: the latest is shown again without asking.
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => window.muster && window.muster.simulation, null, { timeout: 30000 });
  check(await page.evaluate(() => window.muster.simulation.id) === sim.id, 'after a reload the panel shows the latest exercise again');
  check(g.problems().length === 0, 'no page error, no request elsewhere, no CSP violation: ' + g.problems().join('; '));
  await ctx.close();

  // A viewer: sees it, has no button to run one, and cannot run one.
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const vpage = await vctx.newPage();
  const vg = guard(vpage);
  await login(vpage, 'e2e-viewer');
  await vpage.waitForFunction(() => window.muster && window.muster.simulation, null, { timeout: 30000 });
  check(await vpage.evaluate(() => window.muster.simulation.id) === sim.id, 'a viewer sees the latest exercise');
  check(!(await vpage.isVisible('#sim-run')), 'a viewer has no button to run one');
  const refused = await call(vpage, 'POST', '/api/simulations', { seed: 8, baselines: false });
  check(refused.status === 403, 'the server refuses a viewer\'s exercise: ' + refused.status);
  const after = await call(vpage, 'GET', '/api/simulations/latest');
  check(after.body.id === sim.id, 'and the latest is still the planner\'s');
  check(vg.problems().filter((p) => !/status of 403/.test(p)).length === 0, 'no page error for the viewer: ' + vg.problems().join('; '));
  await vctx.close();
});
