// Move-my-car in two real browser contexts (each its own cookies): citizen
// A (张三) asks the owner of 浙A12345 to move; the owner B (李四, who
// registered the plate and subscribed in the demo data of
// miniapps/move-my-car/cityhost.toml) has the inbox open and receives the
// message live over server-sent events — the unread badge and the list
// update without a reload — reads it and answers; A sees the request read
// and answered, and gets the answer live too. Screenshot names are listed
// in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, launch, login, nextContent, phone, shot, unreadBadge, viewButtons, waitForBadge } from './harness.mjs';

const APP = 'move-my-car';
/** 李四's plate, registered by the app's demo requests. */
const PLATE = '浙A12345';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Signs in and waits until the page's live inbox stream is open. */
async function signInLive(page, citizen) {
  const stream = page.waitForResponse((r) => r.url().endsWith('/api/inbox/stream') && r.status() === 200);
  await login(page, citizen.phone, citizen.password);
  await stream;
}

/** The requester's status line on the request page (the app's `状态` row). */
async function requestStatus(page) {
  await page.waitForSelector('[data-testid=view] [data-block=kv]');
  return (await page.locator('[data-testid=view] [data-block=kv] dd').last().textContent()).trim();
}

test('a citizen asks a car owner to move; the owner gets it live in another context and answers', async () => {
  const a = await phone(browser);
  const b = await phone(browser);
  await signInLive(a.page, DEMO.zhang);
  await signInLive(b.page, DEMO.li);

  // B has the inbox open; a marker on window shows the page is never reloaded.
  await b.page.click('[data-testid=tab-inbox]');
  await b.page.waitForSelector('#content[aria-busy=false] [data-testid=inbox-list]', { state: 'attached' });
  await b.page.evaluate(() => { window.sameDocument = true; });
  const bUnread = await unreadBadge(b.page);
  const bMessages = await b.page.locator('[data-testid=inbox-list] > li').count();

  // A asks the owner of the plate to move.
  await a.page.click(`[data-testid=service-${APP}]`);
  const form = a.page.locator('[data-testid=view] form', { has: a.page.locator('[name=note]') });
  await form.waitFor();
  await form.locator('[name=plate]').fill(PLATE);
  await form.locator('[name=location]').fill('文三路 90 号地下车库 B2-113');
  await form.locator('[name=note]').fill('您的车挡住了出口，麻烦挪一下');
  await shot(a.page, 'move-request-form');
  await nextContent(a.page, () => form.locator('[type=submit]').click());
  assert.equal(await a.page.locator('[data-testid=view] .alert-success').count(), 1, 'the app says the owner was notified');
  await shot(a.page, 'move-request-sent');

  // A subscribes to the owner's answer in the host's sheet.
  await nextContent(a.page, () => viewButtons(a.page, 'subscribe').click());
  await a.page.waitForURL(new RegExp(`#/subscribe/${APP}\\?templates=move-reply`));
  await a.page.waitForSelector('[data-testid=subscribe-sheet]');
  await shot(a.page, 'move-subscribe-sheet');
  await a.page.click('[data-testid=subscribe-confirm]');
  await a.page.waitForURL(new RegExp(`#/app/${APP}/$`));
  const link = a.page.locator('[data-testid=view] [data-block=link][href*="request?id="]').first();
  await link.waitFor();
  await link.click();
  const sent = await requestStatus(a.page);
  const aUnread = await unreadBadge(a.page);

  // B: the message arrives live.
  await waitForBadge(b.page, bUnread + 1);
  await b.page.waitForFunction((n) => document.querySelectorAll('[data-testid=inbox-list] > li').length === n, bMessages + 1);
  assert.equal(await b.page.evaluate(() => window.sameDocument), true, 'no reload');
  const message = b.page.locator('[data-testid=inbox-list] > li').first();
  assert.ok(await message.locator('.unread').count(), 'shown unread');
  assert.ok((await message.textContent()).includes(PLATE), 'about the plate');
  await shot(b.page, 'move-owner-inbox-live');
  await message.locator('[data-testid=inbox-item]').click();
  await waitForBadge(b.page, bUnread);
  assert.equal(await message.locator('.unread').count(), 0, 'read');
  assert.ok((await message.locator('[data-testid=inbox-body]').textContent()).includes('B2-113'), 'with the location');
  await shot(b.page, 'move-owner-message');

  // A sees the request read.
  await nextContent(a.page, () => a.page.reload());
  const read = await requestStatus(a.page);
  assert.notEqual(read, sent, `the status changes once the owner has read it: ${sent} → ${read}`);
  assert.match(read, /已读/);

  // B opens the request from the message and answers.
  await message.locator('[data-testid=inbox-open]').click();
  await b.page.waitForURL(new RegExp(`#/app/${APP}/request\\?id=`));
  await b.page.waitForSelector('[data-testid=view] [data-action=post]');
  await shot(b.page, 'move-owner-request');
  await nextContent(b.page, () => viewButtons(b.page, 'post').click());
  assert.equal(await b.page.locator('[data-testid=view] .alert-success').count(), 1, 'the answer is recorded');
  await shot(b.page, 'move-owner-replied');

  // A gets the answer live and sees it on the request page.
  await waitForBadge(a.page, aUnread + 1);
  await nextContent(a.page, () => a.page.reload());
  const replied = await requestStatus(a.page);
  assert.notEqual(replied, read);
  assert.match(replied, /已回复/);
  await shot(a.page, 'move-requester-status');
  await a.page.click('[data-testid=tab-inbox]');
  await a.page.waitForSelector('[data-testid=inbox-list] > li');
  assert.ok((await a.page.locator('[data-testid=inbox-list] > li').first().textContent()).includes(PLATE));
  await shot(a.page, 'move-requester-inbox');

  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await a.context.close();
  await b.context.close();
});
