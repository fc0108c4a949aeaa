// The inspector page: lists, detail, actions, chart and live updates. Every value from
// the inbox is put in the page as text (textContent), never as markup.
'use strict';

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const STATES = ['pending', 'running', 'retrying', 'done', 'dead'];
const LABELS = { running: 'in progress' };
const COLORS = { pending: '#7c8aa5', running: '#2f7de1', retrying: '#e0a21b', done: '#2e9b57', dead: '#d6453d' };
const view = { tab: 'events', query: {}, before: null, history: [], selected: null, chartAt: 0 };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function when(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function badge(state) {
  return el('span', { class: `state ${state}`, 'data-state': state }, LABELS[state] || state);
}

function notice(text, error) {
  const n = $('notice');
  n.textContent = text || '';
  n.className = error ? 'error' : '';
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: 'same-origin' }, options));
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function post(path) {
  return api(path, { method: 'POST', headers: { 'x-csrf-token': csrf } });
}

function search(extra) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(Object.assign({}, view.query, extra))) {
    if (value !== '' && value !== null && value !== undefined) params.set(key, value);
  }
  return params.toString();
}

// ---- filters ----

function readFilters() {
  const form = $('filters');
  const query = {};
  for (const name of ['state', 'scheme', 'route', 'type']) query[name] = form.elements[name].value.trim();
  for (const name of ['since', 'until']) {
    const value = form.elements[name].value;
    query[name] = value ? String(new Date(value).getTime()) : '';
  }
  if (query.state === 'quarantined') setTab('deliveries', false);
  else if (view.tab === 'deliveries' && query.state) query.state = query.state === 'accepted' ? 'accepted' : '';
  if (view.tab === 'deliveries') delete query.type;
  view.query = query;
}

function setTab(tab, reload = true) {
  view.tab = tab;
  $('tab-events').classList.toggle('active', tab === 'events');
  $('tab-deliveries').classList.toggle('active', tab === 'deliveries');
  for (const node of document.querySelectorAll('.events-only')) node.hidden = tab !== 'events';
  if (reload) {
    if (tab === 'events' && $('f-state').value === 'quarantined') $('f-state').value = '';
    readFilters();
    firstPage();
  }
}

function firstPage() {
  view.before = null;
  view.history = [];
  return loadList();
}

// ---- list ----

const HEADS = {
  events: ['#', 'received', 'sender', 'route', 'type', 'state', 'tries', 'last error'],
  deliveries: ['#', 'received', 'sender', 'route', 'state', 'bytes', 'queued', 'duplicates', 'parse error'],
};

async function loadList() {
  let page;
  try {
    page = await api(`/api/${view.tab}?${search({ before: view.before })}`);
  } catch (err) {
    notice(err.message, true);
    return;
  }
  notice('');
  $('list-head').replaceChildren(el('tr', {}, HEADS[view.tab].map((h) => el('th', {}, h))));
  const rows = page.items.map((item) => view.tab === 'events' ? eventRow(item) : deliveryRow(item));
  if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, el('td', { colspan: 9 }, 'Nothing matches.')));
  $('list-body').replaceChildren(...rows);
  view.next = page.next_before;
  $('older').disabled = !page.next_before;
  $('newer').disabled = view.history.length === 0;
}

function eventRow(e) {
  return el('tr', {
    'data-event-id': e.id, 'data-state': e.state,
    class: view.selected && view.selected.kind === 'event' && view.selected.id === e.id ? 'selected' : null,
    onclick: () => showEvent(e.id),
  },
  el('td', {}, e.id), el('td', { title: when(e.received_at) }, when(e.received_at).slice(11)), el('td', {}, e.scheme), el('td', {}, e.route),
  el('td', { class: 'type' }, e.type || '—'), el('td', {}, badge(e.state)), el('td', {}, e.attempts),
  el('td', { class: 'error', title: e.last_error || '' }, e.last_error || ''));
}

function deliveryRow(d) {
  return el('tr', {
    'data-delivery-id': d.id, 'data-state': d.state,
    onclick: () => showDelivery(d.id),
  },
  el('td', {}, d.id), el('td', { title: when(d.received_at) }, when(d.received_at).slice(11)), el('td', {}, d.scheme), el('td', {}, d.route),
  el('td', {}, badge(d.state)), el('td', {}, d.body_len), el('td', {}, d.queued), el('td', {}, d.duplicates),
  el('td', { class: 'error' }, d.parse_error || ''));
}

// ---- detail ----

function openDetail(...children) {
  const box = $('detail');
  box.hidden = false;
  document.querySelector('main').classList.add('detail-open');
  box.replaceChildren(...children.filter((child) => child !== null && child !== undefined));
}

function closeDetail() {
  view.selected = null;
  $('detail').hidden = true;
  document.querySelector('main').classList.remove('detail-open');
  for (const row of document.querySelectorAll('#list-body tr.selected')) row.classList.remove('selected');
}

function headersTable(headers) {
  return el('table', { id: 'headers' },
    el('tr', {}, el('th', {}, 'header'), el('th', {}, 'value')),
    headers.map((h) => el('tr', {}, el('td', {}, h.name),
      el('td', { class: h.masked ? 'masked' : null }, h.value))));
}

function bytesBlock(id, bytes) {
  if (bytes.text !== undefined) return el('pre', { id }, bytes.text);
  return el('pre', { id, title: 'not UTF-8: hex' }, bytes.hex);
}

async function showEvent(id) {
  view.selected = { kind: 'event', id };
  for (const row of document.querySelectorAll('#list-body tr')) {
    row.classList.toggle('selected', row.dataset.eventId === String(id));
  }
  let d;
  try {
    d = await api(`/api/events/${id}`);
  } catch (err) {
    openDetail(el('p', { class: 'last-error' }, err.message));
    return;
  }
  if (!view.selected || view.selected.id !== id || view.selected.kind !== 'event') return;
  const e = d.event;
  const actions = el('div', { class: 'actions' });
  if (e.state === 'dead') {
    actions.append(el('button', { id: 'redrive', class: 'primary', onclick: () => act(`/api/events/${id}/redrive`, 'redriven') }, 'Redrive'));
  }
  if (e.state === 'done') {
    actions.append(el('button', { id: 'replay', class: 'primary', onclick: () => act(`/api/events/${id}/replay`, 'replayed') }, 'Replay'));
  }
  openDetail(
    el('h2', {}, `Event #${e.id}`, el('span', { id: 'detail-state' }, badge(e.state)),
      el('button', { class: 'close', onclick: closeDetail }, '✕')),
    e.last_error ? el('div', { class: 'last-error', id: 'last-error' }, e.last_error) : null,
    actions,
    el('dl', {},
      el('dt', {}, 'type'), el('dd', {}, e.type || '—'),
      el('dt', {}, 'sender'), el('dd', {}, `${d.verification.scheme} — ${d.verification.scheme_summary}`),
      el('dt', {}, 'verified'), el('dd', { id: 'verified-by' }, d.verification.text),
      el('dt', {}, 'route'), el('dd', {}, e.route),
      el('dt', {}, 'dedup key'), el('dd', { id: 'dedup-key' }, e.key),
      el('dt', {}, 'delivery'), el('dd', {}, el('a', { href: '#', onclick: (ev) => { ev.preventDefault(); showDelivery(e.delivery); } }, `#${e.delivery}`),
        ` (${d.delivery.body_len} bytes, ${d.media_type}, bytes ${d.range[0]}–${d.range[1]})`),
      el('dt', {}, 'received'), el('dd', {}, when(e.received_at)),
      el('dt', {}, 'updated'), el('dd', {}, when(e.updated_at)),
      el('dt', {}, 'due'), el('dd', {}, when(e.due_at) || '—'),
      el('dt', {}, 'attempts'), el('dd', {}, e.attempts)),
    el('h3', {}, 'Attempts'),
    el('table', { id: 'attempts' },
      el('tr', {}, ['#', 'started', 'took', 'outcome', 'error', 'worker'].map((h) => el('th', {}, h))),
      d.attempts.length ? d.attempts.map((a) => el('tr', {},
        el('td', {}, a.attempt), el('td', {}, when(a.started_at)), el('td', {}, `${a.duration_ms} ms`),
        el('td', {}, a.outcome), el('td', { class: a.error ? 'error' : null, title: a.error || '' }, a.error || ''),
        el('td', {}, a.worker || ''))) : el('tr', {}, el('td', { colspan: 6 }, 'No attempt yet.'))),
    el('h3', {}, 'Headers (signatures and credentials masked)'),
    headersTable(d.headers),
    el('h3', {}, 'Pretty'),
    d.pretty === null ? el('p', {}, 'The bytes do not parse as their type says; see the exact bytes.') : el('pre', { id: 'pretty' }, d.pretty),
    el('h3', {}, `Exact stored bytes (${d.bytes.len})`),
    bytesBlock('exact', d.bytes));
}

async function showDelivery(id) {
  view.selected = { kind: 'delivery', id };
  let d;
  try {
    d = await api(`/api/deliveries/${id}`);
  } catch (err) {
    openDetail(el('p', { class: 'last-error' }, err.message));
    return;
  }
  if (!view.selected || view.selected.id !== id || view.selected.kind !== 'delivery') return;
  const s = d.delivery;
  const events = el('div', {});
  openDetail(
    el('h2', {}, `Delivery #${s.id}`, badge(s.state), el('button', { class: 'close', onclick: closeDetail }, '✕')),
    s.parse_error ? el('div', { class: 'last-error' }, s.parse_error) : null,
    el('dl', {},
      el('dt', {}, 'sender'), el('dd', {}, s.scheme),
      el('dt', {}, 'verified with'), el('dd', {}, s.verification ? s.verification.text : 'not recorded (stored before the inbox recorded it)'),
      el('dt', {}, 'route'), el('dd', {}, s.route),
      el('dt', {}, 'received'), el('dd', {}, when(s.received_at)),
      el('dt', {}, 'media type'), el('dd', {}, s.media_type),
      el('dt', {}, 'message id'), el('dd', {}, d.message_id || '—'),
      el('dt', {}, 'signed at'), el('dd', {}, d.signed_at ? when(d.signed_at * 1000) : '—'),
      el('dt', {}, 'events'), el('dd', {}, `${s.queued} queued, ${s.duplicates} duplicates`)),
    el('h3', {}, 'Events'), events,
    el('h3', {}, 'Headers (signatures and credentials masked)'), headersTable(d.headers),
    d.pretty ? el('h3', {}, 'Pretty') : null, d.pretty ? el('pre', {}, d.pretty) : null,
    el('h3', {}, `Exact body (${s.body_len} bytes${d.body_truncated ? ', first 1 MiB shown' : ''})`),
    bytesBlock('exact', d.body));
  try {
    const page = await api(`/api/events?delivery=${id}&limit=50`);
    events.replaceChildren(el('table', {}, page.items.map((e) => el('tr', { onclick: () => showEvent(e.id) },
      el('td', {}, `#${e.id}`), el('td', {}, e.type || '—'), el('td', {}, badge(e.state))))));
  } catch (err) {
    events.textContent = err.message;
  }
}

async function act(path, verb) {
  try {
    const result = await post(path);
    notice(`${result[verb]} event(s) ${verb}.`);
  } catch (err) {
    notice(err.message, true);
  }
  refresh();
}

// ---- chart ----

async function loadChart() {
  view.chartAt = Date.now();
  let data;
  try {
    data = await api('/api/chart');
  } catch (err) {
    $('chart-note').textContent = err.message;
    return;
  }
  const svg = $('chart');
  const ns = 'http://www.w3.org/2000/svg';
  const W = 1200, H = 130, top = 8, bottom = 18, left = 34;
  const barW = (W - left) / data.counts.length;
  const totals = data.counts.map((row) => row.reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const shapes = [];
  const text = (x, y, value, anchor) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', x); t.setAttribute('y', y); t.setAttribute('font-size', '10');
    t.setAttribute('fill', '#6b7080'); t.setAttribute('text-anchor', anchor || 'start');
    t.textContent = value;
    return t;
  };
  data.counts.forEach((row, i) => {
    let y = H - bottom;
    row.forEach((count, s) => {
      if (!count) return;
      const h = (count / max) * (H - top - bottom);
      y -= h;
      const r = document.createElementNS(ns, 'rect');
      r.setAttribute('x', left + i * barW + 1); r.setAttribute('y', y);
      r.setAttribute('width', Math.max(1, barW - 2)); r.setAttribute('height', h);
      r.setAttribute('fill', COLORS[data.states[s]] || '#999');
      const title = document.createElementNS(ns, 'title');
      title.textContent = `${when(data.start + i * data.minute_ms).slice(11, 16)}: ${count} ${data.states[s]}`;
      r.append(title);
      shapes.push(r);
    });
  });
  const axis = document.createElementNS(ns, 'line');
  axis.setAttribute('x1', left); axis.setAttribute('x2', W); axis.setAttribute('y1', H - bottom); axis.setAttribute('y2', H - bottom);
  axis.setAttribute('stroke', '#dde0e6');
  shapes.push(axis, text(left - 4, top + 8, max, 'end'), text(left - 4, H - bottom, 0, 'end'),
    text(left, H - 4, '−60 min'), text(W, H - 4, 'now', 'end'));
  svg.replaceChildren(...shapes);
  $('legend').replaceChildren(...data.states.map((s) => {
    const swatch = el('i', {});
    swatch.style.background = COLORS[s] || '#999';
    return el('span', {}, swatch, LABELS[s] || s);
  }));
  $('chart-note').textContent = data.truncated ? `(from the newest ${data.scanned} events)` : '';
}

// ---- stats and live updates ----

function showStats(stats) {
  const parts = STATES.map((s) => el('span', { class: 'count', 'data-count': s }, `${LABELS[s] || s} ${stats[s]}`));
  parts.push(el('span', { class: 'count' }, `deliveries ${stats.deliveries}`));
  if (stats.quarantined) parts.push(el('span', { class: 'count', 'data-count': 'quarantined' }, `quarantined ${stats.quarantined}`));
  $('stats').replaceChildren(...parts);
}

function refresh() {
  if (view.before === null) loadList();
  if (view.selected) (view.selected.kind === 'event' ? showEvent : showDelivery)(view.selected.id);
  if (Date.now() - view.chartAt > 5000) loadChart();
}

function connect() {
  const source = new EventSource('/api/live');
  source.addEventListener('open', () => $('live').className = 'live on');
  source.addEventListener('error', () => $('live').className = 'live off');
  let first = true;
  source.addEventListener('change', (event) => {
    const data = JSON.parse(event.data);
    showStats(data.stats);
    if (first) { first = false; return; }
    refresh();
  });
}

// ---- start ----

async function start() {
  try {
    const meta = await api('/api/meta');
    for (const s of meta.schemes) $('f-scheme').append(el('option', { value: s.id, title: s.summary }, s.id));
  } catch (err) {
    notice(err.message, true);
  }
  $('filters').addEventListener('submit', (event) => { event.preventDefault(); readFilters(); firstPage(); });
  $('tab-events').addEventListener('click', () => setTab('events'));
  $('tab-deliveries').addEventListener('click', () => setTab('deliveries'));
  $('older').addEventListener('click', () => { view.history.push(view.before); view.before = view.next; loadList(); });
  $('newer').addEventListener('click', () => { view.before = view.history.pop() ?? null; loadList(); });
  const matching = $('redrive-matching');
  matching.addEventListener('click', () => {
    if (!matching.dataset.armed) {
      matching.dataset.armed = '1';
      matching.textContent = 'Click again to redrive every dead event matching';
      setTimeout(() => { delete matching.dataset.armed; matching.textContent = 'Redrive all dead matching'; }, 4000);
      return;
    }
    delete matching.dataset.armed;
    matching.textContent = 'Redrive all dead matching';
    readFilters();
    act(`/api/redrive?${search({ state: '' })}`, 'redriven');
  });
  readFilters();
  await Promise.all([loadList(), loadChart()]);
  connect();
  // When the list and the chart are drawn, in ms since navigation (tests read it).
  document.body.dataset.ready = String(Math.max(1, Math.round(performance.now())));
}

start();
