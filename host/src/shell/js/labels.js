// What the host's codes are called on screen: service categories, order
// states, consent scopes, assurance levels, subscription kinds.
import { str } from './util.js';

/** Service categories in the order the services page shows them. */
export const CATEGORIES = [
  ['utilities', '生活缴费'], ['housing', '住房'], ['social-security', '社保'],
  ['health', '医疗健康'], ['transport', '交通出行'], ['education', '教育'],
  ['public-data', '公共数据'], ['government-affairs', '政务办事'],
];

/** Order states that mean the money was taken. */
export const PAID_STATES = ['paid', 'partially_refunded', 'refunded'];

const ORDER_STATES = { created: '待支付', paid: '已支付', cancelled: '已取消', expired: '已过期', partially_refunded: '部分退款', refunded: '已退款' };
const SCOPES = {
  auth_base: '应用内用户标识',
  auth_user: '基本身份信息（脱敏姓名、脱敏身份证号、认证等级）',
  auth_id_number: '姓名和完整身份证号',
};
const ASSURANCE = { 1: 'L1 手机号认证', 2: 'L2 实名认证' };
const KINDS = { 'one-time': '一次性：同意后可向您发送一条', 'long-term': '长期：直到您取消' };

/** A category id → its name ('其他' when empty). */
export const categoryLabel = (c) => (CATEGORIES.find(([k]) => k === c) || [c, c || '其他'])[1];

/** An order state → its name, or undefined when unknown. */
export const orderStateLabel = (s) => ORDER_STATES[str(s)];

/** A consent scope → what it gives the app. */
export const scopeLabel = (s) => SCOPES[str(s)] || str(s);

/** An assurance level (1, 2) → its name. */
export function assuranceLabel(level) {
  return ASSURANCE[str(level)] || (level == null || level === '' ? '—' : str(level));
}

/** A subscription kind ('one-time', 'long-term') → what it allows. */
export const kindLabel = (k) => KINDS[str(k)] || str(k);
