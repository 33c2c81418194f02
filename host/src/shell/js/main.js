// CityHost citizen shell: the hash router and start-up. Each page lives in
// pages/, the renderer of mini-app views in views.js (docs/views.md).
import { api } from './api.js';
import { el, mount, notice, setTitle, showLoading } from './dom.js';
import { errorCard } from './errors.js';
import { connectLive, isLive, refreshBadge } from './live.js';
import { back, depth, nextToken, parseHash, replaceHash, requestFocus, setDepth, setRouter } from './nav.js';
import { pageApp } from './pages/app.js';
import { pageAuth } from './pages/auth.js';
import { pageConsent } from './pages/consent.js';
import { pageInbox } from './pages/inbox.js';
import { pageMe } from './pages/me.js';
import { pageOrders, pageReceipt } from './pages/orders.js';
import { pagePay } from './pages/pay.js';
import { pageServices } from './pages/services.js';
import { pageSubscribe, pageSubscriptions } from './pages/subscribe.js';
import { pageVerify } from './pages/verify.js';
import { safeDecode } from './util.js';
import { t, translateStatic } from './i18n.js';
import { applyPreferences } from './prefs.js';
import { pageSettings } from './pages/settings.js';

const TOP_TABS = { '/': 'services', '/inbox': 'inbox', '/orders': 'orders', '/me': 'me' };

const $back = document.getElementById('back');
const $tabbar = document.getElementById('tabbar');

/** The page for a parsed hash: a function of the navigation token. */
function handlerFor(r) {
  const [first, ...rest] = r.parts;
  if (r.path === '/' || !first) return pageServices;
  if (first === 'login' || first === 'register') return (token) => pageAuth(token, first);
  if (first === 'inbox') return pageInbox;
  if (first === 'orders' && rest.length === 1) return (token) => pageReceipt(token, rest[0]);
  if (first === 'orders') return pageOrders;
  if (first === 'me') return pageMe;
  if (first === 'verify') return (token) => pageVerify(token, r.query);
  if (first === 'pay' && rest.length === 1) return (token) => pagePay(token, rest[0]);
  if (first === 'consent' && rest.length === 2) return (token) => pageConsent(token, rest[0], rest[1], r.query);
  if (first === 'subscribe' && rest.length === 1) return (token) => pageSubscribe(token, rest[0], r.query);
  if (first === 'subscriptions') return pageSubscriptions;
  if (first === 'settings') return pageSettings;
  if (first === 'app' && rest.length >= 1) {
    const m = /^\/app\/([^/?]+)(.*)$/.exec(r.raw);
    return (token) => pageApp(token, safeDecode(m[1]), m[2] ? (m[2].startsWith('/') ? m[2] : '/' + m[2]) : '/');
  }
  return (token) => { setTitle(token, t('page.notFoundTitle')); mount(token, notice(t('page.notFound')), el('a', { class: 'btn btn-secondary', href: '#/' }, t('common.backToServices'))); };
}

/** Renders the page for the current hash: header, tab bar, then the page itself. */
async function route() {
  const token = nextToken();
  const r = parseHash();
  const isAuth = r.parts[0] === 'login' || r.parts[0] === 'register';
  const tab = TOP_TABS[r.path];
  $tabbar.hidden = isAuth;
  $back.hidden = isAuth || Boolean(tab);
  for (const a of $tabbar.querySelectorAll('a')) {
    if (a.dataset.tab === (tab || (r.parts[0] === 'app' ? 'services' : ''))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  showLoading(t('page.loading'));
  if (!isAuth && r.path !== '/inbox' && !isLive()) refreshBadge(); // the inbox page and the live stream set it themselves
  try {
    await handlerFor(r)(token);
  } catch (e) {
    if (!e.handled) mount(token, errorCard(e, r.parts[0]));
  }
}

setRouter(route);

// Language and elder mode before anything is rendered; another tab's change applies here too.
applyPreferences();
translateStatic();
window.addEventListener('storage', (ev) => {
  if (!ev.key || !ev.key.startsWith('cityhost.')) return;
  applyPreferences();
  translateStatic();
  route();
});

$back.addEventListener('click', () => back('#/'));

window.addEventListener('hashchange', () => {
  if (!history.state || typeof history.state.depth !== 'number') history.replaceState({ depth: depth() + 1 }, '');
  setDepth(history.state.depth);
  requestFocus();
  route();
});
window.addEventListener('popstate', () => {
  if (history.state && typeof history.state.depth === 'number') setDepth(history.state.depth);
});

async function start() {
  setDepth(history.state && typeof history.state.depth === 'number' ? history.state.depth : 0);
  if (!location.hash || location.hash === '#') history.replaceState({ depth: depth() }, '', '#/');
  else history.replaceState({ depth: depth() }, '');
  const publicPage = /^#\/(login|register|settings)\b/.test(location.hash);
  if (!publicPage) {
    try {
      await api('GET', '/api/me', undefined, { auth: false });
      connectLive();
    } catch (e) {
      if (e.status === 401) return replaceHash('#/login');
    }
  }
  route();
}

start();
