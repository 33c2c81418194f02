// Languages of the shell: 简体中文 (default) and English. t(key, params)
// looks a text up in the current language's dictionary (i18n/*.js, same
// keys, checked at load); money and time are formatted per language, time
// always in Beijing time (Asia/Shanghai).
import en from './i18n/en.js';
import zh from './i18n/zh-CN.js';
import { str } from './util.js';

/** The languages the citizen can choose, by BCP 47 tag, with their own names. */
export const LANGUAGES = [
  { tag: 'zh-CN', name: '简体中文', dict: zh },
  { tag: 'en', name: 'English', dict: en },
];

/** The default language. */
export const DEFAULT_LANGUAGE = 'zh-CN';

/** Keys one dictionary has and the other lacks, as `tag: key` strings. */
export function missingKeys() {
  const all = new Set(LANGUAGES.flatMap((l) => Object.keys(l.dict)));
  return LANGUAGES.flatMap((l) => [...all].filter((k) => !Object.hasOwn(l.dict, k)).map((k) => `${l.tag}: ${k}`));
}

const missing = missingKeys();
if (missing.length) console.error(`CityHost shell dictionaries differ: ${missing.join(', ')}`);

let current = LANGUAGES[0];

/** The current language's tag ('zh-CN' or 'en'). */
export const language = () => current.tag;

/** Switches the language (an unknown tag means the default); returns the tag in use. */
export function useLanguage(tag) {
  current = LANGUAGES.find((l) => l.tag === tag) || LANGUAGES[0];
  return current.tag;
}

/** The text for key in the current language, with `{name}` replaced by params.name. */
export function t(key, params) {
  const text = Object.hasOwn(current.dict, key) ? current.dict[key] : Object.hasOwn(zh, key) ? zh[key] : key;
  if (!params) return text;
  return text.replace(/\{([A-Za-z0-9_]+)\}/g, (m, name) => (Object.hasOwn(params, name) ? str(params[name]) : m));
}

/** Does the dictionary have this key (for codes with an optional text)? */
export const has = (key) => Object.hasOwn(current.dict, key);

const moneyFormats = new Map();
const timeFormats = new Map();

/** Integer fen → "¥1,234.50" (zh-CN) or "CN¥1,234.50" (en); exact: the amount reaches Intl as a decimal string. */
export function yuan(fen) {
  const n = typeof fen === 'string' && /^-?\d+$/.test(fen) ? Number(fen) : fen;
  if (!Number.isSafeInteger(n)) return '—';
  const abs = Math.abs(n);
  const cents = abs % 100;
  const decimal = `${n < 0 ? '-' : ''}${(abs - cents) / 100}.${String(cents).padStart(2, '0')}`;
  if (!moneyFormats.has(current.tag)) {
    moneyFormats.set(current.tag, new Intl.NumberFormat(current.tag, { style: 'currency', currency: 'CNY' }));
  }
  return moneyFormats.get(current.tag).format(decimal);
}

/**
 * UTC milliseconds → Beijing time, whatever the device's time zone:
 * "2026-11-29 14:05" (zh-CN) or "29 Nov 2026, 14:05" (en). A string that
 * is not a number is shown as it is.
 */
export function fmtTime(ms) {
  if (typeof ms === 'string' && !/^\d+$/.test(ms)) return ms;
  const d = new Date(Number(ms));
  if (ms == null || Number.isNaN(d.getTime())) return '';
  if (!timeFormats.has(current.tag)) {
    timeFormats.set(current.tag, current.tag === 'en'
      ? new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short', hourCycle: 'h23' })
      : new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }));
  }
  const f = timeFormats.get(current.tag);
  if (current.tag === 'en') return f.format(d);
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** Fills the page's static texts: `data-i18n` (text) and `data-i18n-aria-label` (aria-label) under root. */
export function translateStatic(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-aria-label]')) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
}
