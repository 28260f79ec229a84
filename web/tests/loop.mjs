// Browser tests: one case through the whole closed loop, each step done by its role in the UI
// (report on the field page with a photo → accept → file → dispatch → feedback → check → close),
// the command centre receiving the moves live, and the evaluation export.
//
// Usage: BASE_URL=http://127.0.0.1:PORT ARTEFACTS=dir node web/tests/loop.mjs
// Any console error, uncaught page error or failed assertion fails the run (exit code 1).
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { BASE, OUT, problems, session as login, finish } from './lib/harness.mjs';

const MAX_JS_BYTES = 1024 * 1024;

// Demo handler accounts: the named ones, else handler-<department code>.
const HANDLERS = { SZ: 'handler1', 'SZ-ROAD': 'handler2', HW: 'handler3', 'ZFJ-1': 'handler4', YL: 'handler5' };

let shot = 0;

/** A logged-in page that also counts the JavaScript bytes it loads (see `gotoMeasured`). */
async function session(username, options = {}) {
  const s = await login(username, options);
  const { page } = s;
  page.jsBytes = 0;
  page.on('response', async (r) => {
    if ((r.headers()['content-type'] || '').includes('javascript')) {
      const b = await r.body().catch(() => null);
      if (b) page.jsBytes += b.length;
    }
  });
  return s;
}

async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

async function gotoMeasured(page, url) {
  page.jsBytes = 0;
  await page.goto(url, { waitUntil: 'networkidle' });
  assert.ok(page.jsBytes < MAX_JS_BYTES, `${url} loads ${page.jsBytes} bytes of JavaScript`);
}

/** Opens the case page, submits the form of `act`, waits for the case to reach `next`. */
async function act(s, caseId, act, fill = async () => {}, next) {
  const { page } = s;
  await gotoMeasured(page, `${BASE}/cases/${caseId}`);
  const form = page.locator(`form[data-act="${act}"]`);
  assert.equal(await form.count(), 1, `${s.username} is not offered ${act} on ${caseId}: ${await page.locator('.actions-card').innerText()}`);
  const details = form.locator('xpath=..');
  if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
  await fill(form);
  await screenshot(page, `${s.username}-${act}-form`);
  await Promise.all([page.waitForEvent('load'), form.locator('button[type=submit]').click()]);
  await page.waitForLoadState('networkidle');
  const stepBadge = await page.locator('h1 .badge.step').innerText();
  assert.ok(stepBadge.includes(next), `after ${act} the case shows "${stepBadge}", expected ${next}`);
  await screenshot(page, `${s.username}-${act}-done`);
}

/** A real JPEG drawn by the browser, for the photo inputs. */
async function jpeg(page, text) {
  const data = await page.evaluate(async (t) => {
    const c = document.createElement('canvas');
    c.width = 640; c.height = 480;
    const g = c.getContext('2d');
    g.fillStyle = '#5d7a8c'; g.fillRect(0, 0, 640, 480);
    g.fillStyle = '#fff'; g.font = '40px sans-serif'; g.fillText(t, 40, 240);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  }, text);
  return { name: `${text}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(data, 'base64') };
}

try {
  // ---- 1. the inspector reports on the field page (phone viewport, GPS, camera input) ----
  const probe = await session('inspector1');
  // A place inside the inspector's own area: where one of the cases they may see lies.
  const near = await probe.page.evaluate(async () => (await (await fetch('/api/v1/cases?limit=1')).json()).items[0]);
  assert.ok(near, 'the inspector sees no case to take a location from');
  await probe.context.close();

  const inspector = await session('inspector1', {
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    geolocation: { latitude: near.lat, longitude: near.lon, accuracy: 8 }, permissions: ['geolocation'],
  });
  const ip = inspector.page;
  assert.equal(new URL(ip.url()).pathname, '/m', 'inspectors start on the field page');
  await gotoMeasured(ip, `${BASE}/m`);
  await ip.waitForFunction(() => document.getElementById('gps').textContent.includes('📍'));
  await ip.setInputFiles('input[name=photo]', await jpeg(ip, 'before'));
  // A class the rules in force can file: the class of the case the location came from.
  const cls = near.class;
  assert.ok(cls, 'the sample case has no class');
  await ip.getByLabel('搜索类别').fill(cls);
  assert.equal(await ip.locator('select[name=class]').inputValue(), cls);
  // Untrusted text must come back as text.
  const evil = `井盖破损 <img src=x onerror="alert('xss')"> <script>alert(1)</script> ${Date.now()}`;
  await ip.getByLabel('问题描述').fill(evil);
  await screenshot(ip, 'inspector-report-form');
  await ip.getByRole('button', { name: '上报' }).click();
  const sent = ip.locator('#drafts li.sent a').first();
  await sent.waitFor({ timeout: 15000 });
  const caseId = await sent.innerText();
  await screenshot(ip, 'inspector-report-sent');
  // The outbox is empty once the server acknowledged the report.
  assert.equal(await ip.locator('#drafts li.pending').count(), 0);

  // ---- 2. the case page escapes the description ----
  await gotoMeasured(ip, `${BASE}/cases/${caseId}`);
  assert.ok((await ip.locator('.description').innerText()).includes('<img src=x'), 'description not shown as text');
  assert.equal(await ip.locator('img[src=x]').count(), 0, 'description was injected as HTML');

  // ---- 3. the command centre (leader) watches live ----
  const leader = await session('leader1');
  const lp = leader.page;
  await gotoMeasured(lp, `${BASE}/command`);
  await lp.waitForFunction(() => document.getElementById('live').textContent.includes('实时'));
  await lp.waitForFunction(() => document.querySelectorAll('#map .leaflet-interactive, #map .marker-cluster').length > 0, null, { timeout: 20000 });
  await lp.waitForFunction(() => document.querySelector('[data-figure=reported_today]').textContent !== '–');
  // The inspector's phone sent its position while reporting; the leader sees it on the map.
  await lp.waitForFunction(() => [...document.querySelectorAll('.leaflet-tooltip-pane, .leaflet-overlay-pane')].length > 0);
  const seen = await lp.evaluate(async () => (await (await fetch('/api/v1/positions')).json()).map((p) => p.name));
  assert.ok(seen.length >= 1, `no inspector position on the command centre: ${JSON.stringify(seen)}`);
  await screenshot(lp, 'command-centre');
  // Markers follow the viewport: zooming in and back out asks for the cases of each new view.
  const mapRequest = () => lp.waitForResponse((r) => r.url().includes('/ui/map-cases?bbox=') && r.ok(), { timeout: 10000 });
  const firstView = await lp.locator('#map-note').innerText();
  assert.match(firstView, /在办/);
  await lp.locator('#map').focus();
  let reload = mapRequest();
  await lp.keyboard.press('Equal');
  await lp.keyboard.press('Equal');
  const closer = await (await reload).json();
  assert.ok(closer.total <= Number(firstView.match(/\d+/g).pop()), 'zooming in found more cases than the whole view');
  reload = mapRequest();
  await lp.keyboard.press('ArrowRight');
  await reload;
  reload = mapRequest();
  await lp.keyboard.press('ArrowLeft');
  await lp.keyboard.press('Minus');
  await lp.keyboard.press('Minus');
  await reload;
  await lp.waitForFunction(() => Number(document.getElementById('map-note').dataset.count) > 0);

  // ---- 4. the loop, each step by its role ----
  const acceptor = await session('acceptor1');
  let step = await acceptor.page.evaluate(async (id) => (await (await fetch(`/api/v1/cases/${id}`)).json()).step, caseId);
  if (step === 'accepting') await act(acceptor, caseId, 'accept', undefined, '待立案');
  await acceptor.context.close();

  const shift = await session('shiftleader1');
  await act(shift, caseId, 'file', async (form) => {
    await form.locator('select[name=condition] option').first().waitFor({ state: 'attached' });
    assert.ok((await form.locator('select[name=condition]').inputValue()).length > 0, 'no filing condition offered');
    assert.match(await form.locator('select[name=condition] option').first().innerText(), /时限/);
  }, '待派遣');

  // The filing reached the command centre live and moved the case's marker, which the feed
  // entry locates.
  const moved = lp.locator('#feed li', { hasText: caseId }).filter({ hasText: '待派遣' }).locator('button.locate');
  await moved.first().waitFor({ timeout: 10000 });
  await moved.first().click();
  await lp.locator('.leaflet-popup-content', { hasText: caseId }).waitFor({ timeout: 10000 });
  assert.match(await lp.locator('.leaflet-popup-content').innerText(), /待派遣/);

  const dispatcher = await session('dispatcher1');
  let department = '';
  await act(dispatcher, caseId, 'dispatch', async (form) => {
    department = await form.locator('select[name=department]').inputValue();
    assert.ok(department, 'no department suggested');
    assert.match(await form.locator('select[name=department] option').first().innerText(), /建议/);
  }, '处置中');
  await dispatcher.context.close();

  const handler = await session(HANDLERS[department] || `handler-${department.toLowerCase()}`);
  // The case is on the handler's workbench with its remaining time.
  await gotoMeasured(handler.page, `${BASE}/workbench`);
  const row = handler.page.locator('#tasks tr', { has: handler.page.locator(`a[href="/cases/${caseId}"]`) });
  assert.equal(await row.count(), 1, `case ${caseId} is not on ${handler.username}'s workbench`);
  assert.match(await row.locator('td.remaining').innerText(), /剩余|超时/);
  await screenshot(handler.page, 'handler-workbench');
  await act(handler, caseId, 'feedback', async (form) => {
    await form.locator('textarea[name=note]').fill('已更换井盖');
    await form.locator('input[name=photos]').setInputFiles(await jpeg(handler.page, 'after'));
  }, '待核查');
  await handler.context.close();

  await act(inspector, caseId, 'check_pass', async (form) => {
    await form.locator('input[name=photos]').setInputFiles(await jpeg(ip, 'checked'));
  }, '待结案');
  // Before and after photos side by side.
  assert.ok(await ip.locator('.before-after > div:first-child img').count() >= 1, 'no before photo');
  assert.ok(await ip.locator('.before-after > div:last-child img').count() >= 2, 'no after photos');

  await act(shift, caseId, 'close', undefined, '已结案');
  await shift.context.close();

  // The command centre saw the case move without reloading.
  await lp.waitForFunction((id) => document.getElementById('feed').textContent.includes(id), caseId, { timeout: 10000 });
  await screenshot(lp, 'command-centre-live');
  await lp.click('#bigscreen');
  await lp.waitForTimeout(500);
  await screenshot(lp, 'command-centre-bigscreen');

  // Timeline lists every step.
  await gotoMeasured(lp, `${BASE}/cases/${caseId}`);
  const timeline = await lp.locator('.timeline').innerText();
  for (const k of ['上报', '立案', '派遣', '处置反馈', '核查通过', '结案']) assert.ok(timeline.includes(k), `timeline lacks ${k}`);
  await screenshot(lp, 'case-closed');

  // ---- 5. evaluation: league table, drill-down, export ----
  await gotoMeasured(lp, `${BASE}/evaluation`);
  await lp.locator('#ranking table').waitFor({ timeout: 30000 });
  const firstObject = lp.locator('#ranking tbody button').first();
  if (await firstObject.count()) {
    await firstObject.click();
    await lp.locator('#drill-body dl').waitFor({ timeout: 30000 });
  }
  await screenshot(lp, 'evaluation');
  const [download] = await Promise.all([lp.waitForEvent('download'), lp.click('#export-xlsx')]);
  const path = join(OUT, download.suggestedFilename());
  await download.saveAs(path);
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(path);
  assert.ok(bytes.length > 1000 && bytes.subarray(0, 2).toString() === 'PK', 'the export is not an xlsx workbook');

  // ---- 6. English toggle ----
  await lp.goto(`${BASE}/lang/en?next=/workbench`);
  assert.ok((await lp.locator('h1').first().innerText()).includes('to-do'), 'English toggle did not switch the page');
  await screenshot(lp, 'workbench-en');
  await lp.goto(`${BASE}/lang/zh?next=/workbench`);

  await leader.context.close();
  await inspector.context.close();
} catch (e) {
  problems.push(`failed: ${e.stack || e}`);
}
await finish('loop');
