// The newer view blocks in a real browser, through the probe fixture
// (host/tests/fixtures/probe, `/views/...`): a QR code the host drew, an
// app's image, a list whose row actions navigate, a card, a form whose
// hidden field is sent, and the placeholder that stands for blocks the host
// refused. Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO, launch, login, nextContent, phone, shot } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Opens an app path of the probe fixture and waits for its view. */
async function openProbe(page, path) {
  await page.goto(`${BASE}/#/app/probe${path}`);
  await page.waitForSelector('#content[aria-busy=false] [data-testid=view]');
}

test('a QR code, an image, a list with row actions and a card render', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);
  await openProbe(page, '/views/blocks');
  assert.equal(await page.textContent('#title'), '新积木');

  // The QR code is the host's SVG, shown as an image that has loaded.
  const qr = page.locator('[data-block=qr] img');
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  assert.equal(await qr.getAttribute('alt'), '二维码：入场时出示此码');
  assert.equal(await page.textContent('[data-block=qr] figcaption'), '入场时出示此码');
  const image = page.locator('img[data-block=image]');
  assert.equal(await image.getAttribute('alt'), '蓝白棋盘格');
  for (const img of [qr, image]) {
    await page.waitForFunction((node) => node.complete && node.naturalWidth > 0, await img.elementHandle());
  }
  assert.ok((await qr.boundingBox()).width >= 200, 'the QR code is drawn large enough to scan');

  // The list is a list of rows, each action a button.
  const rows = page.locator('ul[data-block=list] > li');
  assert.equal(await rows.count(), 2);
  assert.equal((await rows.nth(0).locator('.b-list-title').textContent()), '第一项');
  assert.equal((await rows.nth(0).locator('.b-list-meta').textContent()), '已预约');
  assert.equal(await rows.nth(1).locator('button').getAttribute('data-action'), 'open');
  assert.equal(await page.textContent('[data-block=card] h3'), '账户信息');
  assert.equal(await page.textContent('[data-block=card] dd'), '¥12,345.67');
  await shot(page, 'view-blocks');

  // A row's action opens its app path.
  await nextContent(page, () => rows.nth(1).locator('button', { hasText: '查看' }).click());
  await page.waitForURL(/#\/app\/probe\/views\/detail\?id=2$/);
  assert.equal(await page.textContent('#title'), '详情 2');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a form sends its hidden field, which the citizen does not see', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);
  await openProbe(page, '/views/blocks');
  const form = page.locator('[data-block=form]');
  const hidden = form.locator('input[name=ticket]');
  assert.equal(await hidden.getAttribute('type'), 'hidden');
  assert.equal(await hidden.isVisible(), false);
  assert.equal(await form.locator('label').count(), 1, 'only the visible field is labelled');
  await form.locator('[name=note]').fill('请尽快');
  await nextContent(page, () => form.locator('[type=submit]').click());
  assert.equal(await page.textContent('#title'), '已提交');
  const pairs = await page.$$eval('[data-block=kv] .kv-row', (rows) => rows.map((r) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent]));
  assert.deepEqual(pairs, [['note', '请尽快'], ['ticket', 'T-2026-0042']]);
  assert.deepEqual(errors, []);
  await context.close();
});

test('blocks the host refused show a neutral placeholder, the rest of the view stays', async () => {
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);
  await openProbe(page, '/views/malformed');
  const blocks = await page.$$eval('[data-testid=view] > *', (nodes) => nodes.map((n) => [n.dataset.block, n.textContent]));
  assert.deepEqual(blocks, [
    ['text', '前'],
    ['unavailable', '此部分暂时无法显示'],
    ['unavailable', '此部分暂时无法显示'],
    ['unavailable', '此部分暂时无法显示'],
    ['text', '后'],
  ]);
  assert.equal(await page.locator('[data-testid=view] img').count(), 0, 'no app SVG reaches the page');
  await shot(page, 'view-unavailable');
  assert.deepEqual(errors, []);
  await context.close();
});
