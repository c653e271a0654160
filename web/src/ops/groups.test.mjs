import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plannedPosition, along, planView, decodePolyline } from './groups.js';

const T = Date.parse('2026-01-01T08:00:00Z');
const iso = (ms) => new Date(ms).toISOString();
const min = 60000;
const near = (a, b, what) => assert.ok(Math.abs(a[0] - b[0]) < 1e-9 && Math.abs(a[1] - b[1]) < 1e-9, `${what}: ${a} is not ${b}`);

test('a group forms at its rally point, moves along its route in proportion to the time, waits at its gate, is gone when through', () => {
  const g = { departure: iso(T), arrival: iso(T + 10 * min), through: iso(T + 15 * min), route: { geometry: { coordinates: [[0, 0], [0, 0.001], [0, 0.003]] } } };
  const at = (ms) => plannedPosition(g, ms);
  assert.equal(at(T - 1).status, 'forming');
  near(at(T - 1).coordinates, [0, 0], 'before it leaves');
  assert.equal(at(T + 5 * min).status, 'moving');
  near(at(T + 5 * min).coordinates, [0, 0.0015], 'half the time: half the length, on the second stretch');
  near(at(T + 2.5 * min).coordinates, [0, 0.00075], 'a quarter');
  assert.equal(at(T + 12 * min).status, 'at_gate');
  near(at(T + 12 * min).coordinates, [0, 0.003], 'at its gate');
  assert.equal(at(T + 15 * min), null);
});

test('a group re-routed on the move starts its new route when it was re-routed', () => {
  const g = { departure: iso(T), route_from: iso(T + 4 * min), arrival: iso(T + 8 * min), through: iso(T + 9 * min), route: { geometry: { coordinates: [[1, 0], [1, 0.002]] } } };
  assert.equal(plannedPosition(g, T - min).status, 'forming');
  assert.equal(plannedPosition(g, T + 3 * min).status, 'moving', 'left, on its old way');
  near(plannedPosition(g, T + 3 * min).coordinates, [1, 0], 'where its new route starts');
  near(plannedPosition(g, T + 6 * min).coordinates, [1, 0.001], 'half way from route_from to arrival');
});

test('no route, no position; a degenerate line stays put', () => {
  assert.equal(plannedPosition({ departure: iso(T), arrival: iso(T + min) }, T), null);
  near(along([[2, 2], [2, 2]], 0.5), [2, 2], 'a line of no length');
  near(along([[0, 0], [0, 1]], 7), [0, 1], 'past the end');
});

test('a plan as the server gives it (version 2) reads into lines and instants', () => {
  // Google's example line, at 1e-6 degrees: (38.5, -120.2), (40.7, -120.95), (43.252, -126.453).
  const line = '_izlhA~rlgdF_{geC~ywl@_kwzCn`{nI';
  near(decodePolyline(line)[2], [-126.453, 43.252], 'third point');
  assert.equal(decodePolyline(line, 1).length, 1);
  const p = {
    params: { start: '2026-01-01T08:00:00Z' },
    routes: [{ polyline: line }],
    groups: [{ id: 'G1', rally_point: 'rp1', report_by_s: 60, departure_s: 120, arrival_s: 600, through_s: 660, route: 0 }, { id: 'G2', route: 7 }],
    households: [{ id: 'H1', group: 'G1' }, { id: 'H2', group: 'G1', rally_point: 'rp9', report_by_s: null }],
  };
  const v = planView(p);
  assert.equal(v.groups[0].route.geometry.coordinates.length, 3);
  assert.equal(v.groups[0].departure, '2026-01-01T08:02:00.000Z');
  assert.equal(v.groups[0].through, '2026-01-01T08:11:00.000Z');
  assert.equal(v.groups[0].route_from, undefined);
  assert.equal(v.groups[1].route, null, 'a route index the plan does not hold: no line');
  assert.deepEqual([v.households[0].rally_point, v.households[0].report_by], ['rp1', '2026-01-01T08:01:00.000Z'], "its group's");
  assert.deepEqual([v.households[1].rally_point, v.households[1].report_by], ['rp9', undefined], 'its own');
  assert.equal(plannedPosition(v.groups[0], Date.parse('2026-01-01T08:06:00Z')).status, 'moving');
});
