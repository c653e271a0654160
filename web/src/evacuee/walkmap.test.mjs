import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walkPoints, scaleLength } from './walkmap.js';

test('the walk is laid end to end by bearing and length', () => {
  // 100 m north, then 50 m east, then arrive.
  const { pts, minY, maxX } = walkPoints([
    { maneuver: 'depart', distance_m: 100, bearing: 0 },
    { maneuver: 'right', distance_m: 50, bearing: 90 },
    { maneuver: 'arrive', distance_m: 0, bearing: 90 },
  ]);
  assert.equal(pts.length, 3);
  assert.ok(Math.abs(pts[1][0]) < 1e-9 && Math.abs(pts[1][1] + 100) < 1e-9);
  assert.ok(Math.abs(pts[2][0] - 50) < 1e-9 && Math.abs(pts[2][1] + 100) < 1e-9);
  assert.equal(minY, -100);
  assert.ok(Math.abs(maxX - 50) < 1e-9);
});

test('no steps is home alone, bad numbers are ignored', () => {
  assert.deepEqual(walkPoints(undefined).pts, [[0, 0]]);
  assert.equal(walkPoints([{ distance_m: 'x', bearing: 3 }]).pts.length, 1);
});

test('scale bar lengths are round', () => {
  assert.equal(scaleLength(1000), 200);
  assert.equal(scaleLength(4000), 1000);
  assert.equal(scaleLength(90), 20);
});
