// Browser harness for the citizen shell: launches Debian's Chromium through
// playwright-core against a host started by host/tests/all/browser.rs.
//
// Environment (set by the Rust test):
//   CITYHOST_BASE         http://127.0.0.1:{port} of the running host
//   CITYHOST_SCREENSHOTS  folder the screenshots of the main screens go to
//   CHROMIUM              the browser binary (default /usr/bin/chromium)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** The host under test. */
export const BASE = required('CITYHOST_BASE');
const SHOTS = required('CITYHOST_SCREENSHOTS');

/** Phone size the screenshots are taken at (CSS pixels). */
export const PHONE = { width: 390, height: 844 };
/** A desktop window. */
export const DESKTOP = { width: 1280, height: 800 };

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run through cargo test (host/tests/all/browser.rs)`);
  return v;
}

/**
 * Starts headless Chromium with the flags this machine needs (no background
 * networking: the network is closed and refused connections slow start-up).
 */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A fresh browser context (its own cookies) at phone size, Chinese locale,
 * with page errors collected: `errors` must stay empty for a test to pass.
 */
export async function phone(browser, { viewport = PHONE, locale = 'zh-CN' } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 2, locale });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) errors.push(m.text()); });
  page.on('dialog', (d) => { errors.push(`unexpected dialog: ${d.message()}`); d.dismiss(); });
  return { context, page, errors };
}

/** Saves a screenshot of the page as `{name}.png` in the screenshots folder. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** The one-time code in the newest development SMS to a number (`/dev/sms.json`). */
export async function smsCode(phoneNumber) {
  const messages = await (await fetch(`${BASE}/dev/sms.json`)).json();
  const newest = messages.find((m) => m.phone === phoneNumber);
  if (!newest || !newest.params.code) throw new Error(`no code was sent to ${phoneNumber}`);
  return newest.params.code;
}

/** Registers a new citizen through the shell's form (asking for the SMS code and typing it in) and lands on the services page. */
export async function register(page, phoneNumber, password = 'cityhost-test-pw') {
  await page.goto(`${BASE}/#/register`);
  await page.fill('[name=phone]', phoneNumber);
  await page.click('[data-testid=send-code]');
  await page.waitForSelector('[data-testid=code-sent]');
  await page.fill('[name=code]', await smsCode(phoneNumber));
  await page.fill('[name=password]', password);
  await page.click('[data-testid=auth-submit]');
  await page.waitForURL(/#\/$/);
}

/** Logs a citizen in through the shell's form. */
export async function login(page, phoneNumber, password) {
  await page.goto(`${BASE}/#/login`);
  await page.fill('[name=phone]', phoneNumber);
  await page.fill('[name=password]', password);
  await page.click('[data-testid=auth-submit]');
  await page.waitForURL(/#\/$/);
}

/** The demo citizens seeded by `cityhost demo` (src/cli/demo.rs). */
export const DEMO = {
  zhang: { phone: '13800000001', password: 'cityhost-demo' },
  li: { phone: '13800000002', password: 'cityhost-demo' },
};

/**
 * Runs `act` (a click or a form submission) and waits until the shell has
 * put new content in place of the current page: a mini-app view answered to
 * a post, a new route, an error card.
 */
export async function nextContent(page, act) {
  await page.$$eval('#content > *', (nodes) => nodes.forEach((n) => { n.dataset.stale = '1'; }));
  await act();
  await page.waitForSelector('#content[aria-busy=false] > :not([data-stale])');
}

/**
 * The mini-app view's buttons (`button` blocks), in order; with `action`,
 * only those whose action is of that kind (`open`, `post`, `pay`,
 * `consent`, `subscribe`).
 */
export function viewButtons(page, action) {
  return page.locator(`[data-testid=view] > [data-block=button]${action ? `[data-action=${action}]` : ''}`);
}

/** The number on the inbox tab's unread badge (0 while it is hidden). */
export async function unreadBadge(page) {
  return page.$eval('[data-testid=unread-badge]', (b) => (b.hidden ? 0 : Number(b.textContent)));
}

/** Waits until the inbox tab's unread badge shows `n`. */
export async function waitForBadge(page, n) {
  await page.waitForFunction((want) => {
    const b = document.querySelector('[data-testid=unread-badge]');
    return b && (b.hidden ? 0 : Number(b.textContent)) === want;
  }, n);
}

/**
 * The error shown at the form field named `name` (the element its
 * aria-describedby points to), or '' when the field is not marked invalid.
 */
export async function fieldError(page, name) {
  return page.$eval(`[name="${name}"]`, (input) => {
    if (input.getAttribute('aria-invalid') !== 'true') return '';
    const err = document.getElementById(input.getAttribute('aria-describedby'));
    return err && !err.hidden ? err.textContent.trim() : '';
  });
}
