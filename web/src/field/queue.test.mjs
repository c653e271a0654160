import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleCheckins, settleEvents, checkinEvent } from './queue.js';

test('a sync answer settles each queued check-in by its place in the request', () => {
  const rows = [{ id: 'a', state: 'queued' }, { id: 'b', state: 'queued' }, { id: 'c', state: 'queued' }];
  const out = settleCheckins(rows, { outcomes: [
    { token_id: 'I-H1/v1', checkin: {} },
    { refused: 'the token is forged: x' },
    { token_id: 'I-H2/v1', duplicate: true, first: { rally_point: 'RP-1', by: 'dev/ann', at: '2021-08-26T06:00:00Z' } },
  ] });
  assert.deepEqual(out.map((r) => r.state), ['sent', 'refused', 'sent']);
  assert.match(out[1].note, /forged/);
  assert.match(out[2].note, /DUPLICATE: I-H2\/v1 .* RP-1/);
  assert.equal(out[0].id, 'a');
});

test('a field-events answer settles each event by its id; unanswered ones stay queued', () => {
  const rows = [{ id: 'a', state: 'queued' }, { id: 'b', state: 'queued' }, { id: 'c', state: 'queued' }, { id: 'd', state: 'queued' }];
  const out = settleEvents(rows, { outcomes: [
    { id: 'c', outcome: 'duplicate' },
    { id: 'a', outcome: 'recorded', flags: ['spent'] },
    { id: 'b', outcome: 'refused', reason: 'no such group' },
  ] });
  assert.deepEqual(out.map((r) => r.state), ['sent', 'refused', 'sent', 'queued']);
  assert.match(out[0].note, /flagged: spent/);
  assert.match(out[1].note, /no such group/);
  assert.match(out[2].note, /already recorded/);
});

test('a queued check-in becomes a checkin field event with its token', () => {
  const e = checkinEvent({ id: 'ci-1', body: { token: 'MU1:X', rally_point: 'RP-1', at: '2021-08-26T06:00:00Z', by: 'ann' } });
  assert.deepEqual(e, { id: 'ci-1', kind: 'checkin', at: '2021-08-26T06:00:00Z', token: 'MU1:X', rally_point: 'RP-1' });
});

test('a check-in admitted at another rally point carries the officer\'s reason as its note', () => {
  const e = checkinEvent({ id: 'ci-2', body: { token: 'MU1:Y', rally_point: 'RP-2', at: '2021-08-26T06:00:00Z', by: 'ann',
    other_rally: { instructed: 'RP-1', reason: 'RP-1 is overrun' } } });
  assert.equal(e.rally_point, 'RP-2');
  assert.equal(e.note, 'admitted at RP-2, its instruction naming RP-1: RP-1 is overrun');
  const long = checkinEvent({ id: 'ci-3', body: { token: 'MU1:Z', rally_point: 'RP-2', at: '2021-08-26T06:00:00Z', by: 'ann',
    other_rally: { instructed: 'RP-1', reason: 'x'.repeat(3000) } } });
  assert.equal(long.note.length, 2000);
});
