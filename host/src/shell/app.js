// CityHost citizen shell: hash router, host pages (services, inbox, orders,
// me, login, payment and consent sheets) and the renderer for mini-app views
// (docs/views.md). Mini-apps are untrusted: everything they send is put into
// the page with textContent / attribute values we choose, never as HTML, and
// every app path is checked to stay under /apps/{id}/.
'use strict';
(() => {
  const VIEW_CT = 'application/vnd.cityhost.view+json';
  const CATEGORIES = [
    ['utilities', '生活缴费'], ['housing', '住房'], ['social-security', '社保'],
    ['health', '医疗健康'], ['transport', '交通出行'], ['education', '教育'],
    ['public-data', '公共数据'], ['government-affairs', '政务办事'],
  ];
  const ORDER_STATES = { created: '待支付', paid: '已支付', cancelled: '已取消', expired: '已过期', partially_refunded: '部分退款', refunded: '已退款' };
  const PAID_STATES = ['paid', 'partially_refunded', 'refunded'];
  const TOP_TABS = { '/': 'services', '/inbox': 'inbox', '/orders': 'orders', '/me': 'me' };
  const SCOPES = {
    auth_base: '应用内用户标识',
    auth_user: '基本身份信息（脱敏姓名、脱敏身份证号、认证等级）',
    auth_id_number: '姓名和完整身份证号',
  };
  const ASSURANCE = { 1: 'L1 手机号认证', 2: 'L2 实名认证' };
  /** Real-name verification errors by field and reason (see docs/identity.md). */
  const VERIFY_ERRORS = {
    name: { length: '姓名应为 2–30 个字', characters: '请填写户口簿上的中文姓名，少数民族姓名各部分之间用“·”分隔' },
    id_number: {
      format: '身份证号应为 18 位：17 位数字加 1 位数字或 X',
      birth_date: '身份证号第 7–14 位的出生日期无效',
      province: '身份证号前两位的省份代码不存在',
      check_character: '身份证号最后一位校验码不正确，请核对',
      already_verified: '您的账号已完成实名认证，不能更换身份信息',
    },
  };
  const PHONE_HINT = '请输入以 13–19 开头的 11 位手机号';
  const PASSWORD_HINT = '密码长度应为 8–128 位';

  const $title = document.getElementById('title');
  const $content = document.getElementById('content');
  const $back = document.getElementById('back');
  const $tabbar = document.getElementById('tabbar');
  const $badge = document.getElementById('unread-badge');
  const $unreadSr = document.getElementById('unread-sr');

  let seq = 0; // bumped on every navigation; stale async results are dropped
  let depth = 0; // position in this tab's history, for the back button
  let focusPending = false;
  let uid = 0;
  let appsCache = null; // Promise of the /api/apps list
  let currentApp = { id: '', path: '/' };

  // ---------- small helpers ----------

  const str = (v) => (v == null ? '' : String(v));
  const enc = encodeURIComponent;
  const arr = (v) => (Array.isArray(v) ? v : []);

  /** Builds an element. props: class, text, on* listeners, other keys become attributes. */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value == null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(str(child)));
    }
    return node;
  }

  /** Integer fen → "¥123.45", with integer arithmetic only. */
  function yuan(fen) {
    const n = typeof fen === 'string' && /^-?\d+$/.test(fen) ? Number(fen) : fen;
    if (!Number.isSafeInteger(n)) return '—';
    const abs = Math.abs(n);
    const cents = abs % 100;
    return `${n < 0 ? '-' : ''}¥${(abs - cents) / 100}.${String(cents).padStart(2, '0')}`;
  }

  const BEIJING = new Intl.DateTimeFormat('en-US', {
    timeZone: 'Asia/Shanghai', hourCycle: 'h23',
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });

  /** UTC milliseconds → Beijing time "YYYY-MM-DD HH:mm", whatever the device's time zone. */
  function fmtTime(ms) {
    if (typeof ms === 'string' && !/^\d+$/.test(ms)) return ms;
    const d = new Date(Number(ms));
    if (ms == null || Number.isNaN(d.getTime())) return '';
    const p = Object.fromEntries(BEIJING.formatToParts(d).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }

  const scopeLabel = (s) => SCOPES[str(s)] || str(s);

  const deptName = (d) => (d && typeof d === 'object' ? str(d.name) : str(d));
  const categoryLabel = (c) => (CATEGORIES.find(([k]) => k === c) || [c, c || '其他'])[1];

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, body, handled = false) {
      const e = (body && typeof body === 'object' && body.error && typeof body.error === 'object') ? body.error : {};
      super(str(e.message) || defaultMessage(status));
      this.serverMessage = str(e.message); // English, for people who debug; shown only as a detail
      this.status = status;
      this.code = str(e.code);
      this.field = str(e.field);
      this.reason = str(e.reason);
      this.errorId = str(e.error_id || (body && body.error_id));
      this.handled = handled; // already dealt with (redirected to login)
    }
  }

  function defaultMessage(status) {
    if (status === 0) return '网络连接失败，请检查网络后重试';
    if (status === 403) return '没有权限访问';
    if (status === 404) return '找不到请求的内容';
    if (status >= 500) return '服务暂时不可用，请稍后再试';
    return `请求失败（${status}）`;
  }

  const NOT_FOUND = { order: '该订单', pay: '该订单', app: '该服务', consent: '该服务', inbox: '该消息', subscribe: '该订阅' };

  /**
   * The one place that turns an API error into Chinese for citizens.
   * ctx names the page ('login', 'register', 'pay', 'consent', 'app', 'inbox', ...).
   * Returns { text, detail }: detail is the server's own (English) message, set only
   * for codes this shell does not know.
   */
  function errorText(err, ctx = '') {
    if (err instanceof Error && !(err instanceof ApiError)) return { text: '页面出错了，请重试', detail: str(err.message) };
    if (!(err instanceof ApiError)) return { text: str(err && err.message) || '请求失败', detail: '' };
    const { status, code, field } = err;
    const known = (() => {
      switch (code) {
        case 'unauthenticated': return ctx === 'login' ? '手机号或密码错误' : '登录已失效，请重新登录';
        case 'invalid_argument':
          if (VERIFY_ERRORS[field] && VERIFY_ERRORS[field][err.reason]) return VERIFY_ERRORS[field][err.reason];
          if (field === 'phone') return PHONE_HINT;
          if (field === 'password') return PASSWORD_HINT;
          return null;
        case 'conflict':
          if (field === 'phone') return '该手机号已注册';
          if (field === 'id_number') return VERIFY_ERRORS.id_number[err.reason] || '该身份证号已被其他账号实名认证';
          if (field === 'state') return '该订单已支付或已失效';
          return null;
        case 'not_found': return `未找到${NOT_FOUND[ctx] || '请求的内容'}`;
        case 'rate_limited': return '尝试次数过多，请稍后再试';
        case 'forbidden': return ctx === 'consent' ? '该服务无权申请此授权' : null;
        case 'app_failed': case 'app_response_too_large': return '服务出错了';
        case 'app_memory_exceeded': return '服务占用资源过多，已被停止';
        case 'app_timeout': return '服务响应超时';
        case 'host_busy': return '平台繁忙，请稍后再试';
        case 'payload_too_large': return '提交的内容过大';
        case 'insufficient_funds': return '银行卡余额不足，请更换支付方式或充值后再试';
        case 'wrong_pin': return '支付密码错误';
        case 'payment_locked': return '支付密码错误次数过多，支付已锁定，请 15 分钟后再试';
        case 'pin_not_set': return '请先设置支付密码';
        case 'pin_already_set': return '支付密码已设置';
        case 'identity_mismatch': return '姓名与身份证号不匹配，请核对后重试';
        case 'assurance_required': return '该服务需要先完成实名认证';
        default: return null;
      }
    })();
    if (known) return { text: known, detail: '' };
    let text = defaultMessage(status);
    if (status === 400) text = '提交的信息有误，请检查后重试';
    else if (status === 409) text = '操作未能完成，请刷新后重试';
    else if (status === 429) text = '操作过于频繁，请稍后再试';
    return { text, detail: err.serverMessage };
  }

  /** The detail lines under an error: the server's message (unknown codes only) and the error id. */
  function errorExtras(err, detail) {
    return [
      detail ? el('span', { class: 'error-detail', 'data-testid': 'error-detail', lang: 'en' }, detail) : null,
      err && err.errorId ? el('span', { class: 'error-detail' }, '错误编号：', el('code', { 'data-testid': 'error-id' }, err.errorId)) : null,
    ];
  }

  /** An inline error notice for an API error. */
  function errorNotice(err, ctx) {
    const { text, detail } = errorText(err, ctx);
    return el('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'error-notice' },
      el('span', { 'data-testid': 'error-message' }, text), ...errorExtras(err, detail));
  }

  async function readJson(res) {
    try { return JSON.parse(await res.text()); } catch { return null; }
  }

  /** Calls the host API. A 401 sends the citizen to the login page unless auth is false. */
  async function api(method, url, body, { auth = true } = {}) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
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
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  function loadApps(fresh = false) {
    if (!appsCache || fresh) {
      appsCache = api('GET', '/api/apps').then(arr);
      appsCache.catch(() => { appsCache = null; });
    }
    return appsCache;
  }

  // ---------- navigation ----------

  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  /** Navigates without leaving the current entry in history. */
  function replaceHash(hash) {
    history.replaceState({ depth }, '', hash);
    route();
  }

  function toLogin() {
    if (!/^#\/(login|register)\b/.test(location.hash)) replaceHash('#/login');
  }

  /** "/app/{id}/{path}" → fetchable "/apps/{id}/{path}", or null if it escapes the app. */
  function appUrl(id, path) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || typeof path !== 'string' || !path.startsWith('/')) return null;
    const base = '/apps/' + id;
    let u;
    try { u = new URL(base + path, location.origin); } catch { return null; }
    if (u.origin !== location.origin || (u.pathname !== base && !u.pathname.startsWith(base + '/'))) return null;
    return u.pathname + u.search;
  }

  function goApp(id, path) {
    if (appUrl(id, str(path))) go('#/app/' + id + path);
  }

  function parseHash() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    return { raw, path, query: q < 0 ? '' : raw.slice(q + 1), parts: path.split('/').filter(Boolean).map(safeDecode) };
  }

  function safeDecode(s) {
    try { return decodeURIComponent(s); } catch { return s; }
  }

  function handlerFor(r) {
    const [first, ...rest] = r.parts;
    if (r.path === '/' || !first) return (t) => pageServices(t);
    if (first === 'login' || first === 'register') return (t) => pageAuth(t, first);
    if (first === 'inbox') return (t) => pageInbox(t);
    if (first === 'orders' && rest.length === 1) return (t) => pageReceipt(t, rest[0]);
    if (first === 'orders') return (t) => pageOrders(t);
    if (first === 'me') return (t) => pageMe(t);
    if (first === 'verify') return (t) => pageVerify(t, r.query);
    if (first === 'pay' && rest.length === 1) return (t) => pagePay(t, rest[0]);
    if (first === 'consent' && rest.length === 2) return (t) => pageConsent(t, rest[0], rest[1], r.query);
    if (first === 'subscribe' && rest.length === 1) return (t) => pageSubscribe(t, rest[0], r.query);
    if (first === 'subscriptions') return (t) => pageSubscriptions(t);
    if (first === 'app' && rest.length >= 1) {
      const m = /^\/app\/([^/?]+)(.*)$/.exec(r.raw);
      return (t) => pageApp(t, safeDecode(m[1]), m[2] ? (m[2].startsWith('/') ? m[2] : '/' + m[2]) : '/');
    }
    return (t) => { setTitle(t, '页面不存在'); mount(t, notice('找不到这个页面。'), el('a', { class: 'btn btn-secondary', href: '#/' }, '返回服务')); };
  }

  async function route() {
    const token = ++seq;
    const r = parseHash();
    const isAuth = r.parts[0] === 'login' || r.parts[0] === 'register';
    const tab = TOP_TABS[r.path];
    $tabbar.hidden = isAuth;
    $back.hidden = isAuth || Boolean(tab);
    for (const a of $tabbar.querySelectorAll('a')) {
      if (a.dataset.tab === (tab || (r.parts[0] === 'app' ? 'services' : ''))) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    $content.setAttribute('aria-busy', 'true');
    $content.replaceChildren(el('p', { class: 'loading', role: 'status' }, '加载中…'));
    if (!isAuth && r.path !== '/inbox' && !live) refreshBadge(); // the inbox page and the live stream set it themselves
    try {
      await handlerFor(r)(token);
    } catch (e) {
      if (!e.handled) mount(token, errorCard(e, r.parts[0]));
    }
  }

  /** Replaces the page content if this navigation is still current. */
  function mount(token, ...nodes) {
    if (token !== seq) return false;
    // Optional parts of a page are passed as null: leave them out.
    $content.replaceChildren(...nodes.filter((n) => n != null && n !== false));
    $content.setAttribute('aria-busy', 'false');
    window.scrollTo(0, 0);
    if (focusPending) {
      focusPending = false;
      $title.focus({ preventScroll: true });
    }
    return true;
  }

  function setTitle(token, text) {
    if (token !== seq) return;
    $title.textContent = text;
    document.title = `${text} · CityHost 城市服务`;
  }

  async function refreshBadge() {
    try {
      const data = await api('GET', '/api/inbox/unread', undefined, { auth: false });
      setBadge(data && data.unread);
    } catch { /* badge is best effort */ }
  }

  function setBadge(unread) {
    const n = Math.max(0, Math.trunc(Number(unread) || 0));
    $badge.hidden = n === 0;
    $badge.textContent = n > 99 ? '99+' : String(n);
    $unreadSr.textContent = n ? `，${n} 条未读` : '';
  }

  // ---------- shared pieces ----------

  function notice(text, level = 'info') {
    return el('p', { class: `alert alert-${level}`, role: level === 'error' ? 'alert' : null }, text);
  }

  function errorCard(err, ctx) {
    const { text, detail } = errorText(err, ctx);
    return el('section', { class: 'card error-card', role: 'alert', 'data-testid': 'error-card' },
      el('h2', {}, '出错了'),
      el('p', { 'data-testid': 'error-message' }, text),
      ...errorExtras(err, detail),
      el('button', { type: 'button', class: 'btn btn-secondary', onclick: () => route() }, '重试'));
  }

  /** A label + control + error line; returns the wrapper and a setter for the error. */
  function fieldWrap(labelText, control, required) {
    const id = control.id || (control.id = `f${++uid}`);
    const err = el('p', { class: 'field-error', id: `${id}-err`, hidden: true });
    control.setAttribute('aria-describedby', err.id);
    const label = el('label', { for: id }, labelText, required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
    const wrap = el('div', { class: 'field' }, label, control, err);
    const setError = (msg) => {
      err.textContent = msg || '';
      err.hidden = !msg;
      if (msg) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    };
    return { wrap, setError };
  }

  function platformBadge(text) {
    return el('p', { class: 'platform-badge' }, el('span', { class: 'shield', 'aria-hidden': 'true' }, '✓'), text);
  }

  function kvList(pairs) {
    return el('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== '' && v != null)
      .map(([k, v]) => el('div', { class: 'kv-row' }, el('dt', {}, k), el('dd', {}, str(v)))));
  }

  async function withBusy(button, fn) {
    button.disabled = true;
    try { return await fn(); } finally { button.disabled = false; }
  }

  // ---------- login / register ----------

  function pageAuth(token, mode) {
    const isLogin = mode === 'login';
    setTitle(token, isLogin ? '登录' : '注册');
    const top = el('div', { class: 'form-error', hidden: true, 'data-testid': 'form-error' });
    const phone = el('input', { name: 'phone', type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 11, placeholder: '11 位手机号', required: true });
    const password = el('input', { name: 'password', type: 'password', autocomplete: isLogin ? 'current-password' : 'new-password', placeholder: '请输入密码', required: true });
    const fields = { phone: fieldWrap('手机号', phone, true), password: fieldWrap('密码', password, true) };
    const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'auth-submit' }, isLogin ? '登录' : '注册');

    const showErrors = (errs, general) => {
      for (const [name, f] of Object.entries(fields)) f.setError(errs[name]);
      top.replaceChildren(...(general ? [general] : []));
      top.hidden = !general;
    };
    const onsubmit = async (ev) => {
      ev.preventDefault();
      const errs = {};
      if (!/^1[3-9]\d{9}$/.test(phone.value.trim())) errs.phone = PHONE_HINT;
      if (!password.value) errs.password = '请输入密码';
      else if (!isLogin && (Array.from(password.value).length < 8 || Array.from(password.value).length > 128)) errs.password = PASSWORD_HINT;
      showErrors(errs, null);
      if (Object.keys(errs).length) return (errs.phone ? phone : password).focus();
      try {
        await withBusy(submit, () => api('POST', `/api/${mode}`, { phone: phone.value.trim(), password: password.value }, { auth: false }));
        appsCache = null;
        connectLive();
        go('#/');
      } catch (e) {
        const { text, detail } = errorText(e, mode);
        if (fields[e.field] && !detail && !e.errorId) showErrors({ [e.field]: text }, null);
        else showErrors({}, errorNotice(e, mode));
      }
    };
    mount(token, el('div', { class: 'auth' },
      el('div', { class: 'brand' }, el('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '城'),
        el('p', { class: 'brand-name' }, 'CityHost 城市服务'), el('p', { class: 'muted' }, '一个入口，办好政务与生活服务')),
      el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': `${mode}-form` }, top, fields.phone.wrap, fields.password.wrap, submit),
      el('p', { class: 'auth-switch' }, isLogin ? '还没有账号？' : '已有账号？',
        el('a', { href: isLogin ? '#/register' : '#/login' }, isLogin ? '立即注册' : '去登录'))));
  }

  // ---------- 服务 ----------

  async function pageServices(token) {
    setTitle(token, '服务');
    const apps = await loadApps(true);
    if (!apps.length) return mount(token, notice('暂无可用的服务。'));
    const known = CATEGORIES.map(([k]) => k);
    const cats = [...known, ...new Set(apps.map((a) => str(a.category)).filter((c) => !known.includes(c)))];
    const sections = cats.map((cat) => {
      const list = apps.filter((a) => str(a.category) === cat);
      if (!list.length) return null;
      const hid = `cat-${++uid}`;
      return el('section', { class: 'category', 'aria-labelledby': hid, 'data-testid': `category-${cat}` },
        el('h2', { id: hid }, categoryLabel(cat)),
        el('ul', { class: 'tiles' }, list.map((a) => el('li', {}, serviceTile(a)))));
    });
    mount(token, ...sections.filter(Boolean));
  }

  function serviceTile(a) {
    const id = str(a.id);
    return el('a', { class: 'tile', href: `#/app/${enc(id)}/`, 'data-testid': `service-${id}`, title: str(a.description) || null },
      el('span', { class: 'tile-icon', 'aria-hidden': 'true' }, Array.from(str(a.name))[0] || '·'),
      el('span', { class: 'tile-name' }, str(a.name)),
      el('span', { class: 'tile-dept' }, deptName(a.department)));
  }

  // ---------- mini-app pages ----------

  async function pageApp(token, id, path) {
    setTitle(token, '服务');
    currentApp = { id, path };
    const url = appUrl(id, path);
    if (!url) return mount(token, errorCard({ message: '无效的服务地址' }));
    let res;
    try {
      res = await fetch(url, { credentials: 'same-origin', headers: { Accept: VIEW_CT } });
    } catch {
      throw new ApiError(0, null);
    }
    await showAppResponse(token, id, res, false);
  }

  /** Renders any answer of a mini-app: a view, a host error, or plain text. */
  async function showAppResponse(token, id, res, push) {
    const ct = str(res.headers.get('content-type')).toLowerCase();
    if (res.redirected && token === seq) syncRedirect(id, res.url, push);
    if (ct.startsWith(VIEW_CT)) {
      const view = await readJson(res);
      if (!view || typeof view !== 'object') return mount(token, errorCard({ message: '服务返回的页面无法显示' }));
      setTitle(token, str(view.title) || '服务');
      return mount(token, renderView(id, view), providerNote(id));
    }
    if (res.status === 401) return toLogin();
    const text = await res.text().catch(() => '');
    let json;
    if (ct.includes('json')) { try { json = JSON.parse(text); } catch { /* shown as text */ } }
    if (json && json.error && json.error.code === 'assurance_required') return mount(token, assurancePrompt(id, currentApp.path));
    if (json && json.error) return mount(token, errorCard(new ApiError(res.status, json), 'app'));
    setTitle(token, '服务');
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
    if (push) history.pushState({ depth: ++depth }, '', hash);
    else history.replaceState({ depth }, '', hash);
  }

  function providerNote(id) {
    const p = el('p', { class: 'provider muted' });
    loadApps().then((apps) => {
      const app = apps.find((a) => str(a.id) === id);
      if (app && deptName(app.department)) p.textContent = `本服务由${deptName(app.department)}提供`;
    }).catch(() => {});
    return p;
  }

  /** POSTs a form-encoded body to an app path and shows the answer. */
  async function postToApp(id, path, params, button) {
    const url = appUrl(id, str(path) || currentApp.path.split('?')[0]);
    if (!url) return;
    const token = ++seq;
    let res;
    try {
      res = await withBusy(button, () => fetch(url, {
        method: 'POST', credentials: 'same-origin', body: params.toString(),
        headers: { Accept: VIEW_CT, 'content-type': 'application/x-www-form-urlencoded' },
      }));
    } catch {
      button.before(notice(defaultMessage(0), 'error'));
      return;
    }
    await showAppResponse(token, id, res, true);
  }

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

  // ---------- view blocks (docs/views.md), one renderer per type ----------

  const BLOCKS = {
    heading: (b) => el('h2', { class: 'b-heading' }, str(b.text)),
    text: (b) => el('p', { class: 'b-text' }, str(b.text)),
    kv: (b) => kvBlock(b),
    table: (b) => tableBlock(b),
    form: (b, id) => formBlock(b, id),
    button: (b, id) => buttonBlock(b, id),
    alert: (b) => alertBlock(b),
    link: (b, id) => linkBlock(b, id),
  };

  function renderView(id, view) {
    const root = el('div', { class: 'view', 'data-testid': 'view' });
    for (const block of arr(view.blocks)) {
      const render = block && Object.prototype.hasOwnProperty.call(BLOCKS, block.type) ? BLOCKS[block.type] : null;
      if (!render) continue;
      const node = render(block, id);
      node.dataset.block = block.type;
      root.append(node);
    }
    return root;
  }

  function kvBlock(b) {
    return el('dl', { class: 'kv card' }, arr(b.items).map((it) =>
      el('div', { class: 'kv-row' }, el('dt', {}, str(it && it.label)), el('dd', {}, str(it && it.value)))));
  }

  function tableBlock(b) {
    const cols = arr(b.columns).map(str);
    return el('div', { class: 'table-wrap card', tabindex: 0, role: 'region', 'aria-label': '表格' },
      el('table', {},
        el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c)))),
        el('tbody', {}, arr(b.rows).map((row) => el('tr', {}, cols.map((_, i) => el('td', {}, str(arr(row)[i]))))))));
  }

  function formBlock(b, id) {
    const method = str(b.method).toLowerCase() === 'post' ? 'post' : 'get';
    const action = str(b.action) || currentApp.path.split('?')[0];
    const submit = el('button', { type: 'submit', class: 'btn btn-primary' }, str(b.submit) || '提交');
    const form = el('form', { class: 'card form', novalidate: true }, arr(b.fields).map(formField), submit);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      const data = new URLSearchParams(new FormData(form));
      if (method === 'post') return postToApp(id, action, data, submit);
      const q = action.indexOf('?');
      const params = new URLSearchParams(q < 0 ? '' : action.slice(q + 1));
      for (const [k, v] of data) params.set(k, v);
      const qs = params.toString();
      return goApp(id, (q < 0 ? action : action.slice(0, q)) + (qs ? `?${qs}` : ''));
    });
    return form;
  }

  function formField(f) {
    const kind = str(f && f.kind);
    const required = Boolean(f && f.required);
    let control;
    if (kind === 'select') {
      control = el('select', { name: str(f.name), required });
      if (!str(f.value)) control.append(el('option', { value: '' }, '请选择'));
      for (const o of arr(f.options)) {
        control.append(el('option', { value: str(o && o.value), selected: str(o && o.value) === str(f.value) && str(f.value) !== '' }, str(o && o.label)));
      }
    } else {
      const type = kind === 'number' ? 'number' : kind === 'date' ? 'date' : 'text';
      control = el('input', {
        type, name: str(f && f.name), value: f && f.value != null ? str(f.value) : null, required,
        placeholder: f && f.placeholder != null ? str(f.placeholder) : null,
        min: type === 'number' && typeof f.min === 'number' ? f.min : null,
        max: type === 'number' && typeof f.max === 'number' ? f.max : null,
        step: type === 'number' ? 'any' : null, inputmode: type === 'number' ? 'decimal' : null,
      });
    }
    return fieldWrap(str(f && f.label) || str(f && f.name), control, required).wrap;
  }

  function buttonBlock(b, id) {
    const style = str(b.style) === 'secondary' ? 'secondary' : 'primary';
    const button = el('button', { type: 'button', class: `btn btn-${style}` }, str(b.label));
    button.addEventListener('click', () => runAction(id, b.action, button));
    return button;
  }

  function alertBlock(b) {
    const level = ['info', 'success', 'warning', 'error'].includes(b.level) ? b.level : 'info';
    const prefix = { info: '提示', success: '成功', warning: '注意', error: '错误' }[level];
    return el('div', { class: `alert alert-${level}`, role: level === 'error' || level === 'warning' ? 'alert' : 'status' },
      el('strong', { class: 'alert-prefix' }, `${prefix}：`), str(b.text));
  }

  function linkBlock(b, id) {
    const path = str(b.path);
    const ok = appUrl(id, path);
    return el('a', { class: 'row-link card', href: ok ? `#/app/${id}${path}` : null }, str(b.label));
  }

  // ---------- payment sheet ----------

  async function pagePay(token, orderId) {
    setTitle(token, '确认支付');
    const [order, account] = await Promise.all([
      api('GET', `/api/orders/${enc(orderId)}`), api('GET', '/api/payment/account')]);
    mount(token, paySheet(order || {}, account || {}));
  }

  /** A 6-digit PIN field with an on-screen keypad; returns { node, value(), clear(), focus() }. */
  function pinPad(label, testid) {
    const input = el('input', { type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: '6',
      pattern: '[0-9]{6}', class: 'pin-input', 'aria-label': label, 'data-testid': testid });
    input.addEventListener('input', () => { input.value = input.value.replace(/\D/g, '').slice(0, 6); });
    const key = (text, fn) => {
      const b = el('button', { type: 'button', class: 'pin-key', 'data-testid': `${testid}-key` }, text);
      b.addEventListener('click', () => { fn(); input.dispatchEvent(new Event('input')); });
      return b;
    };
    const digits = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '', '0'].map((d) =>
      d ? key(d, () => { if (input.value.length < 6) input.value += d; }) : el('span', {}));
    const keypad = el('div', { class: 'pin-keypad', role: 'group', 'aria-label': `${label}键盘` },
      ...digits, key('⌫', () => { input.value = input.value.slice(0, -1); }));
    return {
      node: el('label', { class: 'field pin-field' }, el('span', { class: 'field-label' }, label), input, keypad),
      value: () => input.value,
      clear: () => { input.value = ''; },
      focus: () => input.focus(),
    };
  }

  /**
   * The payment sheet for order o with the citizen's account a ({ method, balance_fen, pin });
   * failure (an error notice) is shown above its actions.
   */
  function paySheet(o, a, failure) {
    const backPath = str(o.return_path).startsWith('/') ? str(o.return_path) : '/';
    const backHash = `#/app/${enc(str(o.app_id))}${backPath}`;
    const status = el('div', { class: 'sheet-status' });
    const actions = el('div', { class: 'sheet-actions' });
    const pin = (a && a.pin) || {};
    const balance = Number(a && a.balance_fen) || 0;
    const sheet = el('section', { class: 'sheet', 'aria-label': 'CityHost 收银台', 'data-testid': 'pay-sheet' },
      platformBadge('CityHost 收银台 · 平台安全支付'),
      el('p', { class: 'muted center' }, '支付金额'),
      el('p', { class: 'amount', 'data-testid': 'pay-amount' }, yuan(o.amount_fen)),
      kvList([['收款单位', deptName(o.department)], ['服务名称', str(o.app_name)], ['商品', str(o.subject)],
        ['支付方式', `${str(a && a.method) || '银行卡'}（余额 ${yuan(balance)}）`],
        ['订单号', str(o.order_id)], ['下单时间', fmtTime(o.created_at)]]),
      status, actions);
    if (failure) status.append(failure);
    const backButton = (label) => el('a', { class: 'btn btn-primary', href: backHash, 'data-testid': 'pay-return' }, label);
    const refresh = async (err) => {
      const token = seq;
      let fresh = null;
      let account = a;
      try {
        [fresh, account] = await Promise.all([
          api('GET', `/api/orders/${enc(str(o.order_id))}`), api('GET', '/api/payment/account')]);
      } catch { /* keep the old sheet */ }
      if (token !== seq) return;
      // A 409 on an order that is no longer payable is fully explained by the sheet's own state notice.
      const explained = err && err.code === 'conflict' && fresh && fresh.state !== 'created';
      const notice = err && !explained ? errorNotice(err, 'pay') : null;
      if (notice && err.code === 'wrong_pin' && account && account.pin) {
        notice.append(el('span', { 'data-testid': 'pin-tries' }, `，还可尝试 ${account.pin.remaining_tries} 次`));
      }
      if (fresh && typeof fresh === 'object') sheet.replaceWith(paySheet(fresh, account, notice));
      else if (notice) status.append(notice);
    };

    if (PAID_STATES.includes(o.state)) {
      status.append(notice(`该订单已支付${o.paid_at ? `（${fmtTime(o.paid_at)}）` : ''}，无需重复支付。`, 'success'));
      actions.append(backButton('返回服务'),
        el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}` }, '查看凭证'));
    } else if (o.state !== 'created') {
      status.append(notice(`该订单${ORDER_STATES[o.state] || '不可支付'}，无法支付。`, 'warning'));
      actions.append(backButton('返回服务'));
    } else if (!pin.set) {
      // Set-PIN flow: once, then the sheet asks for it.
      const first = pinPad('设置 6 位支付密码', 'pin-new');
      const again = pinPad('再次输入支付密码', 'pin-again');
      const save = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pin-save' }, '设置支付密码');
      status.append(notice('首次支付前请设置支付密码。支付密码只用于确认付款，请勿告诉他人。', 'info'));
      save.addEventListener('click', async () => {
        if (!/^\d{6}$/.test(first.value()) || first.value() !== again.value()) {
          status.replaceChildren(notice('两次输入的 6 位数字密码不一致', 'error'));
          return;
        }
        try {
          await withBusy(save, () => api('POST', '/api/payment/pin', { pin: first.value() }));
        } catch (e) {
          if (e.handled) return;
          status.replaceChildren(e.field === 'pin' && e.code === 'invalid_argument'
            ? notice('密码过于简单，请勿使用相同或连续的数字', 'error') : errorNotice(e, 'pay'));
          return;
        }
        await refresh(null);
      });
      actions.append(first.node, again.node, save);
    } else if (pin.locked_for_ms > 0) {
      status.append(el('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'pay-locked' },
        `支付密码错误次数过多，支付已锁定，请 ${Math.ceil(pin.locked_for_ms / 60000)} 分钟后再试。`));
      actions.append(backButton('返回服务'));
    } else {
      if (balance < Number(o.amount_fen)) {
        status.append(el('div', { class: 'alert alert-warning', role: 'status', 'data-testid': 'pay-insufficient' },
          `银行卡余额 ${yuan(balance)}，不足以支付 ${yuan(o.amount_fen)}。`));
      }
      const pad = pinPad('支付密码', 'pay-pin');
      const confirm = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pay-confirm' }, '确认支付');
      const back = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'pay-cancel' }, '返回');
      const cancelOrder = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'order-cancel' }, '取消订单');
      back.addEventListener('click', () => (depth > 0 ? history.back() : go('#/orders')));
      cancelOrder.addEventListener('click', async () => {
        try {
          await withBusy(cancelOrder, () => api('POST', `/api/orders/${enc(str(o.order_id))}/cancel`, { order_id: str(o.order_id) }));
          await refresh(null);
        } catch (e) {
          if (!e.handled) await refresh(e);
        }
      });
      confirm.addEventListener('click', async () => {
        status.replaceChildren();
        if (!/^\d{6}$/.test(pad.value())) {
          status.append(notice('请输入 6 位支付密码', 'error'));
          pad.focus();
          return;
        }
        try {
          await withBusy(confirm, () => api('POST', `/api/orders/${enc(str(o.order_id))}/confirm`,
            { order_id: str(o.order_id), pin: pad.value() }));
        } catch (e) {
          if (e.handled) return;
          pad.clear();
          // The order may have changed meanwhile (paid in another tab, expired):
          // show it as it is now, with the error on top.
          await refresh(e);
          return;
        }
        status.append(el('div', { class: 'alert alert-success', role: 'status', 'data-testid': 'pay-success' },
          el('strong', {}, '支付成功'), `，已向${deptName(o.department) || '收款单位'}支付 ${yuan(o.amount_fen)}。`));
        actions.replaceChildren(backButton('返回服务'),
          el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'pay-receipt' }, '查看凭证'));
        actions.firstChild.focus();
      });
      actions.append(pad.node, confirm, back, cancelOrder);
    }
    return sheet;
  }

  // ---------- consent sheet ----------

  async function pageConsent(token, appId, scope, query) {
    setTitle(token, '授权确认');
    const ret = new URLSearchParams(query).get('return');
    const returnPath = ret && ret.startsWith('/') ? ret : '/';
    const c = await api('GET', `/api/consents/${enc(appId)}/${enc(scope)}`);
    mount(token, consentSheet(c || {}, appId, scope, returnPath));
  }

  function consentSheet(c, appId, scope, returnPath) {
    const status = el('div', { class: 'sheet-status' });
    const decide = async (decision, button) => {
      status.replaceChildren();
      try {
        await withBusy(button, () => api('POST', '/api/consents', { app_id: appId, scope, decision }));
      } catch (e) {
        if (!e.handled) status.append(errorNotice(e, 'consent'));
        return;
      }
      replaceHash(`#/app/${enc(appId)}${returnPath}`);
    };
    const grant = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'consent-grant' }, '同意');
    const deny = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'consent-deny' }, '拒绝');
    grant.addEventListener('click', () => decide('grant', grant));
    deny.addEventListener('click', () => decide('deny', deny));
    return el('section', { class: 'sheet', 'aria-label': 'CityHost 授权确认', 'data-testid': 'consent-sheet' },
      platformBadge('CityHost 平台授权 · 由平台核实'),
      el('p', { class: 'consent-lead' }, `${deptName(c.department)}的「${str(c.app_name)}」申请获取您的：`),
      c.division ? el('p', { class: 'muted small', 'data-testid': 'consent-division' }, `所属地区：${arr(c.division_path).map(str).join(' · ') || str(c.division)}`) : null,
      el('ul', { class: 'consent-fields', 'data-testid': 'consent-fields' }, arr(c.fields).map((f) => el('li', {}, str(f)))),
      c.purpose
        ? el('p', { class: 'consent-purpose', 'data-testid': 'consent-purpose' }, el('strong', {}, '用途：'), str(c.purpose))
        : el('p', { class: 'consent-purpose no-purpose', 'data-testid': 'consent-purpose' }, el('strong', {}, '用途：'), '该服务未声明用途，请谨慎授权。'),
      c.granted ? notice('您此前已同意该授权，可在“我的”中随时撤销。', 'info') : null,
      el('p', { class: 'muted small' }, c.purpose
        ? '信息由 CityHost 平台提供给该部门，仅用于上述用途。您可以随时在“我的”中撤销授权。'
        : '信息由 CityHost 平台提供给该部门。您可以随时在“我的”中撤销授权。'),
      status, el('div', { class: 'sheet-actions' }, grant, deny));
  }

  // ---------- 消息 ----------

  // Live inbox: server-sent events from /api/inbox/stream. The browser
  // reconnects by itself and sends Last-Event-ID, so nothing sent meanwhile
  // is missed; every event carries the unread count for the badge.
  let live = null;
  let inboxList = null; // the open inbox page's <ul>, to prepend live messages

  function connectLive() {
    if (live || typeof EventSource === 'undefined') return;
    live = new EventSource('/api/inbox/stream');
    const onUnread = (ev) => {
      let data = null;
      try { data = JSON.parse(ev.data); } catch { return; }
      if (data && typeof data === 'object') setBadge(data.unread);
      return data;
    };
    live.addEventListener('ready', onUnread);
    live.addEventListener('unread', onUnread);
    live.addEventListener('message', (ev) => {
      const data = onUnread(ev);
      const m = data && data.message;
      if (!m || typeof m !== 'object' || !inboxList || !inboxList.isConnected) return;
      if (inboxList.querySelector(`[data-message-id="${CSS.escape(str(m.id))}"]`)) return;
      const empty = document.querySelector('[data-testid=inbox-empty]');
      if (empty) empty.remove();
      inboxList.prepend(el('li', { 'data-message-id': str(m.id) }, inboxItem(m)));
    });
    live.addEventListener('error', () => {
      // A closed stream (signed out, host restarted) is retried on the next page visit.
      if (live && live.readyState === EventSource.CLOSED) { live = null; }
    });
  }

  function disconnectLive() {
    if (live) live.close();
    live = null;
  }

  async function pageInbox(token) {
    setTitle(token, '消息');
    connectLive();
    const data = (await api('GET', '/api/inbox')) || {};
    setBadge(data.unread);
    const list = el('ul', { class: 'list', 'data-testid': 'inbox-list' });
    inboxList = list;
    const more = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'inbox-more', hidden: true }, '加载更多');
    let cursor = null;
    const addPage = (page) => {
      for (const m of arr(page.messages)) list.append(el('li', { 'data-message-id': str(m.id) }, inboxItem(m)));
      cursor = page.next_cursor == null ? null : page.next_cursor;
      more.hidden = cursor == null;
    };
    more.addEventListener('click', async () => {
      try {
        addPage((await withBusy(more, () => api('GET', `/api/inbox?before=${enc(str(cursor))}`))) || {});
      } catch (e) { if (!e.handled) more.before(errorNotice(e, 'inbox')); }
    });
    const readAll = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'inbox-read-all' }, '全部已读');
    readAll.addEventListener('click', async () => {
      try {
        const r = await withBusy(readAll, () => api('POST', '/api/inbox/read-all'));
        setBadge(r && r.unread);
        for (const card of list.querySelectorAll('.inbox-item.unread')) {
          card.classList.remove('unread');
          const dot = card.querySelector('.dot');
          if (dot) dot.remove();
        }
      } catch (e) { if (!e.handled) readAll.after(errorNotice(e, 'inbox')); }
    });
    const tools = el('div', { class: 'inbox-tools' }, readAll,
      el('a', { class: 'btn btn-secondary btn-small', href: '#/subscriptions', 'data-testid': 'inbox-subscriptions' }, '订阅管理'));
    addPage(data);
    mount(token, tools, arr(data.messages).length ? null : el('p', { class: 'alert alert-info', 'data-testid': 'inbox-empty' }, '暂无消息。'), list, more);
  }

  /** A message: tapping it expands the full text in place (and marks it read); its link and delete are separate buttons. */
  function inboxItem(m) {
    const detailId = `msg-${++uid}`;
    const dot = m.read ? null : el('span', { class: 'dot' }, el('span', { class: 'visually-hidden' }, '未读'));
    const preview = el('span', { class: 'item-body item-preview' }, str(m.body));
    const toggle = el('button', { type: 'button', class: 'inbox-toggle', 'aria-expanded': 'false', 'aria-controls': detailId, 'data-testid': 'inbox-item' },
      el('span', { class: 'item-top' }, dot,
        el('span', { class: 'item-source' }, str(m.app_name)),
        el('span', { class: 'item-time' }, fmtTime(m.created_at))),
      el('span', { class: 'item-title' }, str(m.title)),
      preview);
    const linkOk = m.link_path && appUrl(str(m.app_id), str(m.link_path));
    const remove = el('button', { type: 'button', class: 'btn btn-secondary btn-small btn-danger', 'data-testid': 'inbox-delete' }, '删除');
    const detail = el('div', { class: 'inbox-detail', id: detailId, hidden: true },
      el('p', { class: 'inbox-body', 'data-testid': 'inbox-body' }, str(m.body)),
      el('div', { class: 'inbox-actions' },
        linkOk ? el('a', { class: 'btn btn-primary btn-small', href: `#/app/${enc(str(m.app_id))}${str(m.link_path)}`, 'data-testid': 'inbox-open' }, '打开服务') : null,
        remove));
    const card = el('div', { class: `list-item inbox-item${m.read ? '' : ' unread'}` }, toggle, detail);
    remove.addEventListener('click', async () => {
      try {
        await withBusy(remove, () => api('DELETE', `/api/inbox/${enc(str(m.id))}`));
      } catch (e) { if (!e.handled) remove.after(errorNotice(e, 'inbox')); return; }
      const item = card.closest('li') || card;
      item.remove();
      if (!live) refreshBadge();
    });
    toggle.addEventListener('click', async () => {
      const open = detail.hidden;
      detail.hidden = !open;
      preview.hidden = open;
      toggle.setAttribute('aria-expanded', String(open));
      if (!open || m.read) return;
      try {
        await api('POST', `/api/inbox/${enc(str(m.id))}/read`);
      } catch { return; } // stays unread; a 401 has already gone to login
      m.read = true;
      card.classList.remove('unread');
      if (dot) dot.remove();
      if (!live) refreshBadge();
    });
    return card;
  }

  const KINDS = { 'one-time': '一次性：同意后可向您发送一条', 'long-term': '长期：直到您取消' };

  // ---------- subscription sheet (the host, not the app, says what will be sent) ----------

  async function pageSubscribe(token, appId, query) {
    setTitle(token, '订阅通知');
    const params = new URLSearchParams(query);
    const ret = params.get('return');
    const returnPath = ret && ret.startsWith('/') ? ret : '/';
    const sheet = await api('GET', `/api/subscriptions/${enc(appId)}?templates=${enc(str(params.get('templates')))}`);
    mount(token, subscribeSheet(sheet || {}, appId, returnPath));
  }

  function subscribeSheet(sh, appId, returnPath) {
    const status = el('div', { class: 'sheet-status' });
    const choices = arr(sh.templates).map((t) => {
      const name = `sub-${++uid}`;
      const radio = (value, label, checked) => el('label', { class: 'choice' },
        el('input', { type: 'radio', name, value, checked, 'data-testid': `subscribe-${value}-${str(t.id)}` }), label);
      const row = el('fieldset', { class: 'list-item subscribe-item', 'data-testid': 'subscribe-item' },
        el('legend', { class: 'item-title' }, str(t.title)),
        el('span', { class: 'item-body' }, KINDS[str(t.kind)] || str(t.kind)),
        t.subscribed ? el('span', { class: 'muted small' }, '您已订阅') : null,
        el('span', { class: 'item-row' }, radio('accept', '允许', true), radio('reject', '拒绝', false)));
      return { t, row, value: () => (row.querySelector('input:checked') || {}).value || 'reject' };
    });
    const done = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'subscribe-confirm' }, '确定');
    const back = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'subscribe-cancel' }, '暂不');
    back.addEventListener('click', () => replaceHash(`#/app/${enc(appId)}${returnPath}`));
    done.addEventListener('click', async () => {
      status.replaceChildren();
      const decisions = choices.map((c) => ({ template: str(c.t.id), decision: c.value() }));
      try {
        await withBusy(done, () => api('POST', '/api/subscriptions', { app_id: appId, decisions }));
      } catch (e) {
        if (!e.handled) status.append(errorNotice(e, 'subscribe'));
        return;
      }
      replaceHash(`#/app/${enc(appId)}${returnPath}`);
    });
    return el('section', { class: 'sheet', 'aria-label': 'CityHost 订阅确认', 'data-testid': 'subscribe-sheet' },
      platformBadge('CityHost 消息订阅 · 由平台核实'),
      el('p', { class: 'consent-lead' }, `${deptName(sh.department)}的「${str(sh.app_name)}」希望向您发送以下消息：`),
      ...choices.map((c) => c.row),
      el('p', { class: 'muted small' }, '消息只会出现在 CityHost 的消息中心。您可以随时在“消息 → 订阅管理”中取消。'),
      status, el('div', { class: 'sheet-actions' }, done, back));
  }

  async function pageSubscriptions(token) {
    setTitle(token, '订阅管理');
    const list = arr(await api('GET', '/api/subscriptions'));
    if (!list.length) return mount(token, notice('您没有订阅任何服务的消息。'));
    mount(token, el('ul', { class: 'list' }, list.map((s) => {
      const cancel = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'subscription-cancel' }, '取消订阅');
      const row = el('div', { class: 'list-item', 'data-testid': 'subscription-item' },
        el('span', { class: 'item-source' }, `${str(s.app_name)}${deptName(s.department) ? ` · ${deptName(s.department)}` : ''}`),
        el('span', { class: 'item-title' }, str(s.title)),
        el('span', { class: 'item-row' }, el('span', { class: 'item-time' }, `${KINDS[str(s.kind)] || str(s.kind)} · ${fmtTime(s.accepted_at)}`), cancel));
      cancel.addEventListener('click', async () => {
        try {
          await withBusy(cancel, () => api('DELETE', `/api/subscriptions/${enc(str(s.app_id))}/${enc(str(s.template))}`));
          route();
        } catch (e) { if (!e.handled) row.append(errorNotice(e, 'subscribe')); }
      });
      return el('li', {}, row);
    })));
  }

  // ---------- 订单 ----------

  async function pageOrders(token) {
    setTitle(token, '订单');
    const orders = arr(await api('GET', '/api/orders'));
    if (!orders.length) return mount(token, notice('暂无订单。'));
    mount(token, el('ul', { class: 'list' }, orders.map((o) => el('li', {}, orderItem(o)))));
  }

  function orderItem(o) {
    const state = str(o.state);
    return el('div', { class: 'list-item order-item', 'data-testid': 'order-item' },
      el('span', { class: 'item-top' },
        el('span', { class: 'item-source' }, `${str(o.app_name)}${deptName(o.department) ? ` · ${deptName(o.department)}` : ''}`),
        el('span', { class: `state state-${state}` }, ORDER_STATES[state] || state)),
      el('span', { class: 'item-title' }, str(o.subject)),
      el('span', { class: 'item-row' },
        el('span', { class: 'item-time' }, fmtTime(o.created_at)),
        el('span', { class: 'item-amount' }, yuan(o.amount_fen))),
      state === 'created'
        ? el('a', { class: 'btn btn-primary btn-small', href: `#/pay/${enc(str(o.order_id))}`, 'data-testid': 'order-pay' }, '去支付')
        : el('a', { class: 'btn btn-secondary btn-small', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'order-receipt' }, '查看详情'));
  }

  /** The receipt of one order: what, to whom, when, every state change and refund. */
  async function pageReceipt(token, orderId) {
    setTitle(token, '订单详情');
    const o = (await api('GET', `/api/orders/${enc(orderId)}`)) || {};
    const state = str(o.state);
    const refunds = arr(o.refunds);
    const changes = arr(o.history);
    mount(token,
      el('section', { class: 'card receipt', 'data-testid': 'receipt' },
        platformBadge(PAID_STATES.includes(state) ? 'CityHost 电子凭证' : 'CityHost 订单'),
        el('p', { class: 'amount center', 'data-testid': 'receipt-amount' }, yuan(o.amount_fen)),
        el('p', { class: 'center' }, el('span', { class: `state state-${state}` }, ORDER_STATES[state] || state)),
        kvList([['收款单位', deptName(o.department)], ['服务名称', str(o.app_name)], ['商品', str(o.subject)],
          ['订单号', str(o.order_id)], ['商户订单号', str(o.out_trade_no)], ['下单时间', fmtTime(o.created_at)],
          ['支付时间', o.paid_at ? fmtTime(o.paid_at) : '—'],
          ['已退款', o.refunded_fen ? yuan(o.refunded_fen) : '—']])),
      refunds.length ? el('h2', { class: 'section-title' }, '退款记录') : null,
      refunds.length ? el('ul', { class: 'list', 'data-testid': 'receipt-refunds' }, refunds.map((r) => el('li', {},
        el('div', { class: 'list-item' },
          el('span', { class: 'item-row' }, el('span', {}, str(r.reason) || '退款'), el('span', { class: 'item-amount' }, yuan(r.amount_fen))),
          el('span', { class: 'item-time' }, `${fmtTime(r.refunded_at)} · 退款单号 ${str(r.out_request_no)}`))))) : null,
      changes.length ? el('h2', { class: 'section-title' }, '状态记录') : null,
      changes.length ? el('ul', { class: 'list' }, changes.map((h) => el('li', {},
        el('div', { class: 'list-item item-row' }, el('span', {}, ORDER_STATES[str(h.state)] || str(h.state)),
          el('span', { class: 'item-time' }, fmtTime(h.at)))))) : null,
      state === 'created' ? el('a', { class: 'btn btn-primary', href: `#/pay/${enc(str(o.order_id))}` }, '去支付') : null);
  }

  // ---------- 我的 ----------

  async function pageMe(token) {
    setTitle(token, '我的');
    const [me, consents] = await Promise.all([api('GET', '/api/me'), api('GET', '/api/consents')]);
    const logout = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'logout' }, '退出登录');
    logout.addEventListener('click', async () => {
      try { await withBusy(logout, () => api('POST', '/api/logout', undefined, { auth: false })); } catch { /* leave anyway */ }
      appsCache = null;
      disconnectLive();
      setBadge(0);
      replaceHash('#/login');
    });
    const list = arr(consents);
    mount(token,
      el('section', { class: 'card profile', 'data-testid': 'profile' },
        el('span', { class: 'avatar', 'aria-hidden': 'true' }, '我'),
        el('div', {},
          me && me.name_masked ? el('p', { class: 'muted small' }, '姓名（已脱敏）') : null,
          el('p', { class: 'profile-name', 'data-testid': 'profile-name' }, me && me.name_masked ? str(me.name_masked) : '未实名认证'),
          me && me.id_number_masked ? el('p', { class: 'muted', 'data-testid': 'profile-id' }, `身份证号 ${str(me.id_number_masked)}`) : null,
          el('p', { class: 'muted' }, `手机号 ${str(me && me.phone_masked)}`),
          el('p', { class: 'muted', 'data-testid': 'assurance' }, `认证等级 ${assuranceLabel(me && me.assurance_level)}`))),
      me && Number(me.assurance_level) < 2
        ? el('a', { class: 'btn btn-primary', href: '#/verify', 'data-testid': 'verify-start' }, '去实名认证')
        : null,
      el('h2', { class: 'section-title' }, '已授权的服务'),
      list.length
        ? el('ul', { class: 'list' }, list.map((c) => el('li', {}, consentItem(c))))
        : notice('您还没有向任何服务授权个人信息。'),
      logout);
  }

  function assuranceLabel(level) {
    return ASSURANCE[str(level)] || (level == null || level === '' ? '—' : str(level));
  }

  function consentItem(c) {
    const revoke = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'consent-revoke' }, '撤销');
    const row = el('div', { class: 'list-item consent-item', 'data-testid': 'consent-item' },
      el('span', { class: 'item-title' }, str(c.app_name)),
      el('span', { class: 'item-body' }, `授权范围：${scopeLabel(c.scope)}`),
      c.purpose ? el('span', { class: 'item-body muted' }, `用途：${str(c.purpose)}`) : null,
      el('span', { class: 'item-row' }, el('span', { class: 'item-time' }, `授权时间：${fmtTime(c.granted_at)}`), revoke));
    revoke.setAttribute('aria-label', `撤销对「${str(c.app_name)}」的${scopeLabel(c.scope)}授权`);
    revoke.addEventListener('click', async () => {
      try {
        await withBusy(revoke, () => api('DELETE', `/api/consents/${enc(str(c.app_id))}/${enc(str(c.scope))}`));
        route();
      } catch (e) {
        if (e.handled) return;
        const old = row.querySelector('[data-testid=error-notice]');
        if (old) old.remove();
        row.append(errorNotice(e, 'consent'));
      }
    });
    return row;
  }

  // ---------- 实名认证 ----------

  /** Shown instead of a service that needs a higher assurance level: walks the citizen up to L2 and back. */
  function assurancePrompt(appId, path) {
    const back = `#/verify?app=${enc(appId)}&return=${enc(path || '/')}`;
    return el('section', { class: 'card sheet', 'data-testid': 'assurance-prompt' },
      platformBadge('CityHost 平台实名认证'),
      el('p', { class: 'consent-lead' }, '该服务涉及个人信息，需要先完成实名认证（L2）。'),
      el('p', { class: 'muted small' }, '实名认证只需一次，由平台向身份核验机构核对您的姓名和身份证号，服务本身看不到您的完整证件号。'),
      el('div', { class: 'sheet-actions' },
        el('a', { class: 'btn btn-primary', href: back, 'data-testid': 'assurance-verify' }, '去实名认证'),
        el('a', { class: 'btn btn-secondary', href: '#/' }, '返回服务')));
  }

  /** The real-name verification page; `?app=ID&return=PATH` returns to the service afterwards. */
  function pageVerify(token, query) {
    setTitle(token, '实名认证');
    const q = new URLSearchParams(query);
    const appId = q.get('app');
    const ret = q.get('return');
    const top = el('div', { class: 'form-error', hidden: true, 'data-testid': 'form-error' });
    const name = el('input', { name: 'name', autocomplete: 'name', maxlength: 30, placeholder: '与身份证一致的姓名', required: true });
    const idNumber = el('input', { name: 'id_number', autocomplete: 'off', maxlength: 18, placeholder: '18 位居民身份证号', required: true, spellcheck: 'false' });
    const fields = { name: fieldWrap('姓名', name, true), id_number: fieldWrap('身份证号', idNumber, true) };
    const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'verify-submit' }, '提交认证');
    const showErrors = (errs, general) => {
      for (const [k, f] of Object.entries(fields)) f.setError(errs[k]);
      top.replaceChildren(...(general ? [general] : []));
      top.hidden = !general;
    };
    const onsubmit = async (ev) => {
      ev.preventDefault();
      const errs = {};
      if (!name.value.trim()) errs.name = '请输入姓名';
      if (!idNumber.value.trim()) errs.id_number = '请输入身份证号';
      showErrors(errs, null);
      if (Object.keys(errs).length) return (errs.name ? name : idNumber).focus();
      try {
        await withBusy(submit, () => api('POST', '/api/me/verification', { name: name.value.trim(), id_number: idNumber.value.trim() }));
      } catch (e) {
        if (e.handled) return;
        const { text, detail } = errorText(e, 'verify');
        if (fields[e.field] && !detail && !e.errorId) {
          showErrors({ [e.field]: text }, null);
          (e.field === 'name' ? name : idNumber).focus();
        } else showErrors({}, errorNotice(e, 'verify'));
        return;
      }
      idNumber.value = '';
      if (appId && ret && ret.startsWith('/') && appUrl(appId, ret)) replaceHash(`#/app/${enc(appId)}${ret}`);
      else replaceHash('#/me');
    };
    mount(token,
      el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': 'verify-form' },
        platformBadge('CityHost 平台实名认证 · 信息加密保存'),
        el('p', { class: 'muted small' }, '请填写与居民身份证一致的姓名和身份证号。平台向身份核验机构核对后，您的认证等级将升为 L2；完整证件号加密保存，仅在您授权后提供给声明了用途的服务。'),
        top, fields.name.wrap, fields.id_number.wrap, submit));
  }

  // ---------- start ----------

  $back.addEventListener('click', () => (depth > 0 ? history.back() : go('#/')));

  window.addEventListener('hashchange', () => {
    if (!history.state || typeof history.state.depth !== 'number') history.replaceState({ depth: depth + 1 }, '');
    depth = history.state.depth;
    focusPending = true;
    route();
  });
  window.addEventListener('popstate', () => {
    if (history.state && typeof history.state.depth === 'number') depth = history.state.depth;
  });

  async function start() {
    depth = history.state && typeof history.state.depth === 'number' ? history.state.depth : 0;
    if (!location.hash || location.hash === '#') history.replaceState({ depth }, '', '#/');
    else history.replaceState({ depth }, '');
    const onAuthPage = /^#\/(login|register)\b/.test(location.hash);
    if (!onAuthPage) {
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
})();
