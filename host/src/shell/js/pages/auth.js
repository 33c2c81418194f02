// Sign-in (phone number + password) and registration (phone number, the
// one-time code sent to it by SMS, password).
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
  const code = el('input', { name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, placeholder: t('auth.codePlaceholder'), required: true });
  const sendCode = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'send-code' }, t('auth.sendCode'));
  if (!isLogin) {
    fields.code = fieldWrap(t('auth.code'), code, true);
    const row = el('div', { class: 'code-row' });
    code.replaceWith(row);
    row.append(code, sendCode);
  }
  const submit = el('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'auth-submit' }, t(isLogin ? 'auth.login' : 'auth.register'));

  const showErrors = (errs, general) => {
    for (const [name, f] of Object.entries(fields)) f.setError(errs[name]);
    top.replaceChildren(...(general ? [general] : []));
    top.hidden = !general;
  };
  // Asks for a code; the button counts down until another may be asked for.
  let countdown = null;
  const waitToResend = (seconds) => {
    clearInterval(countdown);
    let left = seconds;
    const tick = () => {
      if (!sendCode.isConnected || left <= 0) {
        clearInterval(countdown);
        sendCode.disabled = false;
        sendCode.textContent = t('auth.sendCode');
        return;
      }
      sendCode.disabled = true;
      sendCode.textContent = t('auth.resendIn', { s: left });
      left -= 1;
    };
    tick();
    countdown = setInterval(tick, 1000);
  };
  // The wait is per number (the host's throttle): another number may ask at once.
  phone.addEventListener('input', () => waitToResend(0));
  sendCode.addEventListener('click', async () => {
    const errs = {};
    if (!/^1[3-9]\d{9}$/.test(phone.value.trim())) errs.phone = phoneHint();
    showErrors(errs, null);
    if (errs.phone) return phone.focus();
    try {
      const sent = await withBusy(sendCode, () => api('POST', '/api/register/code', { phone: phone.value.trim() }, { auth: false }));
      fields.code.setError(null);
      top.replaceChildren(el('span', { 'data-testid': 'code-sent' }, t('auth.codeSent')));
      top.hidden = false;
      top.classList.add('form-note');
      waitToResend(sent.resend_after_s || 60);
      // A new code replaces whatever was typed for the last one.
      code.value = '';
      code.focus();
    } catch (e) {
      top.classList.remove('form-note');
      if (e.field === 'phone') showErrors({ phone: phoneHint() }, null);
      else showErrors({}, errorNotice(e, 'code'));
    }
  });
  const onsubmit = async (ev) => {
    ev.preventDefault();
    const errs = {};
    if (!/^1[3-9]\d{9}$/.test(phone.value.trim())) errs.phone = phoneHint();
    if (!isLogin && !/^\d{6}$/.test(code.value.trim())) errs.code = t('error.codeHint');
    if (!password.value) errs.password = t('auth.passwordMissing');
    else if (!isLogin && (Array.from(password.value).length < 8 || Array.from(password.value).length > 128)) errs.password = passwordHint();
    showErrors(errs, null);
    if (Object.keys(errs).length) return (errs.phone ? phone : errs.code ? code : password).focus();
    top.classList.remove('form-note');
    const body = { phone: phone.value.trim(), password: password.value };
    if (!isLogin) body.code = code.value.trim();
    try {
      await withBusy(submit, () => api('POST', `/api/${mode}`, body, { auth: false }));
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
    el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': `${mode}-form` }, top, ...(isLogin ? [fields.phone, fields.password] : [fields.phone, fields.code, fields.password]).map((f) => f.wrap), submit),
    el('p', { class: 'auth-switch' }, t(isLogin ? 'auth.noAccount' : 'auth.hasAccount'),
      el('a', { href: isLogin ? '#/register' : '#/login' }, t(isLogin ? 'auth.toRegister' : 'auth.toLogin'))),
    el('p', { class: 'auth-switch' }, languageSwitch())));
}
