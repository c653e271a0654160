import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plannedPosition, along } from './groups.js';

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
