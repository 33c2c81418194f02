// Real-name verification (L2): the page with name and ID number, each error
// shown at its field, and the prompt shown instead of a service that needs it.
import { api } from '../api.js';
import { el, fieldWrap, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice, errorText } from '../errors.js';
import { appUrl, replaceHash } from '../nav.js';
import { enc } from '../util.js';
import { fmtTime, t } from '../i18n.js';

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

/** Where the citizen's appeal stands, as a notice. */
function appealNotice(appeal) {
  const key = `verify.appeal.${appeal.status}`;
  const level = appeal.status === 'rejected' ? 'warning' : appeal.status === 'approved' ? 'success' : 'info';
  const n = notice(t(key, { id: appeal.id.slice(0, 8), time: fmtTime(appeal.filed_at) }), level);
  n.dataset.testid = 'appeal-status';
  return n;
}

/**
 * Shown when the registry matched but another account holds the identity: what
 * happened, and the appeal an operator reviews (docs/identity.md, "Appeals").
 */
function heldPanel(body, onFiled) {
  const file = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'appeal-file' }, t('verify.appeal.file'));
  const panel = el('div', { class: 'alert alert-warning', role: 'alert', 'data-testid': 'identity-held' },
    el('p', {}, t('verify.held')), el('p', { class: 'small' }, t('verify.appeal.how')), file);
  file.onclick = async () => {
    let answer;
    try {
      answer = await withBusy(file, () => api('POST', '/api/me/verification/appeals', body));
    } catch (e) {
      if (e.handled) return;
      panel.replaceChildren(errorNotice(e, 'verify'));
      return;
    }
    if (answer && answer.appeal) panel.replaceWith(appealNotice(answer.appeal));
    else onFiled();
  };
  return panel;
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
    const body = { name: name.value.trim(), id_number: idNumber.value.trim() };
    try {
      await withBusy(submit, () => api('POST', '/api/me/verification', body));
    } catch (e) {
      if (e.handled) return;
      if (e.code === 'identity_held') return showErrors({}, heldPanel(body, done));
      const { text, detail } = errorText(e, 'verify');
      if (fields[e.field] && !detail && !e.errorId) {
        showErrors({ [e.field]: text }, null);
        (e.field === 'name' ? name : idNumber).focus();
      } else showErrors({}, errorNotice(e, 'verify'));
      return;
    }
    done();
  };
  const done = () => {
    idNumber.value = '';
    if (appId && ret && ret.startsWith('/') && appUrl(appId, ret)) replaceHash(`#/app/${enc(appId)}${ret}`);
    else replaceHash('#/me');
  };
  const appeals = el('div', { 'data-testid': 'appeals' });
  mount(token,
    el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': 'verify-form' },
      platformBadge(t('verify.badge')),
      el('p', { class: 'muted small' }, t('verify.note')),
      appeals, top, fields.name.wrap, fields.id_number.wrap, submit));
  api('GET', '/api/me/verification/appeals').then((list) => {
    if (Array.isArray(list) && list.length) appeals.replaceChildren(appealNotice(list[0]));
  }, () => {});
}
