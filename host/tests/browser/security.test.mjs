// Web security in a real browser (docs/security.md): the cookies' flags, the
// shell's state-changing calls carrying the CSRF token (a mini-app form
// post, sign-out), and a form on another site refused by the host.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, phone, register } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the shell sends the CSRF token on its posts and sign-out', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, '13900000301');

  const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
  assert.equal(cookies.cityhost_session.httpOnly, true, 'session cookie is HttpOnly');
  assert.equal(cookies.cityhost_session.sameSite, 'Strict');
  assert.equal(cookies.cityhost_csrf.httpOnly, false, 'the shell reads the CSRF cookie');
  assert.equal(cookies.cityhost_csrf.sameSite, 'Strict');

  // A mini-app form posted by the shell (move-my-car: register a plate).
  await page.goto(`${BASE}/#/app/move-my-car/`);
  const form = page.locator('[data-testid=view] form').last();
  await form.locator('[name=plate]').fill('浙C13579');
  const [posted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/apps/move-my-car/plates')),
    form.locator('button[type=submit]').click(),
  ]);
  assert.equal(posted.status(), 200, 'the form post passed the CSRF check');
  assert.ok(posted.request().headers()['x-csrf-token'], 'sent with X-CSRF-Token');
  // The app's answer (registered) is shown in place.
  await page.locator('[data-testid=view]', { hasText: '浙C13579' }).waitFor();

  // Sign-out through the shell really ends the session.
  await page.click('[data-testid=tab-me]');
  const [out] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/logout')),
    page.click('[data-testid=logout]'),
  ]);
  assert.equal(out.status(), 204);
  await page.waitForURL(/#\/login$/);
  assert.equal(await page.evaluate(() => fetch('/api/me').then((r) => r.status)), 401);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a form on another site cannot post to the host', async () => {
  const { context, page } = await phone(browser);
  await register(page, '13900000302');
  // A page of another origin (served by the browser itself: the network is
  // closed) with a form that posts to the host's logout.
  await context.route('http://attacker.test/**', (route) => route.fulfill({
    contentType: 'text/html',
    body: `<form method="post" action="${BASE}/api/logout"><button>win a prize</button></form>`,
  }));
  await page.goto('http://attacker.test/');
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${BASE}/api/logout`),
    page.click('button'),
  ]);
  assert.equal(refused.status(), 403);
  assert.equal((await refused.json()).error.code, 'cross_site_request');
  // Still signed in.
  await page.goto(`${BASE}/#/me`);
  await page.waitForSelector('[data-testid=logout]');
  assert.equal(await page.evaluate(() => fetch('/api/me').then((r) => r.status)), 200);
  await context.close();
});
