// Administration: the layers map (grids and components in the viewport, attributes on click).
import { T, api, baseMap } from './app.js';

const el = document.getElementById('layers-map');
if (el && window.L) {
  const map = baseMap(el);
  const grids = L.layerGroup().addTo(map);
  const comps = L.layerGroup().addTo(map);
  const info = document.getElementById('feature');
  const show = (props) => {
    info.innerHTML = '';
    const dl = document.createElement('dl');
    dl.className = 'facts';
    for (const [k, v] of Object.entries(props)) {
      if (v === null || typeof v === 'object') continue;
      const dt = document.createElement('dt'); dt.textContent = k;
      const dd = document.createElement('dd'); dd.textContent = v;
      dl.append(dt, dd);
    }
    info.append(dl);
  };
  async function load() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
    const z = map.getZoom();
    grids.clearLayers();
    comps.clearLayers();
    if (z < 15) {
      const r = await api('GET', `/api/v1/area-shapes?level=community&zoom=${z}`);
      if (r.ok) L.geoJSON(r.data, { style: { color: '#34495e', weight: 1, fillOpacity: 0.03 }, onEachFeature: (f, l) => l.on('click', () => show(f.properties)) }).addTo(grids);
      // Polygons are drawn on a canvas: say how many for tests and assistive text.
      el.dataset.features = r.ok ? r.data.features.length : 0;
      return;
    }
    const g = await api('GET', `/api/v1/grids?bbox=${bbox}&zoom=${z}`);
    el.dataset.features = g.ok ? g.data.features.length : 0;
    if (g.ok) L.geoJSON(g.data, { style: { color: '#7f8c8d', weight: 1, fillOpacity: 0.05 }, onEachFeature: (f, l) => l.on('click', () => show(f.properties)) }).addTo(grids);
    if (z >= 17) {
      const c = await api('GET', `/api/v1/components?bbox=${bbox}&limit=500`);
      const items = c.ok ? (Array.isArray(c.data) ? c.data : c.data.items || []) : [];
      for (const it of items) {
        if (typeof it.lat !== 'number') continue;
        L.circleMarker([it.lat, it.lon], { radius: 4, color: '#2980b9' }).on('click', () => show(it)).addTo(comps);
      }
    }
  }
  api('GET', '/api/v1/area-shapes?level=street&zoom=12').then((r) => {
    if (r.ok && r.data.features.length) map.fitBounds(L.geoJSON(r.data).getBounds());
    else map.setView([30, 120], 12);
    map.on('moveend', load);
    load();
  });
  info.textContent = T('放大到网格级别可查看网格，继续放大可查看部件。', 'Zoom in for unit grids, further for components.');
}
