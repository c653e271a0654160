// The exercise panel of the operations map: the latest simulation run on
// this server (GET /api/simulations/latest) as two small charts drawn in
// SVG here (no library, nothing from the internet): people in safety over
// time, one line per run (muster's plan and the baselines), and people
// waiting at each gate under muster's plan with each gate's crowd limit
// dashed. A planner runs a new one on the current plan (POST
// /api/simulations), with a gate closing an hour in if they pick one.
// It fills the #simulation section of index.html and needs nothing else
// of the page.
import { api, session } from '../lib/api.js';
import { samples } from './samples.js';

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f6feb', '#d1242f', '#8250df', '#1a7f37', '#bf8700', '#0a7ea4', '#cf222e', '#6e7781'];

const $ = (id) => document.getElementById(id);

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

function hhmm(s) {
  if (s == null || s < 0) return 'never';
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
}

// chart draws lines (each {name, ys, colour, dashed}) over minutes as an
// SVG of its own, with the hours along the bottom and a legend.
export function chart(title, minutes, lines, yLabel) {
  const W = 320, H = 170, L = 40, R = 8, T = 18, B = 22;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'sim-chart', width: '100%' });
  svg.append(svgEl('title', {}, title));
  const xmax = Math.max(1, minutes.length ? minutes[minutes.length - 1] : 1);
  let ymax = 1;
  for (const l of lines) for (const y of l.ys) if (y > ymax) ymax = y;
  const x = (m) => L + ((W - L - R) * m) / xmax;
  const y = (v) => H - B - ((H - T - B) * v) / ymax;
  svg.append(svgEl('text', { x: L, y: 12, 'font-size': 11 }, title));
  svg.append(svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' }));
  svg.append(svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#999' }));
  svg.append(svgEl('text', { x: 2, y: T + 8, 'font-size': 9 }, String(Math.round(ymax))));
  svg.append(svgEl('text', { x: 2, y: H - B, 'font-size': 9 }, '0'));
  svg.append(svgEl('text', { x: W - R, y: H - 6, 'font-size': 9, 'text-anchor': 'end' }, `${(xmax / 60).toFixed(1)} h`));
  svg.append(svgEl('text', { x: L, y: H - 6, 'font-size': 9 }, yLabel));
  lines.forEach((l, i) => {
    const n = Math.min(l.ys.length, minutes.length);
    if (n === 0) return;
    // A point a minute up to 300, then 300 spread evenly from the first
    // minute to the last: a day of minutes would make a heavy path. (A
    // whole step of minutes drew twice too many between 600 and 900.)
    const points = samples(n, 300);
    let d = '';
    points.forEach((k, j) => { d += `${j ? 'L' : 'M'}${x(minutes[k]).toFixed(1)},${y(l.ys[k]).toFixed(1)}`; });
    const attrs = { d, fill: 'none', stroke: l.colour || COLOURS[i % COLOURS.length], 'stroke-width': 1.5 };
    if (l.dashed) attrs['stroke-dasharray'] = '4 3';
    const path = svgEl('path', attrs);
    path.append(svgEl('title', {}, l.name));
    svg.append(path);
  });
  return svg;
}

function legend(items) {
  const ul = document.createElement('ul');
  ul.className = 'sim-legend';
  ul.style.cssText = 'list-style:none;padding:0;margin:0 0 .5em;font-size:.8em';
  for (const it of items) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'sim-swatch';
    sw.style.cssText = 'display:inline-block;width:1.5em;height:0;border-top:2px solid;vertical-align:middle';
    sw.style.borderColor = it.colour;
    if (it.dashed) sw.style.borderStyle = 'dashed';
    li.append(sw, ' ' + it.name);
    ul.append(li);
  }
  return ul;
}

// show fills the panel with a simulation's numbers and curves.
export function show(sim) {
  const box = $('sim-result');
  if (!box) return;
  box.replaceChildren();
  window.muster = window.muster || {};
  window.muster.simulation = sim; // for the browser tests
  const head = document.createElement('p');
  head.textContent = `Seed ${sim.seed}, plan ${sim.plan}, ${sim.people} people; run by ${sim.by} (${sim.took_s} s).`;
  box.append(head);
  const table = document.createElement('table');
  table.className = 'sim-compare';
  table.innerHTML = '<thead><tr><th scope="col">run</th><th scope="col">out</th><th scope="col">90%</th><th scope="col">safe</th><th scope="col">most waiting</th><th scope="col">level</th><th scope="col">gates over limit</th></tr></thead>';
  const tb = document.createElement('tbody');
  for (const c of sim.comparison || []) {
    const tr = document.createElement('tr');
    for (const v of [c.name, hhmm(c.egress_s), hhmm(c.t90_s), `${(100 * c.safe_share).toFixed(1)}%`, c.max_waiting, c.worst_level, c.gates_over_crowd_limit]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    tb.append(tr);
  }
  table.append(tb);
  box.append(table);
  const runs = sim.runs || [];
  if (runs.length === 0) return;
  const safeLines = runs.map((r, i) => ({ name: r.name, ys: r.safe, colour: COLOURS[i % COLOURS.length] }));
  box.append(chart('People in safety', runs[0].minutes, safeLines, 'people'));
  box.append(legend(safeLines));
  const m = runs[0];
  const gateLines = [];
  m.gates.forEach((g, i) => {
    const colour = COLOURS[i % COLOURS.length];
    gateLines.push({ name: `${g.name || g.id} waiting`, ys: g.waiting_per_minute, colour });
    gateLines.push({ name: `${g.name || g.id} crowd limit`, ys: g.waiting_per_minute.map(() => g.crowd_limit), colour, dashed: true });
  });
  box.append(chart(`Waiting at each gate (${m.name})`, m.minutes, gateLines, 'people'));
  box.append(legend(gateLines.filter((l) => !l.dashed)));
}

async function loadLatest() {
  const status = $('sim-status');
  try {
    show(await api('GET', '/api/simulations/latest'));
    if (status) status.textContent = '';
  } catch (e) {
    if (status) status.textContent = e.status === 404 ? 'No exercise has run on this server yet.' : e.message;
  }
}

async function runOne() {
  const status = $('sim-status');
  const btn = $('sim-run');
  const body = { seed: Number($('sim-seed').value) || 1, baselines: true };
  const gate = $('sim-gate').value.trim();
  if (gate) body.injects = [{ at: '+1h', kind: 'gate_close', gate, note: 'closed in an exercise from the map' }];
  btn.disabled = true;
  status.textContent = 'Simulating…';
  try {
    show(await api('POST', '/api/simulations', body));
    status.textContent = 'Done.';
  } catch (e) {
    status.textContent = e.message;
  } finally {
    btn.disabled = false;
  }
}

function init() {
  if (!$('simulation')) return;
  $('sim-run').addEventListener('click', runOne);
  $('sim-load').addEventListener('click', loadLatest);
  // Load the latest once the operator is in (the page shows #app then).
  const app = $('app');
  const ready = () => app && !app.hidden && session();
  if (ready()) loadLatest();
  else if (app) {
    const mo = new MutationObserver(() => {
      if (ready()) {
        mo.disconnect();
        loadLatest();
      }
    });
    mo.observe(app, { attributes: true, attributeFilter: ['hidden'] });
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
