import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleCheckins } from './queue.js';

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
