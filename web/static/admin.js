// Administration: the layers map (grids and components in the viewport, attributes on click),
// the rules-table import (a raw file body, so not a JSON form) and a draft rule set's check.
import { T, api, baseMap, errorText, showProblems, toast } from './app.js';

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

// Import an edited rules table as a new draft: the API takes the file itself as the body and lists
// every bad row in `errors`.
const importForm = document.getElementById('rules-import');
importForm?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = importForm.querySelector('.error');
  err.textContent = '';
  const file = importForm.file.files[0];
  if (!file || !importForm.reportValidity()) return;
  const btn = importForm.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const q = new URLSearchParams({ file_name: file.name, name: importForm.name.value });
    const r = await fetch(`/api/v1/rule-sets/import?${q}`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' },
      body: file,
    });
    const res = { ok: r.ok, status: r.status, data: await r.json().catch(() => null) };
    if (res.ok) {
      toast(T('已建立草稿', 'Draft created'));
      setTimeout(() => location.reload(), 600);
    } else showProblems(err, res);
  } finally {
    btn.disabled = false;
  }
});

function list(title, items) {
  const sec = document.createElement('section');
  const h = document.createElement('h4');
  h.textContent = `${title} (${items.length})`;
  sec.append(h);
  if (items.length) {
    const ul = document.createElement('ul');
    for (const it of items) {
      const li = document.createElement('li');
      li.textContent = Array.isArray(it) ? it.join(': ') : typeof it === 'string' ? it : JSON.stringify(it);
      ul.append(li);
    }
    sec.append(ul);
  }
  return sec;
}

// A draft's validation (errors block publishing, warnings do not), matrix report and its diff
// against the version in force.
for (const b of document.querySelectorAll('[data-check-rules]')) {
  b.addEventListener('click', async () => {
    const out = document.getElementById('rule-check');
    out.textContent = T('校验中…', 'Checking…');
    const r = await api('GET', `/api/v1/rule-sets/${encodeURIComponent(b.dataset.checkRules)}/check`);
    out.innerHTML = '';
    if (!r.ok) { out.textContent = errorText(r); return; }
    const d = r.data;
    const h = document.createElement('h3');
    h.textContent = T('校验结果与差异', 'Check and diff');
    out.append(h,
      list(T('错误', 'Errors'), d.rules.errors),
      list(T('警告', 'Warnings'), d.rules.warnings),
      list(T('责任矩阵缺口', 'Matrix gaps'), d.matrix.gaps || []),
      list(T('责任矩阵冲突', 'Matrix conflicts'), d.matrix.conflicts || []),
      list(T('新增条件', 'Added conditions'), d.diff.added),
      list(T('删除条件', 'Removed conditions'), d.diff.removed),
      list(T('修改条件', 'Changed conditions'), d.diff.changed),
      list(T('时限变化', 'Process limit changes'), d.diff.process));
    const p = document.createElement('p');
    p.textContent = `${T('责任矩阵条目', 'Matrix entries')}: ${d.diff.matrix_before} → ${d.diff.matrix_after}`;
    out.append(p);
    out.scrollIntoView({ block: 'nearest' });
  });
}
