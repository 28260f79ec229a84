// Browser test of layer import on the layers page: the system administrator uploads a small
// GeoJSON of components, checks it (a dry run: the report shows the counts and nothing is stored),
// imports it with the keyboard (the components exist afterwards), and sees a bad file refused with
// the record named; a leader, who may look at the layers but not write base data, sees no import panel.
// The components are the test's own (fresh codes), so the other test files are unaffected.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/layers.mjs
import assert from 'node:assert/strict';
import { BASE, problems, expected, session, shooter, finish } from './lib/harness.mjs';

const shot = shooter('layers');

try {
  const { page } = await session('sysadmin');
  const listed = await (await page.request.get(`${BASE}/api/v1/components?limit=1`)).json();
  const comp = (Array.isArray(listed) ? listed : listed.items)[0];
  assert.ok(comp, 'the demo city has components');
  // County, class and a serial no demo component uses.
  const serial = String(900000 + (Date.now() % 100000)).padStart(6, '0');
  const ids = [0, 1].map((i) => `${comp.id.slice(0, 6)}${comp.class_code}${String(Number(serial) + i).padStart(6, '0')}`);
  const feature = (id, dx) => ({
    type: 'Feature', properties: { ObjID: id, ObjState: '完好', note: '浏览器导入' },
    geometry: { type: 'Point', coordinates: [comp.lon + dx, comp.lat] },
  });
  const file = (features) => ({
    name: '测试部件.geojson', mimeType: 'application/geo+json',
    buffer: Buffer.from(JSON.stringify({ type: 'FeatureCollection', features })),
  });
  const exists = async (id) => (await page.request.get(`${BASE}/api/v1/components/${id}`)).status();

  await page.goto(`${BASE}/admin/layers`, { waitUntil: 'networkidle' });
  const form = page.locator('#layer-import');
  const report = page.locator('#layer-import-report');
  await form.getByLabel('图层').selectOption('components');
  await form.getByLabel('文件', { exact: true }).setInputFiles(file([feature(ids[0], 0.00005), feature(ids[1], 0.0001)]));
  await form.getByLabel('坐标系').selectOption('wgs84');

  // Check: a dry run.
  await form.getByRole('button', { name: '预检', exact: true }).click();
  await report.locator('h4', { hasText: '预检结果' }).waitFor({ timeout: 15000 });
  assert.equal(await report.locator('dd[data-count=read]').innerText(), '2');
  assert.equal(await report.locator('dd[data-count=imported]').innerText(), '2');
  assert.equal(await exists(ids[0]), 404, 'a check stores nothing');
  await shot(page, 'check');

  // Import, from the keyboard.
  await form.getByRole('button', { name: '导入', exact: true }).focus();
  await page.keyboard.press('Enter');
  await report.locator('h4', { hasText: '导入结果' }).waitFor({ timeout: 15000 });
  assert.equal(await report.locator('dd[data-count=imported]').innerText(), '2');
  assert.equal(await exists(ids[0]), 200);
  assert.equal(await exists(ids[1]), 200);
  await shot(page, 'imported');

  // A file with an unknown class is refused whole; the error names the record.
  const bad = `${comp.id.slice(0, 6)}0999${serial}`;
  await form.getByLabel('文件', { exact: true }).setInputFiles(file([feature(`${comp.id.slice(0, 6)}${comp.class_code}${String(Number(serial) + 2).padStart(6, '0')}`, 0), feature(bad, 0)]));
  expected.push(/422/);
  await form.getByRole('button', { name: '导入', exact: true }).click();
  const err = form.locator('.error');
  await page.waitForFunction(() => document.querySelector('#layer-import .error').textContent.trim().length > 0);
  const message = await err.innerText();
  assert.match(message, /record 1/, message);
  await shot(page, 'refused');

  // Without the base-data write permission there is no import panel.
  const { page: sp } = await session('leader1');
  const r = await sp.goto(`${BASE}/admin/layers`, { waitUntil: 'networkidle' });
  assert.equal(r.status(), 200);
  assert.equal(await sp.locator('#layers-map').count(), 1, 'the leader sees the layers');
  assert.equal(await sp.locator('#layer-import').count(), 0, 'no import panel for a leader');
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('layers');
