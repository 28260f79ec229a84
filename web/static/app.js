// Shared page behaviour: language helpers, JSON API calls, action forms, logout.
// Every state change goes to /api/v1 (same origin; the server's CSRF layer checks
// Sec-Fetch-Site/Origin, which browsers set on these requests).

const LABELS = JSON.parse(document.getElementById('labels')?.textContent || '{}');
export const lang = document.documentElement.lang.startsWith('en') ? 'en' : 'zh';
export const T = (zh, en) => (lang === 'en' ? en : zh);
export const label = (code) => LABELS[code] ?? code;

/** fetch JSON; resolves to {ok, status, data} and never throws for HTTP errors. */
export async function api(method, url, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  let data = null;
  const ct = r.headers.get('Content-Type') || '';
  if (ct.includes('json')) data = await r.json();
  return { ok: r.ok, status: r.status, data };
}

/** A readable message for an API error body. With `form`, a field error names the field by its
 *  label and marks the input (aria-invalid, focused) so the user sees where to correct. */
export function errorText(res, form) {
  const d = res.data || {};
  if (res.status === 409 && d.code === 'version_conflict') return T('数据已被他人更新，请刷新后重试。', 'Someone else changed this in the meantime; reload and try again.');
  if (res.status === 401) return T('登录已过期，请重新登录。', 'Your session ended; please log in again.');
  let msg = d.message || T('请求失败', 'Request failed') + ` (${res.status})`;
  if (!d.field) return msg;
  // Validation messages already start with the field's code; say it once, by its label.
  if (msg.startsWith(d.field + ': ')) msg = msg.slice(d.field.length + 2);
  const input = form?.elements?.namedItem?.(d.field);
  const el = input && !(input instanceof RadioNodeList) ? input : input?.[0];
  if (el) {
    el.setAttribute('aria-invalid', 'true');
    el.focus();
  }
  const name = el?.labels?.[0]?.firstChild?.textContent?.trim() || d.field;
  return `${name}: ${msg}`;
}

export function toast(msg, kind = 'ok') {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = msg;
  t.className = 'show ' + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 4000);
}

/** Uploads photos (raw bodies) and returns their content hashes. */
export async function uploadPhotos(files) {
  const hashes = [];
  for (const f of files) {
    const r = await fetch('/api/v1/blobs', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': f.type || 'application/octet-stream', Accept: 'application/json' },
      body: f,
    });
    const data = await r.json().catch(() => null);
    if (!r.ok) throw Object.assign(new Error('upload'), { res: { ok: false, status: r.status, data } });
    hashes.push(data.hash);
  }
  return hashes;
}

/** Builds an object from a form: data-type="int|bool", multiple selects and data-array give arrays,
 *  data-type="json" is parsed, file inputs are uploaded and give hashes, empty optional fields are
 *  left out. */
export async function formObject(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'file') {
      out[el.name] = el.files.length ? await uploadPhotos(el.files) : [];
      continue;
    }
    // A group of checkboxes marked data-array gives the list of ticked values (possibly empty).
    if (el.type === 'checkbox' && el.dataset.array !== undefined) {
      out[el.name] ||= [];
      if (el.checked) out[el.name].push(el.dataset.type === 'int' ? parseInt(el.value, 10) : el.value);
      continue;
    }
    if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) continue;
    if (el.multiple || el.dataset.array !== undefined) {
      out[el.name] = [...el.selectedOptions].map((o) => o.value);
      continue;
    }
    let v = el.value;
    // An emptied data-clearable field is sent as "" (clears the value); others are left out.
    if (v === '' && !el.required && el.dataset.clearable === undefined) continue;
    if (el.dataset.type === 'int') v = parseInt(v, 10);
    else if (el.dataset.type === 'bool') v = v === 'true';
    // A value the page already holds as JSON (e.g. a list carried over unchanged in a replace).
    else if (el.dataset.type === 'json') v = JSON.parse(v);
    else if (el.type === 'datetime-local') v = new Date(v).toISOString();
    out[el.name] = v;
  }
  return out;
}

function showError(form, msg) {
  if (!msg) for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const e = form.querySelector('.error');
  if (e) e.textContent = msg;
  else toast(msg, 'err');
}

/** Shows an API error in `el`: the message, then every listed problem (`errors`, e.g. of
 *  `invalid_scheme` or `invalid_rows`) as a list. */
export function showProblems(el, res, form) {
  el.textContent = errorText(res, form);
  const errors = res.data?.errors;
  if (!Array.isArray(errors) || !errors.length) return;
  const ul = document.createElement('ul');
  ul.className = 'problems';
  for (const p of errors) {
    const li = document.createElement('li');
    li.textContent = [p.source !== res.data.code ? p.source : '', p.column, p.message].filter(Boolean).join(' · ');
    ul.append(li);
  }
  el.append(ul);
}

async function submitAction(form) {
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  showError(form, '');
  try {
    const action = { type: form.dataset.act, ...(await formObject(form)) };
    const res = await api('POST', `/api/v1/cases/${encodeURIComponent(form.dataset.case)}/actions`,
      { version: Number(form.dataset.version), action });
    if (res.ok) {
      toast(T('已提交：', 'Done: ') + label(form.dataset.act));
      setTimeout(() => location.reload(), 600);
      return;
    }
    showError(form, errorText(res, form));
    if (res.status === 409) setTimeout(() => location.reload(), 2500);
  } catch (e) {
    showError(form, e.res ? errorText(e.res) : T('网络错误，请重试。', 'Network error; try again.'));
  } finally {
    btn.disabled = false;
  }
}

/** Puts a field error of the API (`field`) on the error line of that field, when the form has
 *  one (`data-error-for`), and marks the input; clears earlier marks first. */
export function showFieldError(form, res) {
  for (const e of form.querySelectorAll('[data-error-for]')) e.textContent = '';
  const field = res?.data?.field;
  const line = field && [...form.querySelectorAll('[data-error-for]')].find((e) => e.dataset.errorFor === field);
  if (!line) return;
  // The input itself was marked by errorText; the line repeats the reason beside it.
  const msg = res.data.message || '';
  line.textContent = msg.startsWith(field + ': ') ? msg.slice(field.length + 2) : msg;
}

async function submitJsonForm(form) {
  showError(form, '');
  showFieldError(form, null);
  const body = await formObject(form);
  // `{field}` in data-url is filled from (and taken out of) the form, e.g. a date in the path.
  const url = form.dataset.url.replace(/\{(\w+)\}/g, (_, k) => {
    const v = body[k];
    delete body[k];
    return encodeURIComponent(v ?? '');
  });
  const btn = form.querySelector('button[type=submit]');
  if (btn) btn.disabled = true;
  try {
    const res = await api(form.dataset.method || 'POST', url, body);
    if (res.ok) {
      toast(T('已保存', 'Saved'));
      setTimeout(() => location.reload(), 600);
      return;
    }
    const err = form.querySelector('.error');
    if (err) showProblems(err, res, form);
    else toast(errorText(res, form), 'err');
    showFieldError(form, res);
  } finally {
    if (btn) btn.disabled = false;
  }
}

document.addEventListener('submit', (e) => {
  const form = e.target;
  if (form.matches('form[data-act]')) {
    e.preventDefault();
    if (form.reportValidity()) submitAction(form);
  } else if (form.matches('form[data-json-form]')) {
    e.preventDefault();
    if (form.reportValidity()) submitJsonForm(form);
  }
});

document.addEventListener('click', async (e) => {
  if (e.target.closest('[data-logout]')) {
    await api('POST', '/api/v1/auth/logout').catch(() => {});
    location.href = '/login';
  }
});

/** Class picker: typing filters the options by code or name. */
export function wireClassPickers(root = document) {
  for (const search of root.querySelectorAll('[data-class-search]')) {
    const select = search.closest('form, .class-picker, details')?.querySelector('[data-class-select]');
    if (!select) continue;
    search.addEventListener('input', () => {
      const q = search.value.trim().toLowerCase();
      let first = null;
      for (const o of select.options) {
        const hit = !q || o.textContent.toLowerCase().includes(q) || o.value === '';
        o.hidden = !hit;
        if (hit && !first && o.value) first = o;
      }
      if (first && q) { select.value = first.value; select.dispatchEvent(new Event('change')); }
    });
  }
}
wireClassPickers();

/** Small table filter for admin lists. */
for (const input of document.querySelectorAll('[data-filter-table]')) {
  const table = document.querySelector(input.dataset.filterTable);
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    for (const row of table.tBodies[0].rows) row.hidden = q && !row.textContent.toLowerCase().includes(q);
  });
}

/** A Leaflet map without a tile server: city layers are GeoJSON from the API. */
export function baseMap(el, opts = {}) {
  const map = L.map(el, { preferCanvas: true, zoomControl: true, attributionControl: false, minZoom: 10, maxZoom: 19, ...opts });
  return map;
}
