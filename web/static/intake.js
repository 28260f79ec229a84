// Hotline entry: address search, map pick, class picker, duplicate suggestions on submit.
import { T, api, errorText, label, baseMap } from './app.js';

const form = document.getElementById('intake');
const picked = document.getElementById('picked');
const results = document.getElementById('address-results');
const out = document.getElementById('intake-result');
let marker = null;

const mapEl = document.getElementById('pick-map');
const map = baseMap(mapEl);
let layer = null;
async function loadGrids() {
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
  const level = map.getZoom() >= 15 ? null : 'community';
  const url = level ? `/api/v1/area-shapes?level=${level}&zoom=${map.getZoom()}` : `/api/v1/grids?bbox=${bbox}&zoom=${map.getZoom()}`;
  const r = await api('GET', url);
  if (!r.ok) return;
  if (layer) layer.remove();
  layer = L.geoJSON(r.data, { style: { color: '#5b7083', weight: 1, fillOpacity: 0.03 }, interactive: false }).addTo(map);
}
// Start on the city: fit the street boundaries.
api('GET', '/api/v1/area-shapes?level=street&zoom=12').then((r) => {
  if (r.ok && r.data.features.length) {
    const streets = L.geoJSON(r.data);
    map.fitBounds(streets.getBounds());
  } else map.setView([30, 120], 12);
  map.on('moveend', loadGrids);
  loadGrids();
});

function pick(lat, lon, text) {
  form.lat.value = lat;
  form.lon.value = lon;
  if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon]).addTo(map);
  picked.textContent = `${T('已选位置', 'Picked')}: ${lat.toFixed(6)}, ${lon.toFixed(6)}${text ? ' · ' + text : ''}`;
}

map.on('click', async (e) => {
  pick(e.latlng.lat, e.latlng.lng);
  const r = await api('GET', `/api/v1/addresses/reverse?lon=${e.latlng.lng}&lat=${e.latlng.lat}`);
  if (r.ok && r.data && !form.address.value) form.address.value = r.data.address?.full_address || r.data.full_address || r.data.address?.text || '';
});

document.getElementById('address-search').addEventListener('click', async () => {
  const q = form.address.value.trim();
  results.innerHTML = '';
  if (!q) return;
  const r = await api('GET', `/api/v1/addresses/search?q=${encodeURIComponent(q)}&limit=8`);
  if (!r.ok) { results.textContent = errorText(r); return; }
  const list = Array.isArray(r.data) ? r.data : r.data.items || [];
  if (!list.length) results.textContent = T('未找到地址', 'No address found');
  for (const m of list) {
    const a = m.address || m;
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = a.full_address || a.text || a.name || JSON.stringify(a);
    b.addEventListener('click', () => {
      form.address.value = b.textContent;
      pick(a.lat, a.lon, '');
      map.setView([a.lat, a.lon], 17);
      results.innerHTML = '';
    });
    li.append(b);
    results.append(li);
  }
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = form.querySelector('.error');
  err.textContent = '';
  if (!form.reportValidity()) return;
  if (!form.lat.value) { err.textContent = T('请搜索地址或在地图上选择位置。', 'Find the address or pick the place on the map.'); return; }
  const body = {
    source: form.source.value,
    description: form.description.value.trim(),
    location: { crs: 'cgcs2000', x: Number(form.lon.value), y: Number(form.lat.value) },
  };
  for (const k of ['class', 'address', 'contact_name', 'contact_phone', 'external_ref']) {
    const v = form[k].value.trim();
    if (v) body[k] = v;
  }
  // One key per submitted form: a double click or a retry returns the same case.
  form.dataset.key ||= crypto.randomUUID();
  const r = await api('POST', '/api/v1/cases?suggest_duplicates=true', body, { 'Idempotency-Key': form.dataset.key });
  if (!r.ok) { err.textContent = errorText(r, form); return; }
  delete form.dataset.key;
  const c = r.data.case;
  out.innerHTML = '';
  const h = document.createElement('h2');
  const a = document.createElement('a');
  a.href = `/cases/${encodeURIComponent(c.id)}`;
  a.textContent = c.id;
  h.append(T('已登记 ', 'Registered '), a, ` · ${label(c.step)}`);
  out.append(h);
  if (r.data.possible_duplicates.length) {
    const p = document.createElement('p');
    p.textContent = T('附近可能重复的在办案件（可在案件页合并）：', 'Possible duplicates nearby (merge on the case page):');
    const ul = document.createElement('ul');
    for (const d of r.data.possible_duplicates) {
      const li = document.createElement('li');
      const l = document.createElement('a');
      l.href = `/cases/${encodeURIComponent(d.case.id)}`;
      l.textContent = d.case.id;
      li.append(l, ` · ${d.distance_m} m · ${d.case.description}`);
      ul.append(li);
    }
    out.append(p, ul);
  }
  form.reset();
  picked.textContent = T('尚未选择位置', 'No location picked yet');
  if (marker) { marker.remove(); marker = null; }
});
