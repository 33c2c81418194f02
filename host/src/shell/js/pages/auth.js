// Sign-in and registration (phone number + password).
import { api, forgetApps } from '../api.js';
import { el, fieldWrap, mount, setTitle, withBusy } from '../dom.js';
import { errorNotice, errorText, PASSWORD_HINT, PHONE_HINT } from '../errors.js';
import { connectLive } from '../live.js';
import { go } from '../nav.js';

/** `#/login` and `#/register` (mode 'login' or 'register'). */
export function pageAuth(token, mode) {
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
    el('div', { class: 'brand' }, el('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '城'),
      el('p', { class: 'brand-name' }, 'CityHost 城市服务'), el('p', { class: 'muted' }, '一个入口，办好政务与生活服务')),
    el('form', { class: 'card form', novalidate: true, onsubmit, 'data-testid': `${mode}-form` }, top, fields.phone.wrap, fields.password.wrap, submit),
    el('p', { class: 'auth-switch' }, isLogin ? '还没有账号？' : '已有账号？',
      el('a', { href: isLogin ? '#/register' : '#/login' }, isLogin ? '立即注册' : '去登录'))));
}
