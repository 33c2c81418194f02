// Real-name verification in a real browser: a newly registered citizen (L1)
// opens a service that needs L2 (housing-fund) and is offered the host's
// real-name prompt; on the verification page they see each of the host's
// validation errors at its field, then verify as a resident of the host's
// population registry (the demo residents seeded by src/cli/demo.rs), are
// taken back to the service, and are L2 on 我的.
// Screenshot names are listed in docs/shell.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, fieldError, launch, phone, register, shot } from './harness.mjs';

/** A demo resident of the population registry who has no account yet. */
const RESIDENT = { name: '王五', idNumber: '330106199203041023' };

/** The check character of the first 17 digits, per GB 11643-1999 (ISO 7064 MOD 11-2). */
function checkCharacter(first17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i], 0);
  return '10X98765432'[sum % 11];
}

/** 17 digits completed with their correct check character. */
const withCheck = (first17) => first17 + checkCharacter(first17);

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Submits the verification form and waits for the host's answer to be shown. */
async function submit(page, name, idNumber) {
  await page.fill('[name=name]', name);
  await page.fill('[name=id_number]', idNumber);
  const answered = page.waitForResponse((r) => r.url().endsWith('/api/me/verification'));
  await page.click('[data-testid=verify-submit]');
  const response = await answered;
  await page.waitForFunction(() => !document.querySelector('[data-testid=verify-submit]')?.disabled);
  return response.status();
}

test('a new citizen sees each verification error at its field, then verifies to L2', async () => {
  const { context, page, errors } = await phone(browser);
  await register(page, '13900000401');
  await page.click('[data-testid=tab-me]');
  await page.waitForSelector('[data-testid=assurance]');
  assert.match(await page.textContent('[data-testid=assurance]'), /L1/);
  assert.ok(await page.isVisible('[data-testid=verify-start]'), '我的 offers verification');

  // A service that needs L2 answers the host's real-name prompt instead of its page.
  await page.click('[data-testid=tab-services]');
  await page.click('[data-testid=service-housing-fund]');
  await page.waitForSelector('[data-testid=assurance-prompt]');
  await shot(page, 'verify-prompt');
  await page.click('[data-testid=assurance-verify]');
  await page.waitForURL(/#\/verify\?app=housing-fund&return=/);
  await page.waitForSelector('[data-testid=verify-form]');
  await shot(page, 'verify-form');

  const base17 = RESIDENT.idNumber.slice(0, 17);
  const wrongCheck = base17 + (RESIDENT.idNumber[17] === '0' ? '1' : '0');
  const badBirthDate = withCheck('330106' + '19920230' + '102'); // 30 February
  const unknownProvince = withCheck('19' + base17.slice(2)); // no province has code 19
  assert.equal(checkCharacter(base17), RESIDENT.idNumber[17], 'the resident number is valid');

  // Each id_number error: [case, number, status]; all at the id_number field, each its own text.
  const idCases = [
    ['check character', wrongCheck, 400],
    ['birth date', badBirthDate, 400],
    ['province', unknownProvince, 400],
    ['length', base17, 400],
  ];
  const texts = new Map();
  for (const [what, number, status] of idCases) {
    assert.equal(await submit(page, RESIDENT.name, number), status, what);
    const text = await fieldError(page, 'id_number');
    assert.ok(text, `${what}: the error is shown at the identity-number field`);
    assert.equal(await fieldError(page, 'name'), '', `${what}: the name field is not blamed`);
    assert.equal(await page.isVisible('[data-testid=form-error]'), false, `${what}: no general error`);
    texts.set(what, text);
    if (what === 'check character') await shot(page, 'verify-error-check-character');
  }
  assert.equal(new Set(texts.values()).size, idCases.length, `each error says what is wrong: ${[...texts.values()]}`);

  // A name that is not a name, then a valid number under another name (the registry disagrees).
  assert.equal(await submit(page, 'Wang5', RESIDENT.idNumber), 400, 'name characters');
  assert.ok(await fieldError(page, 'name'), 'a malformed name is shown at the name field');
  assert.equal(await fieldError(page, 'id_number'), '');
  assert.equal(await submit(page, '王小五', RESIDENT.idNumber), 422, 'registry mismatch');
  const mismatch = await fieldError(page, 'name');
  assert.ok(mismatch, 'a registry mismatch is shown at the name field');
  assert.equal(await fieldError(page, 'id_number'), '');
  await shot(page, 'verify-error-mismatch');

  assert.equal(await submit(page, RESIDENT.name, RESIDENT.idNumber), 200, 'a registry resident verifies');
  // Back at the service, which now gets as far as asking for consent.
  await page.waitForURL(/#\/app\/housing-fund\/$/);
  await page.waitForSelector('[data-testid=view]');
  assert.equal(await page.isVisible('[data-testid=assurance-prompt]'), false);
  await page.click('[data-testid=tab-me]');
  await page.waitForSelector('[data-testid=profile-id]');
  assert.match(await page.textContent('[data-testid=assurance]'), /L2/);
  const name = await page.textContent('[data-testid=profile-name]');
  assert.ok(name.includes('五') && !name.includes(RESIDENT.name), `the name is shown masked: ${name}`);
  const id = await page.textContent('[data-testid=profile-id]');
  assert.ok(!id.includes(RESIDENT.idNumber.slice(6, 14)), `the identity number is shown masked: ${id}`);
  assert.equal(await page.isVisible('[data-testid=verify-start]'), false, 'nothing left to verify');
  await shot(page, 'verify-done-me');
  assert.deepEqual(errors, []);
  await context.close();
});

/**
 * A demo resident whom another account verifies first in the scenario below
 * (no other scenario verifies him: 王五 verifies above, 赵六 in social-insurance).
 */
const SQUATTED = { name: '买买提·艾力', idNumber: '440304199511200034' };

test('a citizen whose identity another account holds files an appeal from the verification page', async () => {
  // Someone else verifies with his name and number first.
  const first = await phone(browser);
  await register(first.page, '13900000402');
  await first.page.goto(`${BASE}/#/verify`);
  await first.page.waitForSelector('[data-testid=verify-form]');
  assert.equal(await submit(first.page, SQUATTED.name, SQUATTED.idNumber), 200);
  await first.context.close();

  const { context, page, errors } = await phone(browser);
  await register(page, '13900000403');
  await page.goto(`${BASE}/#/verify`);
  await page.waitForSelector('[data-testid=verify-form]');
  assert.equal(await submit(page, SQUATTED.name, SQUATTED.idNumber), 409);
  await page.waitForSelector('[data-testid=identity-held]');
  const held = await page.textContent('[data-testid=identity-held]');
  assert.match(held, /其他账号/);
  assert.match(held, /身份证原件/);
  await shot(page, 'verify-identity-held');

  const filed = page.waitForResponse((r) => r.url().endsWith('/api/me/verification/appeals') && r.request().method() === 'POST');
  await page.click('[data-testid=appeal-file]');
  assert.equal((await filed).status(), 202);
  await page.waitForSelector('[data-testid=appeal-status]');
  assert.match(await page.textContent('[data-testid=appeal-status]'), /等待人工复核/);
  await shot(page, 'verify-appeal-pending');

  // Coming back to the page later shows where the appeal stands.
  await page.reload();
  await page.waitForSelector('[data-testid=appeal-status]');
  assert.match(await page.textContent('[data-testid=appeal-status]'), /等待人工复核/);
  assert.deepEqual(errors, []);
  await context.close();
});
