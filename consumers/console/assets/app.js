/* app.js - the Wukong console in the browser: plain JavaScript, no framework, no build step.
 * State comes as one "snapshot" event and then "delta" events on /api/events (Server-Sent
 * Events); every change touches only the DOM nodes it concerns, so a page with 1,000 operations
 * in flight handles an update in a few milliseconds (measured as performance entries named
 * "con-update"). Text from the cluster is set with textContent only, never parsed as HTML. */
'use strict';

const S = { clusters: new Map(), nodes: new Map(), vms: new Map(), ops: new Map(), drains: new Map(), now: 0, skew: 0 };
const SVGNS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const stats = { updates: 0, last: 0 };
window.conStats = stats;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function bytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(Math.round(n))) + ' ' + u[i];
}
function dur(s) {
  if (s === null || s === undefined || !isFinite(s)) return '';
  s = Math.round(s);
  return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}
function nowMs() { return Date.now() + S.skew; }
function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

/* ---- tabs ---- */
function showTab() {
  const tab = (location.hash || '#fleet').slice(1);
  document.querySelectorAll('.tab').forEach((t) => t.classList.toggle('active', t.id === 'tab-' + tab));
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.tab === tab));
  if (tab === 'fleet') renderFleet();
  if (tab === 'drains') renderGantt();
  if (tab === 'conv') loadConv();
}
window.addEventListener('hashchange', showTab);

/* ---- operations table ---- */
const rows = new Map(); /* op id -> {tr, cells[], vals[], group, visible, pending} */
/* Only rows on screen are written at once; the others keep their latest op in `pending` and are
 * written when they scroll into view (or their tab is shown): with 1,000 operations in flight an
 * update then touches the few dozen rows one can see. */
const seen = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const r = rows.get(e.target.dataset.op);
    if (!r) continue;
    r.visible = e.isIntersecting;
    if (r.visible && r.pending) { const o = r.pending; r.pending = null; writeRow(r, o); }
  }
}, { rootMargin: '200px' });
function opGroup(o) {
  if (o.final) return 'done';
  return o.phase === 'Queued' || o.phase === 'Pending' ? 'queued' : 'running';
}
function opCells(o) {
  const pct = o.percent === undefined || o.percent === null ? -1 : o.percent;
  let queue = '';
  if (o.queuePosition) {
    queue = '#' + o.queuePosition;
    if (o.limitPerCluster !== undefined) queue += ' (' + o.limitPerCluster + '/cluster, ' + o.limitPerNode + '/node)';
  }
  const tot = o.dataTotalBytes || ((o.dataProcessedBytes || 0) + (o.dataRemainingBytes || 0));
  return [
    o.kind || '',
    (o.namespace || '') + '/' + (o.name || ''),
    (o.phase || '') + (o.stalled ? ' ⚠ not converging' : ''),
    pct,
    o.dataProcessedBytes !== undefined ? bytes(o.dataProcessedBytes) + ' / ' + bytes(tot) : '',
    o.transferRateBytesPerSecond ? bytes(o.transferRateBytesPerSecond) + '/s' : '',
    o.etaSeconds !== undefined && o.etaSeconds !== null ? dur(o.etaSeconds) : '',
    o.mode || (o.kind === 'clone' ? 'snapshot+clone' : ''),
    (o.sourceNode || '?') + ' → ' + (o.targetNode || '?'),
    queue,
    o.requestId || '',
  ];
}
function upsertRow(o) {
  let r = rows.get(o.id);
  if (!r) {
    const tr = el('tr');
    tr.dataset.op = o.id;
    const cells = [];
    for (let i = 0; i < 11; i++) {
      const td = el('td');
      if (i === 3) {
        const bar = el('span', 'pbar');
        bar.appendChild(el('i'));
        td.appendChild(bar);
      }
      /* One text node per cell, changed through .data: cheaper than textContent. */
      cells.push(td.appendChild(document.createTextNode('')));
      tr.appendChild(td);
    }
    r = { tr, cells, vals: [], group: null, fill: tr.children[3].firstChild.firstChild, stalled: false, visible: false, pending: null };
    rows.set(o.id, r);
    seen.observe(tr);
    writeRow(r, o);
  } else if (r.visible) {
    writeRow(r, o);
  } else {
    r.pending = o;
  }
  const g = opGroup(o);
  if (g !== r.group) {
    r.group = g;
    $('ops-' + g).appendChild(r.tr);
  }
}
function writeRow(r, o) {
  const v = opCells(o);
  for (let i = 0; i < v.length; i++) {
    if (r.vals[i] === v[i]) continue;
    r.vals[i] = v[i];
    if (i === 3) {
      const p = v[i] < 0 ? 0 : v[i];
      r.fill.style.width = p + '%';
      r.cells[3].data = v[i] < 0 ? '' : p + '%';
    } else {
      r.cells[i].data = v[i];
    }
  }
  if (r.stalled !== !!o.stalled) {
    r.stalled = !!o.stalled;
    r.tr.classList.toggle('stalled', r.stalled);
  }
}
function removeRow(id) {
  const r = rows.get(id);
  if (r) { seen.unobserve(r.tr); r.tr.remove(); rows.delete(id); }
}
function sortQueued() {
  const tb = $('ops-queued');
  if (tb.children.length < 2) return;
  const list = Array.from(tb.children).sort((a, b) => {
    const x = S.ops.get(a.dataset.op), y = S.ops.get(b.dataset.op);
    return ((x && x.queuePosition) || 1e9) - ((y && y.queuePosition) || 1e9);
  });
  let sorted = true;
  for (let i = 0; i < list.length; i++) if (tb.children[i] !== list[i]) { sorted = false; break; }
  if (!sorted) list.forEach((tr) => tb.appendChild(tr));
}

/* ---- summary ---- */
function renderSummary() {
  let running = 0, queued = 0;
  for (const o of S.ops.values()) {
    const g = opGroup(o);
    if (g === 'running') running++;
    else if (g === 'queued') queued++;
  }
  let draining = 0;
  for (const d of S.drains.values()) if (d.phase === 'Running') draining++;
  setText($('summary'), S.clusters.size + ' cluster(s) · ' + S.nodes.size + ' nodes · ' + S.vms.size + ' VMs · ' +
    running + ' running · ' + queued + ' queued · ' + draining + ' evacuation(s) running');
  $('ops-empty').style.display = running + queued ? 'none' : '';
}

/* ---- fleet ---- */
let fleetDirty = true;
function vmOp(vm) {
  const id = 'mig:' + vm.cluster + '/' + vm.namespace + '/' + (vm.wukong || vm.name);
  const o = S.ops.get(id);
  return o && !o.final ? o : null;
}
function renderFleet() {
  if (!fleetDirty || !$('tab-fleet').classList.contains('active')) return;
  fleetDirty = false;
  const root = $('fleet');
  const byNode = new Map();
  for (const vm of S.vms.values()) {
    const k = vm.cluster + '/' + (vm.node || '');
    if (!byNode.has(k)) byNode.set(k, []);
    byNode.get(k).push(vm);
  }
  const frag = document.createDocumentFragment();
  const clusters = new Set(Array.from(S.nodes.values()).map((n) => n.cluster));
  for (const c of S.clusters.keys()) clusters.add(c);
  for (const c of Array.from(clusters).sort()) {
    const sec = el('div', 'cluster');
    const ci = S.clusters.get(c) || {};
    sec.appendChild(el('h2', null, 'cluster ' + c + (ci.running !== undefined ? ' · ' + ci.running + ' migrating, ' + ci.queued + ' queued, ' + ci.failedLastHour + ' failed in the last hour' : '')));
    const grid = el('div', 'nodes');
    const nodes = Array.from(S.nodes.values()).filter((n) => n.cluster === c).sort((a, b) => a.name.localeCompare(b.name));
    for (const n of nodes) {
      const vms = (byNode.get(c + '/' + n.name) || []).sort((a, b) => a.name.localeCompare(b.name));
      const card = el('div', 'node' + (n.unschedulable ? ' cordoned' : '') + (n.ready === false ? ' down' : ''));
      card.dataset.node = n.name;
      const h = el('h3', null, n.name);
      h.appendChild(el('span', 'badge ' + (n.ready === false ? 'bad' : 'ok'), n.ready === false ? 'NotReady' : 'Ready'));
      if (n.unschedulable) h.appendChild(el('span', 'badge warn', n.draining || n.vmsLeft ? 'draining' : 'cordoned'));
      card.appendChild(h);
      let mem = 0, cpu = 0;
      for (const vm of vms) { mem += vm.memoryBytes || 0; cpu += vm.cpus || 0; }
      const cap = el('div', 'cap');
      const bar = el('span', 'pbar');
      const fill = el('i');
      fill.style.width = n.memoryBytes ? Math.min(100, (100 * mem) / n.memoryBytes).toFixed(1) + '%' : '0%';
      bar.appendChild(fill);
      cap.appendChild(bar);
      cap.appendChild(document.createTextNode('memory ' + bytes(mem) + ' / ' + bytes(n.memoryBytes || 0) + ' · ' + cpu + ' vCPU / ' + ((n.cpuMilli || 0) / 1000) + ' CPU'));
      card.appendChild(cap);
      if (n.vmsLeft) card.appendChild(el('div', 'cap', n.vmsLeft + ' VMs to leave, ' + bytes(n.bytesLeft) + (n.etaSeconds ? ', ETA ' + dur(n.etaSeconds) : '')));
      const list = el('div', 'vms');
      for (const vm of vms) {
        const o = vmOp(vm);
        const chip = el('span', 'vm' + (o ? (o.phase === 'Queued' ? ' queued' : ' moving') : ''), vm.namespace + '/' + vm.name);
        chip.title = (vm.phase || '') + ' · ' + bytes(vm.memoryBytes || 0) + (o ? ' · ' + o.phase + ' → ' + (o.targetNode || '?') + (o.percent !== undefined ? ' ' + o.percent + '%' : '') : '');
        list.appendChild(chip);
      }
      card.appendChild(list);
      grid.appendChild(card);
    }
    sec.appendChild(grid);
    frag.appendChild(sec);
  }
  root.replaceChildren(frag);
}

/* ---- drains: the Gantt chart ---- */
let drainSel = null;
function drainOptions() {
  const sel = $('drain-select');
  const ids = Array.from(S.drains.values()).sort((a, b) => (b.startMs || 0) - (a.startMs || 0)).map((d) => d.id);
  if (sel.options.length !== ids.length || ids.some((id, i) => sel.options[i].value !== id)) {
    sel.replaceChildren(...ids.map((id) => {
      const d = S.drains.get(id);
      const o = el('option', null, id + ' · ' + (d.node || '?') + ' · ' + (d.phase || ''));
      o.value = id;
      return o;
    }));
  }
  if (!drainSel || !S.drains.has(drainSel)) {
    const running = ids.find((id) => S.drains.get(id).phase === 'Running');
    drainSel = running || ids[0] || null;
  }
  if (drainSel) sel.value = drainSel;
}
function renderGantt() {
  drainOptions();
  const box = $('gantt');
  const d = drainSel ? S.drains.get(drainSel) : null;
  if (!d) { box.replaceChildren(el('p', 'muted', 'No evacuation seen yet.')); setText($('drain-info'), ''); return; }
  $('drain-svg').href = 'api/drain/' + encodeURIComponent(d.id) + '.svg';
  const now = d.endMs || nowMs();
  setText($('drain-info'), (d.trigger || 'drain') + ' of node ' + (d.node || '?') + ' · ' + (d.phase || '') + ' · ' + d.succeeded + '/' + d.total + ' moved, ' + d.failed + ' failed · predicted ' + (d.predictedSeconds || 0) + ' s' + (d.startMs ? ' · elapsed ' + Math.round((now - d.startMs) / 1000) + ' s' : ''));
  const steps = d.steps || [];
  const act = (s) => {
    if (!s.actStartMs || !d.startMs) return null;
    const end = s.actEndMs || d.endMs || nowMs();
    const a = Math.max(0, (s.actStartMs - d.startMs) / 1000);
    return [a, Math.max(a, (end - d.startMs) / 1000)];
  };
  let span = d.predictedSeconds || 1;
  for (const s of steps) {
    if (s.planEnd !== null && s.planEnd > span) span = s.planEnd;
    const a = act(s);
    if (a && a[1] > span) span = a[1];
  }
  const W = 1000, L = 300, row = 24, H = 40 + steps.length * row + 30, k = (W - L - 20) / span;
  const svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'font-size': 12 });
  const raw = span / 8, p = Math.pow(10, Math.floor(Math.log10(raw || 1))), f = raw / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  for (let t = 0; t <= span + 1e-9; t += step) {
    const x = L + t * k;
    svg.appendChild(sv('line', { x1: x, y1: 14, x2: x, y2: H - 24, stroke: '#e3e3e3' }));
    svg.appendChild(sv('text', { x, y: H - 10, 'text-anchor': 'middle', fill: '#555' }, (Math.round(t * 10) / 10) + ' s'));
  }
  if (!d.endMs && d.startMs) {
    const x = L + ((nowMs() - d.startMs) / 1000) * k;
    svg.appendChild(sv('line', { x1: x, y1: 14, x2: x, y2: H - 24, stroke: '#d0453a', 'stroke-dasharray': '3,3', class: 'now' }));
  }
  steps.forEach((s, i) => {
    const y = 20 + i * row;
    const g = sv('g', { class: 'row', 'data-vm': s.namespace + '/' + s.name });
    g.appendChild(sv('text', { x: 8, y: y + 13 }, s.namespace + '/' + s.name + ' → ' + (s.target || '—') + (s.state ? ' (' + s.state + ')' : '')));
    if (s.planStart !== null && s.planEnd !== null) {
      g.appendChild(sv('rect', { class: 'plan', x: (L + s.planStart * k).toFixed(1), y: y + 1, width: Math.max(1, (s.planEnd - s.planStart) * k).toFixed(1), height: 7 }));
    }
    const a = act(s);
    if (a) {
      const color = s.state === 'Succeeded' ? '#2e9d5b' : s.state === 'Failed' ? '#d0453a' : '#2f6fd6';
      g.appendChild(sv('rect', { class: 'act', x: (L + a[0] * k).toFixed(1), y: y + 10, width: Math.max(1, (a[1] - a[0]) * k).toFixed(1), height: 9, fill: color }));
    }
    svg.appendChild(g);
  });
  box.replaceChildren(svg);
}
$('drain-select').addEventListener('change', (e) => { drainSel = e.target.value; renderGantt(); });

/* ---- convergence ---- */
let convSel = null, convPts = [], convFor = null;
function convOptions() {
  const sel = $('conv-select');
  const ids = Array.from(S.ops.values()).filter((o) => o.kind !== 'clone' && (o.points || 0) > 0)
    .sort((a, b) => (b.createdMs || 0) - (a.createdMs || 0)).map((o) => o.id);
  if (sel.options.length !== ids.length || ids.some((id, i) => sel.options[i].value !== id)) {
    sel.replaceChildren(...ids.map((id) => {
      const o = S.ops.get(id);
      const opt = el('option', null, o.namespace + '/' + o.name + ' · ' + (o.phase || '') + (o.stalled ? ' · not converging' : ''));
      opt.value = id;
      return opt;
    }));
  }
  if (!convSel || !S.ops.has(convSel)) {
    const stalled = ids.find((id) => S.ops.get(id).stalled && !S.ops.get(id).final);
    /* Else the running migration with the longest history. */
    let running = null;
    for (const id of ids) {
      const o = S.ops.get(id);
      if (!o.final && (!running || (o.points || 0) > (S.ops.get(running).points || 0))) running = id;
    }
    convSel = stalled || running || ids[0] || null;
  }
  if (convSel) sel.value = convSel;
}
function loadConv() {
  convOptions();
  if (!convSel) { renderConv(); return; }
  if (convFor === convSel) { renderConv(); return; }
  const want = convSel;
  fetch('api/conv?id=' + encodeURIComponent(want)).then((r) => (r.ok ? r.json() : null)).then((j) => {
    if (want !== convSel) return;
    convFor = want;
    convPts = j ? j.points : [];
    renderConv();
  }).catch(() => {});
}
function renderConv() {
  const box = $('conv-chart');
  const o = convSel ? S.ops.get(convSel) : null;
  if (!o || convFor !== convSel) { box.replaceChildren(el('p', 'muted', 'No migration with transfer samples yet.')); return; }
  const pts = convPts;
  setText($('conv-info'), (o.phase || '') + ' · ' + (o.sourceNode || '?') + ' → ' + (o.targetNode || '?') + ' · ' + pts.length + ' samples' + (o.stalled ? ' · NOT CONVERGING' : ''));
  const W = 1000, H = 360, L = 80, R = 80, T = 30, B = 40;
  const t0 = pts.length ? pts[0][0] : 0, span = Math.max(1, pts.length ? (pts[pts.length - 1][0] - t0) / 1000 : 1);
  let maxB = 1, maxR = 1;
  for (const p of pts) { maxB = Math.max(maxB, p[1] || 0); maxR = Math.max(maxR, p[2] || 0, p[3] || 0); }
  const kx = (W - L - R) / span, kb = (H - T - B) / maxB, kr = (H - T - B) / maxR;
  const svg = sv('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'font-size': 12 });
  svg.appendChild(sv('text', { x: L, y: 18, fill: '#2f6fd6' }, 'remaining (max ' + bytes(maxB) + ')'));
  svg.appendChild(sv('text', { x: W - R, y: 18, fill: '#d0453a', 'text-anchor': 'end' }, 'transfer / dirty rate (max ' + bytes(maxR) + '/s)'));
  svg.appendChild(sv('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#999' }));
  svg.appendChild(sv('text', { x: L, y: H - B + 16, fill: '#555' }, '0 s'));
  svg.appendChild(sv('text', { x: W - R, y: H - B + 16, fill: '#555', 'text-anchor': 'end' }, Math.round(span) + ' s'));
  const line = (idx, k, color, cls) => {
    const pp = pts.filter((p) => p[idx] !== null && p[idx] !== undefined).map((p) => ((L + ((p[0] - t0) / 1000) * kx).toFixed(1) + ',' + (H - B - p[idx] * k).toFixed(1)));
    if (pp.length) svg.appendChild(sv('polyline', { points: pp.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, class: cls }));
  };
  line(2, kr, '#2e9d5b', 'transfer');
  line(3, kr, '#d0453a', 'dirty');
  line(1, kb, '#2f6fd6', 'remaining');
  for (const p of pts) svg.appendChild(sv('circle', { class: 'pt', cx: (L + ((p[0] - t0) / 1000) * kx).toFixed(1), cy: (H - B - (p[1] || 0) * kb).toFixed(1), r: 2.5, fill: '#2f6fd6' }));
  box.replaceChildren(svg);
}
$('conv-select').addEventListener('change', (e) => { convSel = e.target.value; loadConv(); });

/* ---- audit search ---- */
function isoOf(v) { return v ? new Date(v).toISOString() : ''; }
$('audit-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const f = new FormData(e.target), q = new URLSearchParams();
  for (const k of ['vm', 'node', 'request', 'outcome']) if (f.get(k)) q.set(k, f.get(k));
  if (f.get('since')) q.set('since', isoOf(f.get('since')));
  if (f.get('until')) q.set('until', isoOf(f.get('until')));
  fetch('api/audit?' + q.toString()).then((r) => r.json()).then((j) => {
    const tb = $('audit-results');
    setText($('audit-count'), (j.total || 0) + ' record(s)' + (j.total > (j.records || []).length ? ', newest ' + j.records.length + ' shown' : ''));
    tb.replaceChildren(...(j.records || []).map((r) => {
      const tr = el('tr');
      tr.dataset.rid = r.requestId || '';
      tr.dataset.action = r.action || '';
      const obj = (r.kind || '') + ' ' + (r.namespace ? r.namespace + '/' : '') + (r.name || '');
      for (const v of [new Date(r.timeMs).toISOString(), obj, r.action, r.outcome, r.reason, r.requestId]) tr.appendChild(el('td', null, v || ''));
      tr.appendChild(el('td', 'msg', r.message || ''));
      return tr;
    }));
  }).catch((err) => setText($('audit-count'), 'search failed: ' + err));
});

/* ---- applying what the server says ---- */
function applyEntities(list, map, kind) {
  for (const o of list || []) {
    map.set(o.id, o);
    if (kind === 'ops') {
      upsertRow(o);
      if (o.pt && o.id === convFor) convPts.push(o.pt);
    }
  }
}
function applyGone(g) {
  if (!g) return;
  for (const id of g.nodes || []) S.nodes.delete(id);
  for (const id of g.vms || []) S.vms.delete(id);
  for (const id of g.ops || []) { S.ops.delete(id); removeRow(id); }
  for (const id of g.drains || []) S.drains.delete(id);
}
function apply(msg, full) {
  S.skew = msg.now - Date.now();
  if (full) {
    for (const m of [S.clusters, S.nodes, S.vms, S.ops, S.drains]) m.clear();
    for (const id of Array.from(rows.keys())) removeRow(id);
    convFor = null;
  }
  applyEntities(msg.clusters, S.clusters);
  applyEntities(msg.nodes, S.nodes);
  applyEntities(msg.vms, S.vms);
  applyEntities(msg.ops, S.ops, 'ops');
  for (const d of msg.drains || []) S.drains.set(d.id, d);
  applyGone(msg.gone);
  if ((msg.nodes && msg.nodes.length) || (msg.vms && msg.vms.length) || (msg.ops && msg.ops.length) || full || msg.gone) fleetDirty = true;
  sortQueued();
  renderSummary();
  const tab = (location.hash || '#fleet').slice(1);
  if (tab === 'fleet') renderFleet();
  if (tab === 'drains' && (full || (msg.drains && msg.drains.length))) renderGantt();
  if (tab === 'conv') {
    if (convFor === convSel && convSel) renderConv();
    else loadConv();
  }
}
function onMessage(ev, full) {
  const t0 = performance.now();
  apply(JSON.parse(ev.data), full);
  const t1 = performance.now();
  performance.measure('con-update', { start: t0, end: t1 });
  if (++stats.updates % 5000 === 0) performance.clearMeasures('con-update'); /* bounded */
  stats.last = t1 - t0;
}

let es = null;
function connect() {
  es = new EventSource('api/events');
  es.addEventListener('snapshot', (ev) => onMessage(ev, true));
  es.addEventListener('delta', (ev) => onMessage(ev, false));
  es.onopen = () => { $('conn').className = 'conn on'; $('conn').textContent = 'live'; };
  es.onerror = () => { $('conn').className = 'conn off'; $('conn').textContent = 'reconnecting'; };
}
/* Bars of a running evacuation grow with time even between reports. */
setInterval(() => {
  const tab = (location.hash || '#fleet').slice(1);
  if (tab === 'drains' && drainSel && S.drains.has(drainSel) && !S.drains.get(drainSel).endMs) renderGantt();
}, 1000);
performance.setResourceTimingBufferSize(10);
showTab();
connect();
