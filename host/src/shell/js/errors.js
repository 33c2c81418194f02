// The one place that turns an error into words for citizens (i18n.js), and the
// notices and cards that show it.
import { ApiError } from './api.js';
import { el } from './dom.js';
import { has, t } from './i18n.js';
import { route } from './nav.js';
import { str } from './util.js';

/** What a valid phone number looks like. */
export const phoneHint = () => t('error.phoneHint');
/** What a valid password looks like. */
export const passwordHint = () => t('error.passwordHint');

/** The text for an HTTP status without a known error code (0 = no connection). */
export function defaultMessage(status) {
  if (status === 0) return t('error.status.0');
  if (status === 403) return t('error.status.403');
  if (status === 404) return t('error.status.404');
  if (status >= 500) return t('error.status.5xx');
  return t('error.status.other', { status });
}

/** How long a wait of `secs` seconds is, in words: seconds under a minute, else minutes rounded up. */
function waitText(secs) {
  return secs < 60 ? t('wait.seconds', { n: secs }) : t('wait.minutes', { n: Math.ceil(secs / 60) });
}

/** A real-name verification error by field and reason (see docs/identity.md), or null. */
function verifyError(field, reason) {
  const key = `error.verify.${field}.${reason}`;
  return field && reason && has(key) ? t(key) : null;
}

const NOT_FOUND = { order: 'order', pay: 'order', app: 'app', consent: 'app', inbox: 'inbox', subscribe: 'subscribe' };

/**
 * Turns an API error into words for citizens, in the current language.
 * ctx names the page ('login', 'register', 'pay', 'consent', 'app', 'inbox', ...).
 * Returns { text, detail }: detail is the server's own (English) message, set only
 * for codes this shell does not know.
 */
export function errorText(err, ctx = '') {
  if (err instanceof Error && !(err instanceof ApiError)) return { text: t('error.page'), detail: str(err.message) };
  if (!(err instanceof ApiError)) return { text: str(err && err.message) || t('error.request'), detail: '' };
  const { status, code, field } = err;
  const key = (() => {
    switch (code) {
      case 'unauthenticated': return ctx === 'login' ? 'error.login' : 'error.sessionExpired';
      case 'invalid_argument':
        if (field === 'phone') return 'error.phoneHint';
        if (field === 'password') return 'error.passwordHint';
        if (field === 'code') return 'error.codeWrong';
        return null;
      case 'conflict':
        if (field === 'phone') return 'error.phoneTaken';
        if (field === 'id_number') return 'error.verify.id_number.taken';
        if (field === 'state') return 'error.orderState';
        return null;
      case 'not_found': return `error.notFound.${NOT_FOUND[ctx] || 'other'}`;
      case 'rate_limited': return 'error.rateLimited';
      case 'forbidden': return ctx === 'consent' ? 'error.consentForbidden' : null;
      case 'app_failed': case 'app_response_too_large': return 'error.appFailed';
      case 'app_memory_exceeded': return 'error.appMemory';
      case 'app_timeout': return 'error.appTimeout';
      case 'host_busy': return 'error.hostBusy';
      case 'payload_too_large': return 'error.payloadTooLarge';
      case 'insufficient_funds': return 'error.insufficientFunds';
      case 'wrong_pin': return 'error.wrongPin';
      case 'payment_locked': return 'error.paymentLocked';
      case 'pin_not_set': return 'error.pinNotSet';
      case 'pin_already_set': return 'error.pinAlreadySet';
      case 'identity_mismatch': return 'error.identityMismatch';
      case 'identity_held': return 'error.verify.id_number.held_by_another_account';
      case 'assurance_required': return 'error.assuranceRequired';
      default: return null;
    }
  })();
  const byReason = (code === 'invalid_argument' || code === 'conflict') ? verifyError(field, err.reason) : null;
  if (byReason) return { text: byReason, detail: '' };
  if (key === 'error.rateLimited' && err.retryAfter > 0) return { text: t('error.rateLimitedWait', { wait: waitText(err.retryAfter) }), detail: '' };
  if (key) return { text: t(key), detail: '' };
  let text = defaultMessage(status);
  if (status === 400) text = t('error.status.400');
  else if (status === 409) text = t('error.status.409');
  else if (status === 429) text = t('error.status.429');
  return { text, detail: err.serverMessage };
}

/** The detail lines under an error: the server's message (unknown codes only) and the error id. */
function errorExtras(err, detail) {
  return [
    detail ? el('span', { class: 'error-detail', 'data-testid': 'error-detail', lang: 'en' }, detail) : null,
    err && err.errorId ? el('span', { class: 'error-detail' }, t('error.id'), el('code', { 'data-testid': 'error-id' }, err.errorId)) : null,
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
    el('h2', {}, t('error.title')),
    el('p', { 'data-testid': 'error-message' }, text),
    ...errorExtras(err, detail),
    el('button', { type: 'button', class: 'btn btn-secondary', onclick: () => route() }, t('common.retry')));
}
