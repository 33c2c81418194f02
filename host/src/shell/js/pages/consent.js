// The consent sheet: the host, not the app, shows which personal data an
// app asks for, for what purpose, and records the citizen's grant or denial.
import { api } from '../api.js';
import { el, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { consentFieldLabel } from '../labels.js';
import { replaceHash } from '../nav.js';
import { arr, deptName, enc, str } from '../util.js';
import { t } from '../i18n.js';

/** `#/consent/{app_id}/{scope}?return=PATH`. */
export async function pageConsent(token, appId, scope, query) {
  setTitle(token, t('consent.title'));
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
  const grant = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'consent-grant' }, t('consent.grant'));
  const deny = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'consent-deny' }, t('consent.deny'));
  grant.addEventListener('click', () => decide('grant', grant));
  deny.addEventListener('click', () => decide('deny', deny));
  return el('section', { class: 'sheet', 'aria-label': t('consent.aria'), 'data-testid': 'consent-sheet' },
    platformBadge(t('consent.badge')),
    el('p', { class: 'consent-lead' }, t('consent.lead', { dept: deptName(c.department), app: str(c.app_name) })),
    c.division ? el('p', { class: 'muted small', 'data-testid': 'consent-division' }, t('consent.division', { division: arr(c.division_path).map(str).join(' · ') || str(c.division) })) : null,
    el('ul', { class: 'consent-fields', 'data-testid': 'consent-fields' }, arr(c.fields).map((f, i) => el('li', {}, consentFieldLabel(arr(c.field_keys)[i], f)))),
    c.purpose
      ? el('p', { class: 'consent-purpose', 'data-testid': 'consent-purpose' }, el('strong', {}, t('common.purpose')), str(c.purpose))
      : el('p', { class: 'consent-purpose no-purpose', 'data-testid': 'consent-purpose' }, el('strong', {}, t('common.purpose')), t('consent.noPurpose')),
    c.granted ? notice(t('consent.already'), 'info') : null,
    el('p', { class: 'muted small' }, c.purpose
      ? t('consent.notePurpose')
      : t('consent.note')),
    status, el('div', { class: 'sheet-actions' }, grant, deny));
}
