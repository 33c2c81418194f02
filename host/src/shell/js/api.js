// Calls to the host's JSON API, its error type, and the cached list of
// services.
import { toLogin } from './nav.js';
import { arr, str } from './util.js';

/** An error answer of the host API (`{ error: { code, message, field, reason, error_id } }`). */
export class ApiError extends Error {
  constructor(status, body, handled = false, retryAfter = 0) {
    const e = (body && typeof body === 'object' && body.error && typeof body.error === 'object') ? body.error : {};
    super(str(e.message) || `HTTP ${status}`);
    this.serverMessage = str(e.message); // English, for people who debug; shown only as a detail
    this.status = status;
    this.code = str(e.code);
    this.field = str(e.field);
    this.reason = str(e.reason);
    this.errorId = str(e.error_id || (body && body.error_id));
    this.handled = handled; // already dealt with (redirected to login)
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After (0: not said)
  }
}

/** The body of a response as JSON, or null. */
export async function readJson(res) {
  try { return JSON.parse(await res.text()); } catch { return null; }
}

/** The session's CSRF token: the `cityhost_csrf` cookie set at sign-in (docs/security.md), or ''. */
export function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)cityhost_csrf=([^;]*)/);
  return m ? m[1] : '';
}

/** Adds the CSRF token to `headers` when `method` changes state (the host refuses such a call without it). */
export function withCsrf(method, headers) {
  const token = csrfToken();
  if (token && !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase())) headers['X-CSRF-Token'] = token;
  return headers;
}

/** Calls the host API. A 401 sends the citizen to the login page unless auth is false. */
export async function api(method, url, body, { auth = true } = {}) {
  const opts = { method, credentials: 'same-origin', headers: withCsrf(method, { Accept: 'application/json' }) };
  if (body !== undefined) {
    opts.headers['content-type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let res;
  try { res = await fetch(url, opts); } catch { throw new ApiError(0, null); }
  const data = await readJson(res);
  if (res.status === 401 && auth) {
    toLogin();
    throw new ApiError(401, data, true);
  }
  if (!res.ok) throw new ApiError(res.status, data, false, Number(res.headers.get('retry-after')) || 0);
  return data;
}

let appsCache = null; // Promise of the /api/apps list

/** The services the citizen can open (`GET /api/apps`), cached unless fresh. */
export function loadApps(fresh = false) {
  if (!appsCache || fresh) {
    appsCache = api('GET', '/api/apps').then(arr);
    appsCache.catch(() => { appsCache = null; });
  }
  return appsCache;
}

/** Drops the cached services (on sign-in and sign-out). */
export function forgetApps() { appsCache = null; }
