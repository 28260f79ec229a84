// Browser tests of user administration and component editing: the system administrator creates
// an account and edits its name, the security administrator gives it a role and sees a refused
// password reset's error; on the layers map a component's attribute is edited (its version goes
// up), one is added by clicking the map, and a responsibility grid's inspectors are saved. The
// test works on an account and a component of its own, so the other test files are unaffected.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/admin2.mjs
import assert from 'node:assert/strict';
import { BASE, problems, expected, session, submitAndReload, shooter, finish } from './lib/harness.mjs';

const shot = shooter('admin2');

try {
  // ---- users: create and edit a profile (system administrator) ----
  const { context: sc, page: ap } = await session('sysadmin');
  await ap.goto(`${BASE}/admin/users`, { waitUntil: 'networkidle' });
  const username = `t${Date.now()}`;
  const create = ap.locator('#user-new');
  // A refused field is named once, by its label, and its input is marked for correction.
  await create.getByLabel('用户名').fill('Bad Name');
  await create.getByLabel('姓名').fill('测试用户');
  await create.getByLabel('初始密码').fill('Test#2026-pass');
  expected.push(/422/);
  await create.locator('button[type=submit]').click();
  await ap.waitForFunction(() => document.querySelector('#user-new .error').textContent.trim().length > 0);
  const refusal = await create.locator('.error').innerText();
  assert.match(refusal, /^用户名: 3 to 32 characters/, `field error: ${refusal}`);
  assert.equal(await create.getByLabel('用户名').getAttribute('aria-invalid'), 'true');
  await create.getByLabel('用户名').fill(username);
  await submitAndReload(ap, create);
  let row = ap.locator(`tr[data-user="${username}"]`);
  assert.equal(await row.count(), 1, 'the new account is listed');
  assert.equal(await row.locator('form.user-roles').count(), 0, 'no role form for the system administrator');
  await row.locator('summary').click();
  const profile = row.locator('form.user-profile');
  await profile.getByLabel('姓名').fill('改名后的用户');
  await submitAndReload(ap, profile);
  row = ap.locator(`tr[data-user="${username}"]`);
  assert.equal(await row.locator('td.name').innerText(), '改名后的用户');
  await shot(ap, 'users-sysadmin');

  // ---- users: roles and a refused password (security administrator) ----
  const { context: cc, page: sp } = await session('secadmin');
  await sp.goto(`${BASE}/admin/users`, { waitUntil: 'networkidle' });
  row = sp.locator(`tr[data-user="${username}"]`);
  assert.equal(await row.locator('form.user-profile').count(), 0, 'no profile form for the security administrator');
  await row.locator('summary').click();
  const rolesForm = row.locator('form.user-roles');
  const box = rolesForm.locator('input[value=inspector]');
  const roleName = (await box.locator('xpath=..').innerText()).trim();
  await box.check();
  await submitAndReload(sp, rolesForm);
  row = sp.locator(`tr[data-user="${username}"]`);
  assert.equal(await row.locator('td.roles').innerText(), roleName);
  await row.locator('summary').click();
  const pw = row.locator('form.user-password');
  await pw.getByLabel('临时密码').fill('1');
  expected.push(/422/);
  await pw.locator('button[type=submit]').click();
  await sp.waitForFunction((u) => document.querySelector(`tr[data-user="${u}"] form.user-password .error`).textContent.trim().length > 0, username);
  await shot(sp, 'users-secadmin');
  await cc.close();

  // ---- layers: edit a component, add one by clicking the map, save a grid's inspectors ----
  const list = await ap.request.get(`${BASE}/api/v1/components?limit=1`);
  assert.equal(list.status(), 200);
  const listed = await list.json();
  const comp = (Array.isArray(listed) ? listed : listed.items)[0];
  assert.ok(comp, 'the demo city has components');
  // A fresh component of the test's own, so the demo data the other tests read stays as it is.
  const made = await ap.request.post(`${BASE}/api/v1/components`, {
    data: { class_code: comp.class_code, name: '测试部件', lon: comp.lon, lat: comp.lat },
  });
  assert.equal(made.status(), 201, await made.text());
  const mine = await made.json();
  await ap.goto(`${BASE}/admin/layers#component=${mine.id}`, { waitUntil: 'networkidle' });
  const edit = ap.locator('#component-edit');
  await edit.waitFor({ timeout: 15000 });
  assert.equal(await ap.locator('#feature dd[data-fact=version]').innerText(), String(mine.version));
  await edit.getByLabel('备注').fill('已更换灯罩');
  await edit.getByLabel('状态').selectOption('damaged');
  await edit.locator('button[type=submit]').click();
  await ap.waitForFunction((v) => document.querySelector('#feature dd[data-fact=version]')?.textContent === String(v), mine.version + 1, { timeout: 15000 });
  assert.equal(await ap.locator('#feature dd[data-fact=note]').innerText(), '已更换灯罩');
  assert.equal(await ap.locator('#feature dd[data-fact=state]').innerText(), 'damaged');
  // A stale version is refused, and the API's error is shown.
  const stale = await ap.request.put(`${BASE}/api/v1/components/${mine.id}`, {
    data: { class_code: mine.class_code, lon: mine.lon, lat: mine.lat, version: mine.version },
  });
  assert.equal(stale.status(), 409);
  // Canvas markers are not focusable: the components in view are listed as buttons too.
  await ap.waitForFunction(() => Number(document.getElementById('layers-map').dataset.components) > 0, null, { timeout: 15000 });
  assert.ok(await ap.locator(`#component-list [data-component="${mine.id}"]`).count() === 1, 'listed in view');
  await shot(ap, 'component-edit');

  const mapBox = await ap.locator('#layers-map').boundingBox();
  // Just beside the edited component (the map's centre), so the point lies in the same unit grid;
  // components are dense there, and a click on one opens it instead, so try a few points.
  const add = ap.locator('#component-new');
  for (const [dx, dy] of [[20, 10], [-25, 15], [15, -30], [-30, -20], [35, 25], [5, 40], [-40, 5], [40, -10]]) {
    await ap.mouse.click(mapBox.x + mapBox.width / 2 + dx, mapBox.y + mapBox.height / 2 + dy);
    if (await add.isVisible()) break;
  }
  await add.waitFor({ timeout: 10000 });
  await add.getByLabel('部件小类代码').fill('12');
  await add.locator('button[type=submit]').click();
  // The browser's own check refuses a code that is not four digits before any request.
  assert.equal(await add.locator('.error').innerText(), '');
  await add.getByLabel('部件小类代码').fill('9999');
  expected.push(/4\d\d/);
  await add.locator('button[type=submit]').click();
  await ap.waitForFunction(() => document.querySelector('#component-new .error')?.textContent.trim().length > 0, null, { timeout: 10000 });
  await add.getByLabel('部件小类代码').fill(comp.class_code);
  await add.getByLabel('名称').fill('点击新增的部件');
  await add.locator('button[type=submit]').click();
  await ap.waitForFunction(() => document.querySelector('#feature dd[data-fact=name]')?.textContent === '点击新增的部件', null, { timeout: 15000 });
  await shot(ap, 'component-new');

  const grid = ap.locator('tr[data-resp-grid]').first();
  assert.equal(await grid.count(), 1, 'the demo city has responsibility grids');
  const code = await grid.getAttribute('data-resp-grid');
  await grid.locator('summary').click();
  const boxes = grid.locator('input[name=inspector_ids]');
  const first = boxes.first();
  const wasChecked = await first.isChecked();
  await first.setChecked(!wasChecked);
  await submitAndReload(ap, grid.locator('form'));
  const after = await (await ap.request.get(`${BASE}/api/v1/responsibility-grids`)).json();
  const saved = after.find((g) => g.code === code);
  const id = Number(await ap.locator(`tr[data-resp-grid="${code}"] input[name=inspector_ids]`).first().getAttribute('value'));
  assert.equal(saved.inspector_ids.includes(id), !wasChecked, 'the inspector change is stored');
  assert.ok(saved.grid_codes.length > 0, 'the unit grids are kept');
  // Put the grid back as it was.
  const g2 = ap.locator(`tr[data-resp-grid="${code}"]`);
  await g2.locator('summary').click();
  await g2.locator('input[name=inspector_ids]').first().setChecked(wasChecked);
  await submitAndReload(ap, g2.locator('form'));
  await sc.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('admin2');
