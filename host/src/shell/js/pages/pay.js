// The payment sheet (the platform's cashier): order, payee and account,
// setting the PIN once, confirming with the PIN, cancelling the order.
import { api } from '../api.js';
import { el, kvList, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime, t, yuan } from '../i18n.js';
import { orderStateLabel, PAID_STATES, payMethodLabel } from '../labels.js';
import { back as goBack, currentToken, isCurrent } from '../nav.js';
import { pinPad } from '../pinpad.js';
import { deptName, enc, str } from '../util.js';

/** `#/pay/{order_id}`. */
export async function pagePay(token, orderId) {
  setTitle(token, t('pay.title'));
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
  const sheet = el('section', { class: 'sheet', 'aria-label': t('pay.aria'), 'data-testid': 'pay-sheet' },
    platformBadge(t('pay.badge')),
    el('p', { class: 'muted center' }, t('pay.amount')),
    el('p', { class: 'amount', 'data-testid': 'pay-amount' }, yuan(o.amount_fen)),
    kvList([[t('receipt.payee'), deptName(o.department)], [t('receipt.service'), str(o.app_name)], [t('receipt.subject'), str(o.subject)],
      [t('pay.method'), t('pay.methodLine', { method: (a && payMethodLabel(a.method_code, a.method)) || t('pay.card'), balance: yuan(balance) })],
      [t('receipt.orderId'), str(o.order_id)], [t('receipt.createdAt'), fmtTime(o.created_at)]]),
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
      notice.append(el('span', { 'data-testid': 'pin-tries' }, t('pay.triesLeft', { n: account.pin.remaining_tries })));
    }
    if (fresh && typeof fresh === 'object') sheet.replaceWith(paySheet(fresh, account, notice));
    else if (notice) status.append(notice);
  };

  if (PAID_STATES.includes(o.state)) {
    status.append(notice(o.paid_at ? t('pay.alreadyPaidAt', { time: fmtTime(o.paid_at) }) : t('pay.alreadyPaid'), 'success'));
    actions.append(backButton(t('common.backToServices')),
      el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'pay-receipt' }, t('pay.receipt')));
  } else if (o.state !== 'created') {
    status.append(notice(t('pay.notPayable', { state: orderStateLabel(o.state) || t('pay.notPayableState') }), 'warning'));
    actions.append(backButton(t('common.backToServices')));
  } else if (!pin.set) {
    // Set-PIN flow: once, then the sheet asks for it.
    const first = pinPad(t('pay.newPin'), 'pin-new');
    const again = pinPad(t('pay.againPin'), 'pin-again');
    const save = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pin-save' }, t('pay.savePin'));
    status.append(notice(t('pay.pinFirst'), 'info'));
    save.addEventListener('click', async () => {
      if (!/^\d{6}$/.test(first.value()) || first.value() !== again.value()) {
        status.replaceChildren(notice(t('pay.pinMismatch'), 'error'));
        return;
      }
      try {
        await withBusy(save, () => api('POST', '/api/payment/pin', { pin: first.value() }));
      } catch (e) {
        if (e.handled) return;
        status.replaceChildren(e.field === 'pin' && e.code === 'invalid_argument'
          ? notice(t('pay.pinWeak'), 'error') : errorNotice(e, 'pay'));
        return;
      }
      await refresh(null);
    });
    actions.append(first.node, again.node, save);
  } else if (pin.locked_for_ms > 0) {
    status.append(el('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'pay-locked' },
      t('pay.locked', { minutes: Math.ceil(pin.locked_for_ms / 60000) })));
    actions.append(backButton(t('common.backToServices')));
  } else {
    if (balance < Number(o.amount_fen)) {
      status.append(el('div', { class: 'alert alert-warning', role: 'status', 'data-testid': 'pay-insufficient' },
        t('pay.insufficient', { balance: yuan(balance), amount: yuan(o.amount_fen) })));
    }
    const pad = pinPad(t('pay.pin'), 'pay-pin');
    const confirm = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pay-confirm' }, t('pay.confirm'));
    const back = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'pay-cancel' }, t('common.back'));
    const cancelOrder = el('button', { type: 'button', class: 'btn btn-secondary btn-danger', 'data-testid': 'order-cancel' }, t('pay.cancelOrder'));
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
        status.append(notice(t('pay.enterPin'), 'error'));
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
        el('strong', {}, t('pay.success')), t('pay.successLine', { payee: deptName(o.department) || t('pay.payee'), amount: yuan(o.amount_fen) })));
      actions.replaceChildren(backButton(t('common.backToServices')),
        el('a', { class: 'btn btn-secondary', href: `#/orders/${enc(str(o.order_id))}`, 'data-testid': 'pay-receipt' }, t('pay.receipt')));
      actions.firstChild.focus();
    });
    actions.append(pad.node, confirm, back, cancelOrder);
  }
  return sheet;
}
