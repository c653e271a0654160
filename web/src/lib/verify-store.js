// Where a page keeps the verifier bundle and the keys it trusts, so that
// it verifies with no connection and cannot be rolled back.
//
// Trust: a page pins fingerprints. The field page can be given the
// deployment's fingerprint (what `muster keys init` printed) by its
// officer; otherwise, like the evacuee's page, it pins the first key of
// the first bundle it loads (trust on first use: the page's own code comes
// from the same server, so nothing weaker is assumed). From then on a new
// bundle is accepted only through credential.Bundle.Refresh's rule: signed
// by a key the held bundle trusts or one it endorsed, and not older than
// the held one, so a stolen old bundle cannot hide later revocations.

import { openBundle, refreshBundle, firstKeyFingerprint } from './verify.js';

const BUNDLE = 'muster.bundle';
const PINS = 'muster.pins';

function toBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s) {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return b;
}

/** The fingerprints this device trusts (hex), [] if none yet. */
export function pins(storage) {
  try { return JSON.parse(storage.getItem(PINS) || '[]'); } catch { return []; }
}

/** Pins fingerprints given by the user (replacing those held, and the bundle). */
export function setPins(storage, fps) {
  storage.setItem(PINS, JSON.stringify(fps.map((f) => f.replace(/[ :]/g, '').toLowerCase())));
  storage.removeItem(BUNDLE);
}

/**
 * Loads the bundle: fetched (fetchBundle() returns its bytes, or throws
 * when offline) and checked against what is held, else the one held.
 * Returns {bundle, source: "network"|"held", firstUse, warning}; bundle is
 * null when there is none to trust (then warning says why).
 */
export async function loadBundle(storage, fetchBundle) {
  let held = null;
  const heldData = storage.getItem(BUNDLE);
  const pinned = pins(storage);
  if (heldData && pinned.length) {
    try { held = await openBundle(fromBase64(heldData), pinned); } catch { held = null; }
  }
  let data;
  try {
    data = await fetchBundle();
  } catch (e) {
    if (held) return { bundle: held, source: 'held', firstUse: false, warning: `offline (${e.message}): using the bundle held on this device` };
    return { bundle: null, source: 'none', firstUse: false, warning: `no connection and no bundle held on this device (${e.message})` };
  }
  try {
    let bundle;
    let firstUse = false;
    if (held) bundle = await refreshBundle(held, data);
    else if (pinned.length) bundle = await openBundle(data, pinned);
    else {
      const fp = await firstKeyFingerprint(data);
      bundle = await openBundle(data, [fp]);
      storage.setItem(PINS, JSON.stringify([fp]));
      firstUse = true;
    }
    storage.setItem(BUNDLE, toBase64(data));
    return { bundle, source: 'network', firstUse, warning: '' };
  } catch (e) {
    if (held) return { bundle: held, source: 'held', firstUse: false, warning: `the server's bundle was refused (${e.message}): using the one held on this device` };
    return { bundle: null, source: 'none', firstUse: false, warning: `the server's bundle was refused: ${e.message}` };
  }
}
