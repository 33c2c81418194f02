// 我的 (me): the citizen's masked profile and assurance level, the grants
// given to services (each can be revoked), and sign-out.
import { api, forgetApps } from '../api.js';
import { el, mount, notice, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime, t } from '../i18n.js';
import { assuranceLabel, scopeLabel } from '../labels.js';
import { disconnectLive, setBadge } from '../live.js';
import { replaceHash, route } from '../nav.js';
import { arr, enc, str } from '../util.js';

/** `#/me`: profile, assurance level, authorisations, sign-out. */
export async function pageMe(token) {
  setTitle(token, t('me.title'));
  const [me, consents] = await Promise.all([api('GET', '/api/me'), api('GET', '/api/consents')]);
  const logout = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'logout' }, t('me.logout'));
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
      el('span', { class: 'avatar', 'aria-hidden': 'true' }, t('me.avatar')),
      el('div', {},
        me && me.name_masked ? el('p', { class: 'muted small' }, t('me.nameMasked')) : null,
        el('p', { class: 'profile-name', 'data-testid': 'profile-name' }, me && me.name_masked ? str(me.name_masked) : t('me.unverified')),
        me && me.id_number_masked ? el('p', { class: 'muted', 'data-testid': 'profile-id' }, t('me.idNumber', { id: str(me.id_number_masked) })) : null,
        el('p', { class: 'muted' }, t('me.phone', { phone: str(me && me.phone_masked) })),
        el('p', { class: 'muted', 'data-testid': 'assurance' }, t('me.assurance', { level: assuranceLabel(me && me.assurance_level) })))),
    me && Number(me.assurance_level) < 2
      ? el('a', { class: 'btn btn-primary', href: '#/verify', 'data-testid': 'verify-start' }, t('me.verify'))
      : null,
    el('h2', { class: 'section-title' }, t('me.grants')),
    list.length
      ? el('ul', { class: 'list' }, list.map((c) => el('li', {}, consentItem(c))))
      : notice(t('me.noGrants')),
    el('a', { class: 'row-link card', href: '#/settings', 'data-testid': 'settings-open' }, t('me.settings')),
    logout);
}

/** One grant to a service, with its revoke button. */
function consentItem(c) {
  const revoke = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'consent-revoke' }, t('me.revoke'));
  const row = el('div', { class: 'list-item consent-item', 'data-testid': 'consent-item', 'data-app-id': str(c.app_id), 'data-scope': str(c.scope) },
    el('span', { class: 'item-title' }, str(c.app_name)),
    el('span', { class: 'item-body' }, t('me.scope', { scope: scopeLabel(c.scope) })),
    c.purpose ? el('span', { class: 'item-body muted' }, t('me.purpose', { purpose: str(c.purpose) })) : null,
    el('span', { class: 'item-row' }, el('span', { class: 'item-time' }, t('me.grantedAt', { time: fmtTime(c.granted_at) })), revoke));
  revoke.setAttribute('aria-label', t('me.revokeAria', { app: str(c.app_name), scope: scopeLabel(c.scope) }));
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
