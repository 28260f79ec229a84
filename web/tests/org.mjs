// Browser test of the organisation pages: the system administrator creates a department under
// another, renames it, sees a field error from the API next to its field, creates a community
// under a street and renames it; an inspector reads both lists without any form. Everything is
// done with keyboard-reachable controls (summary, labelled inputs, submit buttons).
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/org.mjs
import assert from 'node:assert/strict';
import { BASE, problems, expected, session, submitAndReload, shooter, finish } from './lib/harness.mjs';

const shot = shooter('org');

try {
  const { context: sc, page: ap } = await session('sysadmin');

  // ---- departments: a sub-unit under 环卫, then its new name ----
  await ap.goto(`${BASE}/admin/departments`, { waitUntil: 'networkidle' });
  const code = `T${Date.now() % 1000000}`;
  const create = ap.locator('#department-new');
  await create.getByLabel('代码').fill(code);
  await create.getByLabel('名称', { exact: true }).fill('测试保洁科');
  await create.getByLabel('上级部门').selectOption('HW');
  await create.getByLabel('类型').selectOption('department');
  await create.getByLabel('联系电话').fill('0571-88001234');
  await submitAndReload(ap, create);
  let row = ap.locator(`tr[data-department="${code}"]`);
  assert.equal(await row.count(), 1, 'the new department is listed');
  assert.equal(await row.locator('td.parent').innerText(), '环境卫生管理处');
  // Listed right after its parent's other sub-units, i.e. inside the parent's branch.
  const order = await ap.locator('tr[data-department]').evaluateAll((rows) => rows.map((r) => r.dataset.department));
  assert.ok(order.indexOf(code) > order.indexOf('HW'), `${code} under HW: ${order}`);

  // The edit form opens from the keyboard.
  await row.locator('summary').focus();
  await ap.keyboard.press('Enter');
  const edit = row.locator('form.department-edit');
  await edit.getByLabel('名称', { exact: true }).fill('   ');
  expected.push(/422/);
  await edit.locator('button[type=submit]').click();
  const nameError = edit.locator('[data-error-for=name]');
  await ap.waitForFunction((c) => document.querySelector(`tr[data-department="${c}"] [data-error-for=name]`).textContent.trim().length > 0, code);
  assert.match(await nameError.innerText(), /must not be empty/);
  assert.equal(await edit.getByLabel('名称', { exact: true }).getAttribute('aria-invalid'), 'true');
  await shot(ap, 'department-field-error');
  await edit.getByLabel('名称', { exact: true }).fill('测试保洁科（更名）');
  await submitAndReload(ap, edit);
  row = ap.locator(`tr[data-department="${code}"]`);
  assert.match(await row.locator('td.name').innerText(), /测试保洁科（更名）/);
  // A reorganisation moves it under 市政.
  await row.locator('summary').click();
  await row.locator('form.department-edit').getByLabel('上级部门').selectOption('SZ');
  await submitAndReload(ap, row.locator('form.department-edit'));
  row = ap.locator(`tr[data-department="${code}"]`);
  assert.equal(await row.locator('td.parent').innerText(), '市政工程管理处');
  await shot(ap, 'departments-sysadmin');

  // ---- areas: a community under the first street, then its new name ----
  await ap.goto(`${BASE}/admin/areas`, { waitUntil: 'networkidle' });
  const street = ap.locator('tr[data-level=street]').first();
  const streetCode = await street.getAttribute('data-area');
  const taken = new Set(await ap.locator('tr[data-area]').evaluateAll((rows) => rows.map((r) => r.dataset.area)));
  let n = 999;
  while (taken.has(`${streetCode}${n}`)) n -= 1;
  const community = `${streetCode}${n}`;
  await street.locator('details.area-new summary').click();
  const add = street.locator('details.area-new form');
  await add.getByLabel('代码').fill(community);
  await add.getByLabel('名称', { exact: true }).fill('测试社区');
  await submitAndReload(ap, add);
  let arow = ap.locator(`tr[data-area="${community}"]`);
  assert.equal(await arow.count(), 1, 'the new community is listed');
  assert.equal(await arow.getAttribute('data-level'), 'community');
  const areaOrder = await ap.locator('tr[data-area]').evaluateAll((rows) => rows.map((r) => r.dataset.area));
  const from = areaOrder.indexOf(streetCode);
  const at = areaOrder.indexOf(community);
  assert.ok(from < at && areaOrder.slice(from, at + 1).every((c) => c.startsWith(streetCode)), 'the community sits under its street');
  await arow.locator('details.area-rename summary').click();
  const rename = arow.locator('details.area-rename form');
  await rename.getByLabel('名称', { exact: true }).fill('测试社区（更名）');
  await submitAndReload(ap, rename);
  arow = ap.locator(`tr[data-area="${community}"]`);
  assert.match(await arow.locator('td.name').innerText(), /测试社区（更名）/);
  await shot(ap, 'areas-sysadmin');
  await sc.close();

  // ---- an inspector reads both lists without any form ----
  const { context: ic, page: ip } = await session('inspector1');
  for (const [path, sel] of [['/admin/departments', `tr[data-department="${code}"]`], ['/admin/areas', `tr[data-area="${community}"]`]]) {
    await ip.goto(`${BASE}${path}`, { waitUntil: 'networkidle' });
    assert.equal(await ip.locator(sel).count(), 1, `the inspector sees the list on ${path}`);
    assert.equal(await ip.locator('main form, main details').count(), 0, `no form for the inspector on ${path}`);
    await shot(ip, `inspector${path.replaceAll('/', '-')}`);
  }
  const menu = await ip.locator('header nav a, nav[aria-label="主导航"] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(!menu.includes('/admin'), `no administration in the inspector's menu: ${menu}`);
  await ic.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('org');
