// The citizen's display preferences on this device: language and elder
// mode (长辈模式), kept in localStorage and applied to <html> (`lang`, the
// `elder` class). boot.js applies the stored ones before the first paint.
import { DEFAULT_LANGUAGE, useLanguage } from './i18n.js';

/** localStorage keys (also read by boot.js). */
const KEYS = { language: 'cityhost.language', elder: 'cityhost.elder' };

function read(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

function write(key, value) {
  try { localStorage.setItem(key, value); } catch { /* private mode: this visit only */ }
}

/** The stored preferences: { language: 'zh-CN' | 'en', elder: boolean }. */
export function preferences() {
  return { language: read(KEYS.language) || DEFAULT_LANGUAGE, elder: read(KEYS.elder) === '1' };
}

/** Applies preferences to the shell and <html>; returns the preferences in use. */
export function applyPreferences(prefs = preferences()) {
  const language = useLanguage(prefs.language);
  const root = document.documentElement;
  root.lang = language;
  root.classList.toggle('elder', Boolean(prefs.elder));
  root.classList.remove('i18n-pending');
  return { language, elder: Boolean(prefs.elder) };
}

/** Stores and applies a change ({ language } and/or { elder }); returns the preferences in use. */
export function savePreferences(change) {
  const next = { ...preferences(), ...change };
  write(KEYS.language, next.language);
  write(KEYS.elder, next.elder ? '1' : '0');
  return applyPreferences(next);
}
