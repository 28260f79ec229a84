// Inspector field page (城管通): photo, GPS and class make a report. Every report is first written
// to IndexedDB as a draft with its own idempotency key, then sent; drafts that could not be sent
// are retried (on load, when the phone comes back online, and every 30 s) with the same key until
// the server acknowledges them, so a report is never lost and never filed twice.
import { T, api, errorText, toast } from './app.js';

const form = document.getElementById('report');
const gpsEl = document.getElementById('gps');
const list = document.getElementById('drafts');
const preview = document.getElementById('preview');
let position = null;

// ---- GPS: the browser gives WGS-84; the server converts to the city's CRS. ----
if ('geolocation' in navigator) {
  navigator.geolocation.watchPosition(
    (p) => {
      position = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy };
      gpsEl.textContent = `📍 ${position.lat.toFixed(6)}, ${position.lon.toFixed(6)} (±${Math.round(position.accuracy)} m)`;
      sortByDistance();
      sendPosition();
    },
    (e) => { gpsEl.textContent = T('无法定位：', 'No position: ') + e.message; },
    { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 },
  );
} else gpsEl.textContent = T('此设备不支持定位', 'This device has no geolocation');

// ---- the command centre sees where inspectors are: at most one position a minute ----
let positionSentAt = 0;
async function sendPosition() {
  if (form.dataset.sendPosition !== '1' || !position || !navigator.onLine) return;
  if (Date.now() - positionSentAt < 60000) return;
  positionSentAt = Date.now();
  try {
    await api('POST', '/api/v1/me/position', {
      location: { crs: 'wgs84', x: position.lon, y: position.lat },
      accuracy_m: position.accuracy,
    });
  } catch {
    // Offline or refused: the next fix after a minute tries again; positions are best effort.
  }
}

function distanceM(a, b) {
  const R = 6371000, rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

function sortByDistance() {
  const ul = document.getElementById('near-tasks');
  const items = [...ul.querySelectorAll('li[data-lat]')];
  for (const li of items) {
    li.dist = distanceM(position, { lat: Number(li.dataset.lat), lon: Number(li.dataset.lon) });
    li.querySelector('.dist').textContent = li.dist < 1000 ? `${Math.round(li.dist)} m` : `${(li.dist / 1000).toFixed(1)} km`;
  }
  items.sort((a, b) => a.dist - b.dist).forEach((li) => ul.append(li));
}

form.photo.addEventListener('change', () => {
  const f = form.photo.files[0];
  if (f) { preview.src = URL.createObjectURL(f); preview.hidden = false; }
});

// ---- drafts in IndexedDB ----
const dbp = new Promise((resolve, reject) => {
  const r = indexedDB.open('cityloop-field', 1);
  r.onupgradeneeded = () => r.result.createObjectStore('drafts', { keyPath: 'key' });
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});
async function store(mode, fn) {
  const db = await dbp;
  return new Promise((resolve, reject) => {
    const tx = db.transaction('drafts', mode);
    const req = fn(tx.objectStore('drafts'));
    tx.oncomplete = () => resolve(req?.result);
    tx.onerror = () => reject(tx.error);
  });
}
const allDrafts = () => store('readonly', (s) => s.getAll());
const putDraft = (d) => store('readwrite', (s) => s.put(d));
const deleteDraft = (key) => store('readwrite', (s) => s.delete(key));

const SENT = 'cityloop.sent';
function sentList() { try { return JSON.parse(localStorage.getItem(SENT) || '[]'); } catch { return []; } }

async function render() {
  const drafts = await allDrafts();
  list.innerHTML = '';
  for (const d of drafts) {
    const li = document.createElement('li');
    li.className = d.state;
    li.dataset.key = d.key;
    li.textContent = `${new Date(d.created).toLocaleString()} · ${d.class} · ${d.state === 'failed' ? T('被拒：', 'refused: ') + d.error : T('待发送', 'waiting to send')}`;
    if (d.state === 'failed') {
      const del = document.createElement('button');
      del.type = 'button';
      del.textContent = T('删除', 'Delete');
      del.addEventListener('click', async () => { await deleteDraft(d.key); render(); });
      li.append(' ', del);
    }
    list.append(li);
  }
  for (const s of sentList()) {
    const li = document.createElement('li');
    li.className = 'sent';
    const a = document.createElement('a');
    a.href = `/cases/${encodeURIComponent(s.id)}`;
    a.textContent = s.id;
    li.append(T('已上报 ', 'Sent '), a, ` · ${new Date(s.at).toLocaleString()}`);
    list.append(li);
  }
}

let flushing = false;
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const d of await allDrafts()) {
      if (d.state !== 'pending') continue;
      try {
        if (!d.photoHash) {
          const r = await fetch('/api/v1/blobs', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': d.photo.type || 'image/jpeg', Accept: 'application/json' }, body: d.photo });
          const data = await r.json().catch(() => null);
          if (!r.ok) { if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) { d.state = 'failed'; d.error = data?.message || r.status; await putDraft(d); } continue; }
          d.photoHash = data.hash;
          await putDraft(d);
        }
        const body = {
          source: 'inspector',
          description: d.description,
          class: d.class,
          location: { crs: 'wgs84', x: d.lon, y: d.lat },
          photos: [d.photoHash],
        };
        const r = await api('POST', '/api/v1/cases', body, { 'Idempotency-Key': d.key });
        if (r.ok) {
          await deleteDraft(d.key);
          const sent = [{ id: r.data.case.id, at: Date.now() }, ...sentList()].slice(0, 10);
          localStorage.setItem(SENT, JSON.stringify(sent));
          toast(T('已上报：', 'Reported: ') + r.data.case.id);
        } else if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429 && r.status !== 401) {
          d.state = 'failed';
          d.error = errorText(r);
          await putDraft(d);
        }
      } catch {
        // Offline or the server is unreachable: keep the draft for the next attempt.
      }
    }
  } finally {
    flushing = false;
    render();
  }
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = form.querySelector('.error');
  err.textContent = '';
  if (!form.reportValidity()) return;
  if (!position) { err.textContent = T('尚未获得定位，请稍候或到室外。', 'No GPS position yet; wait a moment or step outside.'); return; }
  const cls = form.class.selectedOptions[0];
  await putDraft({
    key: crypto.randomUUID(),
    created: Date.now(),
    state: 'pending',
    photo: form.photo.files[0],
    lat: position.lat,
    lon: position.lon,
    accuracy: position.accuracy,
    class: form.class.value,
    description: form.description.value.trim() || cls.textContent.replace(/^\S+\s/, ''),
  });
  form.reset();
  preview.hidden = true;
  await render();
  flush();
});

window.addEventListener('online', flush);
setInterval(flush, 30000);
render().then(flush);
