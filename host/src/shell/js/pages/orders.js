// Orders and receipts.
import { api } from '../api.js';
import { el, kvList, mount, notice, platformBadge, setTitle } from '../dom.js';
import { fmtTime, t, yuan } from '../i18n.js';
import { orderStateLabel, PAID_STATES } from '../labels.js';
import { arr, deptName, enc, str } from '../util.js';

/** `#/orders`: the citizen's orders, newest first. */
export async function pageOrders(token) {
  setTitle(token, t('orders.title'));
  const orders = arr(await api('GET', '/api/orders'));
  if (!orders.length) return mount(token, notice(t('orders.empty')));
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
      ? el('a', { class: 'btn btn-primary btn-small', href: `#/pay/${enc(str(o.order_id))}`, 'data-testid': 'order-pay' }, t('orders.pay'))
      : el('a', { class: 'btn btn-secondary btn-small', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'order-receipt' }, t('orders.details')));
}

/** The receipt of one order: what, to whom, when, every state change and refund. */
export async function pageReceipt(token, orderId) {
  setTitle(token, t('receipt.title'));
  const o = (await api('GET', `/api/orders/${enc(orderId)}`)) || {};
  const state = str(o.state);
  const refunds = arr(o.refunds);
  const changes = arr(o.history);
  mount(token,
    el('section', { class: 'card receipt', 'data-testid': 'receipt' },
      platformBadge(PAID_STATES.includes(state) ? t('receipt.badge') : t('receipt.badgeOrder')),
      el('p', { class: 'amount center', 'data-testid': 'receipt-amount' }, yuan(o.amount_fen)),
      el('p', { class: 'center' }, el('span', { class: `state state-${state}` }, orderStateLabel(state) || state)),
      kvList([[t('receipt.payee'), deptName(o.department)], [t('receipt.service'), str(o.app_name)], [t('receipt.subject'), str(o.subject)],
        [t('receipt.orderId'), str(o.order_id)], [t('receipt.outTradeNo'), str(o.out_trade_no)], [t('receipt.createdAt'), fmtTime(o.created_at)],
        [t('receipt.paidAt'), o.paid_at ? fmtTime(o.paid_at) : '—'],
        [t('receipt.refunded'), o.refunded_fen ? yuan(o.refunded_fen) : '—']])),
    refunds.length ? el('h2', { class: 'section-title' }, t('receipt.refunds')) : null,
    refunds.length ? el('ul', { class: 'list', 'data-testid': 'receipt-refunds' }, refunds.map((r) => el('li', {},
      el('div', { class: 'list-item' },
        el('span', { class: 'item-row' }, el('span', {}, str(r.reason) || t('receipt.refund')), el('span', { class: 'item-amount' }, yuan(r.amount_fen))),
        el('span', { class: 'item-time' }, t('receipt.refundLine', { time: fmtTime(r.refunded_at), no: str(r.out_request_no) })))))) : null,
    changes.length ? el('h2', { class: 'section-title' }, t('receipt.history')) : null,
    changes.length ? el('ul', { class: 'list' }, changes.map((h) => el('li', {},
      el('div', { class: 'list-item item-row' }, el('span', {}, orderStateLabel(h.state) || str(h.state)),
        el('span', { class: 'item-time' }, fmtTime(h.at)))))) : null,
    state === 'created' ? el('a', { class: 'btn btn-primary', href: `#/pay/${enc(str(o.order_id))}` }, t('orders.pay')) : null);
}
