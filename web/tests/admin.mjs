// Browser tests of the configuration and objection pages: evaluation schemes (an invalid draft
// lists every problem, a valid one is stored and published), the public ranking switch with
// /rankings, objections (a department handler files one from a case page, the system
// administrator accepts it), taxonomy enable/disable, the rules import/check/publish and calendar
// days, and the evaluation page's names, scheme and report link. Whatever is switched on or
// changed for the test is put back, since the other test files run against the same server.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/admin.mjs
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { BASE, OUT, browser, problems, expected, session, submitAndReload, china, shooter, finish } from './lib/harness.mjs';

const shot = shooter('admin');

try {
  // ---- evaluation schemes (system administrator) ----
  const { context: sc, page: ap } = await session('sysadmin');
  await ap.goto(`${BASE}/admin/schemes`, { waitUntil: 'networkidle' });
  assert.equal(await ap.locator('#schemes-table tbody tr', { hasText: '现行' }).count(), 1, 'one version in force');
  const before = await ap.locator('#schemes-table tbody tr').count();
  const draft = ap.locator('#scheme-new');
  const overlay = await draft.locator('textarea[name=overlay]').inputValue();
  assert.ok(overlay.length > 0, 'the in-force overlay is offered for editing');
  await draft.getByLabel('名称').fill('无效方案');
  await draft.locator('textarea[name=overlay]').fill(`${overlay}\n[region.classes]\n"999999999" = "三类"\n`);
  expected.push(/422/);
  await draft.locator('button[type=submit]').click();
  await draft.locator('.error ul.problems li').first().waitFor({ timeout: 10000 });
  const listed = await draft.locator('.error ul.problems li').allInnerTexts();
  assert.ok(listed.some((t) => t.includes('999999999')), `problems listed: ${listed}`);
  assert.match(await draft.locator('.error').innerText(), /problem/);
  await shot(ap, 'scheme-invalid');
  assert.equal(await ap.locator('#schemes-table tbody tr').count(), before, 'an invalid draft is not stored');

  await draft.getByLabel('名称').fill(`测试方案 ${Date.now()}`);
  await draft.locator('textarea[name=overlay]').fill(overlay);
  await submitAndReload(ap, draft);
  const rows = ap.locator('#schemes-table tbody tr');
  assert.equal(await rows.count(), before + 1);
  const fresh = rows.last();
  assert.match(await fresh.locator('.status').innerText(), /草稿/);
  await fresh.locator('details summary').click();
  assert.ok((await fresh.locator('pre.toml').innerText()).length > 0);
  await submitAndReload(ap, fresh.locator('form'));
  assert.match(await ap.locator('#schemes-table tbody tr').last().locator('.status').innerText(), /已发布/);
  assert.match(await ap.locator('#schemes-table tbody tr').last().innerText(), /现行/);
  await shot(ap, 'schemes');

  // ---- evaluation page: names, scheme, report link; publish last month (leader) ----
  const { context: lc, page: lp } = await session('leader1');
  await lp.goto(`${BASE}/evaluation`, { waitUntil: 'networkidle' });
  await lp.locator('#ranking table').waitFor({ timeout: 60000 });
  const names = await lp.locator('#ranking tbody td:nth-child(2)').allInnerTexts();
  assert.ok(names.length > 0, 'no departments evaluated');
  const depts = await lp.evaluate(async () => (await (await fetch('/api/v1/departments')).json()));
  const deptNames = (Array.isArray(depts) ? depts : depts.items).map((d) => d.name);
  assert.ok(names.every((n) => deptNames.includes(n)), `league table shows names: ${names}`);
  assert.match(await lp.locator('#eval-scheme').innerText(), /^v\d+ /);
  const reportHref = await lp.locator('#report').getAttribute('href');
  assert.match(reportHref, /^\/api\/v1\/evaluation\/report\.html\?from=/);
  const report = await lp.request.get(`${BASE}${reportHref}`);
  assert.equal(report.status(), 200);
  assert.match(await report.text(), /<table/);
  await shot(lp, 'evaluation');
  // A finished period must be published before the public page has anything to show.
  const now = new Date();
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  await lp.locator('#period input[name=from]').fill(first.toISOString().slice(0, 10));
  await lp.locator('#period input[name=to]').fill(last.toISOString().slice(0, 10));
  await lp.locator('#period button[type=submit]').click();
  await lp.waitForLoadState('networkidle');
  await lp.locator('#publish input[name=note]').fill('浏览器测试');
  const published = lp.waitForResponse((r) => r.url().endsWith('/api/v1/evaluation/publications') && r.request().method() === 'POST');
  await lp.locator('#publish button[type=submit]').click();
  const pr = await published;
  // Already published by an earlier run against the same database is fine too.
  assert.ok(pr.status() === 201 || pr.status() === 409, `publish: ${pr.status()} ${await pr.text()}`);
  await lc.close();

  // ---- public ranking switch ----
  await ap.goto(`${BASE}/admin/schemes`, { waitUntil: 'networkidle' });
  const toggle = ap.locator('#public-ranking');
  let wasOn = (await toggle.innerText()).includes('已开启');
  if (wasOn) { await submitAndReload(ap, toggle); wasOn = true; }
  assert.match(await toggle.innerText(), /已关闭/);
  assert.equal((await ap.request.get(`${BASE}/rankings`)).status(), 404, '/rankings while off');
  await submitAndReload(ap, toggle);
  assert.match(await toggle.innerText(), /已开启/);
  const pub = await browser.newContext();
  const pubPage = await pub.newPage();
  const rr = await pubPage.goto(`${BASE}/rankings`);
  assert.equal(rr.status(), 200, '/rankings while on');
  assert.match(await pubPage.content(), /<table/);
  await pubPage.screenshot({ path: join(OUT, 'admin-rankings.png'), fullPage: true });
  await pub.close();
  if (!wasOn) await submitAndReload(ap, toggle);

  // ---- objection: a handler files one from a case page ----
  const { context: hc, page: hp } = await session('handler1');
  const sample = await hp.evaluate(async () => (await (await fetch('/api/v1/cases?step=closed&limit=50')).json()).items
    .find((c) => c.department === 'SZ' && !c.sub_unit));
  assert.ok(sample, 'no closed case of SZ');
  await hp.goto(`${BASE}/cases/${encodeURIComponent(sample.id)}`, { waitUntil: 'networkidle' });
  await Promise.all([hp.waitForURL(/\/objections\?case=/), hp.getByRole('link', { name: '对本案件的考核计数提出申诉' }).click()]);
  const of = hp.locator('#file-objection');
  assert.equal(await of.getByLabel('案件编号').inputValue(), sample.id);
  // Without a reason the browser refuses; with a reason and no counters the whole case is disputed.
  await of.getByLabel('申诉理由').fill(`浏览器测试：该案件不属于本部门职责 ${Date.now()}`);
  const reason = await of.getByLabel('申诉理由').inputValue();
  await submitAndReload(hp, of);
  const mine = hp.locator('#objections-table tbody tr', { hasText: reason });
  assert.equal(await mine.count(), 1);
  assert.match(await mine.locator('.status').innerText(), /待处理/);
  assert.equal(await hp.locator('#objections-table form').count(), 0, 'a handler cannot decide');
  // The API's refusal is shown: an unknown case.
  await of.getByLabel('案件编号').fill('NO-SUCH-CASE');
  await of.getByLabel('申诉理由').fill('x');
  expected.push(/404/);
  await of.locator('button[type=submit]').click();
  await hp.waitForFunction(() => document.querySelector('#file-objection .error').textContent.trim().length > 0);
  await shot(hp, 'objection-filed');
  const objectionId = await mine.getAttribute('data-objection');
  await hc.close();

  // ---- the administrator accepts it ----
  await ap.goto(`${BASE}/objections?status=pending`, { waitUntil: 'networkidle' });
  const row = ap.locator(`#objections-table tr[data-objection="${objectionId}"]`);
  await row.getByLabel('决定').selectOption('true');
  await row.getByLabel('说明').fill('经核实，采纳');
  await submitAndReload(ap, row.locator('form'));
  await ap.goto(`${BASE}/objections`, { waitUntil: 'networkidle' });
  const decided = ap.locator(`#objections-table tr[data-objection="${objectionId}"]`);
  assert.match(await decided.locator('.status').innerText(), /已采纳/);
  assert.match(await decided.innerText(), /经核实，采纳/);
  await shot(ap, 'objections');

  // ---- taxonomy: disable a class and enable it again ----
  await ap.goto(`${BASE}/admin/classes`, { waitUntil: 'networkidle' });
  const cls = ap.locator('#classes-table tbody tr').first();
  const code = await cls.getAttribute('data-class');
  const on = (await cls.locator('.enabled').innerText()).includes('✓');
  await submitAndReload(ap, ap.locator(`#classes-table tr[data-class="${code}"] form`));
  assert.equal((await ap.locator(`#classes-table tr[data-class="${code}"] .enabled`).innerText()).includes('✓'), !on);
  await submitAndReload(ap, ap.locator(`#classes-table tr[data-class="${code}"] form`));
  assert.equal((await ap.locator(`#classes-table tr[data-class="${code}"] .enabled`).innerText()).includes('✓'), on);

  // ---- calendar: mark a day, then make it ordinary again ----
  // A Saturday some weeks on that the schedule does not list yet, as an adjusted working day.
  const sat = new Date(Date.now() + 8 * 3600e3 + 21 * 86400e3);
  sat.setUTCDate(sat.getUTCDate() + ((6 - sat.getUTCDay() + 7) % 7));
  await ap.goto(`${BASE}/admin/calendar?year=${sat.getUTCFullYear()}`, { waitUntil: 'networkidle' });
  while (await ap.locator(`tr[data-day="${sat.toISOString().slice(0, 10)}"]`).count()) sat.setUTCDate(sat.getUTCDate() + 7);
  const day = sat.toISOString().slice(0, 10);
  const cal = ap.locator('#calendar-day');
  await cal.getByLabel('日期').fill(day);
  await cal.getByLabel('类型').selectOption('workday');
  await cal.getByLabel('节日名称').fill('浏览器测试调休');
  await submitAndReload(ap, cal);
  const dayRow = ap.locator(`tr[data-day="${day}"]`);
  assert.equal(await dayRow.count(), 1, `day ${day} listed`);
  await submitAndReload(ap, dayRow.locator('form'));
  assert.equal(await ap.locator(`tr[data-day="${day}"]`).count(), 0, `day ${day} removed`);

  // ---- rules: import an exported table as a draft, check it, publish it from tomorrow ----
  await ap.goto(`${BASE}/admin/rules`, { waitUntil: 'networkidle' });
  const published1 = ap.locator('tr[data-rule-set]', { has: ap.locator('.status', { hasText: '已发布' }) }).last();
  const id = await published1.getAttribute('data-rule-set');
  const xlsx = await ap.request.get(`${BASE}/api/v1/rule-sets/${id}/export.xlsx`);
  assert.equal(xlsx.status(), 200);
  const imp = ap.locator('#rules-import');
  // A broken file first: the API's refusal is shown.
  await imp.getByLabel('草稿名称').fill('坏文件');
  await imp.getByLabel('规则表文件').setInputFiles({ name: 'rules.csv', mimeType: 'text/csv', buffer: Buffer.from('not,a,rules\ntable,at,all\n') });
  expected.push(/422/);
  await imp.locator('button[type=submit]').click();
  await ap.waitForFunction(() => document.querySelector('#rules-import .error').textContent.trim().length > 0);
  await shot(ap, 'rules-invalid');
  const draftName = `导入测试 ${Date.now()}`;
  await imp.getByLabel('草稿名称').fill(draftName);
  await imp.getByLabel('规则表文件').setInputFiles({ name: 'rules.xlsx', mimeType: 'application/octet-stream', buffer: await xlsx.body() });
  await submitAndReload(ap, imp);
  const draftRow = ap.locator('tr[data-rule-set]', { hasText: draftName });
  assert.match(await draftRow.locator('.status').innerText(), /草稿/);
  await draftRow.locator('[data-check-rules]').click();
  await ap.locator('#rule-check h3').waitFor({ timeout: 15000 });
  assert.match(await ap.locator('#rule-check').innerText(), /新增条件 \(0\)/);
  const tomorrow = china(new Date(Date.now() + 86400e3));
  await draftRow.locator('input[name=effective_from]').fill(tomorrow);
  await submitAndReload(ap, draftRow.locator('form'));
  const after = ap.locator('tr[data-rule-set]', { hasText: draftName });
  assert.match(await after.locator('.status').innerText(), /已发布/);
  assert.match(await after.innerText(), new RegExp(tomorrow));
  await shot(ap, 'rules');
  await sc.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('admin');
