// Live inbox: server-sent events from /api/inbox/stream. The browser
// reconnects by itself and sends Last-Event-ID, so nothing sent meanwhile
// is missed; every event carries the unread count for the tab bar's badge.
import { api } from './api.js';
import { t } from './i18n.js';

const $badge = document.getElementById('unread-badge');
const $unreadSr = document.getElementById('unread-sr');

let live = null;
let onMessage = null; // the open inbox page's handler for a new message

/** Is the live stream open (then it keeps the badge current)? */
export const isLive = () => live != null;

/** Sets the handler for messages that arrive live (the inbox page), or null. */
export function onLiveMessage(handler) { onMessage = handler; }

/** Opens the live stream, once. */
export function connectLive() {
  if (live || typeof EventSource === 'undefined') return;
  live = new EventSource('/api/inbox/stream');
  const onUnread = (ev) => {
    let data = null;
    try { data = JSON.parse(ev.data); } catch { return; }
    if (data && typeof data === 'object') setBadge(data.unread);
    return data;
  };
  live.addEventListener('ready', onUnread);
  live.addEventListener('unread', onUnread);
  live.addEventListener('message', (ev) => {
    const data = onUnread(ev);
    const m = data && data.message;
    if (m && typeof m === 'object' && onMessage) onMessage(m);
  });
  live.addEventListener('error', () => {
    // A closed stream (signed out, host restarted) is retried on the next page visit.
    if (live && live.readyState === EventSource.CLOSED) { live = null; }
  });
}

/** Closes the live stream (on sign-out). */
export function disconnectLive() {
  if (live) live.close();
  live = null;
}

/** Asks the host for the unread count and shows it. */
export async function refreshBadge() {
  try {
    const data = await api('GET', '/api/inbox/unread', undefined, { auth: false });
    setBadge(data && data.unread);
  } catch { /* badge is best effort */ }
}

/** Shows the unread count on the inbox tab (hidden at 0, "99+" above 99). */
export function setBadge(unread) {
  const n = Math.max(0, Math.trunc(Number(unread) || 0));
  $badge.hidden = n === 0;
  $badge.textContent = n > 99 ? '99+' : String(n);
  $unreadSr.textContent = n ? t('tab.unread', { n }) : '';
}
