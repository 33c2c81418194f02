// Paying a utility bill with the payment PIN in a real browser: a demo
// citizen (PIN and ¥2,000 on the simulated card, seeded by src/cli/demo.rs)
// looks up account 3301001 in utility-bills, pays an unpaid bill in the
// host's payment sheet — a wrong PIN first (error and the tries left), then
// the right one on the keypad — sees the order paid in 订单 and the receipt
// in 消息. Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, launch, login, nextContent, phone, shot, viewButtons, waitForBadge } from './harness.mjs';

/** The demo payment PIN (src/cli/demo.rs `DEMO_PIN`). */
const PIN = '258036';
const ACCOUNT = '3301001';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** GETs a host API path as the page's signed-in citizen. */
const apiGet = (page, path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

test('a citizen pays a utility bill with the PIN and gets the order and the receipt', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);
  const unreadBefore = (await apiGet(page, '/api/inbox/unread')).unread;

  // The app: look up the account, pick the first unpaid bill.
  await page.click('[data-testid=service-utility-bills]');
  await page.waitForSelector('[data-testid=view] [name=account]');
  await page.fill('[data-testid=view] [name=account]', ACCOUNT);
  await nextContent(page, () => page.click('[data-testid=view] form [type=submit]'));
  await page.waitForURL(new RegExp(`#/app/utility-bills/bills\\?account=${ACCOUNT}$`));
  const payButtons = viewButtons(page, 'post');
  const unpaid = await payButtons.count();
  assert.ok(unpaid >= 1, 'the account has unpaid bills with a pay button each');
  await shot(page, 'pay-bills');
  await nextContent(page, () => payButtons.first().click());
  await nextContent(page, () => viewButtons(page, 'pay').click()); // opens the host's payment sheet
  await page.waitForURL(/#\/pay\/[^/]+$/);
  const orderId = decodeURIComponent(page.url().split('#/pay/')[1]);
  await page.waitForSelector('[data-testid=pay-sheet]');
  const order = await apiGet(page, `/api/orders/${encodeURIComponent(orderId)}`);
  assert.equal(order.state, 'created');
  assert.equal(order.app_id, 'utility-bills');
  assert.ok(order.amount_fen > 0);
  const account = await apiGet(page, '/api/payment/account');
  assert.ok(account.pin.set, 'the demo citizen has a PIN');
  assert.ok(account.balance_fen >= order.amount_fen, 'and the money to pay');
  await shot(page, 'pay-sheet');

  // A wrong PIN: the order stays unpaid, the sheet says so and how many tries are left.
  await page.fill('[data-testid=pay-pin]', '111111');
  await nextContent(page, () => page.click('[data-testid=pay-confirm]'));
  await page.waitForSelector('[data-testid=pay-sheet] [data-testid=error-notice]');
  const tries = (await apiGet(page, '/api/payment/account')).pin.remaining_tries;
  assert.equal(tries, account.pin.remaining_tries - 1, 'one try used');
  assert.match(await page.textContent('[data-testid=pin-tries]'), new RegExp(`\\b${tries}\\b`));
  assert.equal(await page.inputValue('[data-testid=pay-pin]'), '', 'the wrong PIN is cleared');
  assert.equal((await apiGet(page, `/api/orders/${encodeURIComponent(orderId)}`)).state, 'created');
  await shot(page, 'pay-wrong-pin');

  // The right PIN on the sheet's own keypad.
  for (const digit of PIN) await page.click(`[data-testid=pay-pin-key] >> text="${digit}"`);
  assert.equal((await page.inputValue('[data-testid=pay-pin]')).length, 6);
  await page.click('[data-testid=pay-confirm]');
  await page.waitForSelector('[data-testid=pay-success]');
  const after = await apiGet(page, '/api/payment/account');
  assert.equal(after.balance_fen, account.balance_fen - order.amount_fen, 'the card is debited once');
  assert.equal(after.pin.remaining_tries, account.pin.remaining_tries, 'a right PIN restores the tries');
  await shot(page, 'pay-success');

  // Back in the app, the bill is paid: one pay button fewer.
  await page.click('[data-testid=pay-return]');
  await page.waitForURL(new RegExp(`#/app/utility-bills/bills\\?account=${ACCOUNT}$`));
  await page.waitForSelector('[data-testid=view]');
  assert.equal(await viewButtons(page, 'post').count(), unpaid - 1, 'the app shows the bill paid');
  await page.goBack();
  await page.waitForSelector('[data-testid=pay-sheet]');
  const receiptLink = '[data-testid=pay-sheet] [data-testid=pay-receipt]';
  assert.ok(await page.isVisible(receiptLink), 'the sheet of a paid order offers its receipt');
  assert.equal(await page.locator('[data-testid=pay-confirm]').count(), 0, 'and no second payment');

  // The receipt page, then 订单 lists the order as paid.
  await page.click(receiptLink);
  await page.waitForSelector('[data-testid=receipt]');
  assert.ok(await page.isVisible('[data-testid=receipt] .state-paid'), 'the receipt shows the order paid');
  await shot(page, 'pay-receipt');
  await page.click('[data-testid=tab-orders]');
  await page.waitForSelector('[data-testid=order-item]');
  const item = page.locator('[data-testid=order-item]', { has: page.locator(`[href="#/orders/${encodeURIComponent(orderId)}"]`) });
  assert.equal(await item.count(), 1, 'the order is in 订单');
  assert.equal(await item.getAttribute('data-state'), 'paid', 'as paid');
  await shot(page, 'pay-orders');

  // The app's receipt arrives in 消息 (sent while the app handles payment.succeeded).
  await waitForBadge(page, unreadBefore + 1);
  await page.click('[data-testid=tab-inbox]');
  await page.waitForSelector('[data-testid=inbox-item]');
  const first = page.locator('[data-testid=inbox-list] > li').first();
  await first.locator('[data-testid=inbox-item]').click();
  const body = await first.locator('[data-testid=inbox-body]').textContent();
  assert.ok(body.includes(ACCOUNT) && body.includes(order.out_trade_no), `the receipt names the account and the order: ${body}`);
  await waitForBadge(page, unreadBefore);
  await shot(page, 'pay-inbox-receipt');
  assert.deepEqual(errors, []);
  await context.close();
});
