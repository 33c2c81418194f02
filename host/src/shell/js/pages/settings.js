// Settings: the shell's language (简体中文 / English) and elder mode
// (长辈模式: larger type, higher contrast, bigger touch targets, simpler
// pages). Both are kept on this device and apply at once, without reload.
import { el, mount, setTitle } from '../dom.js';
import { LANGUAGES, t, translateStatic } from '../i18n.js';
import { route } from '../nav.js';
import { preferences, savePreferences } from '../prefs.js';

/** Stores a change, translates the page's static texts and renders the current screen again. */
export function changePreferences(change) {
  savePreferences(change);
  translateStatic();
  route();
}

/** `#/settings`. */
export function pageSettings(token) {
  setTitle(token, t('settings.title'));
  const prefs = preferences();
  const languages = el('fieldset', { class: 'card settings-group', 'data-testid': 'settings-language' },
    el('legend', { class: 'section-title' }, t('settings.language')),
    LANGUAGES.map((l) => el('label', { class: 'choice choice-row', lang: l.tag },
      el('input', {
        type: 'radio', name: 'language', value: l.tag, checked: l.tag === prefs.language,
        'data-testid': `language-${l.tag}`, onchange: () => changePreferences({ language: l.tag }),
      }),
      l.name)));
  const elderId = 'elder-mode';
  const elder = el('div', { class: 'card settings-group' },
    el('h2', { class: 'section-title' }, t('settings.display')),
    el('div', { class: 'choice choice-row' },
      el('input', {
        type: 'checkbox', id: elderId, role: 'switch', checked: prefs.elder, 'aria-describedby': `${elderId}-hint`,
        'data-testid': 'elder-mode', onchange: (ev) => changePreferences({ elder: ev.target.checked }),
      }),
      el('label', { for: elderId }, t('settings.elder'))),
    el('p', { class: 'muted small', id: `${elderId}-hint` }, t('settings.elderHint')));
  mount(token, el('div', { class: 'settings', 'data-testid': 'settings' }, languages, elder));
}

/** A button that switches to the next language (for the sign-in page), named in that language. */
export function languageSwitch() {
  const { language } = preferences();
  const i = LANGUAGES.findIndex((l) => l.tag === language);
  const next = LANGUAGES[(i + 1) % LANGUAGES.length];
  return el('button', {
    type: 'button', class: 'btn btn-secondary btn-small', lang: next.tag, 'data-testid': 'auth-language',
    onclick: () => changePreferences({ language: next.tag }),
  }, next.name);
}
