// The one place that turns an error into words for citizens, and the
// notices and cards that show it.
import { ApiError } from './api.js';
import { el } from './dom.js';
import { route } from './nav.js';
import { str } from './util.js';

/** Real-name verification errors by field and reason (see docs/identity.md). */
const VERIFY_ERRORS = {
  name: { length: '姓名应为 2–30 个字', characters: '请填写户口簿上的中文姓名，少数民族姓名各部分之间用“·”分隔' },
  id_number: {
    format: '身份证号应为 18 位：17 位数字加 1 位数字或 X',
    birth_date: '身份证号第 7–14 位的出生日期无效',
    province: '身份证号前两位的省份代码不存在',
    check_character: '身份证号最后一位校验码不正确，请核对',
    already_verified: '您的账号已完成实名认证，不能更换身份信息',
  },
};

/** What a valid phone number looks like. */
export const PHONE_HINT = '请输入以 13–19 开头的 11 位手机号';
/** What a valid password looks like. */
export const PASSWORD_HINT = '密码长度应为 8–128 位';

/** The text for an HTTP status without a known error code (0 = no connection). */
export function defaultMessage(status) {
  if (status === 0) return '网络连接失败，请检查网络后重试';
  if (status === 403) return '没有权限访问';
  if (status === 404) return '找不到请求的内容';
  if (status >= 500) return '服务暂时不可用，请稍后再试';
  return `请求失败（${status}）`;
}

const NOT_FOUND = { order: '该订单', pay: '该订单', app: '该服务', consent: '该服务', inbox: '该消息', subscribe: '该订阅' };

/**
 * Turns an API error into Chinese for citizens.
 * ctx names the page ('login', 'register', 'pay', 'consent', 'app', 'inbox', ...).
 * Returns { text, detail }: detail is the server's own (English) message, set only
 * for codes this shell does not know.
 */
export function errorText(err, ctx = '') {
  if (err instanceof Error && !(err instanceof ApiError)) return { text: '页面出错了，请重试', detail: str(err.message) };
  if (!(err instanceof ApiError)) return { text: str(err && err.message) || '请求失败', detail: '' };
  const { status, code, field } = err;
  const known = (() => {
    switch (code) {
      case 'unauthenticated': return ctx === 'login' ? '手机号或密码错误' : '登录已失效，请重新登录';
      case 'invalid_argument':
        if (VERIFY_ERRORS[field] && VERIFY_ERRORS[field][err.reason]) return VERIFY_ERRORS[field][err.reason];
        if (field === 'phone') return PHONE_HINT;
        if (field === 'password') return PASSWORD_HINT;
        return null;
      case 'conflict':
        if (field === 'phone') return '该手机号已注册';
        if (field === 'id_number') return VERIFY_ERRORS.id_number[err.reason] || '该身份证号已被其他账号实名认证';
        if (field === 'state') return '该订单已支付或已失效';
        return null;
      case 'not_found': return `未找到${NOT_FOUND[ctx] || '请求的内容'}`;
      case 'rate_limited': return '尝试次数过多，请稍后再试';
      case 'forbidden': return ctx === 'consent' ? '该服务无权申请此授权' : null;
      case 'app_failed': case 'app_response_too_large': return '服务出错了';
      case 'app_memory_exceeded': return '服务占用资源过多，已被停止';
      case 'app_timeout': return '服务响应超时';
      case 'host_busy': return '平台繁忙，请稍后再试';
      case 'payload_too_large': return '提交的内容过大';
      case 'insufficient_funds': return '银行卡余额不足，请更换支付方式或充值后再试';
      case 'wrong_pin': return '支付密码错误';
      case 'payment_locked': return '支付密码错误次数过多，支付已锁定，请 15 分钟后再试';
      case 'pin_not_set': return '请先设置支付密码';
      case 'pin_already_set': return '支付密码已设置';
      case 'identity_mismatch': return '姓名与身份证号不匹配，请核对后重试';
      case 'assurance_required': return '该服务需要先完成实名认证';
      default: return null;
    }
  })();
  if (known) return { text: known, detail: '' };
  let text = defaultMessage(status);
  if (status === 400) text = '提交的信息有误，请检查后重试';
  else if (status === 409) text = '操作未能完成，请刷新后重试';
  else if (status === 429) text = '操作过于频繁，请稍后再试';
  return { text, detail: err.serverMessage };
}

/** The detail lines under an error: the server's message (unknown codes only) and the error id. */
function errorExtras(err, detail) {
  return [
    detail ? el('span', { class: 'error-detail', 'data-testid': 'error-detail', lang: 'en' }, detail) : null,
    err && err.errorId ? el('span', { class: 'error-detail' }, '错误编号：', el('code', { 'data-testid': 'error-id' }, err.errorId)) : null,
  ];
}

/** An inline error notice for an API error. */
export function errorNotice(err, ctx) {
  const { text, detail } = errorText(err, ctx);
  return el('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'error-notice' },
    el('span', { 'data-testid': 'error-message' }, text), ...errorExtras(err, detail));
}

/** A whole-page error with a retry button. */
export function errorCard(err, ctx) {
  const { text, detail } = errorText(err, ctx);
  return el('section', { class: 'card error-card', role: 'alert', 'data-testid': 'error-card' },
    el('h2', {}, '出错了'),
    el('p', { 'data-testid': 'error-message' }, text),
    ...errorExtras(err, detail),
    el('button', { type: 'button', class: 'btn btn-secondary', onclick: () => route() }, '重试'));
}
