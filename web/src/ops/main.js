// The operations map: the city drawn from muster's own road tiles, the
// threat picture, gates, rally points, the plan's groups and routes, and
// the panels to add and grade reports, plan, approve and issue. Every
// request goes to this server; nothing is fetched from the internet.
import 'maplibre-gl/dist/maplibre-gl.css';
import './ops.css';
import * as maplibregl from 'maplibre-gl';
import workerURL from 'worker-url:maplibre-gl';
import arabicFontURL from '../fonts/NotoSansArabic-Regular.ttf';
import { api, session, login, logout, events } from '../lib/api.js';
import { initPanels, refreshPanels, renderDiff, panels } from './panels.js';
import { plannedPosition, planView, decodePolyline } from './groups.js';
import { flaggedRows } from './flagged.js';
import './simulation.js';

maplibregl.setWorkerUrl(workerURL);

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
};

const state = { map: null, plans: [], current: null, picture: null, operation: null, stopEvents: null };
window.muster = state; // for the browser tests: what the page has loaded
state.panels = panels;

// --- session -----------------------------------------------------------

function showLogin() {
  $('login').hidden = false;
  $('app').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('login-name').focus();
}

async function showApp() {
  const s = session();
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${s.user} (${s.role})`;
  document.body.dataset.role = s.role;
  if (!state.map) await initMap();
  refreshAll();
  if (state.stopEvents) state.stopEvents();
  state.stopEvents = events(onEvent, (up) => {
    $('live').textContent = up ? 'live' : 'reconnecting…';
    $('live').className = up ? 'live up' : 'live';
  });
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  try {
    await login($('login-name').value, $('login-password').value);
    $('login-password').value = '';
    await showApp();
  } catch (e) {
    $('login-error').textContent = e.message;
  }
});

$('logout').addEventListener('click', async () => {
  if (state.stopEvents) state.stopEvents();
  await logout().catch(() => {});
  showLogin();
});

const writer = () => ['admin', 'planner', 'field'].includes((session() || {}).role);

// --- the map -----------------------------------------------------------

const suggestColor = ['match', ['get', 'kind'], 'rally_point', '#c51b7d', 'vehicle_pickup', '#e66101', '#636363'];
const levelColor = ['match', ['get', 'level'], 'critical', '#8b0000', 'high', '#d7301f', 'moderate', '#fc8d59', 'low', '#fdcc8a', '#999999'];
const empty = () => ({ type: 'FeatureCollection', features: [] });

async function initMap() {
  let tj = null;
  try {
    tj = await api('GET', '/tiles/roads.json');
  } catch (e) {
    logEvent(`no road map: ${e.message}`);
  }
  const origin = location.origin;
  const style = {
    version: 8,
    // No glyphs URL: MapLibre draws labels with the fonts the page gives
    // (font-faces, below) and the browser's own, right to left and joined
    // for Arabic script. Noto Sans Arabic covers Dari and Pashto letters.
    'font-faces': {
      'Noto Sans Regular': [
        { url: new URL(arabicFontURL, origin).href, 'unicode-range': ['U+0600-06FF', 'U+0750-077F', 'U+08A0-08FF', 'U+FB50-FDFF', 'U+FE70-FEFF'] },
      ],
    },
    sources: {
      zones: { type: 'geojson', data: empty() },
      density: { type: 'geojson', data: empty() },
      routes: { type: 'geojson', data: empty() },
      groups: { type: 'geojson', data: empty() },
      gates: { type: 'geojson', data: empty() },
      rally: { type: 'geojson', data: empty() },
      suggestions: { type: 'geojson', data: empty() },
    },
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } }],
  };
  if (tj) {
    style.sources.roads = { type: 'vector', tiles: [origin + '/tiles/{z}/{x}/{y}.mvt'], minzoom: tj.minzoom, maxzoom: tj.maxzoom, bounds: tj.bounds };
    const width = (base) => ['interpolate', ['exponential', 1.6], ['zoom'], 10, base * 0.4, 14, base * 2, 18, base * 10];
    style.layers.push(
      { id: 'roads-path', type: 'line', source: 'roads', 'source-layer': 'roads', filter: ['==', ['get', 'class'], 'path'], paint: { 'line-color': '#9c8f7a', 'line-width': 1, 'line-dasharray': [2, 2] } },
      { id: 'roads-minor', type: 'line', source: 'roads', 'source-layer': 'roads', filter: ['==', ['get', 'class'], 'minor'], paint: { 'line-color': '#ffffff', 'line-width': width(0.6) } },
      { id: 'roads-street', type: 'line', source: 'roads', 'source-layer': 'roads', filter: ['==', ['get', 'class'], 'street'], paint: { 'line-color': '#ffffff', 'line-width': width(1) } },
      { id: 'roads-arterial', type: 'line', source: 'roads', 'source-layer': 'roads', filter: ['==', ['get', 'class'], 'arterial'], paint: { 'line-color': '#f7d67b', 'line-width': width(1.4) } },
      { id: 'roads-major', type: 'line', source: 'roads', 'source-layer': 'roads', filter: ['==', ['get', 'class'], 'major'], paint: { 'line-color': '#e8a64c', 'line-width': width(1.8) } },
      {
        id: 'roads-label', type: 'symbol', source: 'roads', 'source-layer': 'roads', minzoom: 14, filter: ['has', 'name'],
        layout: { 'symbol-placement': 'line', 'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'], 'text-size': 11 },
        paint: { 'text-color': '#555', 'text-halo-color': '#fff', 'text-halo-width': 1.2 },
      },
    );
  }
  style.layers.push(
    {
      id: 'density', type: 'heatmap', source: 'density', maxzoom: 17,
      paint: {
        'heatmap-weight': ['min', 1, ['/', ['get', 'n'], 12]],
        'heatmap-radius': ['interpolate', ['exponential', 2], ['zoom'], 11, 8, 13, 25, 15, 100, 17, 400],
        'heatmap-opacity': 0.55,
        'heatmap-color': ['interpolate', ['linear'], ['heatmap-density'], 0, 'rgba(0,0,0,0)', 0.2, '#c6dbef', 0.5, '#6baed6', 0.8, '#2171b5', 1, '#08306b'],
      },
    },
    { id: 'zones-fill', type: 'fill', source: 'zones', paint: { 'fill-color': levelColor, 'fill-opacity': 0.3 } },
    { id: 'zones-line', type: 'line', source: 'zones', filter: ['!', ['get', 'disputed']], paint: { 'line-color': levelColor, 'line-width': 2 } },
    { id: 'zones-disputed', type: 'line', source: 'zones', filter: ['get', 'disputed'], paint: { 'line-color': levelColor, 'line-width': 2.5, 'line-dasharray': [3, 2] } },
    { id: 'zones-coordination', type: 'line', source: 'zones', filter: ['get', 'coordinated'], paint: { 'line-color': '#b10dc9', 'line-width': 5, 'line-opacity': 0.6, 'line-offset': -3 } },
    { id: 'routes', type: 'line', source: 'routes', layout: { 'line-cap': 'round' }, paint: { 'line-color': ['case', ['get', 'priority'], '#6a3d9a', '#1f78b4'], 'line-width': 2.5, 'line-opacity': 0.7 } },
    { id: 'groups', type: 'circle', source: 'groups', paint: { 'circle-radius': ['interpolate', ['linear'], ['get', 'people'], 1, 4, 30, 10], 'circle-color': ['match', ['get', 'status'], 'moving', '#ff7f00', 'at_gate', '#e31a1c', '#fdbf6f'], 'circle-stroke-color': ['case', ['get', 'seen'], '#000', '#fff'], 'circle-stroke-width': 1.5 } },
    { id: 'rally', type: 'circle', source: 'rally', paint: { 'circle-radius': 7, 'circle-color': '#33a02c', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
    // What the current plan suggests for the households it cannot serve:
    // hollow rings, unlike every place that exists (a rally point to add
    // in magenta, a vehicle pickup in orange, a cluster to plan by hand in
    // grey), sized by the people they would take.
    {
      id: 'suggestions', type: 'circle', source: 'suggestions',
      paint: {
        'circle-radius': ['interpolate', ['linear'], ['get', 'people'], 1, 6, 100, 11, 400, 15],
        'circle-color': '#ffffff', 'circle-opacity': 0.85,
        'circle-stroke-color': suggestColor, 'circle-stroke-width': 3.5,
      },
    },
    {
      id: 'suggestion-labels', type: 'symbol', source: 'suggestions', minzoom: 12,
      layout: { 'text-field': ['concat', ['get', 'id'], ' · ', ['to-string', ['get', 'people']]], 'text-font': ['Noto Sans Regular'], 'text-size': 11, 'text-offset': [0, 1.4], 'text-anchor': 'top' },
      paint: { 'text-color': suggestColor, 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    },
    { id: 'gates', type: 'circle', source: 'gates', paint: { 'circle-radius': 8, 'circle-color': ['match', ['get', 'status'], 'open', '#1a9850', 'restricted', '#fdae61', 'closed', '#d73027', '#777'], 'circle-stroke-color': '#000', 'circle-stroke-width': ['case', ['get', 'disputed'], 3, 1] } },
    {
      id: 'place-labels', type: 'symbol', source: 'rally',
      layout: { 'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'], 'text-size': 13, 'text-offset': [0, 1.2], 'text-anchor': 'top' },
      paint: { 'text-color': '#1b5e20', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    },
    {
      id: 'gate-labels', type: 'symbol', source: 'gates',
      layout: { 'text-field': ['concat', ['get', 'name'], ' (', ['get', 'status'], ')'], 'text-font': ['Noto Sans Regular'], 'text-size': 12, 'text-offset': [0, 1.3], 'text-anchor': 'top' },
      paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.5 },
    },
  );
  const opts = { container: 'map', style, attributionControl: { compact: true, customAttribution: 'Roads: muster road graph (OpenStreetMap contributors)' } };
  if (tj) {
    opts.bounds = [[tj.bounds[0], tj.bounds[1]], [tj.bounds[2], tj.bounds[3]]];
    opts.fitBoundsOptions = { padding: 20 };
  } else {
    opts.center = [0, 0];
    opts.zoom = 1;
  }
  const map = new maplibregl.Map(opts);
  state.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  map.addControl(new maplibregl.ScaleControl());
  await new Promise((res) => map.once('load', res));
  map.on('click', (e) => {
    const zones = map.queryRenderedFeatures(e.point, { layers: ['zones-fill'] });
    const gates = map.queryRenderedFeatures(e.point, { layers: ['gates'] });
    const suggested = map.queryRenderedFeatures(e.point, { layers: ['suggestions'] });
    if (suggested.length) popup(e.lngLat, suggestionPopup(suggested[0].properties.id));
    else if (gates.length) popup(e.lngLat, gatePopup(gates[0].properties));
    else if (zones.length) popup(e.lngLat, zonePopup(zones[0].properties.id));
    if (writer()) {
      $('r-lat').value = e.lngLat.lat.toFixed(5);
      $('r-lon').value = e.lngLat.lng.toFixed(5);
    }
  });
  for (const layer of ['zones-fill', 'gates', 'suggestions']) {
    map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
    map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
  }
}

function popup(lngLat, content) {
  new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(content).addTo(state.map);
}

// circle approximates a zone given as a point and a radius by a polygon.
function circle([lon, lat], r) {
  const pts = [];
  const dLat = r / 111320;
  const dLon = r / (111320 * Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i <= 48; i++) {
    const a = (i / 48) * 2 * Math.PI;
    pts.push([lon + dLon * Math.cos(a), lat + dLat * Math.sin(a)]);
  }
  return { type: 'Polygon', coordinates: [pts] };
}

function setData(source, fc) {
  const s = state.map && state.map.getSource(source);
  if (s) s.setData(fc);
}

// --- the threat picture ------------------------------------------------

async function refreshPicture() {
  const pic = await api('GET', '/api/threats');
  state.picture = pic;
  const zones = (pic.features || []).map((f) => {
    const p = f.properties;
    const geom = f.geometry.type === 'Point' ? circle(f.geometry.coordinates, p.radius_m || 100) : f.geometry;
    return { type: 'Feature', geometry: geom, properties: { id: p.id, level: p.level, disputed: !!p.disputed, coordinated: !!(p.coordination && p.coordination.length), name: p.name } };
  });
  setData('zones', { type: 'FeatureCollection', features: zones });
  const list = $('zone-list');
  list.replaceChildren();
  for (const f of pic.features || []) {
    const p = f.properties;
    const flags = [p.level, p.forbidden ? 'forbidden' : null, p.disputed ? 'disputed' : null, p.coordination && p.coordination.length ? 'possible coordinated reporting' : null].filter(Boolean);
    list.append(el('li', { class: 'zone lvl-' + p.level, 'data-zone': p.id },
      el('button', { type: 'button', class: 'link', text: p.name, onclick: () => focusZone(f) }),
      el('span', { class: 'flags', text: ' — ' + flags.join(', ') })));
  }
  const forbidden = (pic.features || []).filter((f) => f.properties.forbidden).length;
  $('picture-summary').textContent = `${(pic.features || []).length} zones (${forbidden} forbidden), ${(pic.to_verify || []).length} to verify, as of ${fmtTime(pic.at)}.`;
  const gates = await api('GET', '/api/gates');
  setData('gates', {
    type: 'FeatureCollection',
    features: gates.gates.map((g) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [g.location.lon, g.location.lat] }, properties: { id: g.id, name: g.name, status: g.status, disputed: !!g.disputed, reasons: (g.reasons || []).join('; '), rate: g.throughput_per_hour } })),
  });
  const gl = $('gate-list');
  gl.replaceChildren(...gates.gates.map((g) => el('li', { class: 'gate st-' + g.status, text: `${g.name}: ${g.status}${g.disputed ? ' (disputed)' : ''}, ${g.throughput_per_hour}/h` })));
  const rp = await api('GET', '/api/rally-points');
  setData('rally', {
    type: 'FeatureCollection',
    features: rp.rally_points.map((r) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [r.location.lon, r.location.lat] }, properties: { id: r.id, name: r.name, capacity: r.capacity } })),
  });
}

function focusZone(f) {
  const c = f.geometry.type === 'Point' ? f.geometry.coordinates : f.geometry.coordinates[0][0];
  state.map.flyTo({ center: c, zoom: Math.max(state.map.getZoom(), 14) });
  popup({ lng: c[0], lat: c[1] }, zonePopup(f.properties.id));
}

function zonePopup(id) {
  const f = (state.picture.features || []).find((z) => z.properties.id === id);
  if (!f) return el('p', { text: 'This zone is no longer in the picture.' });
  const p = f.properties;
  const reports = (title, rs) =>
    rs && rs.length
      ? el('div', {}, el('h4', { text: title }), el('ul', {}, ...rs.map((r) => el('li', { text: `${r.id} (${r.source}, ${r.grade}${r.counted === false ? ', not counted' : ''}): ${r.claim} “${r.likelihood}”${r.text ? ' — ' + r.text : ''}` }))))
      : null;
  const coord = (p.coordination || []).map((c) => el('li', { text: `${c.side}: ${c.summary}` }));
  return el('div', { class: 'zone-popup' },
    el('h3', { text: p.name }),
    el('p', { class: 'lvl lvl-' + p.level, text: `${p.level}${p.forbidden ? ', forbidden' : ''}${p.disputed ? ', disputed' : ''}` }),
    el('p', { text: p.explanation || '' }),
    coord.length ? el('div', { class: 'coord' }, el('h4', { text: 'Possible coordinated reporting' }), el('ul', {}, ...coord)) : null,
    reports('Reports for', p.reports_for),
    reports('Reports against', p.reports_against));
}

function gatePopup(p) {
  return el('div', {}, el('h3', { text: p.name }), el('p', { text: `${p.status}${p.disputed ? ' (disputed)' : ''}, ${p.rate} people an hour` }), el('p', { text: p.reasons }));
}

// --- reports and sources ------------------------------------------------

$('report-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const out = $('report-result');
  const id = 'ops-' + Date.now().toString(36);
  const report = {
    id,
    received_at: new Date().toISOString(),
    source: { id: f.source.value.trim(), kind: 'official' },
    reliability: f.reliability.value,
    credibility: Number(f.credibility.value),
    kind: f.kind.value,
    claim: f.claim.value,
    likelihood: f.likelihood.value,
    severity: Number(f.severity.value),
    area: { point: [Number(f.lon.value), Number(f.lat.value)], radius_m: Number(f.radius.value) },
    text: f.text.value,
  };
  out.textContent = 'Sending…';
  try {
    const r = await api('POST', '/api/reports', report);
    if (r.rejected && r.rejected.length) out.textContent = 'Refused: ' + r.rejected.map((x) => x.reason || x.error || JSON.stringify(x)).join('; ');
    else out.textContent = `Report ${id} added.`;
    await refreshPicture();
  } catch (e) {
    out.textContent = 'Refused: ' + e.message;
  }
});

$('grade-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  try {
    const id = f.id.value.trim();
    await api('PUT', '/api/sources/' + encodeURIComponent(id), { reliability: f.reliability.value, hostile: f.hostile.checked, note: f.note.value });
    $('grade-result').textContent = `Source ${id} graded ${f.reliability.value}${f.hostile.checked ? ', hostile' : ''}.`;
    await refreshPicture();
  } catch (e) {
    $('grade-result').textContent = 'Refused: ' + e.message;
  }
});

// --- plans ---------------------------------------------------------------

const dur = (s) => {
  if (!s && s !== 0) return '–';
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return `${h} h ${String(m).padStart(2, '0')} min`;
};
const fmtTime = (t) => (t ? new Date(t).toLocaleString() : '–');

async function refreshPlans() {
  const r = await api('GET', '/api/plans');
  state.plans = r.plans || [];
  const cur = state.plans.find((p) => p.status === 'current');
  $('replan').hidden = !cur;
  const box = $('plan-list');
  box.replaceChildren(...state.plans.slice(0, 5).map(planCard));
  // The current plan's groups and routes, and where households live, for
  // the roles that may read the whole plan.
  if (cur && writer()) {
    if (!state.current || state.current.id !== cur.id) {
      const whole = await api('GET', '/api/plans/' + encodeURIComponent(cur.id));
      state.current = { id: cur.id, plan: whole };
      drawPlan(whole);
    }
  } else if (!cur) {
    state.current = null;
    state.groupPlan = null;
    drawGroups();
    drawSuggestions(null);
    setData('routes', empty());
    setData('density', empty());
  }
}

function drawPlan(p) {
  const v = planView(p);
  state.groupPlan = v;
  // The look-ahead reaches the plan's last group through its gate.
  const last = Math.max(0, ...v.groups.map((g) => Date.parse(g.through || g.arrival) || 0));
  $('look-ahead').max = String(Math.max(60, Math.ceil((last - Date.now()) / 60000)));
  drawGroups();
  drawSuggestions(p);
  setData('routes', {
    type: 'FeatureCollection',
    features: v.groups.filter((g) => g.route).map((g) => ({ type: 'Feature', geometry: g.route.geometry, properties: { id: g.id, gate: g.gate, people: g.people, priority: !!g.priority } })),
  });
  // Density only: households counted by cells of about 250 m, from the
  // start of each walk; a cell with fewer than 3 is left out, so that no
  // spot on the map stands for one family. No id, no name.
  const cells = new Map();
  for (const h of p.households || []) {
    const c = h.walk && h.walk.polyline && decodePolyline(h.walk.polyline, 1);
    if (!c || !c.length) continue;
    const key = `${Math.floor(c[0][0] / 0.003)},${Math.floor(c[0][1] / 0.0025)}`;
    cells.set(key, (cells.get(key) || 0) + 1);
  }
  const pts = [];
  for (const [key, n] of cells) {
    if (n < 3) continue;
    const [i, j] = key.split(',').map(Number);
    pts.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [(i + 0.5) * 0.003, (j + 0.5) * 0.0025] }, properties: { n } });
  }
  setData('density', { type: 'FeatureCollection', features: pts });
}

// --- suggestions ----------------------------------------------------------

const suggestKinds = { rally_point: 'New rally point', vehicle_pickup: 'Vehicle pickup', by_hand: 'Plan by hand' };

// drawSuggestions puts the current plan's suggestions (reach.suggestions,
// PLAN_FORMAT.md) on the map: where a rally point would serve households
// the plan cannot, or a vehicle would fetch them. Counts only on the map
// and in the popup: no household id, no name.
function drawSuggestions(p) {
  const ss = (p && p.reach && p.reach.suggestions) || [];
  state.suggestions = ss;
  setData('suggestions', {
    type: 'FeatureCollection',
    features: ss.map((s) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { id: s.id, kind: s.kind, people: s.people, households: (s.households || []).length } })),
  });
  const people = ss.reduce((n, s) => n + s.people, 0);
  const rally = ss.filter((s) => s.kind === 'rally_point').length;
  $('suggestions-summary').textContent = !p ? '' : ss.length
    ? `The current plan suggests ${rally} new rally point${rally === 1 ? '' : 's'} and ${ss.length - rally} other way${ss.length - rally === 1 ? '' : 's'} to serve ${people} people it cannot.`
    : 'The current plan leaves nobody without a rally point in reach.';
}

function suggestionPopup(id) {
  const s = (state.suggestions || []).find((x) => x.id === id);
  if (!s) return el('p', { text: 'This suggestion is no longer in the current plan.' });
  const n = (s.households || []).length;
  const facts = [`${n} household${n === 1 ? '' : 's'}, ${s.people} people`];
  if (s.kind === 'rally_point' && s.longest_walk_s) facts.push(`the longest walk ${Math.ceil(s.longest_walk_s / 60)} min`);
  if (s.capacity) facts.push(`a rally point here may hold ${s.capacity}`);
  if (s.gate) facts.push(`${s.gate} a ${Math.ceil((s.drive_s || 0) / 60)} min drive away`);
  return el('div', { class: 'suggestion-popup' },
    el('h3', { text: `${s.id}: ${suggestKinds[s.kind] || s.kind}` }),
    el('p', { class: 'facts', text: facts.join('; ') }),
    el('p', { class: 'why', text: s.why || '' }),
    el('p', { class: 'hint', text: 'Advice: these households stay unserved until a plan made with it serves them.' }));
}

function planCard(p) {
  const s = p.summary || {};
  const rows = [
    ['Households', `${s.households} (${s.people} people, ${s.assigned_people} assigned)`],
    ['Groups', `${s.groups} (at most ${s.max_group_size})`],
    ['Makespan', dur(s.makespan_s)],
    ['Lower bound', `${dur(s.lower_bound_s)} (ratio ${s.ratio ? s.ratio.toFixed(2) : '–'})`],
    ['Exposure', `${Math.round(s.total_exposure || 0)} person-risk-seconds`],
    ['Unassigned', String(p.unassigned)],
  ];
  if (p.changes || p.kept) rows.push(['Re-plan', `${p.changes} households change, ${p.kept} kept`]);
  const card = el('article', { class: 'plan st-' + p.status, 'data-plan': p.id },
    el('h3', { text: `${p.status} plan ${p.id}` }),
    el('p', { class: 'meta', text: `by ${p.created_by}, ${fmtTime(p.created_at)}${p.approved_by ? `; approved by ${p.approved_by}` : ''}` }),
    el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])));
  if (p.status === 'proposed' && ['admin', 'planner'].includes(session().role)) {
    card.append(
      el('button', { type: 'button', text: 'Read its detail', onclick: () => planDetail(p.id, $('plan-detail')) }),
      el('button', { type: 'button', class: 'approve', text: 'Approve and issue', onclick: () => approve(p.id) }));
  }
  return card;
}

async function planDetail(id, box) {
  box.textContent = 'Loading…';
  const p = await api('GET', '/api/plans/' + encodeURIComponent(id));
  const gates = el('table', {}, el('caption', { text: 'Load per gate' }),
    el('tr', {}, el('th', { text: 'Gate' }), el('th', { text: 'Status' }), el('th', { text: 'People' }), el('th', { text: 'Groups' }), el('th', { text: 'Last through' })),
    ...(p.gates || []).map((g) => el('tr', {}, el('td', { text: g.name }), el('td', { text: g.status }), el('td', { text: String(g.people) }), el('td', { text: String(g.groups) }), el('td', { text: fmtTime(g.last_through) }))));
  const why = {};
  for (const u of p.unassigned || []) why[u.reason || u.code] = (why[u.reason || u.code] || 0) + 1;
  const un = el('ul', {}, ...Object.entries(why).map(([k, n]) => el('li', { text: `${n} × ${k}` })));
  box.replaceChildren(el('h3', { text: `Plan ${id} in detail` }), gates, el('h4', { text: `Unassigned (${(p.unassigned || []).length})` }), un);
  if (p.diff) {
    const basis = state.plans.find((x) => x.id === (state.plans.find((y) => y.id === id) || {}).basis) || state.plans.find((x) => x.status === 'current');
    const diff = el('div');
    box.append(diff);
    if (basis) await renderDiff(diff, basis.id, id, `plan ${id}`, 'revise');
  }
}

async function approve(id) {
  $('plan-status').textContent = 'Approving…';
  try {
    const r = await api('POST', `/api/plans/${encodeURIComponent(id)}/approve`);
    const i = r.issuance || {};
    $('plan-status').textContent = `Plan ${id} approved: ${i.issued || 0} instructions issued, ${i.superseded || 0} superseded, ${i.revoked || 0} revoked, ${i.messages_queued || 0} messages queued.`;
    await refreshPlans();
  } catch (e) {
    $('plan-status').textContent = 'Refused: ' + e.message;
  }
}

$('make-plan').addEventListener('click', async () => {
  $('plan-status').textContent = 'Planning…';
  try {
    const p = await api('POST', '/api/plans', {});
    $('plan-status').textContent = `Plan ${p.id} proposed: makespan ${dur(p.summary.makespan_s)}, ${p.unassigned} unassigned.`;
    await refreshPlans();
  } catch (e) {
    $('plan-status').textContent = 'Refused: ' + e.message;
  }
});

$('replan').addEventListener('click', async () => {
  const cur = state.plans.find((p) => p.status === 'current');
  $('plan-status').textContent = 'Re-planning…';
  try {
    const p = await api('POST', '/api/plans', { revise: cur.id });
    $('plan-status').textContent = `Re-plan ${p.id} proposed: ${p.changes || 0} households change, ${p.kept || 0} kept.`;
    await refreshPlans();
  } catch (e) {
    $('plan-status').textContent = 'Refused: ' + e.message;
  }
});

$('issue').addEventListener('click', async () => {
  try {
    const r = await api('POST', '/api/instructions/issue', {});
    $('issue-result').textContent = `Issued ${r.issued}, superseded ${r.superseded}, revoked ${r.revoked}, unchanged ${r.unchanged}; ${r.messages_queued} messages queued.`;
  } catch (e) {
    $('issue-result').textContent = 'Refused: ' + e.message;
  }
});

// --- the groups on the map ---------------------------------------------

// The time the map shows the plan's groups at: now, or ahead by the
// "look ahead" slider.
const planClock = () => Date.now() + Number($('look-ahead').value) * 60000;

// drawGroups puts each group of the current plan on the map: where the
// field last saw it (live state) when it was seen, else where the plan
// has it now. People counts and statuses only: no names.
function drawGroups() {
  const t = planClock();
  const live = new Map(((state.operation && state.operation.groups) || []).map((g) => [g.id, g]));
  const features = [];
  const ahead = Number($('look-ahead').value);
  for (const g of (state.groupPlan && state.groupPlan.groups) || []) {
    const seen = live.get(g.id);
    if (seen && seen.status === 'through') continue;
    if (!ahead && seen && (seen.lat || seen.lon) && seen.status !== 'forming') {
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [seen.lon, seen.lat] }, properties: { id: g.id, status: seen.status, people: seen.people, seen: true } });
      continue;
    }
    const at = plannedPosition(g, t);
    if (at) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at.coordinates }, properties: { id: g.id, status: at.status, people: g.people, seen: false } });
  }
  // A viewer reads no plan: the groups the field saw, only.
  if (!state.groupPlan) {
    for (const g of live.values()) {
      if ((g.lat || g.lon) && g.status !== 'through') features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [g.lon, g.lat] }, properties: { id: g.id, status: g.status, people: g.people, seen: true } });
    }
  }
  state.groups = { at: new Date(t).toISOString(), features };
  setData('groups', { type: 'FeatureCollection', features });
  const n = (s) => features.filter((f) => f.properties.status === s).length;
  $('groups-summary').textContent = features.length
    ? `${ahead ? `In ${ahead} min (${new Date(t).toLocaleTimeString()})` : 'Now'}: ${n('moving')} groups moving, ${n('forming')} forming at rally points, ${n('at_gate')} at gates.`
    : 'No group of a current plan to show.';
}

$('look-ahead').addEventListener('input', () => {
  const v = Number($('look-ahead').value);
  $('look-ahead-out').textContent = v ? `in ${v} min` : 'now';
  drawGroups();
});
// The groups move as their times come.
setInterval(() => {
  if (state.map && !document.hidden) drawGroups();
}, 5000);

// --- layers, events ------------------------------------------------------

for (const box of document.querySelectorAll('[data-layer]')) {
  box.addEventListener('change', () => {
    const ids = { zones: ['zones-fill', 'zones-line', 'zones-disputed', 'zones-coordination'], routes: ['routes', 'groups'], density: ['density'], suggestions: ['suggestions', 'suggestion-labels'] }[box.dataset.layer];
    for (const id of ids) state.map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none');
  });
}

function logEvent(text) {
  const log = $('event-log');
  log.prepend(el('li', { text: `${new Date().toLocaleTimeString()} ${text}` }));
  while (log.children.length > 30) log.lastChild.remove();
}

let pending = null;
function onEvent(kind, data) {
  logEvent(`${kind} ${data && data.id ? data.id : ''}`);
  // Hints to re-read, coalesced: a burst of reports redraws once.
  clearTimeout(pending);
  pending = setTimeout(() => refreshAll(kind), 300);
}

// --- the live operation (GET /api/operation, where the server has it) ----

async function refreshOperation() {
  let st;
  try {
    st = await api('GET', '/api/operation');
  } catch (e) {
    // A server without live operations (404), or no current plan yet.
    $('operation').hidden = e.status === 404;
    if (e.status !== 404) $('op-summary').textContent = e.message;
    state.operation = null;
    drawGroups();
    return;
  }
  state.operation = st;
  $('operation').hidden = false;
  const t = st.totals || {};
  const behind = st.behind_min > 0 ? `${Math.round(st.behind_min)} min behind plan` : `${Math.round(-st.behind_min || 0)} min ahead of plan`;
  $('op-summary').textContent = `${t.through || 0} of ${t.planned || 0} people through (plan: ${t.planned_by_now || 0} by now), ${behind}; ${t.on_the_way || 0} on the way, ${t.at_rally || 0} at rally points, ${t.overdue || 0} overdue, ${t.no_shows || 0} no-shows.`;
  const row = (cells, cls) => el('tr', cls ? { class: cls } : {}, ...cells.map((c) => el('td', { text: String(c) })));
  const head = (cells) => el('tr', {}, ...cells.map((c) => el('th', { text: c })));
  $('op-gates').replaceChildren(el('caption', { text: 'Gates' }), head(['Gate', 'Status', 'Through', 'Waiting', 'Expected', 'Rate /h']),
    ...(st.gates || []).map((g) => row([g.name || g.id, g.status, g.through, g.waiting, g.expected, `${Math.round(g.measured_per_hour || 0)} of ${g.nominal_per_hour}${g.slow ? ' (slow)' : ''}`], g.slow ? 'slow' : '')));
  $('op-rally').replaceChildren(el('caption', { text: 'Rally points' }), head(['Rally point', 'Present', 'Expected', 'Overdue', 'No-shows']),
    ...(st.rally_points || []).map((r) => row([r.name || r.id, r.present, r.expected, (r.overdue || []).length, (r.no_shows || []).length])));
  // What the field reported that the operators must look at: a token
  // used twice, forged or superseded, a household admitted at another
  // rally point (counted there, but how a sold copy is used first). The
  // officer's reason is not in the live state: GET /api/field-events has
  // it for those who may read it.
  const fl = flaggedRows(st.flagged, maxFlaggedRows);
  const rallyName = Object.fromEntries((st.rally_points || []).map((r) => [r.id, r.name || r.id]));
  const nFlagged = fl.rows.length + fl.more;
  $('op-flagged').replaceChildren(
    el('caption', { text: nFlagged ? `Flagged field events (${nFlagged}${fl.more ? `, the latest ${fl.rows.length} shown` : ''})` : 'Flagged field events: none' }),
    ...(nFlagged ? [head(['When', 'Event', 'Of', 'Where', 'Why', 'Counted'])] : []),
    ...fl.rows.map((f) => el('tr', { class: f.counted ? 'flag-counted' : 'flag-kept', 'data-event': f.id },
      ...[f.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), f.kind, f.what, rallyName[f.where] || f.where || '–',
        f.flags.join(', ') + (f.noted ? ' (a note)' : ''), f.counted ? 'yes' : 'no, kept'].map((c) => el('td', { text: c })))));
  drawGroups();
}

// The flagged events the live state table lists at most (it keeps up to
// 10,000): the newest.
const maxFlaggedRows = 50;

async function refreshAll(kind) {
  try {
    if (!kind || ['report', 'source', 'place', 'threat', 'zone', 'gate'].includes(kind)) await refreshPicture();
    if (!kind || ['plan', 'instruction', 'issuance'].includes(kind)) await refreshPlans();
    if (!kind || ['plan', 'field', 'fieldevent', 'field_event', 'checkin', 'operation', 'household'].includes(kind)) await refreshOperation();
    refreshPanels(kind);
  } catch (e) {
    if (e.status === 401) showLogin();
    else logEvent('error: ' + e.message);
  }
}

// The live state moves with the clock too (overdue households): re-read it
// every 30 s while the page is open and logged in.
setInterval(() => {
  if (session() && !$('app').hidden && !document.hidden) refreshOperation().catch(() => {});
}, 30000);

initPanels({ plansChanged: () => refreshPlans(), picture: () => state.picture, log: (t) => logEvent(t) });

if (session()) showApp();
else showLogin();
