// The payment sheet (the platform's cashier): order, payee and account,
// setting the PIN once, confirming with the PIN, cancelling the order.
import { api } from '../api.js';
import { el, kvList, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime, yuan } from '../format.js';
import { orderStateLabel, PAID_STATES } from '../labels.js';
import { back as goBack, currentToken, isCurrent } from '../nav.js';
import { pinPad } from '../pinpad.js';
import { deptName, enc, str } from '../util.js';

/** `#/pay/{order_id}`. */
export async function pagePay(token, orderId) {
  setTitle(token, '确认支付');
  const [order, account] = await Promise.all([
    api('GET', `/api/orders/${enc(orderId)}`), api('GET', '/api/payment/account')]);
  mount(token, paySheet(order || {}, account || {}));
}

/**
 * The payment sheet for order o with the citizen's account a ({ method, balance_fen, pin });
 * failure (an error notice) is shown above its actions.
 */
function paySheet(o, a, failure) {
  const backPath = str(o.return_path).startsWith('/') ? str(o.return_path) : '/';
  const backHash = `#/app/${enc(str(o.app_id))}${backPath}`;
  const status = el('div', { class: 'sheet-status' });
  const actions = el('div', { class: 'sheet-actions' });
  const pin = (a && a.pin) || {};
  const balance = Number(a && a.balance_fen) || 0;
  const sheet = el('section', { class: 'sheet', 'aria-label': 'CityHost 收银台', 'data-testid': 'pay-sheet' },
    platformBadge('CityHost 收银台 · 平台安全支付'),
    el('p', { class: 'muted center' }, '支付金额'),
    el('p', { class: 'amount', 'data-testid': 'pay-amount' }, yuan(o.amount_fen)),
    kvList([['收款单位', deptName(o.department)], ['服务名称', str(o.app_name)], ['商品', str(o.subject)],
      ['支付方式', `${str(a && a.method) || '银行卡'}（余额 ${yuan(balance)}）`],
      ['订单号', str(o.order_id)], ['下单时间', fmtTime(o.created_at)]]),
    status, actions);
  if (failure) status.append(failure);
  const backButton = (label) => el('a', { class: 'btn btn-primary', href: backHash, 'data-testid': 'pay-return' }, label);
  const refresh = async (err) => {
    const token = currentToken();
    let fresh = null;
    let account = a;
    try {
      [fresh, account] = await Promise.all([
        api('GET', `/api/orders/${enc(str(o.order_id))}`), api('GET', '/api/payment/account')]);
    } catch { /* keep the old sheet */ }
    if (!isCurrent(token)) return;
    // A 409 on an order that is no longer payable is fully explained by the sheet's own state notice.
    const explained = err && err.code === 'conflict' && fresh && fresh.state !== 'created';
    const notice = err && !explained ? errorNotice(err, 'pay') : null;
    if (notice && err.code === 'wrong_pin' && account && account.pin) {
      notice.append(el('span', { 'data-testid': 'pin-tries' }, `，还可尝试 ${account.pin.remaining_tries} 次`));
    }
    if (fresh && typeof fresh === 'object') sheet.replaceWith(paySheet(fresh, account, notice));
    else if (notice) status.append(notice);
  };

  if (PAID_STATES.includes(o.state)) {
    status.append(notice(`该订单已支付${o.paid_at ? `（${fmtTime(o.paid_at)}）` : ''}，无需重复支付。`, 'success'));
    actions.append(backButton('返回服务'),
      el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'pay-receipt' }, '查看凭证'));
  } else if (o.state !== 'created') {
    status.append(notice(`该订单${orderStateLabel(o.state) || '不可支付'}，无法支付。`, 'warning'));
    actions.append(backButton('返回服务'));
  } else if (!pin.set) {
    // Set-PIN flow: once, then the sheet asks for it.
    const first = pinPad('设置 6 位支付密码', 'pin-new');
    const again = pinPad('再次输入支付密码', 'pin-again');
    const save = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pin-save' }, '设置支付密码');
    status.append(notice('首次支付前请设置支付密码。支付密码只用于确认付款，请勿告诉他人。', 'info'));
    save.addEventListener('click', async () => {
      if (!/^\d{6}$/.test(first.value()) || first.value() !== again.value()) {
        status.replaceChildren(notice('两次输入的 6 位数字密码不一致', 'error'));
        return;
      }
      try {
        await withBusy(save, () => api('POST', '/api/payment/pin', { pin: first.value() }));
      } catch (e) {
        if (e.handled) return;
        status.replaceChildren(e.field === 'pin' && e.code === 'invalid_argument'
          ? notice('密码过于简单，请勿使用相同或连续的数字', 'error') : errorNotice(e, 'pay'));
        return;
      }
      await refresh(null);
    });
    actions.append(first.node, again.node, save);
  } else if (pin.locked_for_ms > 0) {
    status.append(el('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'pay-locked' },
      `支付密码错误次数过多，支付已锁定，请 ${Math.ceil(pin.locked_for_ms / 60000)} 分钟后再试。`));
    actions.append(backButton('返回服务'));
  } else {
    if (balance < Number(o.amount_fen)) {
      status.append(el('div', { class: 'alert alert-warning', role: 'status', 'data-testid': 'pay-insufficient' },
        `银行卡余额 ${yuan(balance)}，不足以支付 ${yuan(o.amount_fen)}。`));
    }
    const pad = pinPad('支付密码', 'pay-pin');
    const confirm = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pay-confirm' }, '确认支付');
    const back = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'pay-cancel' }, '返回');
    const cancelOrder = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'order-cancel' }, '取消订单');
    back.addEventListener('click', () => goBack('#/orders'));
    cancelOrder.addEventListener('click', async () => {
      try {
        await withBusy(cancelOrder, () => api('POST', `/api/orders/${enc(str(o.order_id))}/cancel`, { order_id: str(o.order_id) }));
        await refresh(null);
      } catch (e) {
        if (!e.handled) await refresh(e);
      }
    });
    confirm.addEventListener('click', async () => {
      status.replaceChildren();
      if (!/^\d{6}$/.test(pad.value())) {
        status.append(notice('请输入 6 位支付密码', 'error'));
        pad.focus();
        return;
      }
      try {
        await withBusy(confirm, () => api('POST', `/api/orders/${enc(str(o.order_id))}/confirm`,
          { order_id: str(o.order_id), pin: pad.value() }));
      } catch (e) {
        if (e.handled) return;
        pad.clear();
        // The order may have changed meanwhile (paid in another tab, expired):
        // show it as it is now, with the error on top.
        await refresh(e);
        return;
      }
      status.append(el('div', { class: 'alert alert-success', role: 'status', 'data-testid': 'pay-success' },
        el('strong', {}, '支付成功'), `，已向${deptName(o.department) || '收款单位'}支付 ${yuan(o.amount_fen)}。`));
      actions.replaceChildren(backButton('返回服务'),
        el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'pay-receipt' }, '查看凭证'));
      actions.firstChild.focus();
    });
    actions.append(pad.node, confirm, back, cancelOrder);
  }
  return sheet;
}
