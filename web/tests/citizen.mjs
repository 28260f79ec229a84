// Browser tests of the citizens' pages: a citizen reports on /report (map pick, the browser's
// position, a photo, untrusted text, a phone), another citizen says "me too" on that report
// instead of reporting it again, staff take the case through the loop to closure on their own
// pages, the reporter's tracking page shows it closed and takes the answer "fixed" with a rating,
// and the rating reaches 满意率 (read by a leader). The public pages never show the reporter's
// name or phone.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/citizen.mjs
// Any console error, uncaught page error or failed assertion fails the run (exit code 1).
import assert from 'node:assert/strict';
import { BASE, problems, anonymous, session, shooter, finish } from './lib/harness.mjs';

// Demo handler accounts: the named ones, else handler-<department code>.
const HANDLERS = { SZ: 'handler1', 'SZ-ROAD': 'handler2', HW: 'handler3', 'ZFJ-1': 'handler4', YL: 'handler5' };
const PHONE = '13987654321';
const NAME = `王小明${Date.now() % 1000}`;

/** A citizen on a phone, at `where`, without any login. */
const citizen = (who, where) => anonymous(who, {
  viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
  geolocation: { latitude: where.lat, longitude: where.lon, accuracy: 10 }, permissions: ['geolocation'],
});
const staff = (username) => session(username, { viewport: { width: 1280, height: 900 } });

const shot = shooter('citizen');

/** A real JPEG drawn by the browser. */
async function jpeg(page, text) {
  const data = await page.evaluate(async (t) => {
    const c = document.createElement('canvas');
    c.width = 640; c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#7a8c5d'; g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#fff'; g.font = '40px sans-serif'; g.fillText(t, 40, 240);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  }, text);
  return { name: `${text}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(data, 'base64') };
}

const stepOf = (s, id) => s.page.evaluate(async (i) => (await (await fetch(`/api/v1/cases/${i}`)).json()).step, id);

/** Submits the `act` form on the staff case page and waits for the page to reload. */
async function act(s, caseId, act, fill = async () => {}) {
  const { page } = s;
  await page.goto(`${BASE}/cases/${caseId}`, { waitUntil: 'networkidle' });
  const form = page.locator(`form[data-act="${act}"]`);
  assert.equal(await form.count(), 1, `${s.username} is not offered ${act} on ${caseId}: ${await page.locator('.actions-card').innerText().catch(() => '?')}`);
  const details = form.locator('xpath=..');
  if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
  await fill(form);
  await Promise.all([page.waitForEvent('load'), form.locator('button[type=submit]').click()]);
  await page.waitForLoadState('networkidle');
}

/** The public page must not show the reporter. */
async function noPersonalData(page, where) {
  const html = await page.content();
  for (const secret of [PHONE, PHONE.slice(0, 3) + '****' + PHONE.slice(-4), NAME]) {
    assert.ok(!html.includes(secret), `${where} shows ${secret}`);
  }
}

async function satisfactionTotals(leader) {
  return leader.page.evaluate(async () => {
    const r = await fetch('/api/v1/satisfaction?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&by=department');
    const rows = await r.json();
    return rows.reduce((a, x) => ({ rated: a.rated + x.rated, satisfied: a.satisfied + x.satisfied }), { rated: 0, satisfied: 0 });
  });
}

try {
  // ---- a place in inspector1's street, and a class the public may report there ----
  const inspector = await staff('inspector1');
  const sensitive = ['E0409', 'E0501', 'E0502'];
  const near = await inspector.page.evaluate(async () => (await (await fetch('/api/v1/cases?limit=50')).json()).items);
  const sample = near.find((c) => c.class && c.class.startsWith('E') && !['E0409', 'E0501', 'E0502'].includes(c.class)) || near[0];
  assert.ok(sample && !sensitive.includes(sample.class), 'no sample case to take a place from');
  const where = { lat: sample.lat, lon: sample.lon };

  // ---- the login page links the citizens' pages ----
  const one = await citizen('citizen1', where);
  const p = one.page;
  await p.goto(`${BASE}/login`);
  await Promise.all([p.waitForURL(/\/report$/), p.getByRole('link', { name: '市民上报' }).click()]);

  // ---- 1. report: my location, then a map pick; type search; photo; untrusted text ----
  await p.locator('#pick-map[data-ready]').waitFor();
  await p.getByRole('button', { name: /使用我的位置/ }).click();
  await p.waitForFunction(() => document.getElementById('picked').textContent.includes('我的位置'));
  // A tap in the middle of the map (centred on the position at zoom 18): a pick a metre or so away.
  const box = await p.locator('#pick-map').boundingBox();
  await p.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await p.waitForFunction(() => document.getElementById('picked').textContent.includes('已选位置'));
  const option = p.locator(`#class option[value="${sample.class}"]`);
  assert.equal(await option.count(), 1, `class ${sample.class} is not offered to the public`);
  const className = (await option.innerText()).trim();
  await p.getByLabel('搜索问题类型').fill(className);
  assert.equal(await p.locator('#class').inputValue(), sample.class, 'the search did not pick the class');
  await p.setInputFiles('#photo', await jpeg(p, 'citizen'));
  const evil = `路面问题 <img src=x onerror="alert('xss')"> <script>alert(1)</script> ${Date.now()}`;
  await p.getByLabel(/问题描述/).fill(evil);
  await p.getByLabel('称呼').fill(NAME);
  await p.getByLabel('手机号').fill(PHONE);
  assert.match(await p.locator('#phone-help').innerText(), /只用于.*回访/);
  await shot(p, 'report-form');
  await Promise.all([p.waitForURL(/\/track\/[^/]+#t=/), p.getByRole('button', { name: '提交上报' }).click()]);
  const trackUrl = p.url();
  // Going to the URL the page is on changes nothing (only the fragment would); leave it first.
  const openTracking = async () => { await p.goto('about:blank'); await p.goto(trackUrl, { waitUntil: 'networkidle' }); };
  const caseId = decodeURIComponent(new URL(trackUrl).pathname.split('/').pop());
  await p.waitForLoadState('networkidle');

  // ---- 2. the tracking page: status, progress, text as text, no personal data ----
  assert.ok((await p.locator('#case-status').innerText()).length > 0);
  assert.ok((await p.locator('#timeline').innerText()).includes('已收到上报'), 'no progress shown');
  assert.ok((await p.locator('.description').innerText()).includes('<img src=x'), 'description not shown as text');
  assert.equal(await p.locator('img[src=x]').count(), 0, 'description was injected as HTML');
  assert.ok(await p.locator('#bookmark').isVisible(), 'no bookmark hint');
  assert.equal(await p.locator('#followup').count(), 0, 'follow-up offered before closure');
  await noPersonalData(p, 'the tracking page');
  const photo = await p.evaluate(async (id) => (await (await fetch(`/api/v1/public/cases/${id}`)).json()).photos.length, caseId);
  assert.equal(photo, 1, 'the photo did not reach the case');
  await shot(p, 'tracking-open');

  // ---- 3. another citizen at the same place says "me too" instead of reporting again ----
  const two = await citizen('citizen2', where);
  const q = two.page;
  await q.goto(`${BASE}/report`);
  await q.locator('#pick-map[data-ready]').waitFor();
  await q.getByRole('button', { name: /使用我的位置/ }).click();
  await q.waitForFunction(() => document.getElementById('picked').textContent.includes('我的位置'));
  await q.selectOption('#class', sample.class);
  const row = q.locator('#nearby-list li', { has: q.locator(`a[href="/p/${caseId}"]`) });
  await row.waitFor({ timeout: 10000 });
  await row.getByRole('button', { name: '这也是我遇到的问题' }).click();
  await row.getByText('已记录').waitFor();
  await shot(q, 'me-too');
  const supporters = await q.evaluate(async (id) => (await (await fetch(`/api/v1/public/cases/${id}`)).json()).supporters, caseId);
  assert.equal(supporters, 1, 'me too was not counted');
  await two.context.close();

  // ---- 4. staff take the case to closure on their pages ----
  if (await stepOf(inspector, caseId) === 'verifying') {
    await act(inspector, caseId, 'verify', async (f) => { await f.locator('input[name=photos]').setInputFiles(await jpeg(inspector.page, 'seen')); });
  }
  const acceptor = await staff('acceptor1');
  if (await stepOf(acceptor, caseId) === 'accepting') await act(acceptor, caseId, 'accept');
  await acceptor.context.close();
  const shift = await staff('shiftleader1');
  await act(shift, caseId, 'file', async (form) => {
    await form.locator('select[name=condition] option').first().waitFor({ state: 'attached' });
  });
  const dispatcher = await staff('dispatcher1');
  let department = '';
  await act(dispatcher, caseId, 'dispatch', async (form) => { department = await form.locator('select[name=department]').inputValue(); });
  await dispatcher.context.close();
  const handler = await staff(HANDLERS[department] || `handler-${department.toLowerCase()}`);
  await act(handler, caseId, 'feedback', async (form) => {
    await form.locator('textarea[name=note]').fill('已修复');
    await form.locator('input[name=photos]').setInputFiles(await jpeg(handler.page, 'after'));
  });
  await handler.context.close();
  // The public sees the department and progress while the work goes on (no internal notes).
  await openTracking();
  assert.ok(!(await p.locator('#timeline').innerText()).includes('已修复'), 'an internal note was published');
  await act(inspector, caseId, 'check_pass', async (f) => { await f.locator('input[name=photos]').setInputFiles(await jpeg(inspector.page, 'checked')); });
  await inspector.context.close();
  await act(shift, caseId, 'close');
  assert.equal(await stepOf(shift, caseId), 'closed', 'the case did not close');
  await shift.context.close();

  // ---- 5. the tracking page shows it closed and asks "is it fixed?" ----
  const leader = await staff('leader1');
  const before = await satisfactionTotals(leader);
  await openTracking();
  assert.match(await p.locator('#case-status').innerText(), /已办结/);
  assert.ok((await p.locator('#timeline').innerText()).includes('已结案'));
  await p.locator('#followup').waitFor();
  await shot(p, 'tracking-closed');
  await p.getByLabel('已解决').check();
  await p.getByLabel(/5 · 非常满意/).check();
  await p.getByLabel(/意见/).fill('修得很快');
  await Promise.all([p.waitForEvent('load'), p.getByRole('button', { name: '提交评价' }).click()]);
  await p.waitForLoadState('networkidle');
  assert.equal(await p.locator('#followup').count(), 0, 'the follow-up is still offered after rating');
  assert.match(await p.locator('#case-status').innerText(), /已办结/, 'the case is not closed after "fixed"');
  await shot(p, 'tracking-rated');

  // ---- 6. the rating reached 满意率 ----
  const after = await satisfactionTotals(leader);
  assert.equal(after.rated, before.rated + 1, `rated ${before.rated} → ${after.rated}`);
  assert.equal(after.satisfied, before.satisfied + 1, `satisfied ${before.satisfied} → ${after.satisfied}`);
  await leader.context.close();

  // ---- 7. the public case page and the map; English ----
  await p.goto(`${BASE}/p/${caseId}`, { waitUntil: 'networkidle' });
  assert.equal(await p.locator('#followup').count(), 0);
  await noPersonalData(p, 'the public case page');
  await p.goto(`${BASE}/map`, { waitUntil: 'networkidle' });
  await p.waitForFunction(() => Number(document.getElementById('public-map').dataset.features) > 0, null, { timeout: 15000 });
  assert.match(await p.locator('#map-count').innerText(), /办理中 \d+ 件/);
  await shot(p, 'map');
  await p.goto(`${BASE}/lang/en?next=/p/${caseId}`, { waitUntil: 'networkidle' });
  assert.ok((await p.locator('h2#tl-h').innerText()).includes('Progress'), 'English toggle did not switch the page');
  assert.ok((await p.locator('#timeline').innerText()).includes('Report received'));
  await shot(p, 'case-en');
  await p.goto(`${BASE}/lang/zh?next=/report`);
  await one.context.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('citizen');
