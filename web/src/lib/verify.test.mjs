// Tests of the browser's token verifier. Run alone (node --test) it checks
// what needs no fixtures; given a fixtures file made by Go
// (web/verify_test.go: `node verify.test.mjs fixtures.json`) it asserts
// that every verdict is the one credential.Verify gave, through WebCrypto
// and through the @noble/ed25519 fallback.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeBase45, encodeBase45, ALPHABET } from './base45.js';
import { decodeCBOR } from './cbor.js';
import { openBundle, refreshBundle, verifyToken, useNoble, verdictHeadline, bundleAge, age } from './verify.js';
import { loadBundle, pins, setPins } from './verify-store.js';

const fixturesPath = process.argv.slice(2).find((a) => a.endsWith('.json'));
let compared = 0;

test('base45 round trip and strictness', () => {
  for (let n = 0; n < 40; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
    assert.deepEqual(decodeBase45(encodeBase45(b)), b);
  }
  assert.deepEqual(decodeBase45('BB8'), new TextEncoder().encode('AB')); // RFC 9285 example
  assert.throws(() => decodeBase45('GGW'), /above 65535/);
  assert.throws(() => decodeBase45('a'), /3k\+1/);
  assert.throws(() => decodeBase45('aa'), /not in the alphabet/);
  assert.throws(() => decodeBase45(':Z'), /above 255/);
});

test('cbor refuses what the Go decoder refuses', () => {
  assert.deepEqual(decodeCBOR(Uint8Array.of(0xa1, 0x01, 0x61, 0x78)), new Map([[1, 'x']]));
  for (const [bytes, why] of [
    [[0xa2, 0x01, 0x00, 0x01, 0x00], /duplicate/],
    [[0x5f, 0xff], /indefinite/],
    [[0xc1, 0x00], /tag/],
    [[0xf9, 0x00, 0x00], /float/],
    [[0x62, 0xc3, 0x28], /UTF-8/],
    [[0x01, 0x02], /after the item/],
    [[0x9a, 0xff, 0xff, 0xff, 0xff], /array of/],
    [[0x78], /truncated/],
  ]) assert.throws(() => decodeCBOR(Uint8Array.from(bytes)), why);
});

test('age is said as muster verify says it', () => {
  assert.equal(age(59), '59s');
  assert.equal(age(11400), '3h10m');
  assert.equal(age(3 * 86400 + 7200), '3d02h');
});

test('random input never throws out of verifyToken', async () => {
  // A bundle-less and a random-bundle call, and random text and bytes.
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const noBundle = await verifyToken('MU1:ABC', null);
  assert.equal(noBundle.status, 'forged');
  for (let i = 0; i < 3000; i++) {
    const n = Math.floor(rnd() * 300);
    const bytes = Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    if (i % 3 === 0 && n > 2) { bytes[0] = 0xd2; bytes[1] = 0x84; }
    const text = i % 2 ? 'MU1:' + encodeBase45(bytes) : 'MU1:' + Array.from({ length: n }, () => ALPHABET[Math.floor(rnd() * 45)]).join('');
    const v = await verifyToken(text, { deployment: 'x', asOf: 1, keys: [], statuses: new Map() }, 2);
    assert.ok(['forged', 'unknown_key'].includes(v.status), `${text}: ${v.status}`);
    assert.equal(typeof v.reason, 'string');
    await assert.rejects(openBundle(bytes, ['00'.repeat(32)]), /bundle/);
  }
  for (const odd of [undefined, 42, {}, 'MU1:' + '\u0661'.repeat(30)]) assert.equal((await verifyToken(odd, { deployment: 'x', asOf: 1, keys: [], statuses: new Map() }, 2)).status, 'forged');
});

if (fixturesPath) {
  const f = JSON.parse(readFileSync(fixturesPath, 'utf8'));
  const raw = Object.fromEntries(Object.entries(f.bundles).map(([k, b]) => [k, Uint8Array.from(Buffer.from(b.data, 'base64'))]));

  for (const impl of ['webcrypto', 'noble']) {
    test(`verdicts equal Go's (${impl})`, async () => {
      useNoble(impl === 'noble');
      const opened = {};
      for (const [name, b] of Object.entries(f.bundles)) {
        try {
          opened[name] = await openBundle(raw[name], b.trusted);
          assert.ok(b.opens, `bundle ${name}: JavaScript opens it, Go refused it: ${b.refuse}`);
        } catch (e) {
          assert.ok(!b.opens, `bundle ${name}: JavaScript refuses it (${e.message}), Go opened it`);
          assert.match(e.message, /^bundle/);
        }
      }
      for (const c of f.cases) {
        const v = await verifyToken(c.token, opened[c.bundle], c.now);
        compared++;
        assert.equal(v.status, c.status, `${c.name}: JavaScript says ${v.status} (${v.reason}), Go says ${c.status}`);
        assert.equal(v.latest || 0, c.latest || 0, `${c.name}: superseded by`);
        assert.equal(v.claims ? v.claims.tokenId : '', c.token_id || '', `${c.name}: token id`);
        if (c.status === 'unknown_key' || c.claimed_issuer) assert.equal(v.claimedIssuer, c.claimed_issuer || '', `${c.name}: claimed issuer`);
        assert.ok(verdictHeadline(v).length > 0 && bundleAge(v).includes('old'));
      }
      useNoble(false);
    });
  }

  test('every one-character change of a genuine token is forged', async () => {
    const b = await openBundle(raw[f.sweep_bundle], f.bundles[f.sweep_bundle].trusted);
    const g = f.sweep;
    assert.equal((await verifyToken(g, b, f.sweep_now)).status, 'current');
    let n = 0;
    for (let i = 0; i < g.length; i++) {
      for (const ch of ALPHABET + 'a0\u0000') {
        if (ch === g[i]) continue;
        const v = await verifyToken(g.slice(0, i) + ch + g.slice(i + 1), b, f.sweep_now);
        assert.equal(v.status, 'forged', `character ${i} changed to ${JSON.stringify(ch)}: ${v.status}`);
        assert.equal(v.claims, null);
        n++;
      }
    }
    assert.ok(n > 10000);
  });

  test('a refreshed bundle must be newer and chain to the held one', async () => {
    const main = await openBundle(raw.main, f.bundles.main.trusted);
    const rotated = await refreshBundle(main, raw.rotated);
    assert.ok(rotated.asOf > main.asOf);
    await assert.rejects(refreshBundle(rotated, raw.main), /older than the one you have/);
    await assert.rejects(refreshBundle(main, raw.other), /trust/);
  });

  test('a page pins on first use, follows rotations, refuses rollbacks and strangers, and works offline', async () => {
    const mem = new Map();
    const storage = { getItem: (k) => (mem.has(k) ? mem.get(k) : null), setItem: (k, v) => mem.set(k, String(v)), removeItem: (k) => mem.delete(k) };
    const serve = (name) => async () => raw[name];
    const offline = async () => { throw new Error('Failed to fetch'); };
    let r = await loadBundle(storage, offline);
    assert.equal(r.bundle, null);
    r = await loadBundle(storage, serve('main'));
    assert.ok(r.firstUse && r.source === 'network' && r.bundle.deployment === 'kabul-2021');
    assert.deepEqual(pins(storage), f.bundles.main.trusted);
    r = await loadBundle(storage, serve('rotated'));
    assert.ok(!r.firstUse && r.source === 'network' && r.bundle.keys.length === 2, 'the next bundle, signed by the new key, is taken on the old key\'s endorsement');
    const rotatedAsOf = r.bundle.asOf;
    r = await loadBundle(storage, serve('main'));
    assert.ok(r.source === 'held' && r.bundle.asOf === rotatedAsOf && /older than the one you have/.test(r.warning), `rollback: ${r.warning}`);
    r = await loadBundle(storage, serve('other'));
    assert.ok(r.source === 'held' && r.bundle.deployment === 'kabul-2021' && /refused/.test(r.warning), `stranger: ${r.warning}`);
    r = await loadBundle(storage, serve('tampered'));
    assert.ok(r.source === 'held' && /refused/.test(r.warning), `tampered: ${r.warning}`);
    r = await loadBundle(storage, offline);
    assert.ok(r.source === 'held' && r.bundle.asOf === rotatedAsOf && /offline/.test(r.warning));
    // A device pinned to another deployment's key refuses this one's bundle.
    setPins(storage, f.bundles.other.trusted);
    r = await loadBundle(storage, serve('main'));
    assert.equal(r.bundle, null);
    assert.match(r.warning, /refused/);
  });

  after(() => { process.stdout.write(`# compared ${compared} cases\n`); });
}
