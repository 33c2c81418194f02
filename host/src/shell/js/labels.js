// What the host's codes are called on screen, in the current language:
// service categories, order states, consent scopes, assurance levels,
// subscription kinds.
import { has, t } from './i18n.js';
import { str } from './util.js';

/** Service categories in the order the services page shows them. */
export const CATEGORIES = [
  'utilities', 'housing', 'social-security', 'health', 'transport', 'education', 'public-data', 'government-affairs',
];

/** Order states that mean the money was taken. */
export const PAID_STATES = ['paid', 'partially_refunded', 'refunded'];

/** The text for `prefix.code`, or undefined when the dictionary has none. */
const known = (prefix, code) => (has(`${prefix}.${str(code)}`) ? t(`${prefix}.${str(code)}`) : undefined);

/** A category id → its name ('其他' / 'Other' when empty, the id when unknown). */
export const categoryLabel = (c) => known('category', c) || str(c) || t('category.other');

/** An order state → its name, or undefined when unknown. */
export const orderStateLabel = (s) => known('orderState', s);

/** A consent scope → what it gives the app. */
export const scopeLabel = (s) => known('scope', s) || str(s);

/** A field a consent shares (its code) → its name; the host's text when unknown. */
export const consentFieldLabel = (key, fallback) => known('consentField', key) || str(fallback);

/** A payment method (its code) → its name; the host's text when unknown. */
export const payMethodLabel = (code, fallback) => known('payMethod', code) || str(fallback);

/** An assurance level (1, 2) → its name. */
export function assuranceLabel(level) {
  return known('assurance', level) || (level == null || level === '' ? '—' : str(level));
}

/** A subscription kind ('one-time', 'long-term') → what it allows. */
export const kindLabel = (k) => known('kind', k) || str(k);
