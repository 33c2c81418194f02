// Sign-in and registration (phone number + password).
import { api, forgetApps } from '../api.js';
import { el, fieldWrap, mount, setTitle, withBusy } from '../dom.js';
import { errorNotice, errorText, passwordHint, phoneHint } from '../errors.js';
import { connectLive } from '../live.js';
import { go } from '../nav.js';
import { t } from '../i18n.js';
import { languageSwitch } from './settings.js';

/** `#/login` and `#/register` (mode 'login' or 'register'). */
export function pageAuth(token, mode) {
  const isLogin = mode === 'login';
  setTitle(token, t(isLogin ? 'auth.login' : 'auth.register'));
  const top = el('div', { class: 'form-error', hidden: true, 'data-testid': 'form-error' });
  const phone = el('input', { name: 'phone', type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 11, placeholder: t('auth.phonePlaceholder'), required: true });
  const password = el('input', { name: 'password', type: 'password', autocomplete: isLogin ? 'current-password' : 'new-password', placeholder: t('auth.passwordPlaceholder'), required: true });
  const fields = { phone: fieldWrap(t('auth.phone'), phone, true), password: fieldWrap(t('auth.password'), password, true) };
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'auth-submit' }, t(isLogin ? 'auth.login' : 'auth.register'));

  const showErrors = (errs, general) => {
    for (const [name, f] of Object.entries(fields)) f.setError(errs[name]);
    top.replaceChildren(...(general ? [general] : []));
    top.hidden = !general;
  };
  const onsubmit = async (ev) => {
    ev.preventDefault();
    const errs = {};
    if (!/^1[3-9]\d{9}$/.test(phone.value.trim())) errs.phone = phoneHint();
    if (!password.value) errs.password = t('auth.passwordMissing');
    else if (!isLogin && (Array.from(password.value).length < 8 || Array.from(password.value).length > 128)) errs.password = passwordHint();
    showErrors(errs, null);
    if (Object.keys(errs).length) return (errs.phone ? phone : password).focus();
    try {
      await withBusy(submit, () => api('POST', `/api/${mode}`, { phone: phone.value.trim(), password: password.value }, { auth: false }));
      forgetApps();
      connectLive();
      go('#/');
    } catch (e) {
      const { text, detail } = errorText(e, mode);
      if (fields[e.field] && !detail && !e.errorId) showErrors({ [e.field]: text }, null);
      else showErrors({}, errorNotice(e, mode));
    }
  };
  mount(token, el('div', { class: 'auth' },
    el('div', { class: 'brand' }, el('span', { class: 'brand-mark', 'aria-hidden': 'true' }, t('app.brandMark')),
      el('p', { class: 'brand-name' }, t('app.name')), el('p', { class: 'muted' }, t('app.tagline'))),
    el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': `${mode}-form` }, top, fields.phone.wrap, fields.password.wrap, submit),
    el('p', { class: 'auth-switch' }, t(isLogin ? 'auth.noAccount' : 'auth.hasAccount'),
      el('a', { href: isLogin ? '#/register' : '#/login' }, t(isLogin ? 'auth.toRegister' : 'auth.toLogin'))),
    el('p', { class: 'auth-switch' }, languageSwitch())));
}
