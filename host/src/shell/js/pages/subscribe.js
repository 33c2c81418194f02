// Notification subscriptions: the sheet where the host (not the app) says
// which messages an app will send, and the list to cancel them.
import { api } from '../api.js';
import { el, mount, notice, platformBadge, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime, t } from '../i18n.js';
import { kindLabel } from '../labels.js';
import { replaceHash, route } from '../nav.js';
import { arr, deptName, enc, nextId, str } from '../util.js';

/** `#/subscribe/{app_id}?templates=A,B&return=PATH`: the subscription sheet. */
export async function pageSubscribe(token, appId, query) {
  setTitle(token, t('subscribe.title'));
  const params = new URLSearchParams(query);
  const ret = params.get('return');
  const returnPath = ret && ret.startsWith('/') ? ret : '/';
  const sheet = await api('GET', `/api/subscriptions/${enc(appId)}?templates=${enc(str(params.get('templates')))}`);
  mount(token, subscribeSheet(sheet || {}, appId, returnPath));
}

/** The sheet: which messages the app may send, Allow / Deny each. */
function subscribeSheet(sh, appId, returnPath) {
  const status = el('div', { class: 'sheet-status' });
  const choices = arr(sh.templates).map((tpl) => {
    const name = `sub-${nextId()}`;
    const radio = (value, label, checked) => el('label', { class: 'choice' },
      el('input', { type: 'radio', name, value, checked, 'data-testid': `subscribe-${value}-${str(tpl.id)}` }), label);
    const row = el('fieldset', { class: 'list-item subscribe-item', 'data-testid': 'subscribe-item' },
      el('legend', { class: 'item-title' }, str(tpl.title)),
      el('span', { class: 'item-body' }, kindLabel(tpl.kind)),
      tpl.subscribed ? el('span', { class: 'muted small' }, t('subscribe.already')) : null,
      el('span', { class: 'item-row' }, radio('accept', t('common.allow'), true), radio('reject', t('common.deny'), false)));
    return { tpl, row, value: () => (row.querySelector('input:checked') || {}).value || 'reject' };
  });
  const done = el('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'subscribe-confirm' }, t('subscribe.confirm'));
  const back = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'subscribe-cancel' }, t('subscribe.later'));
  back.addEventListener('click', () => replaceHash(`#/app/${enc(appId)}${returnPath}`));
  done.addEventListener('click', async () => {
    status.replaceChildren();
    const decisions = choices.map((c) => ({ template: str(c.tpl.id), decision: c.value() }));
    try {
      await withBusy(done, () => api('POST', '/api/subscriptions', { app_id: appId, decisions }));
    } catch (e) {
      if (!e.handled) status.append(errorNotice(e, 'subscribe'));
      return;
    }
    replaceHash(`#/app/${enc(appId)}${returnPath}`);
  });
  return el('section', { class: 'sheet', 'aria-label': t('subscribe.aria'), 'data-testid': 'subscribe-sheet' },
    platformBadge(t('subscribe.badge')),
    el('p', { class: 'consent-lead' }, t('subscribe.lead', { dept: deptName(sh.department), app: str(sh.app_name) })),
    ...choices.map((c) => c.row),
    el('p', { class: 'muted small' }, t('subscribe.note')),
    status, el('div', { class: 'sheet-actions' }, done, back));
}

/** `#/subscriptions`: the citizen's subscriptions, each can be cancelled. */
export async function pageSubscriptions(token) {
  setTitle(token, t('subscriptions.title'));
  const list = arr(await api('GET', '/api/subscriptions'));
  if (!list.length) return mount(token, notice(t('subscriptions.empty')));
  mount(token, el('ul', { class: 'list' }, list.map((s) => {
    const cancel = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'subscription-cancel' }, t('subscriptions.cancel'));
    const row = el('div', { class: 'list-item', 'data-testid': 'subscription-item' },
      el('span', { class: 'item-source' }, `${str(s.app_name)}${deptName(s.department) ? ` · ${deptName(s.department)}` : ''}`),
      el('span', { class: 'item-title' }, str(s.title)),
      el('span', { class: 'item-row' }, el('span', { class: 'item-time' }, t('subscriptions.line', { kind: kindLabel(s.kind), time: fmtTime(s.accepted_at) })), cancel));
    cancel.addEventListener('click', async () => {
      try {
        await withBusy(cancel, () => api('DELETE', `/api/subscriptions/${enc(str(s.app_id))}/${enc(str(s.template))}`));
        route();
      } catch (e) { if (!e.handled) row.append(errorNotice(e, 'subscribe')); }
    });
    return el('li', {}, row);
  })));
}
