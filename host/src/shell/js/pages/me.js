// 我的 (me): the citizen's masked profile and assurance level, the grants
// given to services (each can be revoked), and sign-out.
import { api, forgetApps } from '../api.js';
import { el, mount, notice, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime } from '../format.js';
import { assuranceLabel, scopeLabel } from '../labels.js';
import { disconnectLive, setBadge } from '../live.js';
import { replaceHash, route } from '../nav.js';
import { arr, enc, str } from '../util.js';

/** `#/me`: profile, assurance level, authorisations, sign-out. */
export async function pageMe(token) {
  setTitle(token, '我的');
  const [me, consents] = await Promise.all([api('GET', '/api/me'), api('GET', '/api/consents')]);
  const logout = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'logout' }, '退出登录');
  logout.addEventListener('click', async () => {
    try { await withBusy(logout, () => api('POST', '/api/logout', undefined, { auth: false })); } catch { /* leave anyway */ }
    forgetApps();
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

/** One grant to a service, with its revoke button. */
function consentItem(c) {
  const revoke = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'consent-revoke' }, '撤销');
  const row = el('div', { class: 'list-item consent-item', 'data-testid': 'consent-item', 'data-app-id': str(c.app_id), 'data-scope': str(c.scope) },
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
