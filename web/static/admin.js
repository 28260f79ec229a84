// Administration: the layers map (grids and components in the viewport, attributes on click),
// the rules-table import (a raw file body, so not a JSON form) and a draft rule set's check.
import { T, api, baseMap, errorText, showProblems, toast } from './app.js';

const el = document.getElementById('layers-map');
// Component states of GB/T 30428.2 (完好/破损/丢失/占用/废弃).
const STATES = [['intact', '完好', 'intact'], ['damaged', '破损', 'damaged'], ['missing', '丢失', 'missing'],
  ['occupied', '占用', 'occupied'], ['abandoned', '废弃', 'abandoned']];

function facts(props) {
  const dl = document.createElement('dl');
  dl.className = 'facts';
  for (const [k, v] of Object.entries(props)) {
    if (v === null || typeof v === 'object') continue;
    const dt = document.createElement('dt'); dt.textContent = k;
    const dd = document.createElement('dd'); dd.textContent = v; dd.dataset.fact = k;
    dl.append(dt, dd);
  }
  return dl;
}

/** A labelled input or select inside `form`. */
function field(form, name, text, value, opts = {}) {
  const l = document.createElement('label');
  l.textContent = text + ' ';
  let input;
  if (opts.options) {
    input = document.createElement('select');
    for (const [v, zh, en] of opts.options) {
      const o = new Option(T(zh, en), v);
      o.selected = v === value;
      input.append(o);
    }
  } else {
    input = document.createElement('input');
    input.value = value ?? '';
    input.autocomplete = 'off';
    if (opts.pattern) input.pattern = opts.pattern;
  }
  input.name = name;
  input.required = !!opts.required;
  l.append(input);
  form.append(l);
  return input;
}

/** The editable attributes of a component; what the form does not show is carried over, since
 *  PUT replaces the whole record. */
function componentForm(c, id) {
  const form = document.createElement('form');
  form.className = 'grid-form';
  form.id = id;
  field(form, 'class_code', T('部件小类代码', 'Class code'), c.class_code, { required: true, pattern: '\\d{4}' });
  field(form, 'name', T('名称', 'Name'), c.name);
  field(form, 'state', T('状态', 'State'), c.state || 'intact', { options: STATES });
  field(form, 'dept_supervisor', T('主管部门', 'Supervising department'), c.dept_supervisor);
  field(form, 'dept_owner', T('权属部门', 'Owner'), c.dept_owner);
  field(form, 'dept_maintainer', T('养护部门', 'Maintainer'), c.dept_maintainer);
  field(form, 'note', T('备注', 'Note'), c.note);
  const err = document.createElement('div');
  err.className = 'error';
  err.setAttribute('role', 'alert');
  const btn = document.createElement('button');
  btn.type = 'submit';
  form.append(err, btn);
  return { form, err, btn };
}

function formBody(form) {
  const body = {};
  for (const e of form.elements) if (e.name && e.value !== '') body[e.name] = e.value;
  return body;
}

if (el && window.L) {
  const map = baseMap(el);
  const canWrite = el.dataset.canWrite !== undefined;
  const grids = L.layerGroup().addTo(map);
  const comps = L.layerGroup().addTo(map);
  const info = document.getElementById('feature');
  const compList = document.getElementById('component-list');
  const show = (props) => {
    info.innerHTML = '';
    info.append(facts(props));
  };

  // A component's attributes (read fresh, for the current version) with the edit form.
  async function showComponent(cid) {
    const r = await api('GET', `/api/v1/components/${encodeURIComponent(cid)}`);
    info.innerHTML = '';
    if (!r.ok) { info.textContent = errorText(r); return; }
    const c = r.data.component;
    const h = document.createElement('h3');
    h.textContent = `${T('部件', 'Component')} ${c.id}`;
    info.append(h, facts(c));
    if (!canWrite) return;
    const { form, err, btn } = componentForm(c, 'component-edit');
    btn.textContent = T('保存部件', 'Save component');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      err.textContent = '';
      btn.disabled = true;
      const body = {
        ...formBody(form), lon: c.lon, lat: c.lat, attributes: c.attributes, version: c.version,
        ...(c.initial_date ? { initial_date: c.initial_date } : {}),
        ...(c.data_source ? { data_source: c.data_source } : {}),
      };
      const res = await api('PUT', `/api/v1/components/${encodeURIComponent(c.id)}`, body);
      btn.disabled = false;
      if (!res.ok) { showProblems(err, res, form); return; }
      toast(T('已保存', 'Saved'));
      await showComponent(c.id);
    });
    info.append(form);
  }

  // "New component here": the clicked point, with the same attributes as the edit form.
  const here = document.getElementById('new-component');
  function newComponentAt(latlng) {
    if (!canWrite || !here) return;
    here.innerHTML = '';
    const h = document.createElement('h3');
    h.textContent = `${T('在此新增部件', 'New component here')} (${latlng.lng.toFixed(6)}, ${latlng.lat.toFixed(6)})`;
    const { form, err, btn } = componentForm({}, 'component-new');
    btn.textContent = T('新增部件', 'Add component');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      err.textContent = '';
      btn.disabled = true;
      const res = await api('POST', '/api/v1/components', { ...formBody(form), lon: latlng.lng, lat: latlng.lat });
      btn.disabled = false;
      if (!res.ok) { showProblems(err, res, form); return; }
      toast(T('已新增部件', 'Component added'));
      here.innerHTML = '';
      await load();
      await showComponent(res.data.id);
    });
    here.append(h, form);
  }
  map.on('click', (e) => newComponentAt(e.latlng));
  // A committed layer import redraws what is in view.
  el.addEventListener('layers-changed', () => load());

  async function load() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
    const z = map.getZoom();
    grids.clearLayers();
    comps.clearLayers();
    if (compList) compList.innerHTML = '';
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
        L.circleMarker([it.lat, it.lon], { radius: 4, color: '#2980b9' }).on('click', (e) => {
          // A component click is not a click on empty ground: no "new component here".
          L.DomEvent.stopPropagation(e);
          showComponent(it.id);
        }).addTo(comps);
        // Canvas markers cannot take the keyboard focus; the list beside the map can.
        if (compList) {
          const li = document.createElement('li');
          const b2 = document.createElement('button');
          b2.type = 'button';
          b2.dataset.component = it.id;
          b2.textContent = `${it.name || it.class_code} ${it.id}`;
          b2.addEventListener('click', () => showComponent(it.id));
          li.append(b2);
          compList.append(li);
        }
      }
      el.dataset.components = items.length;
    }
  }
  // `#component=ID` (a link to one component) opens it and centres the map on it.
  const linked = /^#component=(\d{16})$/.exec(location.hash)?.[1];
  api('GET', '/api/v1/area-shapes?level=street&zoom=12').then(async (r) => {
    if (r.ok && r.data.features.length) map.fitBounds(L.geoJSON(r.data).getBounds());
    else map.setView([30, 120], 12);
    map.on('moveend', load);
    const c = linked ? await api('GET', `/api/v1/components/${linked}`) : null;
    if (c?.ok) map.setView([c.data.component.lat, c.data.component.lon], 18);
    else load();
    if (linked) showComponent(linked);
  });
  info.textContent = T('放大到网格级别可查看网格，继续放大可查看部件。', 'Zoom in for unit grids, further for components.')
    + (canWrite ? T('点击空白处可在该点新增部件。', ' Click empty ground to add a component there.') : '');
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
    } else showProblems(err, res, importForm);
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

// Layer import: a multipart upload with the command line's options. "Check" is a dry run (the
// whole import, rolled back); "Import" commits and redraws the map.
const layerForm = document.getElementById('layer-import');
layerForm?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const commit = e.submitter?.value === 'import';
  const err = layerForm.querySelector('.error');
  const out = document.getElementById('layer-import-report');
  err.textContent = '';
  if (!layerForm.reportValidity()) return;
  const f = layerForm.elements;
  const body = new FormData();
  body.append('file', f.file.files[0]);
  for (const name of ['crs', 'encoding', 'map', 'grid_serial_digits']) body.append(name, f[name].value);
  body.append('skip_invalid', f.skip_invalid.checked);
  body.append('repair', f.repair.checked);
  body.append('dry_run', !commit);
  const buttons = layerForm.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  out.textContent = commit ? T('导入中…', 'Importing…') : T('预检中…', 'Checking…');
  try {
    const r = await fetch(`/api/v1/import/${encodeURIComponent(f.kind.value)}`, {
      method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' }, body,
    });
    const res = { ok: r.ok, status: r.status, data: await r.json().catch(() => null) };
    out.textContent = '';
    if (!res.ok) { showProblems(err, res); return; }
    out.append(importReport(res.data));
    if (!res.data.dry_run) {
      toast(T('已导入', 'Imported'));
      el?.dispatchEvent(new Event('layers-changed'));
    }
  } finally {
    for (const b of buttons) b.disabled = false;
  }
});

function importReport(d) {
  const sec = document.createElement('section');
  const h = document.createElement('h4');
  h.textContent = `${d.dry_run ? T('预检结果（未保存）', 'Check (nothing stored)') : T('导入结果', 'Import')}: ${d.file}`;
  const dl = document.createElement('dl');
  dl.className = 'facts';
  for (const [k, zh, en] of [['read', '读取', 'Read'], ['imported', '导入', 'Imported'], ['replaced', '其中替换', 'Replaced'],
    ['unchanged', '未变', 'Unchanged']]) {
    const dt = document.createElement('dt'); dt.textContent = T(zh, en);
    const dd = document.createElement('dd'); dd.textContent = d[k]; dd.dataset.count = k;
    dl.append(dt, dd);
  }
  sec.append(h, dl,
    list(T('被拒记录', 'Rejected records'), d.rejected.map((r) => [`${T('记录', 'record')} ${r.index ?? '?'}`, r.reason])),
    list(T('警告', 'Warnings'), d.warnings));
  return sec;
}
