// 社保查询 in a real browser at phone size. 张三 (a demo citizen, real-name
// verified by src/cli/demo.rs) finds the service with the province's
// services, agrees on the consent sheet to give the identity number, reads
// his record (five insurances, years paid, accounts, the gap with
// unemployment benefit), pages through the monthly contributions, opens one
// month, and takes the certificate of participation with its QR code. A
// newly registered citizen is walked through real-name verification as
// 赵六 of the demo population registry and sees his own record. The records
// come from the provincial records service (zj-social-insurance), started
// with the host. Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO, launch, login, nextContent, phone, register, shot, viewButtons } from './harness.mjs';

const APP = 'social-insurance';
const grid = '[data-testid=services-grid]';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const viewText = (page) => page.textContent('[data-testid=view]');

/** The text of the view's key-value row labelled `label`. */
async function kv(page, label) {
  const row = page.locator('[data-testid=view] [data-block=kv] dt', { hasText: label }).first();
  return (await row.locator('xpath=following-sibling::dd[1]').textContent()).trim();
}

/** Picks one level of the division picker and waits for that place's grid. */
async function pick(page, level, code) {
  const select = `[data-testid=division-${level}]`;
  await page.waitForSelector(`${select}:not([disabled]) option[value="${code}"]`, { state: 'attached' });
  await page.selectOption(select, code);
  await page.waitForSelector(`${grid}[data-division="${code}"]`);
}

/** Opens the app's consent button and grants the identity number on the host's sheet. */
async function grant(page) {
  await nextContent(page, () => viewButtons(page, 'consent').click());
  await page.waitForSelector('[data-testid=consent-sheet]');
  const purpose = await page.textContent('[data-testid=consent-purpose]');
  assert.ok(purpose.includes('参保证明'), purpose);
  return purpose;
}

test('a citizen reads their social insurance record and takes a signed certificate', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);

  // A province-level service: listed with the province's services in Ningbo too.
  await page.click('[data-testid=division-open]');
  await pick(page, 'province', '33');
  await pick(page, 'city', '3302');
  await page.keyboard.press('Escape');
  await page.check('[data-testid=group-level]');
  await page.waitForSelector(`[data-testid=level-province] [data-testid=service-${APP}]`);
  await shot(page, 'social-insurance-grid');

  // The identity number, asked for on the host's consent sheet with its purpose.
  await nextContent(page, () => page.click(`[data-testid=service-${APP}]`));
  await page.waitForSelector('[data-testid=view] [data-block=button][data-action=consent]');
  await grant(page);
  await shot(page, 'social-insurance-consent');
  await page.click('[data-testid=consent-grant]');
  await page.waitForURL(new RegExp(`#/app/${APP}/`));
  await page.waitForSelector('[data-testid=view] [data-block=list]');

  // The record.
  assert.equal(await kv(page, '姓名'), '张三');
  assert.equal(await kv(page, '证件号码'), '3301**********123X');
  assert.equal(await kv(page, '参保单位'), '杭州西湖数智科技有限公司');
  assert.match(await kv(page, '累计缴费'), /^\d+ 年 \d+ 个月（\d+ 个月）$/);
  const record = await viewText(page);
  for (const name of ['企业职工基本养老保险', '职工基本医疗保险', '失业保险', '工伤保险', '生育保险']) {
    assert.ok(record.includes(name), `${name} listed`);
  }
  assert.match(record, /2018-03 至 2018-05 断缴 3 个月；2018-03 至 2018-05 领取失业保险金/);
  await shot(page, 'social-insurance-record');
  // Further down: the accounts and the gap.
  assert.equal(await kv(page, '医保个人账户'), '¥12,654.30');
  await page.locator('[data-testid=view] .alert').first().scrollIntoViewIfNeeded();
  await shot(page, 'social-insurance-accounts');

  // The monthly contributions, newest first, 12 a page.
  await nextContent(page, () => viewButtons(page, 'open').filter({ hasText: '缴费明细' }).click());
  await page.waitForURL(new RegExp(`#/app/${APP}/contributions$`));
  const months = page.locator('[data-testid=view] [data-block=list] li');
  assert.equal(await months.count(), 12);
  assert.ok((await months.first().textContent()).includes('杭州西湖数智科技有限公司'));
  await shot(page, 'social-insurance-contributions');

  // A range across the change of unit, then one month insurance by insurance.
  await page.fill('[data-testid=view] [name=from]', '2018-01');
  await page.fill('[data-testid=view] [name=to]', '2018-07');
  await nextContent(page, () => page.click('[data-testid=view] [data-block=form] [type=submit]'));
  assert.equal(await kv(page, '缴费月数'), '4 个月');
  const range = await viewText(page);
  assert.ok(range.includes('杭州滨江云帆网络有限公司') && range.includes('杭州西湖数智科技有限公司'), range);
  await shot(page, 'social-insurance-range');
  await nextContent(page, () => page.locator('[data-testid=view] [data-block=list] li', { hasText: '2018-06' })
    .getByRole('button', { name: '各险种' }).click());
  assert.equal(await kv(page, '缴费基数'), '¥9,000.00');
  const month = await page.textContent('[data-testid=view] [data-block=table]');
  assert.ok(month.includes('养老保险') && month.includes('¥720.00'), month);
  await shot(page, 'social-insurance-month');

  // The certificate: what it certifies, until when, and the signed QR code.
  await nextContent(page, () => page.goto(`${BASE}/#/app/${APP}/certificate`));
  await page.waitForSelector('[data-testid=view] [data-block=qr] img');
  const certificate = await viewText(page);
  assert.ok(certificate.includes('兹证明 张三（证件号码 3301**********123X）自 2012-07 起'), certificate);
  const until = await kv(page, '有效期至');
  assert.match(until, /^\d{4}-\d{2}-\d{2}$/);
  assert.ok((await page.textContent('[data-testid=view] [data-block=qr]')).includes(until));
  await page.locator('[data-testid=view] [data-block=qr]').scrollIntoViewIfNeeded();
  await shot(page, 'social-insurance-certificate');

  assert.deepEqual(errors, []);
  await context.close();
});

test('a new citizen is walked through real-name verification to their own record', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, '13900000901');
  await page.click(`[data-testid=service-${APP}]`);
  await page.waitForSelector('[data-testid=assurance-prompt]');
  await page.click('[data-testid=assurance-verify]');
  await page.waitForURL(new RegExp(`#/verify\\?app=${APP}&return=`));
  await page.fill('[name=name]', '赵六');
  await page.fill('[name=id_number]', '330183197809053014');
  await page.click('[data-testid=verify-submit]');
  await page.waitForURL(new RegExp(`#/app/${APP}/$`));
  await page.waitForSelector('[data-testid=view] [data-block=button][data-action=consent]');
  await grant(page);
  await page.click('[data-testid=consent-grant]');
  await page.waitForSelector('[data-testid=view] [data-block=list]');
  assert.equal(await kv(page, '姓名'), '赵六');
  assert.equal(await kv(page, '首次参保'), '2000-01');
  assert.equal(await kv(page, '参保单位'), '杭州富阳江南造纸有限公司');
  assert.ok(!(await viewText(page)).includes('张三'));
  await shot(page, 'social-insurance-verified-record');
  assert.deepEqual(errors, []);
  await context.close();
});
