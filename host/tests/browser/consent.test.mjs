// Consent in a real browser: housing-fund needs the citizen's verified name
// and identity number (scope auth_id_number). Opening it leads to the host's
// consent sheet (scope, purpose, fields, Allow/Deny); Deny leaves the app
// without access, Allow shows the fund balance; revoking the grant in 我的
// takes the access away again. Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, launch, login, nextContent, phone, shot, viewButtons } from './harness.mjs';

const APP = 'housing-fund';
const SCOPE = 'auth_id_number';
/** 李四's fund balance in the app's seed (miniapps/housing-fund/seed/storage.json), ¥152,304.50. */
const BALANCE = /152,?304\.50/;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Opens the app from the service grid and waits for its view. */
async function openApp(page) {
  await page.click('[data-testid=tab-services]');
  await page.waitForSelector(`[data-testid=service-${APP}]`);
  await nextContent(page, () => page.click(`[data-testid=service-${APP}]`));
  await page.waitForSelector('[data-testid=view]');
}

/** The app asks for consent: no account details, one button that opens the host's sheet. */
async function assertAsksForConsent(page, what) {
  assert.equal(await page.locator('[data-testid=view] [data-block=kv]').count(), 0, `${what}: no account shown`);
  assert.equal(await viewButtons(page, 'consent').count(), 1, `${what}: the app offers the consent sheet`);
}

/** From the app's consent view to the host's sheet for SCOPE. */
async function openSheet(page) {
  await nextContent(page, () => viewButtons(page, 'consent').click());
  await page.waitForURL(new RegExp(`#/consent/${APP}/${SCOPE}\\?return=`));
  await page.waitForSelector('[data-testid=consent-sheet]');
}

test('housing-fund asks for consent; deny, allow, revoke in 我的 and it asks again', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.li.phone, DEMO.li.password);

  await openApp(page);
  await assertAsksForConsent(page, 'first visit');
  await shot(page, 'consent-asked');

  await openSheet(page);
  const sheet = await page.evaluate(async (u) => (await fetch(u)).json(), `/api/consents/${APP}/${SCOPE}`);
  assert.ok(sheet.purpose, 'the manifest declares a purpose');
  assert.equal(await page.locator('[data-testid=consent-purpose].no-purpose').count(), 0);
  assert.ok((await page.textContent('[data-testid=consent-purpose]')).includes(sheet.purpose), 'the sheet shows the purpose');
  const fields = await page.locator('[data-testid=consent-fields] > li').allTextContents();
  assert.deepEqual(fields, sheet.fields.map(String), 'the sheet lists every field shared');
  assert.ok(fields.length >= 2, 'name and identity number');
  assert.ok(await page.isVisible('[data-testid=consent-grant]') && await page.isVisible('[data-testid=consent-deny]'));
  await shot(page, 'consent-sheet');

  // Deny: back in the app, which still has no access.
  await page.click('[data-testid=consent-deny]');
  await page.waitForURL(new RegExp(`#/app/${APP}/$`));
  await page.waitForSelector('[data-testid=view]');
  await assertAsksForConsent(page, 'after deny');
  assert.equal((await page.evaluate(async () => (await fetch('/api/consents')).json())).length, 0, 'nothing granted');
  await shot(page, 'consent-denied');

  // Allow: the app shows the account.
  await openSheet(page);
  await page.click('[data-testid=consent-grant]');
  await page.waitForURL(new RegExp(`#/app/${APP}/$`));
  await page.waitForSelector('[data-testid=view] [data-block=kv]');
  assert.match(await page.textContent('[data-testid=view] [data-block=kv]'), BALANCE, 'the fund balance');
  await shot(page, 'consent-granted-balance');

  // 我的 → authorisations: the grant is listed; revoke it.
  await page.click('[data-testid=tab-me]');
  const grant = `[data-testid=consent-item][data-app-id=${APP}][data-scope=${SCOPE}]`;
  await page.waitForSelector(grant);
  assert.equal(await page.locator('[data-testid=consent-item]').count(), 1, 'the one grant');
  await shot(page, 'me-authorisations');
  await nextContent(page, () => page.click(`${grant} [data-testid=consent-revoke]`));
  await page.waitForSelector('[data-testid=profile]');
  assert.equal(await page.locator('[data-testid=consent-item]').count(), 0, 'the grant is gone from 我的');
  await shot(page, 'me-authorisation-revoked');

  // The app has lost access: it asks again.
  await openApp(page);
  await assertAsksForConsent(page, 'after revoke');
  assert.doesNotMatch(await page.textContent('[data-testid=view]'), BALANCE);
  await openSheet(page);
  assert.equal(await page.locator('[data-testid=consent-sheet] .alert-info').count(), 0, 'the sheet no longer says it was granted');
  assert.deepEqual(errors, []);
  await context.close();
});
