// A 6-digit payment PIN field with an on-screen keypad.
import { el } from './dom.js';
import { t } from './i18n.js';

/** A PIN field labelled `label`; returns { node, value(), clear(), focus() }. */
export function pinPad(label, testid) {
  const input = el('input', { type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: '6',
    pattern: '[0-9]{6}', class: 'pin-input', 'aria-label': label, 'data-testid': testid });
  input.addEventListener('input', () => { input.value = input.value.replace(/\D/g, '').slice(0, 6); });
  const key = (text, label, fn) => {
    const b = el('button', { type: 'button', class: 'pin-key', 'aria-label': label, 'data-testid': `${testid}-key` }, text);
    b.addEventListener('click', () => { fn(); input.dispatchEvent(new Event('input')); });
    return b;
  };
  const digits = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '', '0'].map((d) =>
    d ? key(d, null, () => { if (input.value.length < 6) input.value += d; }) : el('span', {}));
  const keypad = el('div', { class: 'pin-keypad', role: 'group', 'aria-label': t('pay.keypad', { label }) },
    ...digits, key('⌫', t('pay.delete'), () => { input.value = input.value.slice(0, -1); }));
  return {
    node: el('label', { class: 'field pin-field' }, el('span', { class: 'field-label' }, label), input, keypad),
    value: () => input.value,
    clear: () => { input.value = ''; },
    focus: () => input.focus(),
  };
}
