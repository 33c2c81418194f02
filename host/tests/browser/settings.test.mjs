// Settings in a real browser: English and elder mode (长辈模式) apply at once,
// reach every tab, and survive a reload; the sign-in page switches language
// too. Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, phone, register, shot } from './harness.mjs';

const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Waits until the page for the current hash is rendered. */
async function settled(page) {
  await page.waitForSelector('#content[aria-busy=false] > *');
}

async function openSettings(page) {
  await page.click('[data-testid=tab-me]');
  await settled(page);
  await page.click('[data-testid=settings-open]');
  await page.waitForSelector('[data-testid=settings]');
}

const bodyFontPx = (page) => page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));

test('English reaches every tab, elder mode grows the type, both survive a reload', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, '13900000201');
  await openSettings(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.ok(CJK.test(await page.textContent('[data-testid=tabbar]')), 'Chinese by default');
  await shot(page, 'settings');

  await page.check('[data-testid=language-en]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('[data-testid=settings]');
  assert.ok(!CJK.test(await page.textContent('#title')), 'settings title in English');

  for (const tab of ['services', 'inbox', 'orders', 'me']) {
    await page.click(`[data-testid=tab-${tab}]`);
    await page.waitForURL(new RegExp(tab === 'services' ? '#/$' : `#/${tab}$`));
    await settled(page);
    const bar = await page.textContent('[data-testid=tabbar]');
    assert.ok(!CJK.test(bar), `tab bar on ${tab}: ${bar}`);
    const title = await page.textContent('#title');
    assert.ok(!CJK.test(title), `title on ${tab}: ${title}`);
    assert.ok(!CJK.test(await page.title()), `document title on ${tab}`);
    // The host's own words are English; services and departments keep their own names
    // (no place is chosen, so the place line is the host's words too).
    const own = tab === 'services'
      ? await page.$$eval('.category h2, [data-testid=home-bar], .home-tools, [data-testid=services-count]',
        (nodes) => nodes.map((n) => n.textContent).join(' '))
      : await page.textContent('#content');
    assert.ok(!CJK.test(own), `${tab} page: ${own}`);
  }
  assert.equal(await page.textContent('[data-testid=profile-name]'), 'Not verified');

  // The shell asks mini-apps for English too; hello answers in it.
  await page.click('[data-testid=tab-services]');
  await page.click('[data-testid=service-hello]');
  await page.waitForSelector('[data-testid=view]');
  assert.equal(await page.textContent('#title'), 'Hello');
  await page.click('[data-testid=tab-me]');
  await settled(page);
  assert.equal(await page.getAttribute('[data-testid=tabbar]', 'aria-label'), 'Main navigation');
  await shot(page, 'me-en');

  await page.reload();
  await settled(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'en', 'language kept after reload');
  assert.ok(!CJK.test(await page.textContent('[data-testid=tabbar]')), 'tab bar still English');

  await openSettings(page);
  const before = await bodyFontPx(page);
  await page.check('[data-testid=elder-mode]');
  await page.waitForFunction(() => document.documentElement.classList.contains('elder'));
  const larger = await bodyFontPx(page);
  assert.ok(larger >= 20 && larger > before, `body type ${before}px → ${larger}px`);

  await page.click('[data-testid=tab-services]');
  await page.waitForSelector('[data-testid=service-hello]');
  const tile = await page.locator('[data-testid=service-hello]').boundingBox();
  const list = await page.locator('.tiles').first().boundingBox();
  assert.ok(tile.height >= 48, `tile height ${tile.height}`);
  assert.ok(tile.width > list.width * 0.9, 'one service a row');
  const tab = await page.locator('[data-testid=tab-me]').boundingBox();
  assert.ok(tab.height >= 48, `tab height ${tab.height}`);
  await shot(page, 'services-elder');

  await page.reload();
  await page.waitForSelector('[data-testid=service-hello]');
  assert.ok(await page.evaluate(() => document.documentElement.classList.contains('elder')), 'elder mode kept after reload');
  assert.ok((await bodyFontPx(page)) >= 20);

  // Back to the defaults.
  await openSettings(page);
  await page.uncheck('[data-testid=elder-mode]');
  await page.check('[data-testid=language-zh-CN]');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN' && !document.documentElement.classList.contains('elder'));
  assert.ok(CJK.test(await page.textContent('[data-testid=tabbar]')), 'Chinese again');
  assert.equal(await bodyFontPx(page), before);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the service grid has four tiles a row at phone width', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, '13900000202');
  await page.waitForSelector('[data-testid=service-hello]');
  const tops = await page.$$eval('.tiles', (lists) => {
    const list = lists.find((l) => l.children.length >= 4) || lists[0];
    return [...list.children].slice(0, 4).map((li) => Math.round(li.getBoundingClientRect().top));
  });
  if (tops.length === 4) assert.equal(new Set(tops).size, 1, `first four tiles share a row: ${tops}`);
  const width = await page.locator('.tiles li').first().boundingBox();
  assert.ok(width.width < 100, `a tile is a quarter of the row: ${width.width}px`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the sign-in page switches to English before signing in', async () => {
  const { context, page, errors } = await phone(browser);
  await page.goto(`${BASE}/#/login`);
  await page.waitForSelector('[data-testid=login-form]');
  await page.click('[data-testid=auth-language]');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('[data-testid=login-form]');
  const text = await page.textContent('#content');
  assert.ok(!CJK.test(text.replace('简体中文', '')), `sign-in page: ${text}`);
  await page.fill('[name=phone]', '123');
  await page.click('[data-testid=auth-submit]');
  const err = await page.textContent('.field-error:not([hidden])');
  assert.ok(err && !CJK.test(err), `field error in English: ${err}`);
  assert.deepEqual(errors, []);
  await context.close();
});
