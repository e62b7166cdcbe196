// Live view of the scaler's actors. The server sends a full table on connect
// and then, at most every flush interval, the rows that changed.
'use strict';

const MAX_CHIPS_PER_APP = 300;

// Colours per top-level state, by lifecycle: starting is warm yellow, serving
// green or blue, trouble red, on the way out grey.
const STATE_COLORS = {
  'scaler.running': '#9be3b0',
  'scaler.stopping': '#fcd980',
  'scaler.stopped': '#cbd2da',
  'app.serving': '#9be3b0',
  'app.draining': '#fcd980',
  'app.drained': '#cbd2da',
  'slot.creating': '#fde68a',
  'slot.initing': '#fdba74',
  'slot.retryingCreate': '#fca5a5',
  'slot.retryingInit': '#fca5a5',
  'slot.failed': '#ef6b6b',
  'slot.idle': '#86efac',
  'slot.busy': '#7cb7fb',
  'slot.destroying': '#d5dbe3',
  'slot.destroyed': '#a7b1be',
};

const machines = new Map(JSON.parse(document.getElementById('machines').textContent).map((m) => [m.id, m]));
const actors = new Map();
let selected = null;
let detailRequest = 0;

function colorOf(machine, state) {
  const top = state.split('.')[0];
  const known = STATE_COLORS[`${machine}.${top}`];
  if (known) return known;
  let hash = 0;
  for (const char of `${machine}.${top}`) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360}, 65%, 78%)`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function formatTime(ms) {
  const date = new Date(ms);
  return `${date.toLocaleTimeString([], { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function isEnded(actor) {
  return actor.status !== 'active';
}

function compareIds(a, b) {
  return a.id.localeCompare(b.id, undefined, { numeric: true });
}

function applyMessage(message) {
  if (message.kind === 'full') actors.clear();
  for (const actor of message.actors) actors.set(actor.sessionId, actor);
  for (const sessionId of message.removed ?? []) actors.delete(sessionId);
  renderStats(message.stats);
  renderTree();
  if (selected && message.actors.some((actor) => actor.sessionId === selected)) loadDetail(selected);
  if (selected && !actors.has(selected)) renderDetailGone();
}

function renderStats(stats) {
  if (!stats) return;
  const parts = [
    `${stats.actors} actors`,
    `${Math.round(stats.eventsPerSecond)} inspection events/s`,
    `${stats.eventsSeen} in all`,
  ];
  if (stats.failures > 0) parts.push(`${stats.failures} inspector failures`);
  document.getElementById('stats').textContent = parts.join(' · ');
}

function countStates(children) {
  const counts = new Map();
  for (const child of children) {
    if (isEnded(child)) continue;
    const top = child.state.split('.')[0];
    counts.set(top, (counts.get(top) ?? 0) + 1);
  }
  return [...counts].map(([state, count]) => `${state} ${count}`).join(' · ');
}

function displayName(actor) {
  if (actor.machine === 'app') return actor.id.replace(/^app:/, '');
  // A root actor without an id of its own is named by its session id, which means nothing to a reader.
  return actor.id === actor.sessionId ? '' : actor.id;
}

function badge(actor) {
  const label = actor.status === 'active' ? actor.state : `${actor.state} (${actor.status})`;
  return `<span class="badge" style="background:${colorOf(actor.machine, actor.state)}">${escapeHtml(label || 'starting')}</span>`;
}

function chip(actor) {
  const classes = ['chip'];
  if (isEnded(actor)) classes.push('ended');
  if (actor.sessionId === selected) classes.push('selected');
  const last = actor.last ? `\nlast: ${actor.last.trigger}: ${actor.last.from ?? 'start'} → ${actor.last.to}` : '';
  const title = `${actor.id} (${actor.machine})\nstate: ${actor.state}\nstatus: ${actor.status}\nevents: ${actor.events}${last}`;
  return (
    `<span class="${classes.join(' ')}" data-session="${escapeHtml(actor.sessionId)}" title="${escapeHtml(title)}" ` +
    `style="background:${colorOf(actor.machine, actor.state)}">${escapeHtml(actor.id)}<span class="state">${escapeHtml(actor.state)}</span></span>`
  );
}

function card(actor, children) {
  const classes = ['card'];
  if (isEnded(actor)) classes.push('ended');
  if (actor.sessionId === selected) classes.push('selected');
  const name = displayName(actor);
  const counts = children.length > 0 ? countStates(children) : '';
  const head =
    `<div class="card-head" data-session="${escapeHtml(actor.sessionId)}">` +
    `<span class="name">${escapeHtml(actor.machine === 'slot' ? name : `${actor.machine} ${name}`.trim())}</span>${badge(actor)}` +
    `<span class="counts">${escapeHtml(counts)}${counts ? ' · ' : ''}${actor.events} events</span></div>`;
  let body = '';
  if (children.length > 0) {
    const sorted = [...children].sort((a, b) => Number(isEnded(a)) - Number(isEnded(b)) || compareIds(a, b));
    const shown = sorted.slice(0, MAX_CHIPS_PER_APP).map(chip).join('');
    const hidden = sorted.length - MAX_CHIPS_PER_APP;
    body = `<div class="slots">${shown}${hidden > 0 ? `<span class="more">+${hidden} more</span>` : ''}</div>`;
  }
  return `<div class="${classes.join(' ')}">${head}${body}</div>`;
}

// NOTE: the tree is rebuilt whole on every message, which stays fast for tens of apps with up to
// MAX_CHIPS_PER_APP slots each; hundreds of apps would need keyed updates of the changed cards only.
function renderTree() {
  const children = new Map();
  for (const actor of actors.values()) {
    if (!actor.parentSessionId) continue;
    if (!children.has(actor.parentSessionId)) children.set(actor.parentSessionId, []);
    children.get(actor.parentSessionId).push(actor);
  }
  const roots = [...actors.values()].filter((actor) => !actor.parentSessionId || !actors.has(actor.parentSessionId));
  const apps = roots.flatMap((root) => (children.get(root.sessionId) ?? []).filter((actor) => actor.machine === 'app'));
  const orphans = roots.filter((actor) => actor.parentSessionId);

  document.getElementById('roots').innerHTML = roots
    .filter((actor) => !actor.parentSessionId)
    .map((root) => card(root, []))
    .join('');
  const appHtml = apps.sort(compareIds).map((app) => card(app, children.get(app.sessionId) ?? []));
  if (orphans.length > 0) appHtml.push(`<div class="card"><div class="card-head"><span class="name">without a parent</span></div><div class="slots">${orphans.map(chip).join('')}</div></div>`);
  document.getElementById('apps').innerHTML =
    appHtml.length > 0 ? appHtml.join('') : '<p class="empty">No app has received a request yet.</p>';
}

function select(sessionId) {
  selected = sessionId;
  renderTree();
  loadDetail(sessionId);
}

async function loadDetail(sessionId) {
  const request = ++detailRequest;
  try {
    const response = await fetch(`actors/${encodeURIComponent(sessionId)}`);
    if (request !== detailRequest) return;
    if (!response.ok) {
      renderDetailGone();
      return;
    }
    renderDetail(await response.json());
  } catch (error) {
    if (request === detailRequest) document.getElementById('detail-head').innerHTML = `<p class="empty">Could not load the actor: ${escapeHtml(error.message)}</p>`;
  }
}

function renderDetailGone() {
  document.getElementById('detail-head').innerHTML = '<p class="empty">The selected actor has ended and was dropped from the table.</p>';
  document.getElementById('transitions').innerHTML = '';
  for (const element of document.querySelectorAll('#chart g.active')) element.classList.remove('active');
}

let chartShown = null;

function renderDetail(actor) {
  document.getElementById('detail-head').innerHTML =
    `<h2>${escapeHtml(actor.machine === 'slot' ? actor.id : `${actor.machine} ${displayName(actor)}`.trim())} ${badge(actor)}</h2>` +
    `<div class="meta">machine ${escapeHtml(actor.machine)} · status ${escapeHtml(actor.status)} · ${actor.events} events · ` +
    `${actor.transitionCount} transitions · session ${escapeHtml(actor.sessionId)} · click the chart to zoom</div>`;

  const machine = machines.get(actor.machine);
  const chart = document.getElementById('chart');
  if (chartShown !== actor.machine) {
    chart.innerHTML = machine ? machine.svg : `<p class="empty">No chart for machine ${escapeHtml(actor.machine)}.</p>`;
    chartShown = actor.machine;
  }
  for (const element of chart.querySelectorAll('g.active')) element.classList.remove('active');
  let leaf = null;
  // Highlight the state and each of its ancestors: destroying.calling lights destroying and calling.
  const parts = actor.state.split('.');
  const fill = colorOf(actor.machine, actor.state);
  for (let depth = 1; depth <= parts.length; depth++) {
    const element = document.getElementById(`state:${actor.machine}.${parts.slice(0, depth).join('.')}`);
    if (!element) continue;
    element.classList.add('active');
    element.style.setProperty('--active-fill', fill);
    leaf = element;
  }
  if (leaf && chart.classList.contains('actual-size')) leaf.scrollIntoView({ block: 'nearest', inline: 'center' });

  const rows = [...actor.transitions].reverse().map(
    (t) =>
      `<tr><td>${formatTime(t.at)}</td><td>${escapeHtml(t.trigger)}</td>` +
      `<td>${escapeHtml(t.from ?? 'start')} → ${escapeHtml(t.to)}</td></tr>`,
  );
  const kept = actor.transitions.length < actor.transitionCount ? ` (last ${actor.transitions.length} of ${actor.transitionCount})` : '';
  document.getElementById('transitions').innerHTML =
    `<thead><tr><th>time</th><th>event${kept}</th><th>from → to</th></tr></thead><tbody>${rows.join('')}</tbody>`;
}

function renderLegend() {
  const groups = [];
  for (const machine of machines.values()) {
    const items = machine.states.map(
      (state) => `<span class="badge" style="background:${colorOf(machine.id, state)}">${escapeHtml(state)}</span>`,
    );
    groups.push(`<span class="group"><b>${escapeHtml(machine.id)}</b> ${items.join(' ')}</span>`);
  }
  document.getElementById('legend').innerHTML = groups.join('');
}

// The chart fits the panel; a click shows it at its actual size, scrollable, and back.
document.getElementById('chart').addEventListener('click', (event) => {
  const chart = event.currentTarget;
  chart.classList.toggle('actual-size');
  const active = chart.querySelectorAll('g.active');
  if (active.length > 0 && chart.classList.contains('actual-size')) active[active.length - 1].scrollIntoView({ block: 'nearest', inline: 'center' });
});

document.getElementById('tree').addEventListener('click', (event) => {
  const target = event.target.closest('[data-session]');
  if (target) select(target.dataset.session);
});

function connect() {
  const connection = document.getElementById('connection');
  const source = new EventSource('events');
  source.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  };
  source.onerror = () => {
    connection.textContent = source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting';
    connection.className = 'connection lost';
  };
  source.onmessage = (event) => applyMessage(JSON.parse(event.data));
}

renderLegend();
connect();
