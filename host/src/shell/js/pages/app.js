// A mini-app page: fetches the app's answer for a path and shows it (a view,
// a host error, the real-name prompt, or plain text), posts forms back to
// the app and runs the actions of its buttons.
import { ApiError, loadApps, readJson, withCsrf } from '../api.js';
import { el, mount, notice, setTitle, withBusy } from '../dom.js';
import { defaultMessage, errorCard } from '../errors.js';
import { appUrl, go, goApp, isCurrent, nextToken, pushHash, replaceHashQuietly, toLogin } from '../nav.js';
import { arr, deptName, enc, str } from '../util.js';
import { renderView, VIEW_CT } from '../views.js';
import { assurancePrompt } from './verify.js';
import { language, t } from '../i18n.js';

let currentApp = { id: '', path: '/' };

/** `#/app/{id}{path}`: the app's answer for GET path. */
export async function pageApp(token, id, path) {
  setTitle(token, t('app.service'));
  currentApp = { id, path };
  const url = appUrl(id, path);
  if (!url) return mount(token, errorCard({ message: t('app.badAddress') }));
  let res;
  try {
    res = await fetch(url, { credentials: 'same-origin', headers: { Accept: VIEW_CT, 'Accept-Language': language() } });
  } catch {
    throw new ApiError(0, null);
  }
  await showAppResponse(token, id, res, false);
}

/** Renders any answer of a mini-app: a view, a host error, or plain text. */
async function showAppResponse(token, id, res, push) {
  const ct = str(res.headers.get('content-type')).toLowerCase();
  if (res.redirected && isCurrent(token)) syncRedirect(id, res.url, push);
  if (ct.startsWith(VIEW_CT)) {
    const view = await readJson(res);
    if (!view || typeof view !== 'object') return mount(token, errorCard({ message: t('app.badView') }));
    setTitle(token, str(view.title) || t('app.service'));
    const app = {
      id, path: currentApp.path,
      post: (p, params, button) => postToApp(id, p, params, button),
      run: (action, button) => runAction(id, action, button),
    };
    return mount(token, renderView(view, app), providerNote(id));
  }
  if (res.status === 401) return toLogin();
  const text = await res.text().catch(() => '');
  let json;
  if (ct.includes('json')) { try { json = JSON.parse(text); } catch { /* shown as text */ } }
  if (json && json.error && json.error.code === 'assurance_required') return mount(token, assurancePrompt(id, currentApp.path));
  if (json && json.error) return mount(token, errorCard(new ApiError(res.status, json), 'app'));
  setTitle(token, t('app.service'));
  mount(token, res.ok ? null : notice(defaultMessage(res.status), 'error'),
    el('pre', { class: 'plain', 'data-testid': 'plain' }, json !== undefined ? JSON.stringify(json, null, 2) : text));
}

/** After a redirect, point the hash at the final app path without fetching it again. */
function syncRedirect(id, finalUrl, push) {
  const base = '/apps/' + id;
  const u = new URL(finalUrl, location.origin);
  if (u.origin !== location.origin || (u.pathname !== base && !u.pathname.startsWith(base + '/'))) return;
  const path = (u.pathname.slice(base.length) || '/') + u.search;
  currentApp = { id, path };
  const hash = `#/app/${id}${path}`;
  if (hash === location.hash) return;
  if (push) pushHash(hash);
  else replaceHashQuietly(hash);
}

/** "Provided by {department}" under a view, filled in once the services list is at hand. */
function providerNote(id) {
  const p = el('p', { class: 'provider muted' });
  loadApps().then((apps) => {
    const app = apps.find((a) => str(a.id) === id);
    if (app && deptName(app.department)) p.textContent = t('app.providedBy', { dept: deptName(app.department) });
  }).catch(() => {});
  return p;
}

/** POSTs a form-encoded body to an app path and shows the answer. */
async function postToApp(id, path, params, button) {
  const url = appUrl(id, str(path) || currentApp.path.split('?')[0]);
  if (!url) return;
  const token = nextToken();
  let res;
  try {
    res = await withBusy(button, () => fetch(url, {
      method: 'POST', credentials: 'same-origin', body: params.toString(),
      headers: withCsrf('POST', { Accept: VIEW_CT, 'Accept-Language': language(), 'content-type': 'application/x-www-form-urlencoded' }),
    }));
  } catch {
    button.before(notice(defaultMessage(0), 'error'));
    return;
  }
  await showAppResponse(token, id, res, true);
}

/** Runs a button's action (docs/views.md): open, post, pay, consent, subscribe. */
function runAction(id, action, button) {
  const a = action && typeof action === 'object' ? action : {};
  switch (a.kind) {
    case 'open': return goApp(id, str(a.path));
    case 'post': {
      const body = new URLSearchParams();
      for (const [k, v] of Object.entries(a.body && typeof a.body === 'object' ? a.body : {})) body.append(k, str(v));
      return postToApp(id, str(a.path), body, button);
    }
    case 'pay': return go(`#/pay/${enc(str(a.order_id))}`);
    case 'consent': return go(`#/consent/${enc(id)}/${enc(str(a.scope))}?return=${enc(currentApp.path)}`);
    case 'subscribe': return go(`#/subscribe/${enc(id)}?templates=${enc(arr(a.templates).map(str).join(','))}&return=${enc(currentApp.path)}`);
    default: return undefined;
  }
}
