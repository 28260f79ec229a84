// Case page: location map and the filing form's class and condition pickers.
import { T, baseMap } from './app.js';

const el = document.getElementById('case-map');
if (el && window.L) {
  const ll = [Number(el.dataset.lat), Number(el.dataset.lon)];
  const map = baseMap(el).setView(ll, 16);
  // The unit grids around the case give the map its context without a tile server.
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((x) => x.toFixed(6)).join(',');
  fetch(`/api/v1/grids?bbox=${bbox}&zoom=16`, { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((g) => { if (g) L.geoJSON(g, { style: { color: '#5b7083', weight: 1, fillOpacity: 0.04 } }).addTo(map); });
  L.circleMarker(ll, { radius: 9, color: '#c0392b', weight: 3, fillOpacity: 0.6 }).addTo(map);
}

const classes = JSON.parse(document.getElementById('classes')?.textContent || '[]');
const conditions = JSON.parse(document.getElementById('conditions')?.textContent || '[]');
const limitText = (l) => (typeof l === 'string' ? l : l && (l.text || l.display || JSON.stringify(l)));

for (const select of document.querySelectorAll('form[data-act=file] [data-class-select]')) {
  const form = select.form;
  const condSelect = form.querySelector('[data-condition-select]');
  const info = form.querySelector('[data-condition-info]');
  const withRules = new Set(conditions.map((c) => String(c.class)));
  for (const c of classes.filter((c) => c.enabled && withRules.has(String(c.class)))) {
    const o = new Option(`${c.class} ${c.major_name} / ${T(c.name, c.name_en)}`, c.class);
    select.add(o);
  }
  const fill = () => {
    condSelect.innerHTML = '';
    const list = conditions.filter((c) => String(c.class) === select.value);
    for (const c of list) {
      const o = new Option(`${c.condition} — ${T('时限', 'limit')} ${limitText(c.limit)}`, c.condition);
      o.dataset.closing = c.closing || '';
      o.dataset.department = c.department || '';
      condSelect.add(o);
    }
    const show = () => {
      const o = condSelect.selectedOptions[0];
      info.textContent = o ? `${T('结案条件', 'Closing')}: ${o.dataset.closing} ${o.dataset.department ? '· ' + T('责任部门', 'department') + ' ' + o.dataset.department : ''}` : T('该类别没有立案条件', 'No filing condition for this class');
    };
    condSelect.onchange = show;
    show();
  };
  if (select.dataset.initial) select.value = select.dataset.initial;
  select.addEventListener('change', fill);
  fill();
}
