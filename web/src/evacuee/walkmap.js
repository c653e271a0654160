// A sketch of a household's walk to its rally point, drawn as inline SVG
// from the walking directions alone: each step's compass bearing and
// length, laid end to end from home, ending at the rally point. No map
// tiles and no map library: a few hundred bytes on a slow link, and the
// household's home position is never sent (only the steps, which its text
// already says). Streets that bend make the sketch approximate; the page
// says so.

const NS = 'http://www.w3.org/2000/svg';

/**
 * The sketch's geometry: points in metres east (x) and south (y) of home,
 * the last one the rally point, and the bounding box. Steps with no
 * length (arrive) add no point.
 */
export function walkPoints(steps) {
  const pts = [[0, 0]];
  let x = 0;
  let y = 0;
  for (const s of steps || []) {
    const d = Number(s.distance_m) || 0;
    if (d <= 0) continue;
    const b = ((Number(s.bearing) || 0) * Math.PI) / 180;
    x += d * Math.sin(b);
    y -= d * Math.cos(b);
    pts.push([x, y]);
  }
  let minX = 0, maxX = 0, minY = 0, maxY = 0;
  for (const [px, py] of pts) {
    minX = Math.min(minX, px); maxX = Math.max(maxX, px);
    minY = Math.min(minY, py); maxY = Math.max(maxY, py);
  }
  return { pts, minX, maxX, minY, maxY };
}

/** A round scale-bar length (metres) about a quarter of span. */
export function scaleLength(span) {
  const target = Math.max(span / 4, 1);
  const p = 10 ** Math.floor(Math.log10(target));
  for (const m of [5, 2, 1]) if (m * p <= target) return m * p;
  return p;
}

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Draws the sketch into an <svg> element and returns it. labels: {start,
 * rally} in the page's language.
 */
export function drawWalk(steps, labels, size = 320) {
  const { pts, minX, maxX, minY, maxY } = walkPoints(steps);
  const span = Math.max(maxX - minX, maxY - minY, 50);
  const pad = 36;
  const k = (size - 2 * pad) / span;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const px = ([x, y]) => [(size / 2 + (x - cx) * k).toFixed(1), (size / 2 + (y - cy) * k).toFixed(1)];
  const svg = el('svg', { viewBox: `0 0 ${size} ${size}`, class: 'walk', role: 'img', 'aria-label': labels.caption || '' });
  svg.appendChild(el('rect', { x: 0, y: 0, width: size, height: size, class: 'walk-bg' }));
  const screen = pts.map(px);
  svg.appendChild(el('polyline', { points: screen.map((p) => p.join(',')).join(' '), class: 'walk-route' }));
  const [hx, hy] = screen[0];
  const [rx, ry] = screen[screen.length - 1];
  svg.appendChild(el('circle', { cx: hx, cy: hy, r: 7, class: 'walk-home' }));
  svg.appendChild(el('text', { x: hx, y: Number(hy) - 12, class: 'walk-label', 'text-anchor': 'middle' }, labels.start));
  svg.appendChild(el('path', { d: `M${rx} ${ry}v-22l14 6l-14 6`, class: 'walk-flag' }));
  svg.appendChild(el('circle', { cx: rx, cy: ry, r: 4, class: 'walk-rally' }));
  svg.appendChild(el('text', { x: rx, y: Number(ry) + 20, class: 'walk-label', 'text-anchor': 'middle' }, labels.rally));
  // North arrow and scale bar.
  svg.appendChild(el('path', { d: `M${size - 20} 34l6 -18l6 18l-6 -5z`, class: 'walk-north' }));
  svg.appendChild(el('text', { x: size - 14, y: 48, class: 'walk-small', 'text-anchor': 'middle' }, 'N'));
  const m = scaleLength(span);
  const w = m * k;
  svg.appendChild(el('path', { d: `M12 ${size - 14}h${w.toFixed(1)}`, class: 'walk-scale' }));
  svg.appendChild(el('text', { x: 12, y: size - 20, class: 'walk-small' }, m >= 1000 ? `${m / 1000} km` : `${m} m`));
  return svg;
}
