// 小客车摇号 in a real browser at phone size: 张三 finds the service under
// 杭州市 in the grid, reads the period and its commitment, agrees on the
// consent sheet, sees the quota office's eligibility checks, applies, gets
// the application code and subscribes to the result. The test then plays
// the quota office (closes and draws the period, announces the draw, as
// host/tests/all/browser.rs allows it to): the result message arrives in
// the inbox, and the published draw shows the seed and the winners.
// Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO, launch, login, nextContent, phone, shot, unreadBadge, viewButtons, waitForBadge } from './harness.mjs';

const APP = 'plate-lottery';
const OFFICE_USCC = '11330100002501933H';
const OFFICE = process.env.CITYHOST_LOTTERY_OFFICE;
const OFFICE_TOKEN = process.env.CITYHOST_LOTTERY_OFFICE_TOKEN;
const EVENTS_TOKEN = process.env.CITYHOST_LOTTERY_EVENTS_TOKEN;
const grid = '[data-testid=services-grid]';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Picks one level of the division picker and waits for that place's grid. */
async function pick(page, level, code) {
  const select = `[data-testid=division-${level}]`;
  await page.waitForSelector(`${select}:not([disabled]) option[value="${code}"]`, { state: 'attached' });
  await page.selectOption(select, code);
  await page.waitForSelector(`${grid}[data-division="${code}"]`);
}

/** The text of the view's key-value row labelled `label`. */
async function kv(page, label) {
  const row = page.locator('[data-testid=view] [data-block=kv] dt', { hasText: label }).first();
  return (await row.locator('xpath=following-sibling::dd[1]').textContent()).trim();
}

/** The quota office's own action on a period (its bearer token). */
async function office(period, action) {
  const r = await fetch(`${OFFICE}/office/periods/${period}/${action}`, {
    method: 'POST', headers: { authorization: `Bearer ${OFFICE_TOKEN}` },
  });
  assert.equal(r.status, 200, `${action}: ${await r.text()}`);
}

test('a citizen applies for the plate lottery, gets the result message and reads the published draw', async () => {
  assert.ok(OFFICE && OFFICE_TOKEN && EVENTS_TOKEN, 'the quota office is passed in by browser.rs');
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);

  // The service sits with Hangzhou's city-level services.
  await page.click('[data-testid=division-open]');
  await pick(page, 'province', '33');
  await pick(page, 'city', '3301');
  await page.keyboard.press('Escape');
  await page.check('[data-testid=group-level]');
  await page.waitForSelector(`[data-testid=level-city] [data-testid=service-${APP}]`);
  assert.equal(await page.locator(`[data-testid=level-province] [data-testid=service-${APP}]`).count(), 0);
  await shot(page, 'lottery-grid');

  // The home page: the period and the commitment of its draw.
  await nextContent(page, () => page.click(`[data-testid=service-${APP}]`));
  await page.waitForSelector('[data-testid=view] [data-block=kv]');
  const commitment = await kv(page, '摇号承诺值');
  assert.match(commitment, /^[0-9a-f]{64}$/);
  const periods = await (await fetch(`${OFFICE}/public/periods`)).json();
  const period = periods.current;
  const published = await (await fetch(`${OFFICE}/public/periods/${period}/commitment.json`)).json();
  assert.equal(commitment, published.commitment, 'the app shows what the office published');
  await shot(page, 'lottery-home');

  // Applying asks for the identity number on the host's consent sheet.
  await nextContent(page, () => viewButtons(page, 'open').click());
  await nextContent(page, () => viewButtons(page, 'consent').click());
  await page.waitForSelector('[data-testid=consent-sheet]');
  assert.ok((await page.textContent('[data-testid=consent-purpose]')).includes('每人每期只申请一次'));
  await shot(page, 'lottery-consent');
  await page.click('[data-testid=consent-grant]');
  await page.waitForURL(new RegExp(`#/app/${APP}/`));
  await page.waitForSelector('[data-testid=view] [data-block=list]');
  const checks = await page.textContent('[data-testid=view] [data-block=list]');
  assert.ok(checks.includes('名下无本市登记的小客车'), checks);
  assert.ok(!checks.includes('不符合'), `张三 is eligible: ${checks}`);
  await shot(page, 'lottery-eligibility');

  // Apply: the code, and the result message to subscribe to.
  await nextContent(page, () => viewButtons(page, 'post').click());
  assert.equal(await page.locator('[data-testid=view] .alert-success').count(), 1, 'filed');
  const code = await kv(page, '申请编码');
  assert.match(code, /^\d{13}$/);
  await shot(page, 'lottery-applied');
  await nextContent(page, () => viewButtons(page, 'subscribe').click());
  await page.waitForSelector('[data-testid=subscribe-sheet]');
  await page.click('[data-testid=subscribe-confirm]');
  await page.waitForURL(new RegExp(`#/app/${APP}/`));
  const unread = await unreadBadge(page);

  // The office closes the period, draws it and announces the draw.
  await office(period, 'close');
  await office(period, 'draw');
  const announced = await fetch(`${BASE}/api/departments/${OFFICE_USCC}/apps/${APP}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${EVENTS_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event: 'draw-published', payload: { period } }),
  });
  assert.equal(announced.status, 202);
  const draw = await (await fetch(`${OFFICE}/public/periods/${period}/draw.json`)).json();
  const result = draw.winners.includes(code) ? '中签' : '未中签';

  // The result message arrives live.
  await waitForBadge(page, unread + 1);
  await page.click('[data-testid=tab-inbox]');
  const message = page.locator('[data-testid=inbox-list] > li').first();
  await message.waitFor();
  await message.locator('[data-testid=inbox-item]').click();
  const body = await message.locator('[data-testid=inbox-body]').textContent();
  assert.ok(body.includes(code) && body.includes(`结果：${result}`), body);
  await shot(page, 'lottery-result-message');

  // The published draw: seed and winners, as the office's files say.
  await nextContent(page, () => page.goto(`${BASE}/#/app/${APP}/draw?period=${period}`));
  await page.waitForSelector('[data-testid=view] [data-block=table]');
  assert.equal(await kv(page, '随机种子'), draw.seed);
  const winners = await page.textContent('[data-testid=view] [data-block=table]');
  for (const w of draw.winners) assert.ok(winners.includes(w), `${w} listed`);
  await shot(page, 'lottery-draw');

  assert.deepEqual(errors, []);
  await context.close();
});
