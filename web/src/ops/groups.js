// Where the plan has its groups at a time: pure functions of the plan's
// JSON, shared by the map (main.js) and its unit tests.

// Where the plan has a group at time t: at its rally point until it
// leaves, then along its route in proportion to the time (as the planner
// places a group on the move, plan/PLAN_FORMAT.md), at its gate from its
// arrival until its last member is through; gone after. A group re-routed
// on the move (route_from) starts its route then, from where it was.
export function plannedPosition(g, t) {
  const line = g.route && g.route.geometry && g.route.geometry.coordinates;
  if (!line || !line.length) return null;
  const ms = (x) => (x ? Date.parse(x) : NaN);
  const start = ms(g.route_from) || ms(g.departure);
  const arrival = ms(g.arrival);
  const through = ms(g.through) || arrival;
  if (t >= through) return null;
  // Re-routed: before then it was on its old way, which the plan no
  // longer holds; it is drawn where the new route starts.
  if (!(t > start)) return { coordinates: line[0], status: t > ms(g.departure) ? 'moving' : 'forming' };
  if (t >= arrival) return { coordinates: line[line.length - 1], status: 'at_gate' };
  return { coordinates: along(line, (t - start) / (arrival - start)), status: 'moving' };
}

// along is the point at fraction f of a line's length (lon/lat, by
// equirectangular distance: short lines, a city).
export function along(line, f) {
  const seg = [];
  let total = 0;
  for (let i = 1; i < line.length; i++) {
    const k = Math.cos((line[i][1] * Math.PI) / 180);
    const d = Math.hypot((line[i][0] - line[i - 1][0]) * k, line[i][1] - line[i - 1][1]);
    seg.push(d);
    total += d;
  }
  let want = Math.min(Math.max(f, 0), 1) * total;
  for (let i = 0; i < seg.length; i++) {
    if (want <= seg[i] && seg[i] > 0) {
      const r = want / seg[i];
      return [line[i][0] + (line[i + 1][0] - line[i][0]) * r, line[i][1] + (line[i + 1][1] - line[i][1]) * r];
    }
    want -= seg[i];
  }
  return line[line.length - 1];
}
