// Command centre: city layers by zoom (streets → communities → unit grids), open cases clustered
// and coloured by step and urgency, the report heat layer, headline figures, charts and live moves.
import { T, api, label, baseMap } from './app.js';

const STEP_COLOURS = {
  verifying: '#8e44ad', accepting: '#2980b9', filing: '#16a085', dispatching: '#d35400',
  disposing: '#f39c12', return_review: '#7f8c8d', checking: '#27ae60', closing: '#2c3e50',
};
const URGENCY_RING = { warning: '#f1c40f', overdue: '#e74c3c' };

const map = baseMap(document.getElementById('map'));
const areaLayer = L.layerGroup().addTo(map);
const heat = L.layerGroup();
const people = L.layerGroup();
const seePeople = document.getElementById('map').dataset.people === '1';
const cluster = L.markerClusterGroup({ chunkedLoading: true, maxClusterRadius: 50 });
map.addLayer(cluster);
L.control.layers(null, {
  [T('在办案件', 'Open cases')]: cluster,
  [T('上报热力（30天）', 'Report heat (30 days)')]: heat,
  ...(seePeople ? { [T('监督员位置', 'Inspectors')]: people } : {}),
}, { collapsed: false }).addTo(map);
if (seePeople) people.addTo(map);
const markers = new Map();

function caseMarker(c) {
  const m = L.circleMarker([c.lat, c.lon], {
    radius: c.urgency === 'overdue' ? 9 : 7,
    color: URGENCY_RING[c.urgency] || '#ffffff',
    weight: c.urgency === 'normal' ? 1 : 3,
    fillColor: STEP_COLOURS[c.step] || '#95a5a6',
    fillOpacity: 0.9,
  });
  const div = document.createElement('div');
  const a = document.createElement('a');
  a.href = `/cases/${encodeURIComponent(c.id)}`;
  a.textContent = c.id;
  const p = document.createElement('p');
  p.textContent = c.description || '';
  div.append(a, ` · ${label(c.step)} · ${label(c.urgency)}`, p);
  m.bindPopup(div);
  return m;
}

function putCase(c) {
  const old = markers.get(c.id);
  // An unchanged marker stays, and with it an open popup.
  if (old && old.step === c.step && old.urgency === c.urgency) return;
  if (old) cluster.removeLayer(old);
  if (c.step === 'closed' || typeof c.lat !== 'number') { markers.delete(c.id); return; }
  const m = caseMarker(c);
  m.step = c.step;
  m.urgency = c.urgency;
  markers.set(c.id, m);
  cluster.addLayer(m);
}

// Map data is loaded by viewport; the server accepts boxes up to 2° across, so a wider view asks
// for the 2° around its centre (a district fits in that many times over).
function viewport() {
  const b = map.getBounds();
  const c = map.getCenter();
  const half = (a, b2) => Math.min((b2 - a) / 2, 0.999);
  const dx = half(b.getWest(), b.getEast());
  const dy = half(b.getSouth(), b.getNorth());
  return [c.lng - dx, c.lat - dy, c.lng + dx, c.lat + dy].map((x) => x.toFixed(6)).join(',');
}
const inView = (c) => typeof c.lat === 'number' && map.getBounds().contains([c.lat, c.lon]);

const mapNote = document.getElementById('map-note');
let casesLoad = 0;
async function loadCases() {
  const mine = ++casesLoad;
  const r = await api('GET', `/ui/map-cases?bbox=${viewport()}`);
  // A later pan has already asked again: drop this answer.
  if (!r.ok || mine !== casesLoad) return;
  const inViewNow = new Set(r.data.items.map((c) => c.id));
  for (const [id, m] of markers) {
    if (!inViewNow.has(id)) { cluster.removeLayer(m); markers.delete(id); }
  }
  r.data.items.forEach(putCase);
  mapNote.textContent = r.data.truncated
    ? T(`显示最紧急的 ${r.data.items.length} 件，共 ${r.data.total} 件在办`, `Showing the ${r.data.items.length} most urgent of ${r.data.total} open cases`)
    : T(`视野内在办案件 ${r.data.total} 件`, `${r.data.total} open cases in view`);
  mapNote.dataset.count = String(r.data.items.length);
  classChart(r.data.items);
}

let heatLoad = 0;
async function loadHeat() {
  const mine = ++heatLoad;
  const r = await api('GET', `/ui/map-cases?layer=heat&bbox=${viewport()}`);
  if (!r.ok || mine !== heatLoad) return;
  heat.clearLayers();
  // A density picture without a plug-in: many faint discs add up where reports cluster.
  for (const [lat, lon] of r.data.points) {
    L.circleMarker([lat, lon], { radius: 10, stroke: false, fillColor: '#e74c3c', fillOpacity: 0.08, interactive: false }).addTo(heat);
  }
}
let moved = null;
function reloadView() {
  clearTimeout(moved);
  moved = setTimeout(() => {
    loadCases();
    if (map.hasLayer(heat)) loadHeat();
  }, 300);
}
map.on('overlayadd', (e) => { if (e.layer === heat) loadHeat(); });

// ---- city layers: streets when zoomed out, communities in between, unit grids close up ----
let areaKey = '';
async function loadAreas() {
  const z = map.getZoom();
  const b = map.getBounds();
  let url, key;
  if (z >= 16) {
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
    url = `/api/v1/grids?bbox=${bbox}&zoom=${z}`;
    key = url;
  } else {
    const level = z >= 14 ? 'community' : 'street';
    url = `/api/v1/area-shapes?level=${level}&zoom=${z}`;
    key = level + z;
  }
  if (key === areaKey) return;
  areaKey = key;
  const r = await api('GET', url);
  if (!r.ok || key !== areaKey) return;
  areaLayer.clearLayers();
  L.geoJSON(r.data, {
    style: { color: z >= 16 ? '#7f8c8d' : '#34495e', weight: z >= 16 ? 1 : 2, fillOpacity: 0.03 },
    onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name || ''} ${f.properties.code || ''}`, { sticky: true }),
  }).addTo(areaLayer);
}

api('GET', '/api/v1/area-shapes?level=street&zoom=12').then((r) => {
  if (r.ok && r.data.features.length) map.fitBounds(L.geoJSON(r.data).getBounds());
  else map.setView([30, 120], 12);
  map.on('moveend', loadAreas);
  map.on('moveend', reloadView);
  loadAreas();
  loadCases();
});

// ---- figures and charts ----
const charts = {};
function chart(id) {
  charts[id] ||= echarts.init(document.getElementById(id), document.body.classList.contains('bigscreen') ? 'dark' : null);
  return charts[id];
}
const pct = (n, d) => (d ? `${((100 * n) / d).toFixed(1)}%` : '–');
function setFigure(k, v) {
  const el = document.querySelector(`[data-figure=${k}]`);
  if (el) el.textContent = v ?? '–';
}

// Class names arrive with the dashboard; the markers may come first, so the chart is drawn again.
let classNames = {};
let classItems = [];
function classChart(items = classItems) {
  classItems = items;
  const by = {};
  for (const c of items) by[c.class || ''] = (by[c.class || ''] || 0) + 1;
  const top = Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 10).reverse();
  const name = (code) => (code ? classNames[code] || code : T('未分类', 'unclassified'));
  chart('chart-class').setOption({
    title: { text: T('视野内在办案件类别 Top 10', 'Open cases in view by class (top 10)'), textStyle: { fontSize: 14 } },
    grid: { left: 110, right: 20, top: 35, bottom: 25 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: top.map((x) => name(x[0])), axisLabel: { width: 100, overflow: 'truncate' } },
    series: [{ type: 'bar', data: top.map((x) => x[1]), itemStyle: { color: '#2980b9' } }],
    tooltip: {},
  });
}

async function loadDashboard() {
  const r = await api('GET', '/ui/dashboard');
  if (!r.ok) return;
  const d = r.data;
  if (d.class_names) {
    classNames = d.class_names;
    classChart();
  }
  setFigure('reported_today', d.reported_today);
  setFigure('closed_today', d.closed_today);
  setFigure('overdue', d.overdue);
  setFigure('warning', d.warning);
  const today = d.today || {};
  const num = (kind, fig) => today[kind]?.[fig]?.num;
  setFigure('filed_today', num('shift_leader', 'filings'));
  setFigure('dispatched_today', num('dispatcher', 'dispatches'));
  setFigure('disposed_today', num('department', 'handled'));
  // Rates over the last 30 days, summed over the streets (numerators and denominators).
  const street = d.month?.street || {};
  const rate = (f) => (f ? pct(f.num, f.den) : '–');
  setFigure('closure_rate', rate(street.closing_rate));
  setFigure('on_time_rate', rate(street.on_time_closing_rate));

  chart('chart-trend').setOption({
    title: { text: T('近30天上报', 'Reports, last 30 days'), textStyle: { fontSize: 14 } },
    grid: { left: 40, right: 15, top: 35, bottom: 25 },
    xAxis: { type: 'category', data: d.trend.map((t) => t.day.slice(5)) },
    yAxis: { type: 'value' },
    series: [{ type: 'line', smooth: true, areaStyle: { opacity: 0.15 }, data: d.trend.map((t) => t.reports) }],
    tooltip: { trigger: 'axis' },
  });
  chart('chart-channel').setOption({
    title: { text: T('上报渠道（30天）', 'Channels (30 days)'), textStyle: { fontSize: 14 } },
    series: [{ type: 'pie', radius: ['35%', '65%'], top: 20, data: Object.entries(d.channels).filter((x) => x[1] > 0).map(([k, v]) => ({ name: label(k), value: v })) }],
    tooltip: { trigger: 'item' },
  });
  const rank = [...d.ranking].sort((a, b) => (a.rank ?? 999) - (b.rank ?? 999)).slice(0, 10).reverse();
  chart('chart-dept').setOption({
    title: { text: T('部门综合评价（30天）', 'Department scores (30 days)'), textStyle: { fontSize: 14 } },
    grid: { left: 10, right: 20, top: 35, bottom: 25, containLabel: true },
    xAxis: { type: 'value', max: 100 }, yAxis: { type: 'category', data: rank.map((x) => x.name || x.object.id) },
    series: [{ type: 'bar', data: rank.map((x) => Number(x.composite.toFixed(1))), itemStyle: { color: '#16a085' } }],
    tooltip: {},
  });
}
// ---- inspectors' last positions (the last eight hours) ----
async function loadPeople() {
  if (!seePeople) return;
  const r = await api('GET', '/api/v1/positions');
  if (!r.ok) return;
  people.clearLayers();
  for (const p of r.data) {
    const minutes = Math.max(0, Math.round((Date.now() - Date.parse(p.at)) / 60000));
    const m = L.circleMarker([p.lat, p.lon], {
      radius: 6, color: '#1f4e79', weight: 2, fillColor: '#ffffff', fillOpacity: 1,
    });
    const div = document.createElement('div');
    const b = document.createElement('strong');
    b.textContent = p.name;
    div.append(b, ` · ${T(`${minutes} 分钟前`, `${minutes} min ago`)}`);
    m.bindPopup(div);
    m.bindTooltip(p.name);
    people.addLayer(m);
  }
}
loadPeople();
setInterval(loadPeople, 60000);

loadDashboard();
setInterval(loadDashboard, 60000);
setInterval(loadCases, 120000);
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

// ---- live moves ----
const live = document.getElementById('live');
const feed = document.getElementById('feed');
const es = new EventSource('/ui/live');
es.onopen = () => { live.textContent = T('实时', 'live'); live.className = 'badge u-normal'; };
es.onerror = () => { live.textContent = T('重连中', 'reconnecting'); live.className = 'badge u-warning'; };
es.addEventListener('case', (e) => {
  const c = JSON.parse(e.data);
  // The map shows the viewport only; the feed below lists every move.
  if (inView(c) || markers.has(c.id)) putCase(c);
  // Earlier entries cannot locate a case that has left the map.
  if (!markers.has(c.id)) feed.querySelectorAll(`button.locate[data-case="${CSS.escape(c.id)}"]`).forEach((b) => b.remove());
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = `/cases/${encodeURIComponent(c.id)}`;
  a.textContent = c.id;
  li.append(new Date().toLocaleTimeString(), ' ', a, ` → ${label(c.step)} · ${c.description || ''}`);
  if (markers.has(c.id)) {
    // Keyboard users reach the marker from the feed: canvas markers take no focus.
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'locate';
    b.dataset.case = c.id;
    b.textContent = T('定位', 'Locate');
    b.addEventListener('click', () => {
      const m = markers.get(c.id);
      if (m) cluster.zoomToShowLayer(m, () => m.openPopup());
    });
    li.append(' ', b);
  }
  feed.prepend(li);
  while (feed.children.length > 30) feed.lastChild.remove();
});
es.addEventListener('resync', () => { loadCases(); loadDashboard(); });

// ---- big screen: full screen, dark theme, larger type ----
document.getElementById('bigscreen').addEventListener('click', async () => {
  const on = document.body.classList.toggle('bigscreen');
  if (on && document.documentElement.requestFullscreen) await document.documentElement.requestFullscreen().catch(() => {});
  if (!on && document.fullscreenElement) await document.exitFullscreen().catch(() => {});
  for (const [id, c] of Object.entries(charts)) { const opt = c.getOption(); c.dispose(); delete charts[id]; chart(id).setOption(opt); }
  map.invalidateSize();
});
