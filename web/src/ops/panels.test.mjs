import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRows } from './panels.js';

test('a re-plan diff reads as rally point, gate and time before and after, by household', () => {
  // As the server gives plans (plan.json version 2): times in seconds
  // after params.start, a household's rally point and report-by only
  // where they are not its group's.
  const params = { start: '2026-01-01T07:00:00Z' };
  const before = {
    params,
    gates: [{ id: 'g1', name: 'North Gate' }, { id: 'g2', name: 'South Gate' }],
    groups: [{ id: 'G1', gate: 'g1', rally_point: 'rp1', report_by_s: 3600 }],
    households: [{ id: 'H1', group: 'G1' }, { id: 'H2', group: 'G1' }],
  };
  const after = {
    params,
    gates: before.gates,
    groups: [{ id: 'G1', gate: 'g1', rally_point: 'rp1', report_by_s: 3600 }, { id: 'G9', gate: 'g2', rally_point: 'rp2', report_by_s: 3600 }],
    households: [{ id: 'H1', group: 'G9' }, { id: 'H2', group: '', rally_point: 'rp1' }],
  };
  const diff = { changes: [{ household: 'H1', fields: ['rally_point', 'group', 'gate'], reason: 'its rally point is in a forbidden zone' }, { household: 'H2', fields: ['unassigned'], reason: 'no gate' }] };
  const rows = diffRows(before, after, diff, new Map([['rp1', 'Bagh Park'], ['rp2', 'Murad Khani School']]));
  assert.equal(rows.length, 2);
  assert.deepEqual([rows[0].before.rally, rows[0].after.rally], ['Bagh Park', 'Murad Khani School']);
  assert.deepEqual([rows[0].before.gate, rows[0].after.gate], ['North Gate', 'South Gate']);
  assert.equal(rows[0].before.time, rows[0].after.time);
  assert.equal(rows[0].reason, 'its rally point is in a forbidden zone');
  assert.deepEqual(rows[1].after, { rally: '–', gate: '–', time: '–' }, 'no longer assigned: nothing after');
  assert.equal(rows[1].before.rally, 'Bagh Park');
  assert.deepEqual(diffRows(before, after, null, new Map()), []);
});
