// Shared set-up of the browser tests: Debian's chromium with the flags this machine needs,
// a logged-in session per user, and every browser console error collected as a problem unless
// the test announced it (a response it provokes on purpose).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BASE = process.env.BASE_URL || 'http://127.0.0.1:8080';
export const OUT = process.env.ARTEFACTS || 'web/test-artefacts';
export const PASSWORD = process.env.DEMO_PASSWORD || 'Demo#2026';
mkdirSync(OUT, { recursive: true });

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
export const problems = [];
// Responses the test provokes on purpose (a refused draft, a refused objection) are logged by the
// browser as failed resources; those are expected, anything else is a problem.
export const expected = [];

/** Collects the page's console errors (unless announced in `expected`), uncaught errors and
 *  unexpected dialogs as problems of `who`. */
export function watch(page, who) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const i = expected.findIndex((re) => re.test(text + ' ' + (m.location()?.url || '')));
    if (i >= 0) { expected.splice(i, 1); return; }
    problems.push(`${who} console: ${text} @ ${page.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who} page error: ${e.message} @ ${page.url()}`));
  page.on('dialog', (d) => { problems.push(`${who} unexpected dialog: ${d.message()}`); d.dismiss(); });
}

/** A page without a login (a citizen), in a context with `options` (viewport, geolocation…). */
export async function anonymous(who, options = {}) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 }, ...options });
  const page = await context.newPage();
  watch(page, who);
  return { context, page, username: who };
}

/** A page logged in as `username` with the demo password. */
export async function session(username, options = {}) {
  const s = await anonymous(username, options);
  const { page } = s;
  await page.goto(`${BASE}/login`);
  await page.getByLabel(/用户名/).fill(username);
  await page.getByLabel(/密码/).fill(PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: '登录' }).click()]);
  return s;
}

/** A screenshot helper writing `<prefix>-<name>.png` into the artefacts folder. */
export const shooter = (prefix) => (page, name) =>
  page.screenshot({ path: join(OUT, `${prefix}-${name}.png`), fullPage: true });
/** Submits a form that reloads the page on success, and waits for the reload. */
export async function submitAndReload(page, form) {
  await Promise.all([page.waitForEvent('load', { timeout: 15000 }), form.locator('button[type=submit]').click()]);
  await page.waitForLoadState('networkidle');
}

/** A Date as a China calendar day (YYYY-MM-DD). */
export const china = (d) => new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 10);

/** Ends a test file: closes the browser, writes `result-<name>.txt` into the artefacts folder and
 *  exits non-zero when a problem was collected (an expected browser error that never came counts). */
export async function finish(name) {
  if (expected.length) problems.push(`expected browser errors did not occur: ${expected.join(', ')}`);
  await browser.close();
  writeFileSync(join(OUT, `result-${name}.txt`), problems.length ? problems.join('\n') + '\n' : 'ok\n');
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`${name} tests passed; screenshots in ${OUT}`);
}
