// Small line charts drawn as SVG, no chart library: one chart of a few
// series over the same times, with the present marked. Values are
// numbers from the server, placed as coordinates; labels are text.

const NS = 'http://www.w3.org/2000/svg';
const W = 320;
const H = 130;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

const hhmm = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

// lineChart draws series ({name, label, values, cls}) against times (ms
// since the epoch); a series shorter than times (measured up to now)
// stops where it ends. It returns a <div> with the SVG and its legend.
export function lineChart({ times, now, label, series }) {
  const t0 = times[0];
  const t1 = times[times.length - 1];
  const top = Math.max(1, ...series.flatMap((s) => s.values));
  const x = (t) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const last = (s) => (s.values.length ? s.values[s.values.length - 1] : 0);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${label}. ${series.map((s) => `${s.label}: ${last(s)}`).join('; ')}.` });
  root.append(
    svg('line', { x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0), class: 'axis' }),
    svg('line', { x1: PAD.left, y1: y(0), x2: PAD.left, y2: PAD.top, class: 'axis' }),
    svg('text', { x: PAD.left - 4, y: y(top) + 4, 'text-anchor': 'end', class: 'tick' }, String(top)),
    svg('text', { x: PAD.left - 4, y: y(0), 'text-anchor': 'end', class: 'tick' }, '0'),
    svg('text', { x: PAD.left, y: H - 5, class: 'tick' }, hhmm(t0)),
    svg('text', { x: W - PAD.right, y: H - 5, 'text-anchor': 'end', class: 'tick' }, hhmm(t1)),
  );
  if (now >= t0 && now <= t1) {
    root.append(svg('line', { x1: x(now), y1: PAD.top, x2: x(now), y2: y(0), class: 'now' }), svg('text', { x: x(now) + 3, y: y(0) - 4, class: 'tick' }, 'now'));
  }
  for (const s of series) {
    const pts = s.values.map((v, i) => `${x(times[i]).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: pts, class: 'series ' + (s.cls || ''), 'data-series': s.name, 'data-points': s.values.length }));
  }
  const legend = document.createElement('ul');
  legend.className = 'chart-legend';
  for (const s of series) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'key ' + (s.cls || '');
    li.append(sw, s.label);
    legend.append(li);
  }
  const box = document.createElement('div');
  box.append(root, legend);
  return box;
}
