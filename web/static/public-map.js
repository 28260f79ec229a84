// The public map: open and recently closed cases (GeoJSON from the public API), coloured by
// status, each with a popup linking to its public page.
import { T, lang } from './app.js';
import { half, streetMap } from './public-common.js';

const el = document.getElementById('public-map');
const map = streetMap(el);
const COLORS = { open: '#d84315', closed: '#2e7d32' };

const r = await fetch('/api/v1/public/map', { headers: { Accept: 'application/geo+json' } });
if (r.ok) {
  const fc = await r.json();
  // Open cases drawn last, so they stay visible over the many closed ones.
  fc.features.sort((a, b) => (a.properties.status === 'open') - (b.properties.status === 'open'));
  const counts = { open: 0, closed: 0 };
  const layer = L.geoJSON(fc, {
    pointToLayer: (f, latlng) => {
      const c = COLORS[f.properties.status] || '#555';
      return L.circleMarker(latlng, { radius: 5, color: c, fillColor: c, fillOpacity: 0.75, weight: 1 });
    },
    onEachFeature: (f, l) => {
      const p = f.properties;
      counts[p.status] = (counts[p.status] || 0) + 1;
      // Built as nodes: class names come from the data.
      const div = document.createElement('div');
      const strong = document.createElement('strong');
      strong.textContent = p.class_name || T('城市管理问题', 'City problem');
      const st = document.createElement('div');
      st.textContent = half(p.status_label, lang === 'en') + (p.supporters ? ` · ${p.supporters}${T('人反映', ' affected')}` : '');
      const a = document.createElement('a');
      a.href = `/p/${encodeURIComponent(p.id)}`;
      a.textContent = T('查看详情', 'Details');
      div.append(strong, st, a);
      l.bindPopup(div);
    },
  }).addTo(map);
  document.getElementById('map-count').textContent =
    T(`办理中 ${counts.open} 件，近期办结 ${counts.closed} 件`, `${counts.open} open, ${counts.closed} recently closed`);
  el.dataset.features = String(fc.features.length);
  await map.ready;
  if (fc.features.length) map.fitBounds(layer.getBounds(), { maxZoom: 16 });
} else {
  document.getElementById('map-count').textContent = T('地图数据加载失败', 'The map data failed to load');
}
