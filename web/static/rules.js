// Rule sets: the draft editor (filing conditions one at a time through the rule-set API, the
// process time limits) and "new draft" on the list of versions. Check, diff and publish are the
// list page's own (admin.js and the JSON forms of app.js).
import { T, api, errorText, showFieldError, showProblems, toast } from './app.js';

const state = document.getElementById('rule-set-state');
const id = state?.dataset.ruleSet;
const version = Number(state?.dataset.version);
const url = (tail) => `/api/v1/rule-sets/${encodeURIComponent(id)}/${tail}`;
const rows = JSON.parse(document.getElementById('rule-conditions')?.textContent || '[]');
const key = (c) => ({ class: c.class, condition: c.condition, area_class: c.area_class || '' });

/** The API's refusal in `box` (and beside the field it names, when the form has it). */
function refused(box, res, form) {
  if (res.status === 409 && res.data?.code === 'version_conflict') {
    box.textContent = T('草稿已被他人修改，请刷新页面后重试。', 'Someone else changed this draft; reload the page and try again.');
    return;
  }
  if (form) {
    showProblems(box, res, form);
    showFieldError(form, res);
  } else box.textContent = errorText(res);
}

// ---------- the conditions table ----------

const filter = document.getElementById('condition-filter');
const table = document.getElementById('conditions-table');
const shown = document.getElementById('condition-shown');

function applyFilter() {
  const q = filter.value.trim().toLowerCase();
  let n = 0;
  for (const tr of table.tBodies[0].rows) {
    const hit = !q || tr.dataset.filter.toLowerCase().includes(q);
    tr.hidden = !hit;
    if (hit) n += 1;
  }
  shown.textContent = q ? T(`显示 ${n} 条`, `${n} shown`) : '';
}

// After a change the page is read again (new version, class order); the filter is kept.
function reload() {
  const u = new URL(location.href);
  const q = filter?.value.trim();
  if (q) u.searchParams.set('q', q);
  else u.searchParams.delete('q');
  location.replace(u);
}

if (filter && table) {
  filter.addEventListener('input', applyFilter);
  applyFilter();
}

const dialog = document.getElementById('condition-dialog');
const form = document.getElementById('condition-form');
const formError = form?.querySelector('.error');
let replaces = null;

/** Selects `value` in `select`, adding it when the list lacks it (e.g. a department since
 *  renamed), so that editing other fields never changes it silently. */
function choose(select, value, text) {
  if (value && ![...select.options].some((o) => o.value === value)) select.append(new Option(text || value, value));
  select.value = value || '';
}

function openCondition(c) {
  form.reset();
  formError.textContent = '';
  showFieldError(form, null);
  for (const e of form.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
  for (const o of form.elements.class.options) o.hidden = false;
  replaces = c ? key(c) : null;
  document.getElementById('condition-dialog-title').textContent = c
    ? `${T('编辑条件', 'Edit condition')}: ${c.class} ${c.condition}` : T('新增条件', 'Add condition');
  const f = form.elements;
  if (c) {
    choose(f.class, c.class, `${c.class} ${c.class_name || ''}`);
    f.condition.value = c.condition;
    f.limit.value = c.limit_value;
    f.limit_unit.value = c.limit_unit;
    f.closing.value = c.closing;
    choose(f.department, c.department, c.department_name);
    f.area_class.value = c.area_class || '';
    f.note.value = c.note;
  }
  dialog.showModal();
  (c ? f.condition : form.querySelector('[data-class-search]') || f.class).focus();
}

document.getElementById('condition-add')?.addEventListener('click', () => openCondition(null));
dialog?.querySelector('[data-close]').addEventListener('click', () => dialog.close());

form?.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!form.reportValidity()) return;
  formError.textContent = '';
  showFieldError(form, null);
  const f = form.elements;
  const body = {
    version, class: f.class.value, condition: f.condition.value, limit: `${f.limit.value} ${f.limit_unit.value}`,
    closing: f.closing.value, department: f.department.value, area_class: f.area_class.value, note: f.note.value,
  };
  if (replaces) body.replaces = replaces;
  const btn = form.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const res = await api('PUT', url('conditions'), body);
    if (!res.ok) { refused(formError, res, form); return; }
    toast(replaces ? T('已保存条件', 'Condition saved') : T('已新增条件', 'Condition added'));
    reload();
  } finally {
    btn.disabled = false;
  }
});

const tableError = document.getElementById('conditions-error');
table?.addEventListener('click', async (e) => {
  const edit = e.target.closest('[data-edit]');
  if (edit) { openCondition(rows[Number(edit.dataset.edit)]); return; }
  const remove = e.target.closest('[data-remove]');
  if (!remove) return;
  const c = rows[Number(remove.dataset.remove)];
  tableError.textContent = '';
  remove.disabled = true;
  const res = await api('DELETE', url('conditions'), { version, ...key(c) });
  remove.disabled = false;
  if (!res.ok) { refused(tableError, res); return; }
  toast(`${T('已删除', 'Removed')}: ${c.class} ${c.condition}`);
  reload();
});

// ---------- process limits ----------

const processForm = document.getElementById('process-form');
processForm?.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!processForm.reportValidity()) return;
  const err = processForm.querySelector('.error');
  err.textContent = '';
  showFieldError(processForm, null);
  const limits = {};
  for (const unit of processForm.querySelectorAll('[data-unit-for]')) {
    const name = unit.dataset.unitFor;
    limits[name.replace(/^limits\./, '')] = `${processForm.elements[name].value} ${unit.value}`;
  }
  const res = await api('PUT', url('process'), {
    limits, warn_at_percent: Number(processForm.elements.warn_at_percent.value), version,
  });
  if (!res.ok) { refused(err, res, processForm); return; }
  toast(T('已保存环节时限', 'Process limits saved'));
  reload();
});

// ---------- the list of versions: a new draft opens in the editor ----------

const newDraft = document.getElementById('rules-new-draft');
newDraft?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = newDraft.querySelector('.error');
  err.textContent = '';
  const res = await api('POST', '/api/v1/rule-sets', { name: newDraft.elements.name.value });
  if (!res.ok) { refused(err, res, newDraft); return; }
  location.href = `/admin/rules/${encodeURIComponent(res.data.id)}`;
});

// ---------- discarding the draft ----------

const discard = document.getElementById('rule-discard');
discard?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await api('DELETE', `/api/v1/rule-sets/${encodeURIComponent(id)}`);
  if (!res.ok) { refused(discard.querySelector('.error'), res); return; }
  location.href = '/admin/rules';
});
