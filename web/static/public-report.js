// Citizens' report page: place (map pick or the browser's position, sent as WGS-84), problem
// type, photo, description and optional contact. Before sending, open reports of the same kind
// nearby are offered for "me too" instead of a duplicate. After sending, the reporter is taken to
// the tracking page, whose link carries the follow-up secret in its fragment.
import { T, api, errorText, lang } from './app.js';
import { streetMap, myReports, rememberReport, half } from './public-common.js';

const form = document.getElementById('report');
const picked = document.getElementById('picked');
const errorEl = document.getElementById('report-error');
const classSelect = form.elements.class;
let position = null;
let marker = null;

const map = streetMap(document.getElementById('pick-map'));

function pick(lat, lon, how) {
  position = { lat, lon };
  if (marker) marker.setLatLng([lat, lon]);
  else marker = L.marker([lat, lon], { keyboard: false, title: T('问题位置', 'The place') }).addTo(map);
  picked.textContent = `${how} ${lat.toFixed(6)}, ${lon.toFixed(6)}`;
  picked.dataset.picked = 'yes';
  loadNearby();
}

map.on('click', (e) => pick(e.latlng.lat, e.latlng.lng, T('已选位置：', 'Chosen place:')));

document.getElementById('locate').addEventListener('click', () => {
  if (!('geolocation' in navigator)) { picked.textContent = T('此设备不支持定位，请在地图上点选。', 'This device cannot locate you; tap the map instead.'); return; }
  picked.textContent = T('正在定位…', 'Locating…');
  navigator.geolocation.getCurrentPosition(
    (p) => {
      // The browser gives WGS-84; the server converts to the city's system.
      map.setView([p.coords.latitude, p.coords.longitude], 18);
      pick(p.coords.latitude, p.coords.longitude, T('我的位置：', 'My location:'));
    },
    (e) => { picked.textContent = T('无法定位，请在地图上点选：', 'No position; tap the map instead: ') + e.message; },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 },
  );
});

// ---- problem type search: by either language's name ----
const search = document.getElementById('class-search');
search.addEventListener('input', () => {
  const q = search.value.trim().toLowerCase();
  let first = null;
  for (const o of classSelect.options) {
    if (!o.value) continue;
    const hit = !q || o.dataset.k.includes(q) || o.value.toLowerCase() === q;
    o.hidden = !hit;
    if (hit && !first) first = o;
  }
  for (const g of classSelect.querySelectorAll('optgroup')) g.hidden = ![...g.children].some((o) => !o.hidden);
  if (q && first) { classSelect.value = first.value; loadNearby(); }
});
classSelect.addEventListener('change', loadNearby);

// ---- nearby open reports of the same kind: "me too" instead of a duplicate ----
const nearbyBox = document.getElementById('nearby');
const nearbyList = document.getElementById('nearby-list');
let nearbySeq = 0;
async function loadNearby() {
  if (!position || !classSelect.value) return;
  const seq = ++nearbySeq;
  const q = new URLSearchParams({ lon: position.lon, lat: position.lat, class: classSelect.value });
  const r = await api('GET', `/api/v1/public/nearby?${q}`);
  if (seq !== nearbySeq) return;
  nearbyList.replaceChildren();
  if (!r.ok || !r.data.length) { nearbyBox.hidden = true; return; }
  for (const c of r.data.slice(0, 5)) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `/p/${encodeURIComponent(c.id)}`;
    a.textContent = `${c.class_name || ''} · ${c.description}`;
    const meta = document.createElement('span');
    meta.className = 'muted';
    meta.textContent = ` ${Math.round(c.distance_m)} m · ${half(c.status_label, lang === 'en')} · ${T('已有', '')}${c.supporters}${T('人反映', ' affected')}`;
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'metoo';
    btn.textContent = T('这也是我遇到的问题', 'Me too');
    btn.addEventListener('click', () => meToo(c, btn, meta));
    li.append(a, meta, ' ', btn);
    nearbyList.append(li);
  }
  nearbyBox.hidden = false;
}

async function meToo(c, btn, meta) {
  btn.disabled = true;
  const phone = form.elements.phone.value.trim();
  const r = await api('POST', `/api/v1/public/cases/${encodeURIComponent(c.id)}/me-too`, phone ? { phone } : {});
  if (!r.ok) { btn.disabled = false; errorEl.textContent = errorText(r, form); return; }
  btn.textContent = r.data.added ? T('已记录，谢谢！', 'Noted, thank you!') : T('您已经反映过了', 'You had already said so');
  meta.textContent = ` ${T('共', '')}${r.data.supporters}${T('人反映', ' affected')}`;
  btn.closest('li').classList.add('joined');
}

// ---- photo ----
const preview = document.getElementById('preview');
form.elements.photo.addEventListener('change', () => {
  const f = form.elements.photo.files[0];
  if (f) { preview.src = URL.createObjectURL(f); preview.hidden = false; } else preview.hidden = true;
});

/** A key for this submission, so a retried send does not report twice. */
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}
let key = newKey();
form.addEventListener('input', () => { key = newKey(); });

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  errorEl.textContent = '';
  if (!position) { errorEl.textContent = T('请先在地图上选择位置，或使用我的位置。', 'Choose the place on the map or use your location first.'); document.getElementById('locate').focus(); return; }
  if (!form.reportValidity()) return;
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const photos = [];
    const f = form.elements.photo.files[0];
    if (f) {
      const up = await fetch('/api/v1/public/photos', { method: 'POST', headers: { 'Content-Type': f.type || 'application/octet-stream', Accept: 'application/json' }, body: f });
      const data = await up.json().catch(() => null);
      if (!up.ok) { errorEl.textContent = errorText({ status: up.status, data }); return; }
      photos.push(data.hash);
    }
    const v = (n) => form.elements[n].value.trim();
    const body = {
      class: classSelect.value,
      description: v('description'),
      location: { crs: 'wgs84', x: position.lon, y: position.lat },
      photos,
    };
    for (const n of ['address', 'name', 'phone', 'website']) if (v(n)) body[n] = v(n);
    const r = await api('POST', '/api/v1/public/reports', body, { 'Idempotency-Key': key });
    if (!r.ok) { errorEl.textContent = errorText(r, form); return; }
    const at = new Date().toISOString();
    if (r.status === 201) {
      rememberReport({ case_id: r.data.case_id, secret: r.data.followup_token, at });
      location.href = `/track/${encodeURIComponent(r.data.case_id)}#t=${encodeURIComponent(r.data.followup_token)}`;
    } else {
      // Held for review: not a case yet.
      rememberReport({ token: r.data.token, secret: r.data.followup_token, at });
      location.href = `/track/held/${encodeURIComponent(r.data.token)}#t=${encodeURIComponent(r.data.followup_token)}`;
    }
  } catch {
    errorEl.textContent = T('网络错误，请重试。', 'Network error; try again.');
  } finally {
    btn.disabled = false;
  }
});

// ---- reports made on this device ----
const mine = myReports();
if (mine.length) {
  const ul = document.getElementById('mine');
  for (const m of mine) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = m.case_id
      ? `/track/${encodeURIComponent(m.case_id)}#t=${encodeURIComponent(m.secret)}`
      : `/track/held/${encodeURIComponent(m.token)}#t=${encodeURIComponent(m.secret)}`;
    a.textContent = m.case_id || T('待审核的上报', 'Report awaiting review');
    li.append(a, ` · ${new Date(m.at).toLocaleString()}`);
    ul.append(li);
  }
  document.getElementById('mine-card').hidden = false;
}
