// Navigation state and moves: the hash router's token (stale async results
// are dropped), the position in history for the back button, and the app
// paths a page may go to (always under /apps/{id}/).
import { safeDecode, str } from './util.js';

const state = {
  seq: 0, // bumped on every navigation
  depth: 0, // position in this tab's history
  focusPending: false, // move focus to the title once the page is mounted
  router: () => {},
};

/** Sets the function that renders the page for the current hash (main.js). */
export function setRouter(fn) { state.router = fn; }

/** Renders the page for the current hash. */
export function route() { return state.router(); }

/** Starts a navigation; returns its token. */
export function nextToken() { return ++state.seq; }

/** Is the navigation with this token still the current one? */
export function isCurrent(token) { return token === state.seq; }

/** The current navigation's token. */
export function currentToken() { return state.seq; }

/** Position in history (0 = the first page of this tab). */
export function depth() { return state.depth; }

/** Records the position in history. */
export function setDepth(d) { state.depth = d; }

/** Asks mount() to move focus to the page title (after a user navigation). */
export function requestFocus() { state.focusPending = true; }

/** True once after requestFocus(). */
export function takeFocus() {
  const f = state.focusPending;
  state.focusPending = false;
  return f;
}

/** Navigates to a hash (re-rendering if it is the current one). */
export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Navigates without leaving the current entry in history. */
export function replaceHash(hash) {
  history.replaceState({ depth: state.depth }, '', hash);
  route();
}

/** Goes back in history, or to `fallback` on the first page. */
export function back(fallback) {
  if (state.depth > 0) history.back();
  else go(fallback);
}

/** Sends the citizen to the sign-in page (unless already on sign-in or register). */
export function toLogin() {
  if (!/^#\/(login|register)\b/.test(location.hash)) replaceHash('#/login');
}

/** "/app/{id}/{path}" → fetchable "/apps/{id}/{path}", or null if it escapes the app. */
export function appUrl(id, path) {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || typeof path !== 'string' || !path.startsWith('/')) return null;
  const base = '/apps/' + id;
  let u;
  try { u = new URL(base + path, location.origin); } catch { return null; }
  if (u.origin !== location.origin || (u.pathname !== base && !u.pathname.startsWith(base + '/'))) return null;
  return u.pathname + u.search;
}

/** Opens a path of an app in the shell, if it stays inside the app. */
export function goApp(id, path) {
  if (appUrl(id, str(path))) go('#/app/' + id + path);
}

/** Records a new history entry for a hash without rendering it (the page is already shown). */
export function pushHash(hash) {
  history.pushState({ depth: ++state.depth }, '', hash);
}

/** Replaces the current history entry's hash without rendering it. */
export function replaceHashQuietly(hash) {
  history.replaceState({ depth: state.depth }, '', hash);
}

/** The current hash split into { raw, path, query, parts }. */
export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return { raw, path, query: q < 0 ? '' : raw.slice(q + 1), parts: path.split('/').filter(Boolean).map(safeDecode) };
}
