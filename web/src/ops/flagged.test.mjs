import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flaggedRows } from './flagged.js';

const ev = (id, at, flags, extra = {}) => ({ id, kind: 'checkin', at, flags, what: 'H' + id, ...extra });

test('flagged events are listed newest first, each flag in words, those counted all the same marked', () => {
  const { rows, more } = flaggedRows([
    ev('1', '2021-08-26T06:00:00Z', ['token_spent']),
    ev('2', '2021-08-26T07:30:00Z', ['other_rally_point'], { applied: true, rally_point: 'RP-B', noted: true }),
    ev('3', '2021-08-26T07:00:00Z', ['token_forged', 'other_rally_point']),
    ev('4', '2021-08-26T07:00:00Z', ['a_flag_of_a_newer_server'], { kind: 'gate_count' }),
  ], 10);
  assert.equal(more, 0);
  assert.deepEqual(rows.map((r) => r.id), ['2', '4', '3', '1'], 'newest first, ties by id');
  assert.deepEqual(rows[0].flags, ['at another rally point']);
  assert.equal(rows[0].counted, true);
  assert.equal(rows[0].noted, true);
  assert.equal(rows[0].where, 'RP-B');
  assert.deepEqual(rows[2].flags, ['forged token', 'at another rally point']);
  assert.equal(rows[2].counted, false, 'a forged token is kept, not counted');
  assert.deepEqual(rows[1].flags, ['a_flag_of_a_newer_server'], 'an unknown flag is shown as named');
  assert.equal(rows[1].kind, 'gate count');
  assert.equal(rows[3].at.toISOString(), '2021-08-26T06:00:00.000Z');
});

test('a long list shows the newest up to the limit and says how many are left out', () => {
  const many = Array.from({ length: 120 }, (_, i) => ev(String(i).padStart(3, '0'), new Date(Date.UTC(2021, 7, 26, 6, i)).toISOString(), ['repeated']));
  const { rows, more } = flaggedRows(many, 50);
  assert.equal(rows.length, 50);
  assert.equal(more, 70);
  assert.equal(rows[0].id, '119');
  assert.equal(rows[49].id, '070');
  assert.deepEqual(flaggedRows(null, 50), { rows: [], more: 0 }, 'none flagged');
  assert.deepEqual(flaggedRows(many, 0).more, 120);
});
