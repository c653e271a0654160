// base45 (RFC 9285) as credential/base45.go reads it: strictly. Only the
// 45 characters of a QR code's alphanumeric mode, upper case; no triple
// above 65535 and no final pair above 255; never a length of 3k+1. So a
// string decodes to at most one byte string, and a changed character
// either fails here or changes the bytes (and then the signature fails).

export const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Decodes base45 text; throws an Error naming the first bad character. */
export function decodeBase45(s) {
  if (typeof s !== 'string') throw new Error('base45: not text');
  if (s.length % 3 === 1) throw new Error('base45: a length of 3k+1 characters is never an encoding');
  const out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < s.length; i += 3) {
    const k = Math.min(3, s.length - i);
    let n = 0;
    for (let j = k - 1; j >= 0; j--) {
      const v = VALUE.get(s[i + j]);
      if (v === undefined) throw new Error(`base45: character ${i + j + 1} (${JSON.stringify(s[i + j])}) is not in the alphabet`);
      n = n * 45 + v;
    }
    if (k === 3) {
      if (n > 0xffff) throw new Error(`base45: characters ${i + 1}-${i + 3} encode ${n}, above 65535`);
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      if (n > 0xff) throw new Error(`base45: the last two characters encode ${n}, above 255`);
      out[o++] = n;
    }
  }
  return out;
}

/** Encodes bytes as base45 (used by tests). */
export function encodeBase45(b) {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const n = (b[i] << 8) | b[i + 1];
    s += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45) % 45] + ALPHABET[Math.floor(n / 2025)];
  }
  if (b.length % 2 === 1) {
    const n = b[b.length - 1];
    s += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45)];
  }
  return s;
}
