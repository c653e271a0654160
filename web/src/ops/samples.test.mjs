import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samples } from './samples.js';

test('a chart line draws a point a minute up to 300, then 300 spread from the first minute to the last', () => {
  for (let n = 0; n <= 2500; n++) {
    const ks = samples(n, 300);
    assert.equal(ks.length, Math.min(n, 300), `${n} minutes: ${ks.length} points`);
    if (n === 0) continue;
    assert.equal(ks[0], 0, `${n} minutes: the first`);
    assert.equal(ks[ks.length - 1], n - 1, `${n} minutes: the last`);
    for (let j = 1; j < ks.length; j++) assert.ok(ks[j] > ks[j - 1], `${n} minutes: in order, each once`);
    // Evenly: no gap more than one minute wider than the others.
    const gaps = ks.slice(1).map((k, j) => k - ks[j]);
    if (gaps.length) assert.ok(Math.max(...gaps) - Math.min(...gaps) <= 1, `${n} minutes: gaps ${Math.min(...gaps)} to ${Math.max(...gaps)}`);
  }
});
