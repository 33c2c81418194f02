// 预约挂号 in a real browser at phone size: a demo citizen (real-name
// verified, PIN and money seeded by src/cli/demo.rs) opens the service,
// sees the no-show rule and their count, picks 内科 → 周敏 → the first slot
// with places left, pays the fee in the host's payment sheet, finds the
// booking in 我的预约 and cancels it with the fee refunded. The slots come
// from the hospital's own system (hzhospital-his), started with the host.
// Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, launch, login, nextContent, phone, shot, viewButtons } from './harness.mjs';

/** The demo payment PIN (src/cli/demo.rs `DEMO_PIN`). */
const PIN = '258036';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** GETs a host API path as the page's signed-in citizen. */
const apiGet = (page, path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

const viewText = (page) => page.textContent('[data-testid=view]');

test('a citizen books a doctor, pays the fee, and cancels with a refund', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);

  await page.click('[data-testid=service-hospital-booking]');
  await page.waitForSelector('[data-testid=view] [data-block=button]');
  const home = await viewText(page);
  assert.match(home, /90 天内爽约累计 3 次/, 'the no-show rule is told before booking');
  assert.match(home, /您近 90 天爽约 0 次/);
  await shot(page, 'hospital-home');

  await nextContent(page, () => viewButtons(page, 'open').filter({ hasText: '内科' }).click());
  await page.waitForURL(/#\/app\/hospital-booking\/doctors\?department=internal$/);
  await nextContent(page, () => viewButtons(page, 'open').filter({ hasText: '周敏' }).click());
  await page.waitForURL(/#\/app\/hospital-booking\/doctor\?id=d102$/);
  const slots = viewButtons(page, 'post');
  assert.ok(await slots.count() >= 1, '周敏 has open slots this week');
  const slotLabel = (await slots.first().textContent()).trim();
  await shot(page, 'hospital-slots');

  await nextContent(page, () => slots.first().click());
  assert.match(await viewText(page), /¥20\.00/, 'the fee');
  await shot(page, 'hospital-confirm');
  await nextContent(page, () => viewButtons(page, 'pay').click());
  await page.waitForURL(/#\/pay\/[^/]+$/);
  const orderId = decodeURIComponent(page.url().split('#/pay/')[1]);
  await page.waitForSelector('[data-testid=pay-sheet]');
  await page.fill('[data-testid=pay-pin]', PIN);
  await page.click('[data-testid=pay-confirm]');
  await page.waitForSelector('[data-testid=pay-success]');
  assert.equal((await apiGet(page, `/api/orders/${encodeURIComponent(orderId)}`)).state, 'paid');

  // Back in the app: 我的预约 shows it booked, with a cancel button.
  await page.click('[data-testid=pay-return]');
  await page.waitForURL(/#\/app\/hospital-booking\/bookings$/);
  await page.waitForSelector('[data-testid=view]');
  const cancel = viewButtons(page, 'post').filter({ hasText: '取消预约' });
  await cancel.first().waitFor();
  const mine = await viewText(page);
  assert.match(mine, /已预约/);
  assert.ok(mine.includes('周敏'), mine);
  // `预约 12-07 周一 08:00-09:00`: the booking shows `2026-12-07 08:00`.
  const [, date, start] = slotLabel.match(/(\d\d-\d\d) \S+ (\d\d:\d\d)/);
  assert.ok(mine.includes(`${date} ${start}`), `the slot's time ${date} ${start}: ${mine}`);
  await shot(page, 'hospital-bookings');

  await nextContent(page, () => cancel.first().click());
  assert.match(await viewText(page), /已取消预约，挂号费 ¥20\.00 将原路退回/);
  await shot(page, 'hospital-cancelled');
  const order = await apiGet(page, `/api/orders/${encodeURIComponent(orderId)}`);
  assert.equal(order.state, 'refunded');
  assert.equal(order.refunded_fen, order.amount_fen);
  assert.deepEqual(errors, []);
  await context.close();
});
