// Browser test of the filing-rules editor: the system administrator starts a draft from the rules
// in force, changes one condition's time limit (a bad one is refused beside its field), adds a
// condition, removes one, changes a process limit, sees the diff and publishes from today; a
// dispatcher reads rule sets but gets no editing controls; a second draft is discarded.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/rules.mjs
import assert from 'node:assert/strict';
import { BASE, problems, expected, session, china, shooter, finish } from './lib/harness.mjs';

const shot = shooter('rules');

/** Clicks `target` and waits for the page it reloads (or opens). */
async function andLoad(page, target) {
  await Promise.all([page.waitForEvent('load', { timeout: 15000 }), target.click()]);
  await page.waitForLoadState('networkidle');
}

try {
  const { context: sc, page: ap } = await session('sysadmin');
  await ap.goto(`${BASE}/admin/rules`, { waitUntil: 'networkidle' });
  const draftName = `逐条修订 ${Date.now()}`;
  const newDraft = ap.locator('#rules-new-draft');
  await newDraft.getByLabel('草稿名称').fill(draftName);
  await Promise.all([ap.waitForURL(/\/admin\/rules\/\d+$/), newDraft.getByRole('button', { name: '新建草稿' }).click()]);
  await ap.waitForLoadState('networkidle');
  const id = ap.url().match(/(\d+)$/)[1];
  assert.match(await ap.locator('h1').innerText(), new RegExp(draftName));
  assert.match(await ap.locator('#rule-set-state').innerText(), /草稿/);

  // The filter narrows the table to one class by code.
  const filter = ap.getByLabel('按分类筛选');
  await filter.fill('0505');
  const visible = ap.locator('#conditions-table tbody tr:visible');
  assert.equal(await visible.count(), 1, 'one condition of E0505');
  const parking = ap.locator('#conditions-table tbody tr[data-class="E0505"]');
  assert.match(await parking.locator('.limit').innerText(), /2个工作小时/);

  // Edit its time limit; a number too large is refused next to the field and nothing is stored.
  const dialog = ap.locator('#condition-dialog');
  await parking.getByRole('button', { name: /编辑/ }).click();
  await dialog.waitFor();
  const limit = dialog.getByLabel('处置时限', { exact: true });
  await limit.fill('5000000000');
  expected.push(/422/);
  await dialog.getByRole('button', { name: '保存条件' }).click();
  const limitError = dialog.locator('[data-error-for="limit"]');
  await ap.waitForFunction(() => document.querySelector('#condition-dialog [data-error-for="limit"]').textContent.trim().length > 0);
  assert.match(await limitError.innerText(), /too large/);
  assert.equal(await limit.getAttribute('aria-invalid'), 'true');
  await shot(ap, 'refused-limit');
  await ap.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  await parking.getByRole('button', { name: /编辑/ }).click();
  await limit.fill('3');
  await dialog.getByLabel('处置时限 单位').selectOption('working_hours');
  await andLoad(ap, dialog.getByRole('button', { name: '保存条件' }));
  assert.equal(await ap.getByLabel('按分类筛选').inputValue(), '0505', 'the filter survives the reload');
  assert.match(await ap.locator('#conditions-table tbody tr[data-class="E0505"] .limit').innerText(), /3个工作小时/);

  // Add a condition for first-class areas, urgent (calendar hours).
  await ap.getByRole('button', { name: '新增条件' }).click();
  await dialog.waitFor();
  await dialog.locator('select[name=class]').selectOption('E0505');
  await dialog.getByLabel('立案条件').fill('机动车占用消防通道停放');
  await dialog.getByLabel('处置时限', { exact: true }).fill('1');
  await dialog.getByLabel('处置时限 单位').selectOption('calendar_hours');
  await dialog.getByLabel('适用区域').selectOption('first');
  await dialog.getByLabel('结案条件').fill('车辆已移走');
  await andLoad(ap, dialog.getByRole('button', { name: '保存条件' }));
  const added = ap.locator('#conditions-table tbody tr', { hasText: '机动车占用消防通道停放' });
  assert.match(await added.innerText(), /1个自然小时[\s\S]*一类区域/);

  // Remove the one condition of E0506.
  await ap.getByLabel('按分类筛选').fill('0506');
  const bikes = ap.locator('#conditions-table tbody tr[data-class="E0506"]');
  assert.equal(await bikes.count(), 1);
  await andLoad(ap, bikes.getByRole('button', { name: /删除/ }));
  assert.equal(await ap.locator('#conditions-table tbody tr[data-class="E0506"]').count(), 0);

  // A process limit: acceptance within 20 working minutes.
  const proc = ap.locator('#process-form');
  await proc.getByLabel('受理', { exact: true }).fill('20');
  await andLoad(ap, proc.getByRole('button', { name: '保存环节时限' }));
  assert.equal(await ap.locator('#process-form').getByLabel('受理', { exact: true }).inputValue(), '20');
  await ap.getByLabel('按分类筛选').fill('05');
  await shot(ap, 'draft');

  // Check and diff against the rules in force: each change is listed.
  await ap.getByRole('button', { name: '校验并查看差异' }).click();
  await ap.locator('#rule-check h3').waitFor({ timeout: 15000 });
  const check = await ap.locator('#rule-check').innerText();
  assert.match(check, /错误 \(0\)/, check);
  assert.match(check, /新增条件 \(1\)[\s\S]*机动车占用消防通道停放/);
  assert.match(check, /删除条件 \(1\)[\s\S]*E0506/);
  assert.match(check, /修改条件 \(1\)[\s\S]*2个工作小时 → 3个工作小时/);
  assert.match(check, /受理 30工作分钟 → 20工作分钟/);
  await shot(ap, 'diff');

  // Publish from today: the version becomes read-only.
  const today = china(new Date());
  const publish = ap.locator('#rule-publish');
  await publish.getByLabel('生效日期').fill(today);
  await andLoad(ap, publish.getByRole('button', { name: '发布' }));
  assert.match(await ap.locator('#rule-set-state').innerText(), new RegExp(`已发布[\\s\\S]*${today}`));
  assert.equal(await ap.locator('#condition-add, #process-form, #rule-publish, [data-edit]').count(), 0, 'published: read-only');
  await ap.goto(`${BASE}/admin/rules`, { waitUntil: 'networkidle' });
  const row = ap.locator(`tr[data-rule-set="${id}"]`);
  assert.match(await row.innerText(), /已发布/);
  assert.match(await row.locator('a.rule-open').innerText(), /^查看/);

  // A second draft, for the reader to see.
  await ap.locator('#rules-new-draft').getByLabel('草稿名称').fill(`${draftName} 二`);
  await Promise.all([ap.waitForURL(/\/admin\/rules\/\d+$/), ap.locator('#rules-new-draft').getByRole('button', { name: '新建草稿' }).click()]);
  await ap.waitForLoadState('networkidle');
  const second = ap.url().match(/(\d+)$/)[1];

  // A dispatcher may read rule sets (the policy grants rules.read) but not change them.
  const { context: dc, page: dp } = await session('dispatcher1');
  await dp.goto(`${BASE}/admin/rules/${second}`, { waitUntil: 'networkidle' });
  assert.match(await dp.locator('#rule-set-state').innerText(), /草稿[\s\S]*只读/);
  assert.equal(await dp.locator('#condition-add, #process-form, #rule-publish, #rule-discard, [data-edit], [data-remove]').count(), 0);
  assert.ok(await dp.locator('#conditions-table tbody tr').count() > 100, 'the conditions are shown');
  assert.match(await dp.locator('#process-table').innerText(), /受理\s+20工作分钟/);
  await shot(dp, 'reader');
  await dp.goto(`${BASE}/admin/rules`, { waitUntil: 'networkidle' });
  assert.equal(await dp.locator('#rules-new-draft').count(), 0);
  assert.match(await dp.locator(`tr[data-rule-set="${second}"] a.rule-open`).innerText(), /^查看/, 'a reader views a draft');
  await dc.close();

  // The administrator discards the second draft from its page.
  await ap.locator('.rule-discard summary').click();
  await Promise.all([ap.waitForURL(/\/admin\/rules$/), ap.getByRole('button', { name: '确认丢弃草稿' }).click()]);
  await ap.waitForLoadState('networkidle');
  assert.equal(await ap.locator(`tr[data-rule-set="${second}"]`).count(), 0, 'discarded');
  await shot(ap, 'list');
  await sc.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('rules');
