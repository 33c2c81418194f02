// The services page: every service the citizen can open, by category.
import { loadApps } from '../api.js';
import { el, mount, notice, setTitle } from '../dom.js';
import { CATEGORIES, categoryLabel } from '../labels.js';
import { deptName, enc, nextId, str } from '../util.js';
import { t } from '../i18n.js';

/** `#/`: the service grid. */
export async function pageServices(token) {
  setTitle(token, t('services.title'));
  const apps = await loadApps(true);
  if (!apps.length) return mount(token, notice(t('services.empty')));
  const known = CATEGORIES;
  const cats = [...known, ...new Set(apps.map((a) => str(a.category)).filter((c) => !known.includes(c)))];
  const sections = cats.map((cat) => {
    const list = apps.filter((a) => str(a.category) === cat);
    if (!list.length) return null;
    const hid = `cat-${nextId()}`;
    return el('section', { class: 'category', 'aria-labelledby': hid, 'data-testid': `category-${cat}` },
      el('h2', { id: hid }, categoryLabel(cat)),
      el('ul', { class: 'tiles' }, list.map((a) => el('li', {}, serviceTile(a)))));
  });
  mount(token, ...sections.filter(Boolean));
}

function serviceTile(a) {
  const id = str(a.id);
  return el('a', { class: 'tile', href: `#/app/${enc(id)}/`, 'data-testid': `service-${id}`, title: str(a.description) || null },
    el('span', { class: 'tile-icon', 'aria-hidden': 'true' }, Array.from(str(a.name))[0] || '·'),
    el('span', { class: 'tile-name' }, str(a.name)),
    el('span', { class: 'tile-dept' }, deptName(a.department)));
}
