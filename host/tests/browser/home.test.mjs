// The services home in a real browser: the division picker over the real
// Zhejiang divisions (a place sees its own services and those of the levels
// above it), the choice kept across visits, grouping by level of
// government, and search by service or department name. Screenshot names
// are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, phone, register, shot } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const grid = '[data-testid=services-grid]';
/** A phone number no other scenario registers (they share one host). */
const newPhone = () => `137${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
const focused = (page) => page.evaluate(() => document.activeElement?.dataset.testid);
const count = (page, selector) => page.locator(selector).count();

/** Picks one level of the picker and waits for the grid of that place. */
async function pick(page, level, code) {
  const select = `[data-testid=division-${level}]`;
  await page.waitForSelector(`${select}:not([disabled]) option[value="${code}"]`, { state: 'attached' });
  await page.selectOption(select, code);
  await page.waitForSelector(`${grid}[data-division="${code}"]`);
}

test('a Tonglu citizen sees Tonglu, Hangzhou and province services; a Ningbo citizen does not see the first two', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, newPhone());
  // No place chosen yet: every service.
  await page.waitForSelector(`${grid}[data-division=""] [data-testid=service-tuition]`);

  // Opened from the keyboard: focus moves into the picker.
  await page.focus('[data-testid=division-open]');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('[data-testid=division-open]', 'aria-expanded'), 'true');
  await page.waitForFunction(() => document.activeElement?.dataset.testid === 'division-province');
  // Every select of the picker has a label.
  for (const level of ['province', 'city', 'county', 'township']) {
    const labels = await page.locator(`[data-testid=division-${level}]`).evaluate((s) => s.labels.length);
    assert.equal(labels, 1, `${level} select is labelled`);
  }
  await pick(page, 'province', '33');
  await pick(page, 'city', '3301');
  await pick(page, 'county', '330122');
  const place = await page.textContent('[data-testid=home-place]');
  assert.match(place, /浙江省 · 杭州市 · 桐庐县/);
  for (const id of ['tuition', 'utility-bills', 'hello-http']) {
    assert.ok(await page.isVisible(`[data-testid=service-${id}]`), `${id} is listed for Tonglu`);
  }
  // A township of Tonglu keeps them.
  await pick(page, 'township', '330122109');
  assert.ok(await page.isVisible('[data-testid=service-tuition]'));
  await page.selectOption('[data-testid=division-township]', '');
  await page.waitForSelector(`${grid}[data-division="330122"]`);
  await shot(page, 'services-picker');

  // Escape closes the picker and gives focus back to its button.
  await page.keyboard.press('Escape');
  assert.ok(await page.isHidden('[data-testid=division-panel]'));
  assert.equal(await focused(page), 'division-open');

  // Grouped by level of government.
  await page.check('[data-testid=group-level]');
  await page.waitForSelector('[data-testid=level-county] [data-testid=service-tuition]');
  assert.ok(await page.isVisible('[data-testid=level-city] [data-testid=service-utility-bills]'));
  assert.ok(await page.isVisible('[data-testid=level-province] [data-testid=service-hello-http]'));
  assert.equal(await count(page, '[data-testid^=category-]'), 0, 'no category groups in the level view');
  await shot(page, 'services-division');

  // The place and the grouping are remembered.
  await page.reload();
  await page.waitForSelector(`${grid}[data-division="330122"] [data-testid=level-county]`);
  assert.match(await page.textContent('[data-testid=home-place]'), /桐庐县/);
  assert.ok(await page.isChecked('[data-testid=group-level]'));

  // Another city: neither Tonglu's school nor Hangzhou's water company.
  await page.click('[data-testid=division-open]');
  await pick(page, 'city', '3302');
  assert.equal(await count(page, '[data-testid=service-tuition]'), 0);
  assert.equal(await count(page, '[data-testid=service-utility-bills]'), 0);
  assert.ok(await page.isVisible('[data-testid=service-hello-http]'), 'province-wide services stay');
  assert.equal(await page.inputValue('[data-testid=division-county]'), '', 'county cleared');
  assert.match(await page.textContent('[data-testid=home-place]'), /浙江省 · 宁波市$/);

  // Back to the category view; clearing the place lists everything again.
  await page.click('[data-testid=division-close]');
  await page.check('[data-testid=group-category]');
  await page.waitForSelector('[data-testid=category-public-data] [data-testid=service-hello-http]');
  await page.click('[data-testid=division-open]');
  await page.click('[data-testid=division-clear]');
  await page.waitForSelector(`${grid}[data-division=""] [data-testid=service-tuition]`);
  assert.deepEqual(errors, []);
  await context.close();
});

test('search finds services by department name, service name and description', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, newPhone());
  await page.waitForSelector('[data-testid=service-tuition]');
  const search = '[data-testid=service-search]';
  assert.equal(await page.locator(search).evaluate((i) => i.labels.length), 1, 'search is labelled');

  // By department name (桐庐县实验小学).
  await page.fill(search, '实验小学');
  await page.waitForSelector('[data-testid=service-utility-bills]', { state: 'detached' });
  assert.ok(await page.isVisible('[data-testid=service-tuition]'));
  // By department name again (杭州市水务集团有限公司).
  await page.fill(search, '水务');
  await page.waitForSelector('[data-testid=service-tuition]', { state: 'detached' });
  assert.ok(await page.isVisible('[data-testid=service-utility-bills]'));
  await shot(page, 'services-search');
  // By service name and by description.
  await page.fill(search, '挪车');
  await page.waitForSelector('[data-testid=service-move-my-car]');
  await page.fill(search, '缴存记录');
  await page.waitForSelector('[data-testid=service-housing-fund]');
  assert.equal(await count(page, '[data-testid=service-move-my-car]'), 0);
  // Latin letters ignore case.
  await page.fill(search, 'WASI');
  await page.waitForSelector('[data-testid=service-hello-http]');

  // Nothing matches: the empty state, and no grid of stale tiles.
  await page.fill(search, '没有这个服务');
  await page.waitForSelector('[data-testid=services-empty]');
  assert.equal(await count(page, '[data-testid^=service-][data-testid$=tuition]'), 0);
  assert.ok((await page.textContent('[data-testid=services-empty]')).includes('没有这个服务'), 'empty state names the query');

  // Cleared: every service again.
  await page.fill(search, '');
  await page.waitForSelector('[data-testid=service-tuition]');
  assert.equal(await count(page, '[data-testid=services-empty]'), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('in English and elder mode the place line, picker, search and levels speak English and are big enough to tap', async () => {
  const CJK = /[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]/;
  const english = (text, what) => assert.ok(text && !CJK.test(text), `${what}: ${text}`);
  const { context, page, errors } = await phone(browser);
  await register(page, newPhone());
  await page.waitForSelector('[data-testid=service-tuition]');
  await page.click('[data-testid=tab-me]');
  await page.click('[data-testid=settings-open]');
  await page.check('[data-testid=language-en]');
  await page.check('[data-testid=elder-mode]');
  await page.waitForFunction(() => document.documentElement.lang === 'en' && document.documentElement.classList.contains('elder'));
  await page.click('[data-testid=tab-services]');
  await page.waitForSelector(`${grid}[data-division=""] [data-testid=service-tuition]`);

  // No place chosen: the whole place line is the host's words.
  english(await page.textContent('[data-testid=home-bar]'), 'place line');
  const search = page.locator('[data-testid=service-search]');
  english(await search.getAttribute('placeholder'), 'search placeholder');
  english(await search.evaluate((i) => i.labels[0].textContent), 'search label');
  english(await page.textContent('.home-tools .segmented'), 'grouping');
  english(await page.textContent('[data-testid=services-count]'), 'count');

  // The picker: its legend, labels, "any" choices and buttons; the options are the divisions' own names.
  await page.click('[data-testid=division-open]');
  english(await page.getAttribute('[data-testid=division-panel]', 'aria-label'), 'picker name');
  await pick(page, 'province', '33');
  await pick(page, 'city', '3301');
  await pick(page, 'county', '330122');
  const picker = await page.locator('[data-testid=division-panel]').evaluate((panel) => {
    const own = panel.cloneNode(true);
    for (const option of own.querySelectorAll('option:not([value=""])')) option.remove();
    return own.textContent;
  });
  english(picker, 'picker');
  // Every control of the home page is at least 48px high in elder mode.
  for (const id of ['division-open', 'division-clear', 'division-close', 'division-province', 'division-township', 'service-search', 'group-category', 'group-level']) {
    const box = await page.locator(`[data-testid=${id}]`).boundingBox();
    assert.ok(box.height >= 48, `${id} is ${box.height}px high in elder mode`);
  }
  await shot(page, 'services-picker-elder-en');
  await page.click('[data-testid=division-close]');

  // With a place: the caption and button stay English beside the divisions' names.
  english(await page.textContent('.place-caption'), 'place caption');
  english(await page.textContent('[data-testid=division-open]'), 'change place');
  assert.match(await page.textContent('[data-testid=home-place]'), /桐庐县/);

  // Levels of government in English, each beside the name of the citizen's division at that level.
  await page.check('[data-testid=group-level]');
  await page.waitForSelector('[data-testid=level-county] [data-testid=service-tuition]');
  const headings = await page.$$eval('.category h2', (hs) => hs.map((h) => h.textContent));
  const LEVELS = ['Provincial', 'City', 'County', 'Township', 'Village', 'Other'];
  for (const h of headings) assert.ok(LEVELS.includes(h.split(' · ')[0]), `level heading: ${h}`);
  assert.ok(headings.includes('City · 杭州市') && headings.includes('County · 桐庐县'), headings.join(' | '));
  english(await page.textContent('[data-testid=services-count]'), 'count with a place');

  // Search: the count and the empty state are English and name the query.
  await page.fill('[data-testid=service-search]', 'no-such-service');
  await page.waitForSelector('[data-testid=services-empty]');
  const empty = await page.textContent('[data-testid=services-empty]');
  english(empty, 'no match');
  assert.ok(empty.includes('no-such-service'), empty);
  english(await page.textContent('[data-testid=services-count]'), 'search count');
  assert.deepEqual(errors, []);
  await context.close();
});
