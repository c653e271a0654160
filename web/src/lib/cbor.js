// A small, strict CBOR (RFC 8949) decoder for what muster signs: unsigned
// and negative integers, byte and text strings, arrays, maps, null. It
// refuses what credential/'s decoder refuses: tags, indefinite lengths,
// floats and other simple values, duplicate map keys, invalid UTF-8,
// nesting deeper than a limit, and bytes after the item. Integers beyond
// 2^53 are refused (no muster field needs them). It never reads past the
// input and throws an Error saying where, never anything else.

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class CBORError extends Error {}

/**
 * Decodes one item filling all of bytes. Maps become Map objects with
 * number or string keys; null is null; byte strings are Uint8Array
 * (views of the input).
 */
export function decodeCBOR(bytes, { maxDepth = 6, maxItems = 4 << 20 } = {}) {
  let p = 0;
  const fail = (why) => { throw new CBORError(`cbor: ${why} at byte ${p}`); };
  const need = (n) => { if (p + n > bytes.length) fail('truncated'); };
  const head = () => {
    need(1);
    const b = bytes[p++];
    const major = b >> 5;
    const info = b & 0x1f;
    let n;
    if (info < 24) n = info;
    else if (info === 24) { need(1); n = bytes[p]; p += 1; }
    else if (info === 25) { need(2); n = (bytes[p] << 8) | bytes[p + 1]; p += 2; }
    else if (info === 26) { need(4); n = ((bytes[p] << 24) >>> 0) + (bytes[p + 1] << 16) + (bytes[p + 2] << 8) + bytes[p + 3]; p += 4; }
    else if (info === 27) {
      need(8);
      const hi = ((bytes[p] << 24) >>> 0) + (bytes[p + 1] << 16) + (bytes[p + 2] << 8) + bytes[p + 3];
      const lo = ((bytes[p + 4] << 24) >>> 0) + (bytes[p + 5] << 16) + (bytes[p + 6] << 8) + bytes[p + 7];
      if (hi >= 0x200000) fail('an integer above 2^53');
      n = hi * 0x100000000 + lo;
      p += 8;
    } else if (info === 31) fail('an indefinite length');
    else fail('a reserved additional information value');
    return [major, n, info];
  };
  const item = (depth) => {
    if (depth > maxDepth) fail('nested too deeply');
    const [major, n, info] = head();
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: need(n); p += n; return bytes.subarray(p - n, p);
      case 3: {
        need(n); p += n;
        try { return utf8.decode(bytes.subarray(p - n, p)); } catch { fail('invalid UTF-8'); }
        break;
      }
      case 4: {
        if (n > maxItems || n > bytes.length - p) fail(`an array of ${n} items`);
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = item(depth + 1);
        return a;
      }
      case 5: {
        if (n > maxItems || 2 * n > bytes.length - p) fail(`a map of ${n} pairs`);
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          if (typeof k !== 'number' && typeof k !== 'string') fail('a map key that is not an integer or text');
          if (m.has(k)) fail(`a duplicate map key ${k}`);
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6: fail('a tag'); break;
      default:
        if (info === 22) return null;
        fail('a float or simple value');
    }
    return undefined;
  };
  if (!(bytes instanceof Uint8Array)) throw new CBORError('cbor: not bytes');
  const v = item(0);
  if (p !== bytes.length) fail(`${bytes.length - p} bytes after the item`);
  return v;
}
