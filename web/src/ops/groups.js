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

// decodePolyline reads a line of plan.json (version 2, plan/PLAN_FORMAT.md):
// Google's encoded polyline at 1e-6 degrees, latitude first; at most max
// points, as [lon, lat].
export function decodePolyline(s, max = Infinity) {
  const pts = [];
  let i = 0;
  let lat = 0;
  let lon = 0;
  const value = () => {
    let v = 0;
    let shift = 0;
    let b;
    do {
      b = s.charCodeAt(i++) - 63;
      v |= (b & 0x1f) << shift;
      shift += 5;
    } while (b >= 0x20 && i < s.length);
    return v & 1 ? ~(v >> 1) : v >> 1;
  };
  while (i < s.length && pts.length < max) {
    lat += value();
    lon += value();
    pts.push([lon / 1e6, lat / 1e6]);
  }
  return pts;
}

// planView reads a plan as the server gives it (plan.json version 2: a
// route kept once in routes[] and named by its index, times in seconds
// after params.start, a household's rally point and report-by time only
// where they are not its group's) into what the map and the panels use:
// each group with its route's line and its times as instants, each
// household with its rally point and report-by time.
export function planView(p) {
  const start = Date.parse((p.params || {}).start);
  const at = (s) => (s == null || Number.isNaN(start) ? undefined : new Date(start + s * 1000).toISOString());
  const lines = (p.routes || []).map((r) => (r && r.polyline ? { type: 'LineString', coordinates: decodePolyline(r.polyline) } : null));
  const groups = (p.groups || []).map((g) => ({
    ...g,
    route: lines[g.route] ? { geometry: lines[g.route] } : null,
    report_by: at(g.report_by_s),
    departure: at(g.departure_s),
    route_from: at(g.route_from_s),
    arrival: at(g.arrival_s),
    through: at(g.through_s),
  }));
  const byId = new Map(groups.map((g) => [g.id, g]));
  const households = (p.households || []).map((h) => {
    const g = byId.get(h.group) || {};
    return { ...h, rally_point: h.rally_point || g.rally_point, report_by: 'report_by_s' in h ? at(h.report_by_s) : g.report_by };
  });
  return { ...p, groups, households };
}
