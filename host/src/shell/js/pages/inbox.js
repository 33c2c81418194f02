// The inbox: messages from the services the citizen subscribed to, read
// and delete, and the live stream adding new ones on top.
import { api } from '../api.js';
import { el, mount, setTitle, withBusy } from '../dom.js';
import { errorNotice } from '../errors.js';
import { fmtTime, t } from '../i18n.js';
import { connectLive, isLive, onLiveMessage, refreshBadge, setBadge } from '../live.js';
import { appUrl } from '../nav.js';
import { arr, enc, nextId, str } from '../util.js';

/** `#/inbox`: messages, newest first, live ones added on top. */
export async function pageInbox(token) {
  setTitle(token, t('inbox.title'));
  connectLive();
  const data = (await api('GET', '/api/inbox')) || {};
  setBadge(data.unread);
  const list = el('ul', { class: 'list', 'data-testid': 'inbox-list' });
  onLiveMessage((m) => {
    if (!list.isConnected) return;
    if (list.querySelector(`[data-message-id="${CSS.escape(str(m.id))}"]`)) return;
    const empty = document.querySelector('[data-testid=inbox-empty]');
    if (empty) empty.remove();
    list.prepend(el('li', { 'data-message-id': str(m.id) }, inboxItem(m)));
  });
  const more = el('button', { type: 'button', class: 'btn btn-secondary', 'data-testid': 'inbox-more', hidden: true }, t('inbox.more'));
  let cursor = null;
  const addPage = (page) => {
    for (const m of arr(page.messages)) list.append(el('li', { 'data-message-id': str(m.id) }, inboxItem(m)));
    cursor = page.next_cursor == null ? null : page.next_cursor;
    more.hidden = cursor == null;
  };
  more.addEventListener('click', async () => {
    try {
      addPage((await withBusy(more, () => api('GET', `/api/inbox?before=${enc(str(cursor))}`))) || {});
    } catch (e) { if (!e.handled) more.before(errorNotice(e, 'inbox')); }
  });
  const readAll = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'inbox-read-all' }, t('inbox.readAll'));
  readAll.addEventListener('click', async () => {
    try {
      const r = await withBusy(readAll, () => api('POST', '/api/inbox/read-all'));
      setBadge(r && r.unread);
      for (const card of list.querySelectorAll('.inbox-item.unread')) {
        card.classList.remove('unread');
        const dot = card.querySelector('.dot');
        if (dot) dot.remove();
      }
    } catch (e) { if (!e.handled) readAll.after(errorNotice(e, 'inbox')); }
  });
  const tools = el('div', { class: 'inbox-tools' }, readAll,
    el('a', { class: 'btn btn-secondary btn-small', href: '#/subscriptions', 'data-testid': 'inbox-subscriptions' }, t('inbox.subscriptions')));
  addPage(data);
  mount(token, tools, arr(data.messages).length ? null : el('p', { class: 'alert alert-info', 'data-testid': 'inbox-empty' }, t('inbox.empty')), list, more);
}

/** A message: tapping it expands the full text in place (and marks it read); its link and delete are separate buttons. */
function inboxItem(m) {
  const detailId = `msg-${nextId()}`;
  const dot = m.read ? null : el('span', { class: 'dot' }, el('span', { class: 'visually-hidden' }, t('inbox.unread')));
  const preview = el('span', { class: 'item-body item-preview' }, str(m.body));
  const toggle = el('button', { type: 'button', class: 'inbox-toggle', 'aria-expanded': 'false', 'aria-controls': detailId, 'data-testid': 'inbox-item' },
    el('span', { class: 'item-top' }, dot,
      el('span', { class: 'item-source' }, str(m.app_name)),
      el('span', { class: 'item-time' }, fmtTime(m.created_at))),
    el('span', { class: 'item-title' }, str(m.title)),
    preview);
  const linkOk = m.link_path && appUrl(str(m.app_id), str(m.link_path));
  const remove = el('button', { type: 'button', class: 'btn btn-secondary btn-small btn-danger', 'data-testid': 'inbox-delete' }, t('common.delete'));
  const detail = el('div', { class: 'inbox-detail', id: detailId, hidden: true },
    el('p', { class: 'inbox-body', 'data-testid': 'inbox-body' }, str(m.body)),
    el('div', { class: 'inbox-actions' },
      linkOk ? el('a', { class: 'btn btn-primary btn-small', href: `#/app/${enc(str(m.app_id))}${str(m.link_path)}`, 'data-testid': 'inbox-open' }, t('inbox.open')) : null,
      remove));
  const card = el('div', { class: `list-item inbox-item${m.read ? '' : ' unread'}` }, toggle, detail);
  remove.addEventListener('click', async () => {
    try {
      await withBusy(remove, () => api('DELETE', `/api/inbox/${enc(str(m.id))}`));
    } catch (e) { if (!e.handled) remove.after(errorNotice(e, 'inbox')); return; }
    const item = card.closest('li') || card;
    item.remove();
    if (!isLive()) refreshBadge();
  });
  toggle.addEventListener('click', async () => {
    const open = detail.hidden;
    detail.hidden = !open;
    preview.hidden = open;
    toggle.setAttribute('aria-expanded', String(open));
    if (!open || m.read) return;
    try {
      await api('POST', `/api/inbox/${enc(str(m.id))}/read`);
    } catch { return; } // stays unread; a 401 has already gone to login
    m.read = true;
    card.classList.remove('unread');
    if (dot) dot.remove();
    if (!isLive()) refreshBadge();
  });
  return card;
}
