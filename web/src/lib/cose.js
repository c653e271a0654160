// COSE_Sign1 (RFC 9052 §4.2) as credential/cose.go writes and reads it,
// strictly: tag 18, an array of four, shortest byte-string lengths, an
// empty unprotected header (the one part no signature covers), a 64-byte
// signature and nothing after it. Every token thus has exactly one
// encoding. The protected header must be exactly {1: -8, 4: kid} for a
// token and {1: -8, 3: "application/vnd.muster.bundle+cbor", 4: kid} for a
// bundle, so neither passes for the other.

export const BUNDLE_CONTENT_TYPE = 'application/vnd.muster.bundle+cbor';

const enc = new TextEncoder();

function head(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n <= 0xff) return [m | 24, n];
  if (n <= 0xffff) return [m | 25, n >> 8, n & 0xff];
  return [m | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function concat(parts) {
  let len = 0;
  for (const x of parts) len += x.length;
  const out = new Uint8Array(len);
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

/** The protected header credential/ writes, with an all-zero or given kid. */
export function protectedHeader(kid, contentType = '') {
  const parts = [Uint8Array.of(contentType ? 0xa3 : 0xa2, 0x01, 0x27)];
  if (contentType) {
    const ct = enc.encode(contentType);
    parts.push(Uint8Array.of(0x03, ...head(3, ct.length)), ct);
  }
  parts.push(Uint8Array.of(0x04, ...head(2, kid.length)), kid);
  return concat(parts);
}

/** Reads the protected header, returns the 8-byte key id or throws. */
export function parseProtected(h, contentType = '') {
  const want = protectedHeader(new Uint8Array(8), contentType);
  const same = h.length === want.length && want.subarray(0, want.length - 8).every((b, i) => h[i] === b);
  if (!same) {
    if (!contentType && h.length === protectedHeader(new Uint8Array(8), BUNDLE_CONTENT_TYPE).length) {
      throw new Error("its protected header is a bundle's, not a token's");
    }
    throw new Error('its protected header is not {alg: EdDSA, kid: 8 bytes}');
  }
  return h.slice(h.length - 8);
}

/** The bytes the Ed25519 signature covers: ["Signature1", protected, h'', payload]. */
export function sigStructure(protectedBytes, payload) {
  return concat([
    Uint8Array.of(0x84, 0x6a), enc.encode('Signature1'),
    Uint8Array.of(...head(2, protectedBytes.length)), protectedBytes,
    Uint8Array.of(0x40),
    Uint8Array.of(...head(2, payload.length)), payload,
  ]);
}

function readBytes(b, p) {
  if (p >= b.length) throw new Error('truncated');
  if (b[p] >> 5 !== 2) throw new Error('not a byte string');
  const info = b[p] & 0x1f;
  let n;
  let h;
  if (info < 24) { n = info; h = 1; }
  else if (info === 24 && b.length - p >= 2) { n = b[p + 1]; h = 2; if (n < 24) throw new Error('length not in its shortest form'); }
  else if (info === 25 && b.length - p >= 3) { n = (b[p + 1] << 8) | b[p + 2]; h = 3; if (n <= 0xff) throw new Error('length not in its shortest form'); }
  else if (info === 26 && b.length - p >= 5) {
    n = ((b[p + 1] << 24) >>> 0) + (b[p + 2] << 16) + (b[p + 3] << 8) + b[p + 4]; h = 5;
    if (n <= 0xffff) throw new Error('length not in its shortest form');
  } else if (info <= 26) throw new Error('truncated');
  else throw new Error('an indefinite or 8-byte length');
  if (b.length - p - h < n) throw new Error('truncated');
  return [b.subarray(p + h, p + h + n), p + h + n];
}

/** Parses a COSE_Sign1 message; does not check the signature. */
export function parseSign1(b) {
  if (b.length < 2 || b[0] !== 0xd2 || b[1] !== 0x84) throw new Error('not a COSE_Sign1 message (tag 18, an array of 4)');
  let p = 2;
  let prot, payload, signature;
  try { [prot, p] = readBytes(b, p); } catch (e) { throw new Error(`protected header: ${e.message}`); }
  if (p >= b.length || b[p] !== 0xa0) throw new Error('the unprotected header is not empty');
  p++;
  try { [payload, p] = readBytes(b, p); } catch (e) { throw new Error(`payload: ${e.message}`); }
  try { [signature, p] = readBytes(b, p); } catch (e) { throw new Error(`signature: ${e.message}`); }
  if (signature.length !== 64) throw new Error(`the signature is ${signature.length} bytes, an Ed25519 signature is 64`);
  if (p !== b.length) throw new Error(`${b.length - p} bytes after the signature`);
  return { protected: prot, payload, signature };
}
