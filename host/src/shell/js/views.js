// The renderer of mini-app views (docs/views.md): one function per block
// type. Mini-apps are untrusted: everything they send is put into the page
// with textContent and attribute values chosen here, never as HTML, and
// every app path is checked to stay under /apps/{id}/. The host has parsed
// the view before it arrives (host/src/views.rs): a block it could not show
// is an `unavailable` placeholder, and a QR code comes as an SVG the host
// drew (`svg`), shown as an image, never as markup.
import { el, fieldWrap } from './dom.js';
import { appUrl, goApp } from './nav.js';
import { arr, str } from './util.js';
import { t } from './i18n.js';

/** The media type of a view. */
export const VIEW_CT = 'application/vnd.cityhost.view+json';

const BLOCKS = {
  heading: (b) => el('h2', { class: 'b-heading' }, str(b.text)),
  text: (b) => el('p', { class: 'b-text' }, str(b.text)),
  kv: (b) => kvBlock(b),
  table: (b) => tableBlock(b),
  form: (b, app) => formBlock(b, app),
  button: (b, app) => buttonBlock(b, app),
  alert: (b) => alertBlock(b),
  link: (b, app) => linkBlock(b, app),
  qr: (b) => qrBlock(b),
  image: (b) => imageBlock(b),
  list: (b, app) => listBlock(b, app),
  card: (b, app) => cardBlock(b, app),
  unavailable: () => unavailableBlock(),
};

/** The only sources an image may have: the host's QR drawings, and raster data URLs of apps. */
const QR_SRC = /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/;
const IMAGE_SRC = /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+=*$/;

/**
 * Renders a view of app `app.id` shown at `app.path`. Forms that post and
 * buttons call back into the app page: `app.post(path, params, button)` and
 * `app.run(action, button)`. A block of a type this shell does not know
 * shows the same placeholder as one the host refused.
 */
export function renderView(view, app) {
  const root = el('div', { class: 'view', 'data-testid': 'view' });
  for (const block of arr(view.blocks)) {
    const known = block && Object.prototype.hasOwnProperty.call(BLOCKS, block.type);
    const type = known ? block.type : 'unavailable';
    const node = BLOCKS[type](block, app);
    node.dataset.block = type;
    root.append(node);
  }
  return root;
}

function kvBlock(b) {
  return el('dl', { class: 'kv card' }, arr(b.items).map((it) =>
    el('div', { class: 'kv-row' }, el('dt', {}, str(it && it.label)), el('dd', {}, str(it && it.value)))));
}

function tableBlock(b) {
  const cols = arr(b.columns).map(str);
  return el('div', { class: 'table-wrap card', tabindex: 0, role: 'region', 'aria-label': t('view.table') },
    el('table', {},
      el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, c)))),
      el('tbody', {}, arr(b.rows).map((row) => el('tr', {}, cols.map((_, i) => el('td', {}, str(arr(row)[i]))))))));
}

function formBlock(b, app) {
  const method = str(b.method).toLowerCase() === 'post' ? 'post' : 'get';
  const action = str(b.action) || app.path.split('?')[0];
  const submit = el('button', { type: 'submit', class: 'btn btn-primary' }, str(b.submit) || t('view.submit'));
  const form = el('form', { class: 'card form', novalidate: true }, arr(b.fields).map(formField), submit);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!form.reportValidity()) return;
    const data = new URLSearchParams(new FormData(form));
    if (method === 'post') return app.post(action, data, submit);
    const q = action.indexOf('?');
    const params = new URLSearchParams(q < 0 ? '' : action.slice(q + 1));
    for (const [k, v] of data) params.set(k, v);
    const qs = params.toString();
    return goApp(app.id, (q < 0 ? action : action.slice(0, q)) + (qs ? `?${qs}` : ''));
  });
  return form;
}

function formField(f) {
  const kind = str(f && f.kind);
  // Sent with the form, not shown.
  if (kind === 'hidden') return el('input', { type: 'hidden', name: str(f.name), value: str(f.value) });
  const required = Boolean(f && f.required);
  let control;
  if (kind === 'select') {
    control = el('select', { name: str(f.name), required });
    if (!str(f.value)) control.append(el('option', { value: '' }, t('view.choose')));
    for (const o of arr(f.options)) {
      control.append(el('option', { value: str(o && o.value), selected: str(o && o.value) === str(f.value) && str(f.value) !== '' }, str(o && o.label)));
    }
  } else {
    const type = kind === 'number' ? 'number' : kind === 'date' ? 'date' : 'text';
    control = el('input', {
      type, name: str(f && f.name), value: f && f.value != null ? str(f.value) : null, required,
      placeholder: f && f.placeholder != null ? str(f.placeholder) : null,
      min: type === 'number' && typeof f.min === 'number' ? f.min : null,
      max: type === 'number' && typeof f.max === 'number' ? f.max : null,
      step: type === 'number' ? 'any' : null, inputmode: type === 'number' ? 'decimal' : null,
    });
  }
  return fieldWrap(str(f && f.label) || str(f && f.name), control, required).wrap;
}

function buttonBlock(b, app, extraClass = '') {
  const style = str(b && b.style) === 'secondary' ? 'secondary' : 'primary';
  const kind = b && b.action && typeof b.action === 'object' ? str(b.action.kind) : '';
  const button = el('button', { type: 'button', class: `btn btn-${style}${extraClass}`, 'data-action': kind || null }, str(b && b.label));
  button.addEventListener('click', () => app.run(b.action, button));
  return button;
}

/** The buttons of a list row or a card, smaller than a page's own buttons. */
function actionsRow(actions, app) {
  const list = arr(actions).filter((a) => a && typeof a === 'object');
  if (!list.length) return null;
  return el('div', { class: 'b-actions' }, list.map((a) => buttonBlock(a, app, ' btn-small')));
}

function qrBlock(b) {
  const label = str(b.label);
  const src = QR_SRC.test(str(b.svg)) ? str(b.svg) : null;
  if (!src) return unavailableBlock();
  return el('figure', { class: 'b-qr card' },
    el('img', { src, alt: t('view.qr', { label }), width: 240, height: 240 }),
    el('figcaption', {}, label));
}

function imageBlock(b) {
  const src = str(b.src);
  if (!IMAGE_SRC.test(src)) return unavailableBlock();
  return el('img', { class: 'b-image card', src, alt: str(b.alt) });
}

function listBlock(b, app) {
  return el('ul', { class: 'b-list card' }, arr(b.items).map((it) => {
    const item = it && typeof it === 'object' ? it : {};
    return el('li', { class: 'b-list-row' },
      el('div', { class: 'b-list-main' },
        el('p', { class: 'b-list-title' }, str(item.title)),
        item.subtitle != null ? el('p', { class: 'b-list-subtitle muted' }, str(item.subtitle)) : null),
      item.meta != null ? el('p', { class: 'b-list-meta muted' }, str(item.meta)) : null,
      actionsRow(item.actions, app));
  }));
}

function cardBlock(b, app) {
  const items = arr(b.items).filter((it) => it && typeof it === 'object');
  return el('section', { class: 'b-card card' },
    el('h3', { class: 'b-card-title' }, str(b.title)),
    items.length ? el('dl', { class: 'kv' }, items.map((it) =>
      el('div', { class: 'kv-row' }, el('dt', {}, str(it.label)), el('dd', {}, str(it.value))))) : null,
    actionsRow(b.actions, app));
}

function unavailableBlock() {
  return el('p', { class: 'b-unavailable', role: 'note' }, t('view.unavailable'));
}

function alertBlock(b) {
  const level = ['info', 'success', 'warning', 'error'].includes(b.level) ? b.level : 'info';
  const prefix = t(`view.alert.${level}`);
  return el('div', { class: `alert alert-${level}`, role: level === 'error' || level === 'warning' ? 'alert' : 'status' },
    el('strong', { class: 'alert-prefix' }, t('view.alertPrefix', { prefix })), str(b.text));
}

function linkBlock(b, app) {
  const path = str(b.path);
  const ok = appUrl(app.id, path);
  return el('a', { class: 'row-link card', href: ok ? `#/app/${app.id}${path}` : null }, str(b.label));
}
