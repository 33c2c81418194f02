// Orders and receipts.
import { api } from '../api.js';
import { el, kvList, mount, notice, platformBadge, setTitle } from '../dom.js';
import { fmtTime, yuan } from '../format.js';
import { orderStateLabel, PAID_STATES } from '../labels.js';
import { arr, deptName, enc, str } from '../util.js';

/** `#/orders`: the citizen's orders, newest first. */
export async function pageOrders(token) {
  setTitle(token, '订单');
  const orders = arr(await api('GET', '/api/orders'));
  if (!orders.length) return mount(token, notice('暂无订单。'));
  mount(token, el('ul', { class: 'list' }, orders.map((o) => el('li', {}, orderItem(o)))));
}

function orderItem(o) {
  const state = str(o.state);
  return el('div', { class: 'list-item order-item', 'data-testid': 'order-item', 'data-state': state },
    el('span', { class: 'item-top' },
      el('span', { class: 'item-source' }, `${str(o.app_name)}${deptName(o.department) ? ` · ${deptName(o.department)}` : ''}`),
      el('span', { class: `state state-${state}` }, orderStateLabel(state) || state)),
    el('span', { class: 'item-title' }, str(o.subject)),
    el('span', { class: 'item-row' },
      el('span', { class: 'item-time' }, fmtTime(o.created_at)),
      el('span', { class: 'item-amount' }, yuan(o.amount_fen))),
    state === 'created'
      ? el('a', { class: 'btn btn-primary btn-small', href: `#/pay/${enc(str(o.order_id))}`, 'data-testid': 'order-pay' }, '去支付')
      : el('a', { class: 'btn btn-secondary btn-small', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'order-receipt' }, '查看详情'));
}

/** The receipt of one order: what, to whom, when, every state change and refund. */
export async function pageReceipt(token, orderId) {
  setTitle(token, '订单详情');
  const o = (await api('GET', `/api/orders/${enc(orderId)}`)) || {};
  const state = str(o.state);
  const refunds = arr(o.refunds);
  const changes = arr(o.history);
  mount(token,
    el('section', { class: 'card receipt', 'data-testid': 'receipt' },
      platformBadge(PAID_STATES.includes(state) ? 'CityHost 电子凭证' : 'CityHost 订单'),
      el('p', { class: 'amount center', 'data-testid': 'receipt-amount' }, yuan(o.amount_fen)),
      el('p', { class: 'center' }, el('span', { class: `state state-${state}` }, orderStateLabel(state) || state)),
      kvList([['收款单位', deptName(o.department)], ['服务名称', str(o.app_name)], ['商品', str(o.subject)],
        ['订单号', str(o.order_id)], ['商户订单号', str(o.out_trade_no)], ['下单时间', fmtTime(o.created_at)],
        ['支付时间', o.paid_at ? fmtTime(o.paid_at) : '—'],
        ['已退款', o.refunded_fen ? yuan(o.refunded_fen) : '—']])),
    refunds.length ? el('h2', { class: 'section-title' }, '退款记录') : null,
    refunds.length ? el('ul', { class: 'list', 'data-testid': 'receipt-refunds' }, refunds.map((r) => el('li', {},
      el('div', { class: 'list-item' },
        el('span', { class: 'item-row' }, el('span', {}, str(r.reason) || '退款'), el('span', { class: 'item-amount' }, yuan(r.amount_fen))),
        el('span', { class: 'item-time' }, `${fmtTime(r.refunded_at)} · 退款单号 ${str(r.out_request_no)}`))))) : null,
    changes.length ? el('h2', { class: 'section-title' }, '状态记录') : null,
    changes.length ? el('ul', { class: 'list' }, changes.map((h) => el('li', {},
      el('div', { class: 'list-item item-row' }, el('span', {}, orderStateLabel(h.state) || str(h.state)),
        el('span', { class: 'item-time' }, fmtTime(h.at)))))) : null,
    state === 'created' ? el('a', { class: 'btn btn-primary', href: `#/pay/${enc(str(o.order_id))}` }, '去支付') : null);
}
