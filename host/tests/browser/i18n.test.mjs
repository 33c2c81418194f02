// The shell's dictionaries: both languages have the same keys, and every
// key the shell's modules and index.html name literally is in them. Runs
// in Node (no browser): the dictionaries are plain ES modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SHELL = new URL('../../src/shell/', import.meta.url).pathname;
const zh = (await import(join(SHELL, 'js/i18n/zh-CN.js'))).default;
const en = (await import(join(SHELL, 'js/i18n/en.js'))).default;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test('both languages have the same keys and no empty text', () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(zh).sort());
  for (const [key, text] of [...Object.entries(zh), ...Object.entries(en)]) assert.ok(text, key);
  for (const [key, text] of Object.entries(en)) assert.ok(!/[\u3400-\u9fff]/.test(text), `en ${key}: ${text}`);
});

test('every {param} of a text is in both languages', () => {
  const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(zh)) assert.deepEqual(params(en[key]), params(zh[key]), key);
});

test('every key the shell names is in the dictionaries', () => {
  const used = new Set();
  for (const path of files(SHELL).filter((p) => /\.(js|html)$/.test(p) && !p.includes('/i18n/'))) {
    const src = readFileSync(path, 'utf8');
    for (const m of src.matchAll(/\bt\('([^']+)'/g)) used.add(m[1]);
    for (const m of src.matchAll(/data-i18n(?:-aria-label)?="([^"]+)"/g)) used.add(m[1]);
  }
  assert.ok(used.size > 100, `found ${used.size} keys`);
  const missing = [...used].filter((k) => !Object.hasOwn(zh, k));
  assert.deepEqual(missing, []);
});
