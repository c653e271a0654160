// Verification of muster instruction tokens in the browser: the same
// verdicts as credential.Verify (Go), in the same order, against the same
// signed bundle. A token is "MU1:" and the base45 of a COSE_Sign1 message
// whose payload is the CBOR claims (docs/instruction-tokens.md).
//
// Ed25519 comes from WebCrypto where the browser has it (Chromium 113+,
// Firefox 129+, Safari 17+), else from @noble/ed25519 (audited, bundled,
// loaded only when needed). verifyToken never throws: any input gives a
// verdict, and anything not proven genuine is "forged".

import { decodeBase45 } from './base45.js';
import { decodeCBOR } from './cbor.js';
import { BUNDLE_CONTENT_TYPE, parseProtected, parseSign1, sigStructure } from './cose.js';

export const PREFIX = 'MU1:';
export const CLOCK_SKEW_S = 300;
export const STALE_AFTER_S = 24 * 3600;
export const MAX_TOKEN_BYTES = 320;
const MAX_UNIX = 253402300799;
const MAX_ID_LEN = 32;

/** Status codes, as POST /api/verify names them, and in words. */
export const SAYS = {
  current: 'genuine and current',
  superseded: 'genuine but superseded',
  revoked: 'revoked',
  expired: 'expired',
  unknown_key: 'signed by an unknown key',
  forged: 'forged',
};

// ---- Ed25519 --------------------------------------------------------

let webCryptoEd25519 = typeof crypto !== 'undefined' && !!crypto.subtle;
let nobleModule = null;

/** Which implementation verifies signatures: 'webcrypto' or 'noble'. */
export function ed25519Implementation() { return webCryptoEd25519 ? 'webcrypto' : 'noble'; }

/** Forces the @noble/ed25519 fallback (tests; browsers without it). */
export function useNoble(yes = true) { webCryptoEd25519 = !yes; }

async function noble() {
  if (!nobleModule) nobleModule = await import('@noble/ed25519');
  return nobleModule;
}

const keyCache = new Map();

/** Ed25519 verification; false for anything that is not a valid signature. */
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (webCryptoEd25519) {
    try {
      const id = hex(publicKey);
      let key = keyCache.get(id);
      if (!key) {
        key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
        keyCache.set(id, key);
      }
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch (e) {
      if (e && (e.name === 'NotSupportedError' || e.name === 'TypeError' && /algorithm/i.test(e.message))) {
        webCryptoEd25519 = false; // this browser lacks Ed25519 in WebCrypto
      } else {
        return false; // a key that is not a point: nothing verifies under it
      }
    }
  }
  try {
    const ed = await noble();
    // zip215: false is RFC 8032's strict rule, as Go's crypto/ed25519.
    return await ed.verifyAsync(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

// ---- helpers --------------------------------------------------------

export function hex(b) {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export async function sha256(b) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', b));
}

const enc = new TextEncoder();

function iso(s) { return new Date(s * 1000).toISOString().replace('.000Z', 'Z'); }

/** How old something is, the way muster verify says it (credential.age). */
export function age(s) {
  if (s < 0) return '-' + age(-s);
  s = Math.floor(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

// ---- claims ---------------------------------------------------------

// field reads one map entry of the expected kind; absent is the zero value
// (as a Go struct leaves it), null too.
function field(m, key, kind, where) {
  if (!m.has(key) || m.get(key) === null) return kind === 'bytes' ? new Uint8Array(0) : kind === 'text' ? '' : 0;
  const v = m.get(key);
  switch (kind) {
    case 'text': if (typeof v !== 'string') throw new Error(`${where}: key ${key} is not text`); return v;
    case 'bytes': if (!(v instanceof Uint8Array)) throw new Error(`${where}: key ${key} is not bytes`); return v;
    case 'u16': case 'u32': case 'u64': {
      const max = kind === 'u16' ? 0xffff : kind === 'u32' ? 0xffffffff : Number.MAX_SAFE_INTEGER;
      if (typeof v !== 'number' || v < 0 || v > max) throw new Error(`${where}: key ${key} is not an unsigned integer in range`);
      return v;
    }
  }
  throw new Error('unreachable');
}

function onlyKeys(m, keys, where) {
  if (!(m instanceof Map)) throw new Error(`${where}: not a map`);
  for (const k of m.keys()) if (!keys.includes(k)) throw new Error(`${where}: unknown key ${k}`);
}

function checkID(name, s) {
  if (s.length === 0 || s.length > MAX_ID_LEN) throw new Error(`${name} ${JSON.stringify(s)}: 1 to ${MAX_ID_LEN} characters`);
  if (!/^[A-Za-z0-9._-]+$/.test(s)) throw new Error(`${name} ${JSON.stringify(s)}: only letters, digits, '.', '_' and '-'`);
}

function checkText(name, s) {
  if (enc.encode(s).length > MAX_ID_LEN) throw new Error(`${name} ${JSON.stringify(s)} is longer than ${MAX_ID_LEN} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) throw new Error(`${name} ${JSON.stringify(s)} has a control character`);
}

/** Decodes and validates token claims (credential.unmarshalClaims). */
export function decodeClaims(payload) {
  const w = decodeCBOR(payload, { maxDepth: 4, maxItems: 16 });
  onlyKeys(w, [1, 4, 6, -65537], 'claims');
  const m = w.has(-65537) && w.get(-65537) !== null ? w.get(-65537) : new Map();
  onlyKeys(m, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'claims');
  const c = {
    issuer: field(w, 1, 'text', 'claims'),
    notAfter: field(w, 4, 'u64', 'claims'),
    issuedAt: field(w, 6, 'u64', 'claims'),
    instruction: field(m, 1, 'text', 'claims'),
    household: field(m, 2, 'text', 'claims'),
    version: field(m, 3, 'u32', 'claims'),
    supersedes: field(m, 4, 'u32', 'claims'),
    digest: field(m, 5, 'bytes', 'claims'),
    rallyPoint: field(m, 6, 'text', 'claims'),
    reportFrom: field(m, 7, 'u64', 'claims'),
    reportBy: field(m, 8, 'u64', 'claims'),
    group: field(m, 9, 'text', 'claims'),
    people: field(m, 10, 'u16', 'claims'),
  };
  if (c.digest.length !== 16) throw new Error(`claims: a digest of ${c.digest.length} bytes, want 16`);
  for (const t of [c.notAfter, c.issuedAt, c.reportFrom, c.reportBy]) if (t > MAX_UNIX) throw new Error(`claims: time ${t} is out of range`);
  for (const [n, v] of [['issuer', c.issuer], ['instruction', c.instruction], ['household', c.household]]) if (!v) throw new Error(`claims: no ${n}`);
  checkID('issuer', c.issuer);
  for (const [n, v] of [['instruction', c.instruction], ['household', c.household], ['rally point', c.rallyPoint], ['group', c.group]]) checkText(n, v);
  if (c.version === 0) throw new Error('claims: version 0: versions start at 1');
  if (c.supersedes >= c.version) throw new Error(`claims: version ${c.version} cannot supersede version ${c.supersedes}`);
  if (c.digest.every((x) => x === 0)) throw new Error('claims: no content digest');
  if (!c.issuedAt || !c.notAfter) throw new Error('claims: no issue time or no expiry');
  if (c.notAfter <= c.issuedAt) throw new Error('claims: expires before it is issued');
  if (!c.reportFrom !== !c.reportBy) throw new Error('claims: a report-by window needs both its start and its end');
  if (c.reportBy < c.reportFrom) throw new Error('claims: the report-by window ends before it starts');
  c.tokenId = `${c.instruction}/v${c.version}`;
  c.digest = hex(c.digest);
  return c;
}

// ---- bundle ---------------------------------------------------------

function endorsementMessage(deployment, key) {
  const d = enc.encode(deployment);
  const prefix = enc.encode('muster key endorsement v1\x00');
  const m = new Uint8Array(prefix.length + d.length + 1 + key.key.length + 8);
  m.set(prefix, 0);
  m.set(d, prefix.length);
  m.set(key.key, prefix.length + d.length + 1);
  new DataView(m.buffer).setBigUint64(m.length - 8, BigInt(key.createdAt));
  return m;
}

export class BundleError extends Error {}

/**
 * Opens a signed bundle (credential.OpenBundle): trusted only if the key
 * that signed it is one of the trusted fingerprints (hex SHA-256 of a
 * public key) or is endorsed from one through the chain of keys, and only
 * if it was signed within that key's life. Returns the bundle or throws a
 * BundleError saying why not.
 */
export async function openBundle(data, trusted) {
  const bad = (why) => { throw new BundleError(`bundle: ${why}`); };
  if (!trusted || trusted.length === 0) bad('no trusted fingerprint given (a bundle can only vouch for itself)');
  trusted = trusted.map((f) => f.replace(/[ :]/g, '').toLowerCase());
  let p;
  let kid;
  let w;
  try {
    p = parseSign1(data);
    kid = parseProtected(p.protected, BUNDLE_CONTENT_TYPE);
    w = decodeCBOR(p.payload, { maxDepth: 5 });
    onlyKeys(w, [1, 2, 3, 4, 5], 'bundle');
  } catch (e) {
    bad(e.message);
  }
  const rawKeys = w.get(4);
  const rawStatuses = w.has(5) && w.get(5) !== null ? w.get(5) : [];
  if (!Array.isArray(rawKeys) || rawKeys.length === 0) bad('no keys');
  if (!Array.isArray(rawStatuses)) bad('statuses are not a list');
  const b = {
    deployment: field(w, 1, 'text', 'bundle'),
    asOf: field(w, 2, 'u64', 'bundle'),
    maxLifetime: field(w, 3, 'u64', 'bundle'),
    keys: [],
    statuses: new Map(),
  };
  try { checkID('deployment', b.deployment); } catch (e) { bad(e.message); }
  if (!b.asOf) bad('no as-of time');
  if (b.asOf > MAX_UNIX || b.maxLifetime > 10 * 366 * 24 * 3600) bad('a time out of range');
  for (const [i, k] of rawKeys.entries()) {
    if (!Array.isArray(k) || k.length !== 5) bad(`key ${i + 1} is not [key, created, retired, verify-until, endorsement]`);
    const t = new Map(k.map((v, j) => [j, v]));
    const key = {
      key: field(t, 0, 'bytes', 'bundle key'), createdAt: field(t, 1, 'u64', 'bundle key'),
      retiredAt: field(t, 2, 'u64', 'bundle key'), verifyUntil: field(t, 3, 'u64', 'bundle key'),
      endorsement: field(t, 4, 'bytes', 'bundle key'),
    };
    if (key.createdAt > MAX_UNIX || key.retiredAt > MAX_UNIX || key.verifyUntil > MAX_UNIX) bad("a key's time is out of range");
    if (key.key.length !== 32) bad(`key ${i + 1} is ${key.key.length} bytes, an Ed25519 public key is 32`);
    const fp = await sha256(key.key);
    key.fingerprint = hex(fp);
    key.id = hex(fp.subarray(0, 8));
    if (!key.createdAt || !key.retiredAt !== !key.verifyUntil || (key.retiredAt && (key.retiredAt < key.createdAt || key.verifyUntil < key.retiredAt))) {
      bad(`key ${key.id}: its creation, retirement and verification times do not hold together`);
    }
    if (i < rawKeys.length - 1 && !key.retiredAt) bad(`key ${key.id} is not retired but a newer key follows it`);
    b.keys.push(key);
  }
  let prev = null;
  for (const s of rawStatuses) {
    if (!Array.isArray(s) || s.length !== 3) bad('a status is not [instruction, latest, revoked]');
    const t = new Map(s.map((v, j) => [j, v]));
    const id = field(t, 0, 'text', 'bundle status');
    const latest = field(t, 1, 'u32', 'bundle status');
    const rv = t.get(2) === null ? [] : t.get(2);
    if (!Array.isArray(rv)) bad(`instruction ${id}: revoked versions are not a list`);
    const revoked = rv.map((v) => field(new Map([[0, v]]), 0, 'u32', 'bundle status'));
    if (prev !== null && !(prev < id)) bad(`statuses not in strictly ascending order at ${JSON.stringify(id)}`);
    prev = id;
    try { checkText('instruction', id); } catch { bad(`statuses: instruction ${JSON.stringify(id)}: not an id`); }
    if (!id) bad(`statuses: instruction ${JSON.stringify(id)}: not an id`);
    if (latest === 0) bad(`statuses: instruction ${id}: latest version 0`);
    revoked.forEach((v, i) => {
      if (v === 0 || v > latest || (i > 0 && v <= revoked[i - 1])) bad(`statuses: instruction ${id}: revoked versions ${revoked}: want ascending versions from 1 to the latest (${latest})`);
    });
    b.statuses.set(id, { latest, revoked });
  }
  // The chain: each key endorsed by the one before; trust flows from a pinned key on.
  let trustedFrom = -1;
  for (const [i, k] of b.keys.entries()) {
    if (i > 0 && !(await ed25519Verify(b.keys[i - 1].key, endorsementMessage(b.deployment, k), k.endorsement))) bad(`key ${k.id} is not endorsed by the key before it`);
    if (i === 0 && k.endorsement.length !== 0) bad('the first key carries an endorsement');
    if (trustedFrom < 0 && trusted.includes(k.fingerprint)) trustedFrom = i;
  }
  if (trustedFrom < 0) bad(`none of its ${b.keys.length} keys is one you trust (another deployment's bundle?)`);
  const kidHex = hex(kid);
  let signer = -1;
  for (let i = trustedFrom; i < b.keys.length; i++) if (b.keys[i].id === kidHex) signer = i;
  if (signer < 0) bad(`it is signed by key ${kidHex}, not one of its trusted keys`);
  const sk = b.keys[signer];
  if (!(await ed25519Verify(sk.key, sigStructure(p.protected, p.payload), p.signature))) bad('its signature does not match (it was changed after signing)');
  if (b.asOf < sk.createdAt - CLOCK_SKEW_S || (sk.retiredAt && b.asOf > sk.retiredAt + CLOCK_SKEW_S)) bad(`it is as of ${iso(b.asOf)}, outside the life of key ${kidHex} that signed it`);
  b.signedBy = kidHex;
  return b;
}

/**
 * Opens a newer bundle of the same deployment on the strength of the keys
 * of the one held (credential.Bundle.Refresh); an older one is refused so
 * that no one can roll a verifier back to a list without the latest
 * revocations.
 */
export async function refreshBundle(held, data) {
  const nb = await openBundle(data, held.keys.map((k) => k.fingerprint));
  if (nb.deployment !== held.deployment) throw new BundleError(`bundle: it is deployment ${nb.deployment}'s, not ${held.deployment}'s`);
  if (nb.asOf < held.asOf) throw new BundleError(`bundle as of ${iso(nb.asOf)} is older than the one you have (${iso(held.asOf)}): kept yours`);
  return nb;
}

// ---- tokens ---------------------------------------------------------

function revokedIn(st, v) { return st.revoked.includes(v) || st.revoked.includes(st.latest); }

/**
 * Verifies a token against an opened bundle at now (Unix seconds): the
 * verdict credential.Verify gives, as {status, says, reason, claims,
 * keyId, latest, claimedIssuer, deployment, asOf, ageS, warnings}.
 * Never throws.
 */
export async function verifyToken(token, bundle, now = Date.now() / 1000) {
  try {
    return await verifyUnsafe(token, bundle, now);
  } catch (e) {
    // Nothing should get here; if it does, the token is not believed.
    return { status: 'forged', says: SAYS.forged, reason: `could not be checked: ${e && e.message}`, warnings: [] };
  }
}

async function verifyUnsafe(token, b, now) {
  if (!b) return { status: 'forged', says: SAYS.forged, reason: 'no keys to check it against', warnings: [] };
  const v = { status: 'forged', reason: '', claims: null, keyId: '', latest: 0, claimedIssuer: '', deployment: b.deployment, asOf: b.asOf, ageS: Math.floor(now - b.asOf), warnings: [] };
  if (v.ageS > STALE_AFTER_S) v.warnings.push(`the bundle is ${age(v.ageS)} old: revocations since then are not known; refresh it when you can`);
  if (v.ageS < 0) v.warnings.push(`the bundle is dated ${iso(b.asOf)}, after this device's clock: check the clock`);
  const done = (status, reason) => { v.status = status; v.says = SAYS[status]; v.reason = reason; return v; };
  if (typeof token !== 'string') return done('forged', 'not text');
  token = token.replace(/^[\r\n\t]+|[\r\n\t]+$/g, '');
  if (token.length > 2 * MAX_TOKEN_BYTES) return done('forged', `${token.length} characters: far longer than any muster token`);
  if (!token.startsWith(PREFIX)) {
    if (token.toUpperCase().startsWith(PREFIX)) return done('forged', 'its letters are lower case: a muster token is upper case');
    return done('forged', `not a muster instruction token (it does not start with ${PREFIX})`);
  }
  let msg;
  try { msg = decodeBase45(token.slice(PREFIX.length)); } catch (e) { return done('forged', `a character is changed or missing (${e.message})`); }
  let p;
  try { p = parseSign1(msg); } catch (e) { return done('forged', `changed or truncated: ${e.message}`); }
  let kid;
  try { kid = parseProtected(p.protected, ''); } catch (e) { return done('forged', `changed or not a token: ${e.message}`); }
  v.keyId = hex(kid);
  const key = b.keys.find((k) => k.id === v.keyId);
  if (!key) {
    let c;
    try { c = decodeClaims(p.payload); } catch (e) { return done('forged', `changed or malformed: ${e.message}`); }
    v.claimedIssuer = c.issuer;
    if (c.issuer !== b.deployment) {
      return done('unknown_key', `signed by key ${v.keyId}, which this deployment (${b.deployment}) does not have; it says it is from deployment ${c.issuer}: check it with that deployment's bundle`);
    }
    if (c.issuedAt > b.asOf) {
      return done('unknown_key', `signed by key ${v.keyId}, which the bundle (as of ${iso(b.asOf)}) does not have, and says it was issued after it: refresh the bundle and check again`);
    }
    return done('forged', `it claims to be from deployment ${b.deployment} but names key ${v.keyId}, which that deployment never had (its keys: ${b.keys.map((k) => k.id).join(', ')})`);
  }
  if (!(await ed25519Verify(key.key, sigStructure(p.protected, p.payload), p.signature))) {
    return done('forged', 'the signature does not match: the token was changed, or made by someone without the key');
  }
  let c;
  try { c = decodeClaims(p.payload); } catch (e) { return done('forged', `signed by key ${v.keyId} but its claims cannot be read (${e.message}): made by another version of muster?`); }
  if (c.issuer !== b.deployment) return done('forged', `signed by key ${v.keyId} of deployment ${b.deployment} but claims to be from ${c.issuer}`);
  if (c.issuedAt < key.createdAt - CLOCK_SKEW_S || (key.retiredAt && c.issuedAt > key.retiredAt + CLOCK_SKEW_S)) {
    return done('forged', `signed by key ${v.keyId} at ${iso(c.issuedAt)}, outside the key's life: a copy of a retired key was used`);
  }
  v.claims = c;
  const st = b.statuses.get(c.instruction);
  if (st) {
    if (st.latest < c.version) {
      v.warnings.push(`version ${c.version} is newer than the bundle knows (${st.latest}): refresh the bundle`);
    } else if (revokedIn(st, c.version)) {
      if (c.version === st.latest || !revokedIn(st, st.latest)) return done('revoked', `version ${c.version} of instruction ${c.instruction} was withdrawn by the issuer`);
      return done('revoked', `instruction ${c.instruction} was withdrawn by the issuer (its latest version, ${st.latest}, and every earlier one)`);
    } else if (st.latest > c.version) {
      v.latest = st.latest;
      return done('superseded', `version ${c.version} of instruction ${c.instruction} was replaced by version ${st.latest}: only the newest counts`);
    }
  }
  if (!(now < c.notAfter)) return done('expired', `it expired at ${iso(c.notAfter)}`);
  if (key.verifyUntil && now > key.verifyUntil) return done('expired', `its key ${v.keyId} was retired at ${iso(key.retiredAt)} and verifies nothing after ${iso(key.verifyUntil)}`);
  if (c.issuedAt > now + CLOCK_SKEW_S) v.warnings.push(`issued at ${iso(c.issuedAt)}, after this device's clock: check the clock`);
  return done('current', '');
}

/** The verdict in one line for people, as muster verify's first line. */
export function verdictHeadline(v) {
  let s = (v.says || SAYS[v.status] || 'forged').toUpperCase();
  if (v.status === 'superseded') s += ` by version ${v.latest}`;
  return s;
}

/** "as of 2021-08-26T05:00:00Z (3h10m old)": always shown with a verdict. */
export function bundleAge(v) {
  if (!v.asOf) return '';
  return `checked against deployment ${v.deployment}'s keys and revocations as of ${iso(v.asOf)} (${age(v.ageS)} old)`;
}

/**
 * The fingerprint of a bundle's first key, read without trusting it: what
 * a page pins on its first use when it was given no fingerprint
 * (verify-store.js). Throws if the bundle cannot be read.
 */
export async function firstKeyFingerprint(data) {
  const p = parseSign1(data);
  parseProtected(p.protected, BUNDLE_CONTENT_TYPE);
  const w = decodeCBOR(p.payload, { maxDepth: 5 });
  const keys = w instanceof Map ? w.get(4) : null;
  if (!Array.isArray(keys) || !Array.isArray(keys[0]) || !(keys[0][0] instanceof Uint8Array)) throw new BundleError('bundle: no keys');
  return hex(await sha256(keys[0][0]));
}
