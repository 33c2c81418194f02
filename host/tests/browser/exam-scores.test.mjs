// 高考查分 in a real browser at phone size: the test plays the examinations
// authority (it moves the release time with the authority's token, as
// host/tests/all/browser.rs allows it to). Before the release 张三 finds
// the service under 浙江省 in the grid, reads when the scores come out
// (Beijing time), subscribes to the release message, agrees on the
// consent sheet and is told his scores are not out yet; a malformed exam
// number is refused, naming the field. The authority releases: the message
// arrives in the inbox, and 张三 reads his scores and the batch lines.
// Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, DEMO, launch, login, nextContent, phone, shot, unreadBadge, viewButtons, waitForBadge } from './harness.mjs';

const APP = 'exam-scores';
const AUTHORITY = process.env.CITYHOST_EXAM_AUTHORITY;
const AUTHORITY_TOKEN = process.env.CITYHOST_EXAM_AUTHORITY_TOKEN;
/** 张三's exam number in the authority's seed. */
const ZHANG_EXAM = '26330106000118';
/** 2027-06-25 12:00 Beijing time. */
const LATER = 1813896000000;
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

/** The authority sets the release time (its bearer token). */
async function releaseAt(at) {
  const r = await fetch(`${AUTHORITY}/authority/release`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${AUTHORITY_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ release_at: at }),
  });
  assert.equal(r.status, 200, await r.text());
}

/** Types an exam number into the view's form and submits it. */
async function submitNumber(page, number) {
  const form = page.locator('[data-testid=view] form');
  await form.locator('[name=exam_number]').fill(number);
  await nextContent(page, () => form.locator('[type=submit]').click());
}

test('a citizen subscribes before the release, gets the message and reads their scores', async () => {
  assert.ok(AUTHORITY && AUTHORITY_TOKEN, 'the authority is passed in by browser.rs');
  await releaseAt(LATER);
  const { context, page, errors } = await phone(browser);
  await login(page, DEMO.zhang.phone, DEMO.zhang.password);

  // The service sits with Zhejiang's province-level services.
  await page.click('[data-testid=division-open]');
  await pick(page, 'province', '33');
  await page.keyboard.press('Escape');
  await page.check('[data-testid=group-level]');
  await page.waitForSelector(`[data-testid=level-province] [data-testid=service-${APP}]`);
  await shot(page, 'exam-grid');

  // Before the release: when the scores come out.
  await nextContent(page, () => page.click(`[data-testid=service-${APP}]`));
  await page.waitForSelector('[data-testid=view] [data-block=kv]');
  assert.equal(await kv(page, '成绩发布时间'), '2027-06-25 12:00（北京时间）');
  await shot(page, 'exam-before-release');

  // Subscribe to the release message.
  await nextContent(page, () => viewButtons(page, 'open').first().click());
  await nextContent(page, () => viewButtons(page, 'subscribe').click());
  await page.waitForSelector('[data-testid=subscribe-sheet]');
  await page.click('[data-testid=subscribe-confirm]');
  await page.waitForSelector('[data-testid=view] .alert-success');
  assert.ok((await page.textContent('[data-testid=view] .alert-success')).includes('已订阅'));
  await shot(page, 'exam-subscribed');

  // Looking up asks for the identity number on the consent sheet.
  await nextContent(page, () => page.goto(`${BASE}/#/app/${APP}/lookup`));
  await nextContent(page, () => viewButtons(page, 'consent').click());
  await page.waitForSelector('[data-testid=consent-sheet]');
  assert.ok((await page.textContent('[data-testid=consent-purpose]')).includes('只向考生本人提供成绩'));
  await shot(page, 'exam-consent');
  await page.click('[data-testid=consent-grant]');
  await page.waitForURL(new RegExp(`#/app/${APP}/`));
  await page.waitForSelector('[data-testid=view] form [name=exam_number]');

  // A malformed number is refused, naming the field and its format, with
  // the form again.
  await submitNumber(page, '2633010600');
  const refused = await page.textContent('[data-testid=view]');
  assert.ok(refused.includes('exam_number') && refused.includes('14 位数字'), refused);
  await shot(page, 'exam-bad-number');

  // Not released yet: no scores, the time again.
  await submitNumber(page, ZHANG_EXAM);
  const early = await page.textContent('[data-testid=view]');
  assert.ok(early.includes('成绩尚未发布') && !early.includes('639'), early);

  // The authority releases now; the app's timer sends the message.
  const unread = await unreadBadge(page);
  await releaseAt(Date.now() - 1000);
  await nextContent(page, () => page.goto(`${BASE}/#/app/${APP}/`));
  await page.waitForSelector('[data-testid=view] [data-block=table]');
  await waitForBadge(page, unread + 1);
  await page.click('[data-testid=tab-inbox]');
  const message = page.locator('[data-testid=inbox-list] > li').first();
  await message.waitFor();
  await message.locator('[data-testid=inbox-item]').click();
  const body = await message.locator('[data-testid=inbox-body]').textContent();
  assert.ok(body.includes('2026 年浙江省普通高校招生考试成绩已发布'), body);
  await shot(page, 'exam-release-message');

  // 张三's scores: each subject, the total and the lines reached.
  await nextContent(page, () => page.goto(`${BASE}/#/app/${APP}/lookup`));
  await submitNumber(page, ZHANG_EXAM);
  const tables = await page.textContent('[data-testid=view]');
  for (const part of ['语文', '数学', '外语', '物理', '化学', '技术', '639', '普通类一段线', '已上线']) {
    assert.ok(tables.includes(part), `${part}: ${tables}`);
  }
  await shot(page, 'exam-scores');
  await page.locator('[data-testid=view] > *').last().scrollIntoViewIfNeeded();
  await shot(page, 'exam-scores-lines');

  assert.deepEqual(errors, []);
  await context.close();
});
