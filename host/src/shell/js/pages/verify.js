// Real-name verification (L2): the page with name and ID number, each error
// shown at its field, and the prompt shown instead of a service that needs it.
import { api } from '../api.js';
import { el, fieldWrap, mount, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice, errorText } from '../errors.js';
import { appUrl, replaceHash } from '../nav.js';
import { enc } from '../util.js';

/** Shown instead of a service that needs a higher assurance level: walks the citizen up to L2 and back. */
export function assurancePrompt(appId, path) {
  const back = `#/verify?app=${enc(appId)}&return=${enc(path || '/')}`;
  return el('section', { class: 'card sheet', 'data-testid': 'assurance-prompt' },
    platformBadge('CityHost 平台实名认证'),
    el('p', { class: 'consent-lead' }, '该服务涉及个人信息，需要先完成实名认证（L2）。'),
    el('p', { class: 'muted small' }, '实名认证只需一次，由平台向身份核验机构核对您的姓名和身份证号，服务本身看不到您的完整证件号。'),
    el('div', { class: 'sheet-actions' },
      el('a', { class: 'btn btn-primary', href: back, 'data-testid': 'assurance-verify' }, '去实名认证'),
      el('a', { class: 'btn btn-secondary', href: '#/' }, '返回服务')));
}

/** `#/verify`; `?app=ID&return=PATH` returns to the service afterwards. */
export function pageVerify(token, query) {
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
