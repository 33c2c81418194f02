// The consent sheet: the host, not the app, shows which personal data an
// app asks for, for what purpose, and records the citizen's grant or denial.
import { api } from '../api.js';
import { el, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { replaceHash } from '../nav.js';
import { arr, deptName, enc, str } from '../util.js';

/** `#/consent/{app_id}/{scope}?return=PATH`. */
export async function pageConsent(token, appId, scope, query) {
  setTitle(token, '授权确认');
  const ret = new URLSearchParams(query).get('return');
  const returnPath = ret && ret.startsWith('/') ? ret : '/';
  const c = await api('GET', `/api/consents/${enc(appId)}/${enc(scope)}`);
  mount(token, consentSheet(c || {}, appId, scope, returnPath));
}

/** The sheet: what the app asks for and why, Allow / Deny; returns to the app's path after. */
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
