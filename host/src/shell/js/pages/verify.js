// Real-name verification (L2): the page with name and ID number, each error
// shown at its field, and the prompt shown instead of a service that needs it.
import { api } from '../api.js';
import { el, fieldWrap, mount, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice, errorText } from '../errors.js';
import { appUrl, replaceHash } from '../nav.js';
import { enc } from '../util.js';
import { t } from '../i18n.js';

/** Shown instead of a service that needs a higher assurance level: walks the citizen up to L2 and back. */
export function assurancePrompt(appId, path) {
  const back = `#/verify?app=${enc(appId)}&return=${enc(path || '/')}`;
  return el('section', { class: 'card sheet', 'data-testid': 'assurance-prompt' },
    platformBadge(t('verify.promptBadge')),
    el('p', { class: 'consent-lead' }, t('verify.promptLead')),
    el('p', { class: 'muted small' }, t('verify.promptNote')),
    el('div', { class: 'sheet-actions' },
      el('a', { class: 'btn btn-primary', href: back, 'data-testid': 'assurance-verify' }, t('verify.start')),
      el('a', { class: 'btn btn-secondary', href: '#/' }, t('common.backToServices'))));
}

/** `#/verify`; `?app=ID&return=PATH` returns to the service afterwards. */
export function pageVerify(token, query) {
  setTitle(token, t('verify.title'));
  const q = new URLSearchParams(query);
  const appId = q.get('app');
  const ret = q.get('return');
  const top = el('div', { class: 'form-error', hidden: true, 'data-testid': 'form-error' });
  const name = el('input', { name: 'name', autocomplete: 'name', maxlength: 30, placeholder: t('verify.namePlaceholder'), required: true });
  const idNumber = el('input', { name: 'id_number', autocomplete: 'off', maxlength: 18, placeholder: t('verify.idNumberPlaceholder'), required: true, spellcheck: 'false' });
  const fields = { name: fieldWrap(t('verify.name'), name, true), id_number: fieldWrap(t('verify.idNumber'), idNumber, true) };
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'verify-submit' }, t('verify.submit'));
  const showErrors = (errs, general) => {
    for (const [k, f] of Object.entries(fields)) f.setError(errs[k]);
    top.replaceChildren(...(general ? [general] : []));
    top.hidden = !general;
  };
  const onsubmit = async (ev) => {
    ev.preventDefault();
    const errs = {};
    if (!name.value.trim()) errs.name = t('verify.nameMissing');
    if (!idNumber.value.trim()) errs.id_number = t('verify.idNumberMissing');
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
      platformBadge(t('verify.badge')),
      el('p', { class: 'muted small' }, t('verify.note')),
      top, fields.name.wrap, fields.id_number.wrap, submit));
}
