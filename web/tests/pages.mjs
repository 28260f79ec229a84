// Browser tests: every other page opens without a console error for the role that uses it, in
// both languages, and its main interactive parts work (hotline entry with address search and
// duplicate suggestions, case search with htmx paging, administration sections, layers map).
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/pages.mjs
import assert from 'node:assert/strict';
import { BASE, problems, session, shooter, finish } from './lib/harness.mjs';

const shot = shooter('pages');

try {
  // ---- hotline entry (acceptor): address search, pick, register, duplicate suggestions ----
  const { context: ac, page } = await session('acceptor1');
  await page.goto(`${BASE}/intake`, { waitUntil: 'networkidle' });
  const sample = await page.evaluate(async () => (await (await fetch('/api/v1/cases?limit=1&step=disposing')).json()).items[0]);
  assert.ok(sample?.address, 'no sample case with an address');
  await page.getByLabel('问题描述').fill('市民来电：路面有坑洼');
  await page.locator('#address').fill(sample.address);
  await page.click('#address-search');
  await page.locator('#address-results button').first().click();
  assert.match(await page.locator('#picked').innerText(), /已选位置/);
  await page.getByLabel('工单号（12345）').fill(`WO-${Date.now()}`);
  await page.getByRole('button', { name: '登记' }).click();
  await page.locator('#intake-result h2 a').waitFor({ timeout: 15000 });
  await shot(page, 'intake');

  // ---- case search with htmx ----
  await page.goto(`${BASE}/cases`, { waitUntil: 'networkidle' });
  await page.selectOption('select[name=step]', 'disposing');
  await page.waitForFunction(() => location.search.includes('step=disposing'));
  await page.waitForLoadState('networkidle');
  const steps = await page.locator('#results tbody td:nth-child(2)').allInnerTexts();
  assert.ok(steps.length > 0 && steps.every((s) => s.startsWith('处置中')), `search by step returned ${steps}`);
  await shot(page, 'cases');
  await ac.close();

  // ---- administration (system administrator), every section ----
  const { context: sc, page: ap } = await session('sysadmin');
  for (const s of ['users', 'departments', 'areas', 'classes', 'rules', 'calendar', 'layers']) {
    const r = await ap.goto(`${BASE}/admin/${s}`, { waitUntil: 'networkidle' });
    assert.equal(r.status(), 200, `/admin/${s}`);
  }
  await ap.waitForFunction(() => Number(document.getElementById('layers-map').dataset.features) > 0, null, { timeout: 15000 });
  await shot(ap, 'admin-layers');
  await sc.close();

  // ---- the audit log is for the audit administrator ----
  const { context: auc, page: au } = await session('auditadmin');
  assert.equal(new URL(au.url()).pathname, '/admin/audit');
  assert.ok(await au.locator('table.list tbody tr').count() > 0, 'empty audit log');
  await shot(au, 'admin-audit');
  await auc.close();

  // ---- English pages of the field app and the workbench ----
  const { context: ic, page: ip } = await session('inspector1');
  await ip.goto(`${BASE}/lang/en?next=/m`, { waitUntil: 'networkidle' });
  assert.equal(await ip.locator('html').getAttribute('lang'), 'en');
  assert.ok((await ip.locator('h1').innerText()).includes('Report a problem'));
  await shot(ip, 'mobile-en');
  await ic.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('pages');
