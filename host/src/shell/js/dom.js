// Building the page: elements, mounting a page's content, the title, and
// the shared pieces (notices, labelled fields, the platform badge,
// key-value lists, busy buttons).
import { isCurrent, takeFocus } from './nav.js';
import { nextId, str } from './util.js';
import { t } from './i18n.js';

const $title = document.getElementById('title');
const $content = document.getElementById('content');

/** Builds an element. props: class, text, on* listeners, other keys become attributes. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(str(child)));
  }
  return node;
}

/** Shows a placeholder while the page for a new navigation loads. */
export function showLoading(text) {
  $content.setAttribute('aria-busy', 'true');
  $content.replaceChildren(el('p', { class: 'loading', role: 'status' }, text));
}

/** Replaces the page content if this navigation is still current. */
export function mount(token, ...nodes) {
  if (!isCurrent(token)) return false;
  // Optional parts of a page are passed as null: leave them out.
  $content.replaceChildren(...nodes.filter((n) => n != null && n !== false));
  $content.setAttribute('aria-busy', 'false');
  window.scrollTo(0, 0);
  if (takeFocus()) $title.focus({ preventScroll: true });
  return true;
}

/** Sets the header title and the document title, if this navigation is still current. */
export function setTitle(token, text) {
  if (!isCurrent(token)) return;
  $title.textContent = text;
  document.title = t('app.documentTitle', { title: text });
}

/** A notice paragraph; level is info, success, warning or error. */
export function notice(text, level = 'info') {
  return el('p', { class: `alert alert-${level}`, role: level === 'error' ? 'alert' : null }, text);
}

/** A label + control + error line; returns the wrapper and a setter for the error. */
export function fieldWrap(labelText, control, required) {
  const id = control.id || (control.id = `f${nextId()}`);
  const err = el('p', { class: 'field-error', id: `${id}-err`, hidden: true });
  control.setAttribute('aria-describedby', err.id);
  const label = el('label', { for: id }, labelText, required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const wrap = el('div', { class: 'field' }, label, control, err);
  const setError = (msg) => {
    err.textContent = msg || '';
    err.hidden = !msg;
    if (msg) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return { wrap, setError };
}

/** The line that marks a sheet as the platform's own (not the mini-app's). */
export function platformBadge(text) {
  return el('p', { class: 'platform-badge' }, el('span', { class: 'shield', 'aria-hidden': 'true' }, '✓'), text);
}

/** A definition list of [label, value] pairs; empty values are left out. */
export function kvList(pairs) {
  return el('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== '' && v != null)
    .map(([k, v]) => el('div', { class: 'kv-row' }, el('dt', {}, k), el('dd', {}, str(v)))));
}

/** Disables the button while fn runs; returns fn's result. */
export async function withBusy(button, fn) {
  button.disabled = true;
  try { return await fn(); } finally { button.disabled = false; }
}
