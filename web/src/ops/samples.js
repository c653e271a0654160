// Which points of a long series a chart draws (simulation.js); a module
// of its own, with no page, so that node tests it.

// samples returns the indexes of at most max of n values to draw, in
// order: all of them up to max, else max spread evenly, the first and the
// last among them.
export function samples(n, max) {
  const p = Math.min(n, max);
  if (p <= 1) return n > 0 ? [n - 1] : [];
  return Array.from({ length: p }, (_, j) => Math.round((j * (n - 1)) / (p - 1)));
}
