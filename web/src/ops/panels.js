// The operations map's panels beyond the map itself: re-plan proposals
// side by side with a readable diff, delivery and acknowledgement,
// advisories, plots over time and household search. Every action is an
// API call the server authorises; text from the server is put on the page
// as text, never as HTML.
import { api, session } from '../lib/api.js';
import { lineChart } from './chart.js';
import { planView } from './groups.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
};
const dur = (s) => {
  if (!s && s !== 0) return '–';
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return `${h} h ${String(m).padStart(2, '0')} min`;
};
const hhmm = (t) => (t ? new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '–');
const when = (t) => (t ? new Date(t).toLocaleString() : '–');
const role = () => (session() || {}).role;
const planner = () => ['admin', 'planner'].includes(role());
const writer = () => ['admin', 'planner', 'field'].includes(role());
const table = (caption, head, rows, cls) =>
  el('div', { class: 'scroll' }, el('table', cls ? { class: cls } : {}, caption ? el('caption', { text: caption }) : null,
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...rows)));
const td = (v) => el('td', { text: v == null ? '–' : String(v) });

export const panels = { proposals: null, diff: null, series: null, advisories: [], search: null };
let hooks = { plansChanged: async () => {}, picture: () => null, log: () => {} };

// --- re-plan proposals ----------------------------------------------------

// The fields a re-plan's diff names, in the order people read them.
const FIELDS = ['rally_point', 'group', 'gate', 'time', 'route', 'walk', 'assigned', 'unassigned'];
const FIELD_WORDS = { rally_point: 'rally point', group: 'group', gate: 'gate', time: 'time', route: 'route', walk: 'walk', assigned: 'newly assigned', unassigned: 'no longer assigned' };

const plans = new Map(); // plan id -> whole plan, as read (audited by the server)
async function wholePlan(id) {
  if (!plans.has(id)) plans.set(id, await api('GET', '/api/plans/' + encodeURIComponent(id)));
  return plans.get(id);
}
let rallyNames = null;
async function placeNames() {
  if (!rallyNames) {
    rallyNames = new Map();
    try {
      for (const r of (await api('GET', '/api/rally-points')).rally_points) rallyNames.set(r.id, r.name);
    } catch { /* names are a nicety: ids stand in */ }
  }
  return rallyNames;
}

async function makeProposals() {
  const out = $('proposals-status');
  out.textContent = 'Re-planning from the state of the field: three proposals…';
  $('proposals-table').replaceChildren();
  $('proposal-diff').replaceChildren();
  try {
    const r = await api('POST', '/api/plans/proposals', {});
    panels.proposals = r;
    panels.diff = null;
    out.textContent = `${r.proposals.length} proposals re-planning plan ${r.basis} at ${when(r.at)}. Read a proposal's changes before approving it.`;
    renderProposals(r);
    await hooks.plansChanged();
  } catch (e) {
    out.textContent = 'Refused: ' + e.message;
  }
}

function renderProposals(r) {
  const ps = r.proposals;
  const byField = FIELDS.filter((f) => ps.some((p) => (p.numbers.changed_by_field || {})[f]));
  const row = (label, fn) => el('tr', {}, el('th', { scope: 'row', text: label }), ...ps.map((p) => td(fn(p.numbers, p))));
  const rows = [
    row('Makespan from now', (n) => dur(n.makespan_s)),
    row('Lower bound (ratio)', (n) => `${dur(n.lower_bound_s)} (${n.ratio ? n.ratio.toFixed(2) : '–'})`),
    row('Instructions changed', (n) => n.instructions_changed),
    ...byField.map((f) => row(`… of which ${FIELD_WORDS[f]}`, (n) => (n.changed_by_field || {})[f] || 0)),
    row('Exposure (person-risk-s)', (n) => Math.round(n.exposure || 0)),
    row('Households not served', (n) => n.unserved),
    row('Priority households to go', (n) => n.priority_households),
    row('… delayed over 15 min', (n) => `${n.priority_delayed} (${n.priority_delayed_over_6h} over 6 h; at most ${dur(n.priority_max_delay_s)})`),
    row('… behind lower priority', (n) => n.priority_behind),
  ];
  const actions = el('tr', {}, el('th', { scope: 'row', text: 'Decide' }), ...ps.map((p) => el('td', {},
    el('button', { type: 'button', 'data-kind': p.kind, text: 'Read its changes', onclick: () => showDiff(p) }),
    el('button', { type: 'button', class: 'approve', 'data-approve': p.kind, disabled: true, title: 'Read its changes first', text: 'Approve', onclick: () => approveProposal(p) }))));
  rows.push(actions);
  const head = ['', ...ps.map((p) => p.kind)];
  $('proposals-table').replaceChildren(
    el('dl', { class: 'kinds' }, ...ps.flatMap((p) => [el('dt', { text: p.kind }), el('dd', { text: `${p.title || ''} (plan ${p.plan.id})` })])),
    table('The proposals side by side', head, rows, 'side'));
}

// diffRows turns a re-plan's diff into what a person reads: for each
// household that changes, its rally point, gate and report-by time before
// and after, and why.
export function diffRows(before, after, diff, names) {
  before = planView(before);
  after = planView(after);
  const hh = (p) => new Map((p.households || []).map((h) => [h.id, h]));
  const gr = (p) => new Map((p.groups || []).map((g) => [g.id, g]));
  const hb = hh(before), ha = hh(after), gb = gr(before), ga = gr(after);
  const gateName = new Map([...(before.gates || []), ...(after.gates || [])].map((g) => [g.id, g.name || g.id]));
  const side = (h, groups) => {
    if (!h || !h.group) return { rally: '–', gate: '–', time: '–' };
    const g = groups.get(h.group) || {};
    return { rally: names.get(h.rally_point) || h.rally_point || '–', gate: gateName.get(g.gate) || g.gate || '–', time: hhmm(h.report_by) };
  };
  return ((diff && diff.changes) || []).map((c) => ({ household: c.household, fields: c.fields || [], reason: c.reason || '', before: side(hb.get(c.household), gb), after: side(ha.get(c.household), ga) }));
}

async function showDiff(p) {
  const box = $('proposal-diff');
  if (await renderDiff(box, panels.proposals.basis, p.plan.id, p.title || p.kind, p.kind)) {
    const btn = document.querySelector(`[data-approve="${p.kind}"]`);
    if (btn && planner()) {
      btn.disabled = false;
      btn.removeAttribute('title');
    }
  }
}

// renderDiff puts in box what changes from plan basisID to plan planID,
// household by household, and returns whether it could.
export async function renderDiff(box, basisID, planID, title, kind) {
  box.replaceChildren(el('p', { text: `Reading the changes of ${title}…` }));
  try {
    const [after, before, names] = await Promise.all([wholePlan(planID), wholePlan(basisID), placeNames()]);
    const rows = diffRows(before, after, after.diff, names);
    panels.diff = { kind, plan: planID, rows };
    const counts = {};
    for (const r of rows) for (const f of r.fields) counts[f] = (counts[f] || 0) + 1;
    const filter = el('select', { id: 'diff-filter' }, el('option', { value: '', text: `every change (${rows.length})` }),
      ...FIELDS.filter((f) => counts[f]).map((f) => el('option', { value: f, text: `${FIELD_WORDS[f]} (${counts[f]})` })));
    const list = el('div', { id: 'diff-list' });
    let shown = 25;
    const more = el('button', { type: 'button', id: 'diff-more', text: 'Show 25 more' });
    const draw = () => {
      const pick = rows.filter((r) => !filter.value || r.fields.includes(filter.value));
      const arrow = (a, b) => (a === b ? a : `${a} → ${b}`);
      const part = (col, label, a, b) => el('span', { class: a === b ? 'same' : 'changed', 'data-col': col }, el('span', { class: 'k', text: label + ' ' }), arrow(a, b));
      list.replaceChildren(el('p', { class: 'count', text: `${pick.length} households change${filter.value ? ' their ' + FIELD_WORDS[filter.value] : ''}` }),
        el('ol', { class: 'diff' }, ...pick.slice(0, shown).map((r) => el('li', { 'data-household': r.household },
          el('strong', { text: r.household }), el('span', { class: 'what', text: ' ' + r.fields.map((f) => FIELD_WORDS[f] || f).join(', ') }),
          el('div', {}, part('rally', 'rally point', r.before.rally, r.after.rally), part('gate', 'gate', r.before.gate, r.after.gate), part('time', 'report by', r.before.time, r.after.time)),
          r.reason ? el('div', { class: 'why', text: r.reason }) : null))));
      more.hidden = pick.length <= shown;
    };
    filter.addEventListener('change', () => { shown = 25; draw(); });
    more.addEventListener('click', () => { shown += 25; draw(); });
    box.replaceChildren(
      el('h3', { text: `What changes with ${title} (plan ${planID})` }),
      el('p', { text: `${rows.length} households change; ${(after.diff && after.diff.kept) || 0} keep their instruction.` }),
      table('Households changing, by what changes', ['What', 'Households'], FIELDS.filter((f) => counts[f]).map((f) => el('tr', { 'data-field': f }, td(FIELD_WORDS[f]), td(counts[f])))),
      el('label', { for: 'diff-filter', text: 'Show' }), filter, list, more);
    draw();
    return true;
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error', text: 'Could not read the changes: ' + e.message }));
    return false;
  }
}

async function approveProposal(p) {
  const out = $('proposals-status');
  out.textContent = `Approving ${p.title || p.kind}…`;
  try {
    const r = await api('POST', `/api/plans/${encodeURIComponent(p.plan.id)}/approve`);
    const i = r.issuance || {};
    out.textContent = `Plan ${p.plan.id} (${p.title || p.kind}) approved: ${i.issued || 0} instructions issued, ${i.superseded || 0} superseded, ${i.revoked || 0} revoked, ${i.messages_queued || 0} messages queued.`;
    for (const b of document.querySelectorAll('[data-approve]')) b.disabled = true;
    await hooks.plansChanged();
    refreshDelivery().catch(() => {});
  } catch (e) {
    out.textContent = 'Refused: ' + e.message;
  }
}

// --- delivery and acknowledgement ------------------------------------------

const STATUSES = ['queued', 'sending', 'sent', 'failed-retrying', 'dead'];
const CHANNELS = ['sms', 'email', 'webhook'];

// A later read wins: an answer to an earlier one, arriving after it, is
// dropped rather than drawn over it.
let deliveryReads = 0;

export async function refreshDelivery() {
  if (!session()) return;
  const read = ++deliveryReads;
  const stale = () => read !== deliveryReads;
  if (writer()) {
    try {
      const per = await Promise.all(CHANNELS.map((c) => api('GET', `/api/outbox?channel=${c}&limit=1`)));
      if (stale()) return;
      const rows = per.map((r, i) => el('tr', { 'data-channel': CHANNELS[i] }, el('th', { scope: 'row', text: CHANNELS[i] }), ...STATUSES.map((s) => td(r.counts[s] || 0))))
        .filter((_, i) => STATUSES.some((s) => per[i].counts[s]) || CHANNELS[i] !== 'webhook');
      $('outbox-counts').replaceChildren(table('Messages by channel', ['Channel', 'queued', 'sending', 'sent', 'failed, retrying', 'dead'], rows));
      const dead = await api('GET', '/api/outbox?status=dead&limit=20');
      if (stale()) return;
      $('dead-letters').replaceChildren(dead.messages.length
        ? table(`Dead letters (${dead.counts.dead || 0})`, ['Household', 'Channel', 'Attempts', 'Last error', ''], dead.messages.map((m) => el('tr', {},
          td(m.household_id), td(m.channel), td(m.attempts), td(m.last_error),
          el('td', {}, planner() ? el('button', { type: 'button', text: 'Queue again', onclick: (ev) => retry(m.id, ev.target) }) : null))))
        : el('p', { text: 'No dead letters.' }));
    } catch (e) {
      $('outbox-counts').replaceChildren(el('p', { class: 'error', text: 'Outbox: ' + e.message }));
    }
  }
  const older = $('unack-older').value;
  try {
    const u = await api('GET', '/api/unacknowledged?older_than=' + encodeURIComponent(older));
    if (stale()) return;
    const hs = u.households;
    $('unack-summary').textContent = hs.length
      ? `${hs.length} households have not acknowledged an instruction queued more than ${older} ago: call them.`
      : `Every household whose instruction was queued more than ${older} ago has acknowledged it.`;
    $('unack-list').replaceChildren(hs.length
      ? table('Not acknowledged, oldest first', ['Household', 'Name', 'Phone', 'Queued', 'Sent', 'Pending', 'Dead'], hs.slice(0, 100).map((h) => el('tr', { 'data-household': h.household_id },
        td(h.household_id), td(h.name || ''), h.phone ? el('td', {}, el('a', { href: 'tel:' + h.phone, text: h.phone })) : td(''), td(hhmm(h.first_queued_at)), td(h.sent), td(h.pending), td(h.dead))))
      : '');
  } catch (e) {
    if (stale()) return;
    $('unack-summary').textContent = 'Not acknowledged: ' + e.message;
  }
  $('delivery').dataset.read = String(read); // for the browser tests: which read is drawn
}

async function retry(id, btn) {
  btn.disabled = true;
  try {
    await api('POST', `/api/outbox/${encodeURIComponent(id)}/retry`);
    btn.textContent = 'Queued';
    refreshDelivery().catch(() => {});
  } catch (e) {
    btn.textContent = 'Refused: ' + e.message;
  }
}

// --- advisories -------------------------------------------------------------

// capFields reads what the list lacks from an advisory's CAP 1.2: its
// headline (first info block) and the advisories it references.
function capFields(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const first = (name) => {
    const n = doc.getElementsByTagNameNS('*', name)[0];
    return n ? n.textContent.trim() : '';
  };
  return { headline: first('headline'), references: first('references').split(/\s+/).filter(Boolean).map((r) => r.split(',')[1]) };
}

export async function refreshAdvisories() {
  if (!session()) return;
  let list;
  try {
    list = (await api('GET', '/api/advisories')).advisories;
  } catch (e) {
    $('adv-list').replaceChildren(el('li', { class: 'error', text: e.message }));
    return;
  }
  const shown = list.slice(0, 15);
  const caps = await Promise.all(shown.map((a) => fetch('/api/advisories/' + encodeURIComponent(a.id) + '.xml').then((r) => (r.ok ? r.text() : '')).then(capFields).catch(() => ({ headline: '', references: [] }))));
  const cancelled = new Set();
  shown.forEach((a, i) => { if (a.msg_type === 'Cancel') for (const r of caps[i].references) cancelled.add(r); });
  panels.advisories = shown.map((a, i) => ({ ...a, headline: caps[i].headline, cancelled: cancelled.has(a.id) }));
  $('adv-list').replaceChildren(...panels.advisories.map((a) => el('li', { 'data-advisory': a.id, class: a.cancelled ? 'cancelled' : '' },
    el('strong', { text: `${a.msg_type}${a.cancelled ? ' (cancelled)' : ''}: ` }), a.headline || a.id,
    el('span', { class: 'hint', text: ` — ${when(a.sent)}, ${a.recipients} households${a.no_location ? `, ${a.no_location} without a location` : ''}${a.origin !== 'issued' ? `, from ${a.sender}` : ''}` }),
    planner() && a.origin === 'issued' && a.msg_type !== 'Cancel' && !a.cancelled
      ? el('span', { class: 'adv-actions' },
        el('button', { type: 'button', class: 'link', text: 'Update', onclick: () => startUpdate(a) }),
        el('button', { type: 'button', class: 'link', text: 'Cancel', onclick: () => cancelAdvisory(a) }))
      : null)));
  if (!list.length) $('adv-list').replaceChildren(el('li', { text: 'No advisory yet.' }));
}

function fillZones() {
  const sel = $('adv-zone');
  const keep = sel.value;
  const pic = hooks.picture();
  sel.replaceChildren(...((pic && pic.features) || []).map((f) => el('option', { value: f.properties.id, text: `${f.properties.name} (${f.properties.level})` })));
  if (keep) sel.value = keep;
  $('adv-none').hidden = sel.options.length > 0;
}

let updating = null;
function startUpdate(a) {
  updating = a;
  $('adv-form-title').textContent = `Update advisory ${a.headline || a.id}`;
  $('adv-submit').textContent = 'Send the update';
  $('adv-stop-update').hidden = false;
  $('adv-canned').focus();
}
function stopUpdate() {
  updating = null;
  $('adv-form-title').textContent = 'New advisory';
  $('adv-submit').textContent = 'Send the advisory';
  $('adv-stop-update').hidden = true;
}

async function submitAdvisory(ev) {
  ev.preventDefault();
  const out = $('adv-result');
  const body = { canned: $('adv-canned').value, area_name: $('adv-area').value.trim(), expires_in_hours: Number($('adv-expires').value) || 24 };
  if ($('adv-zone').value) body.zone = $('adv-zone').value;
  out.textContent = 'Sending…';
  try {
    const path = updating ? `/api/advisories/${encodeURIComponent(updating.id)}/update` : '/api/advisories';
    const r = await api('POST', path, body);
    const langs = Object.entries(r.by_language || {}).map(([k, n]) => `${n} in ${k}`).join(', ');
    out.textContent = `${updating ? 'Update' : 'Advisory'} ${r.id} queued to ${r.recipients} households${langs ? ` (${langs})` : ''}; ${r.no_location} without a location: reach them otherwise.`;
    stopUpdate();
    await refreshAdvisories();
  } catch (e) {
    out.textContent = 'Refused: ' + e.message;
  }
}

async function cancelAdvisory(a) {
  const out = $('adv-result');
  out.textContent = `Cancelling ${a.headline || a.id}…`;
  try {
    const r = await api('POST', `/api/advisories/${encodeURIComponent(a.id)}/cancel`, { area_name: $('adv-area').value.trim() });
    out.textContent = `Advisory ${a.id} cancelled (${r.id}), sent to ${r.recipients} households.`;
    await refreshAdvisories();
  } catch (e) {
    out.textContent = 'Refused: ' + e.message;
  }
}

// --- plots over time --------------------------------------------------------

export async function refreshPlots() {
  if (!session()) return;
  let s;
  try {
    s = await api('GET', '/api/operation/series?points=48');
  } catch (e) {
    panels.series = null;
    $('plots-summary').textContent = e.status === 404 ? 'No current plan: nothing to plot yet.' : 'Plots: ' + e.message;
    $('plots').replaceChildren();
    return;
  }
  panels.series = s;
  const times = s.times.map((t) => Date.parse(t));
  const now = Date.parse(s.at);
  $('plots-summary').textContent = `From ${when(s.start)}, every ${Math.round(s.step_s / 60)} min; measured up to now (${hhmm(s.at)}), the plan's curve dashed.`;
  const charts = s.gates.map((g) => {
    const last = (a) => (a.length ? a[a.length - 1] : 0);
    const planNow = g.planned_through[Math.max(0, s.measured - 1)] || 0;
    return el('figure', { class: 'plot', 'data-gate': g.id },
      el('figcaption', { text: `${g.name || g.id}: ${last(g.through)} through (plan by now ${planNow}), ${last(g.waiting)} waiting` }),
      lineChart({
        times, now,
        label: `${g.name || g.id}: people through and waiting over time, against the plan`,
        series: [
          { name: 'planned-through', label: 'through, planned', values: g.planned_through, cls: 'c-plan' },
          { name: 'through', label: 'through', values: g.through, cls: 'c-through' },
          { name: 'planned-waiting', label: 'waiting, planned', values: g.planned_waiting, cls: 'c-planwait' },
          { name: 'waiting', label: 'waiting', values: g.waiting, cls: 'c-wait' },
        ],
      }));
  });
  const acked = s.acknowledged.length ? s.acknowledged[s.acknowledged.length - 1] : 0;
  charts.push(el('figure', { class: 'plot', 'data-plot': 'acknowledged' },
    el('figcaption', { text: `Acknowledged: ${acked} of ${s.households} households` }),
    lineChart({
      times, now,
      label: 'Households that acknowledged their instruction over time',
      series: [
        { name: 'households', label: 'households in the plan', values: times.map(() => s.households), cls: 'c-plan' },
        { name: 'acknowledged', label: 'acknowledged', values: s.acknowledged, cls: 'c-through' },
      ],
    })));
  $('plots').replaceChildren(...charts);
}

// --- household search -------------------------------------------------------

async function search(ev) {
  ev.preventDefault();
  const q = $('hh-q').value.trim();
  const out = $('hh-results');
  $('hh-detail').replaceChildren();
  out.replaceChildren(el('li', { text: 'Searching…' }));
  try {
    const r = await api('GET', '/api/households/search?q=' + encodeURIComponent(q));
    panels.search = r;
    out.replaceChildren(...r.households.map((h) => el('li', { 'data-household': h.id },
      el('button', { type: 'button', class: 'link', text: `${h.id}: ${h.name}${h.name_local ? ' — ' + h.name_local : ''}`, onclick: () => household(h.id) }),
      el('span', { class: 'hint', text: ` ${h.party_size} people, ${h.status}${h.priority && h.priority !== 'none' ? ', ' + h.priority : ''}` }))));
    if (!r.households.length) out.replaceChildren(el('li', { text: 'No household matches.' }));
    if (r.more) out.append(el('li', { class: 'hint', text: 'More match: give more of the name.' }));
  } catch (e) {
    out.replaceChildren(el('li', { class: 'error', text: 'Refused: ' + e.message }));
  }
}

async function household(id) {
  const box = $('hh-detail');
  box.replaceChildren(el('p', { text: 'Reading…' }));
  try {
    const h = await api('GET', '/api/households/' + encodeURIComponent(id));
    const dl = (pairs) => el('dl', {}, ...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v == null || v === '' ? '–' : String(v) })]));
    box.replaceChildren(el('h3', { text: `${h.id}: ${h.name}` }),
      dl([['Own script', h.name_local], ['People', h.party_size], ['Priority', h.priority], ['Language', h.language], ['Phone', h.phone], ['Status', h.status], ['Version', h.version]]),
      el('h4', { text: 'Status history' }),
      el('ol', {}, ...(h.history || []).map((c) => el('li', { text: `${when(c.at)}: ${c.status}${c.by ? ' by ' + c.by : ''}${c.note ? ' — ' + c.note : ''}` }))),
      el('p', { class: 'hint', text: 'This read is recorded in the audit log.' }));
    box.querySelector('h3').tabIndex = -1;
    box.querySelector('h3').focus();
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error', text: 'Refused: ' + e.message }));
  }
}

// --- wiring -------------------------------------------------------------------

export function initPanels(h) {
  hooks = { ...hooks, ...h };
  tickPlots();
  $('make-proposals').addEventListener('click', makeProposals);
  $('delivery-refresh').addEventListener('click', () => refreshDelivery());
  $('unack-older').addEventListener('change', () => refreshDelivery());
  $('adv-form').addEventListener('submit', submitAdvisory);
  $('adv-stop-update').addEventListener('click', stopUpdate);
  $('plots-refresh').addEventListener('click', () => refreshPlots());
  $('hh-form').addEventListener('submit', search);
}

let timer = null;
// refreshPanels re-reads what an event of this kind may have changed
// (every panel when kind is empty), coalesced.
export function refreshPanels(kind) {
  fillZones();
  clearTimeout(timer);
  timer = setTimeout(() => {
    const all = !kind;
    if (all || ['plan', 'instruction', 'issuance', 'household', 'outbox', 'message'].includes(kind)) refreshDelivery().catch(() => {});
    if (all || ['advisory'].includes(kind)) refreshAdvisories().catch(() => {});
    if (all || ['plan'].includes(kind)) plotsSoon(0);
    else if (['field', 'fieldevent', 'field_event', 'checkin', 'operation', 'household'].includes(kind)) plotsSoon(PLOTS_EVERY);
  }, kind ? 1000 : 0);
}

// The plots cost the server a live state per point: on field events they
// are read again at most once a minute (and at once on "Read again").
const PLOTS_EVERY = 60000;
let plotsAt = 0;
let plotsTimer = null;
function plotsSoon(every) {
  clearTimeout(plotsTimer);
  plotsTimer = setTimeout(() => {
    plotsAt = Date.now();
    refreshPlots().catch(() => {});
  }, Math.max(0, plotsAt + every - Date.now()));
}
// The present moves: the plots are read again each minute the page is seen.
export function tickPlots() {
  setInterval(() => {
    if (session() && !document.hidden && panels.series) plotsSoon(PLOTS_EVERY);
  }, PLOTS_EVERY);
}
