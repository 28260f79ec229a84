// Shared by the citizens' pages: the street outlines that give the maps their context (there is
// no tile server), and the reports this device made, kept with their follow-up secrets.
import { api } from './app.js';

/** A Leaflet map showing the streets; `map.ready` resolves once the outlines are in and the
 *  map is fitted to the city (the element then gets `data-ready`). */
export function streetMap(el, opts = {}) {
  const map = L.map(el, { preferCanvas: true, attributionControl: false, minZoom: 3, maxZoom: 19, ...opts });
  map.setView([opts.lat ?? 30, opts.lon ?? 120], opts.zoom ?? 4);
  map.ready = api('GET', '/ui/public/streets').then((r) => {
    if (r.ok && r.data.features.length) {
      const layer = L.geoJSON(r.data, {
        interactive: false,
        style: { color: '#5d7a8c', weight: 1, fillColor: '#dfe7ec', fillOpacity: 0.35 },
      }).addTo(map);
      if (opts.lat === undefined) map.fitBounds(layer.getBounds());
    }
    el.dataset.ready = 'yes';
    return map;
  });
  return map;
}

/** The half of a `中文 English` text in the page's language. */
export function half(text, en) {
  const i = text.search(/ [A-Za-z]/);
  if (i < 0) return text;
  return en ? text.slice(i + 1) : text.slice(0, i);
}

const MINE = 'cityloop.citizen.reports';

/** Reports made on this device: [{case_id?, token?, secret, at}], newest first. */
export function myReports() {
  try { return JSON.parse(localStorage.getItem(MINE) || '[]'); } catch { return []; }
}

export function rememberReport(r) {
  const list = myReports().filter((x) => !(x.case_id && x.case_id === r.case_id) && !(x.token && x.token === r.token));
  list.unshift(r);
  localStorage.setItem(MINE, JSON.stringify(list.slice(0, 50)));
}

/** The follow-up secret of a case: from the page's fragment (`#t=`), else from this device. */
export function secretFor(caseId) {
  const t = new URLSearchParams(location.hash.slice(1)).get('t');
  if (t) return t;
  return myReports().find((r) => r.case_id === caseId)?.secret || null;
}
