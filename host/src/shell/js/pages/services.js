// The services page (home): every service the citizen can open for the
// place they chose — the services of that place and of the levels of
// government above it (`GET /api/apps?division=`) — grouped by category or
// by level of government, narrowed by a search over the service's name, its
// department's name and its description.
import { api, loadApps } from '../api.js';
import { divisionPicker, placeLabel, placePath, storePlace, storedPlace } from '../divisions.js';
import { el, mount, setTitle } from '../dom.js';
import { errorNotice } from '../errors.js';
import { CATEGORIES, categoryLabel } from '../labels.js';
import { arr, deptName, enc, nextId, str } from '../util.js';
import { t } from '../i18n.js';

/** The name of a level of government, for the level view's headings. */
const LEVEL_NAMES = {
  province: () => t('services.level.province'),
  city: () => t('services.level.city'),
  county: () => t('services.level.county'),
  township: () => t('services.level.township'),
  village: () => t('services.level.village'),
};

/** Levels of government in the order the level view shows them. */
const LEVEL_ORDER = ['province', 'city', 'county', 'township', 'village'];

/** localStorage key of the grouping ('category' or 'level'). */
const GROUP_KEY = 'cityhost.group';

function storedGroup() {
  try { return localStorage.getItem(GROUP_KEY) === 'level' ? 'level' : 'category'; } catch { return 'category'; }
}

function storeGroup(group) {
  try { localStorage.setItem(GROUP_KEY, group); } catch { /* the choice lasts for this page only */ }
}

/** The services of a place and the levels above it; every service for []. */
function servicesFor(path) {
  const place = path.length ? str(path[path.length - 1].code) : '';
  return place ? api('GET', `/api/apps?division=${enc(place)}`, undefined, { auth: false }).then(arr) : loadApps(true);
}

/** `#/`: the home page. */
export async function pageServices(token) {
  setTitle(token, t('services.title'));
  let path = await placePath(storedPlace());
  let apps = await servicesFor(path);
  let group = storedGroup();
  let fetches = 0; // bumped per place change, so a late answer is dropped

  const placeText = el('span', { 'data-testid': 'home-place' });
  const panelId = `division-panel-${nextId()}`;
  const open = el('button', {
    type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'division-open',
    'aria-expanded': 'false', 'aria-controls': panelId,
  }, t('services.changePlace'));
  const grid = el('div', { class: 'services-grid', 'data-testid': 'services-grid' });
  const count = el('p', { class: 'services-count', role: 'status', 'data-testid': 'services-count' });
  const problem = el('div', { hidden: true });

  const picker = divisionPicker(path, async (next) => {
    path = next;
    storePlace(path.length ? str(path[path.length - 1].code) : '');
    showPlace();
    const n = ++fetches;
    try {
      const list = await servicesFor(path);
      if (n !== fetches) return;
      apps = list;
      problem.hidden = true;
      render();
    } catch (e) {
      if (n !== fetches) return;
      problem.replaceChildren(errorNotice(e, 'services'));
      problem.hidden = false;
    }
  });
  const close = el('button', { type: 'button', class: 'btn btn-primary btn-small', 'data-testid': 'division-close', onclick: () => toggle(false) }, t('services.done'));
  const clear = el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'division-clear', onclick: () => picker.clear() }, t('services.clearPlace'));
  const panel = el('section', {
    id: panelId, class: 'card division-panel', hidden: true, 'aria-label': t('services.pickerTitle'), 'data-testid': 'division-panel',
    onkeydown: (e) => { if (e.key === 'Escape') toggle(false); },
  }, picker.node, el('div', { class: 'division-actions' }, clear, close));

  function toggle(show) {
    panel.hidden = !show;
    open.setAttribute('aria-expanded', String(show));
    if (show) {
      // Focus moves into the picker once its first select can take it.
      picker.load().then(() => { if (!panel.hidden) panel.querySelector('select:not([disabled])')?.focus(); });
    } else {
      open.focus();
    }
  }
  open.addEventListener('click', () => toggle(panel.hidden));

  const search = el('input', {
    type: 'search', id: `service-search-${nextId()}`, 'data-testid': 'service-search', class: 'search-input',
    placeholder: t('services.searchPlaceholder'), autocomplete: 'off', enterkeyhint: 'search',
    oninput: () => render(),
  });
  const groupRadio = (value, label) => el('label', { class: 'segment' },
    el('input', {
      type: 'radio', name: `group-${panelId}`, value, checked: group === value, 'data-testid': `group-${value}`,
      onchange: () => { group = value; storeGroup(value); render(); },
    }), el('span', {}, label));

  function showPlace() {
    placeText.textContent = path.length ? placeLabel(path) : t('services.anyPlace');
  }

  function render() {
    const query = search.value.trim();
    const shown = apps.filter((a) => matches(a, query));
    grid.dataset.division = path.length ? str(path[path.length - 1].code) : '';
    grid.dataset.group = group;
    count.textContent = query ? t('services.found', { n: shown.length, q: query }) : t('services.count', { n: shown.length });
    if (!shown.length) {
      grid.replaceChildren(el('p', { class: 'alert alert-info', 'data-testid': 'services-empty' },
        query ? t('services.noMatch', { q: query }) : (path.length ? t('services.noServiceIn', { place: placeLabel(path) }) : t('services.empty'))));
      return;
    }
    grid.replaceChildren(...(group === 'level' ? byLevel(shown, path) : byCategory(shown)));
  }

  showPlace();
  render();
  mount(token,
    el('div', { class: 'home-place', 'data-testid': 'home-bar' },
      el('p', {}, el('span', { class: 'place-caption' }, t('services.placeCaption')), el('strong', {}, placeText)),
      open),
    panel,
    el('div', { class: 'home-tools' },
      el('div', { class: 'field search-field' }, el('label', { for: search.id, class: 'visually-hidden' }, t('services.searchLabel')), search),
      el('fieldset', { class: 'segmented' }, el('legend', { class: 'visually-hidden' }, t('services.groupBy')),
        groupRadio('category', t('services.byCategory')), groupRadio('level', t('services.byLevel')))),
    problem,
    count,
    grid);
}

/**
 * Whether a service matches the search: every word of the query is a
 * substring of its name, its department's name or its description (Latin
 * letters ignore case).
 */
function matches(app, query) {
  if (!query) return true;
  const text = [app.name, deptName(app.department), app.description].map(str).join('\n').toLowerCase();
  return query.toLowerCase().split(/\s+/).every((word) => text.includes(word));
}

/** Sections by category, in the platform's order, then any unknown one. */
function byCategory(apps) {
  const known = CATEGORIES;
  const cats = [...known, ...new Set(apps.map((a) => str(a.category)).filter((c) => !known.includes(c)))];
  return cats.map((cat) => tileGroup(`category-${cat}`, categoryLabel(cat), apps.filter((a) => str(a.category) === cat)))
    .filter(Boolean);
}

/** Sections by level of government, province first; with a place, its name at each level. */
function byLevel(apps, path) {
  const levelOf = (a) => str(a.department && a.department.level);
  const levels = [...LEVEL_ORDER, ...new Set(apps.map(levelOf).filter((l) => !LEVEL_ORDER.includes(l)))];
  return levels.map((level) => {
    const at = path.find((d) => d.level === level);
    const name = Object.hasOwn(LEVEL_NAMES, level) ? LEVEL_NAMES[level]() : t('services.level.other');
    return tileGroup(`level-${level || 'other'}`, at ? `${name} · ${str(at.name)}` : name, apps.filter((a) => levelOf(a) === level));
  }).filter(Boolean);
}

/** One titled group of tiles, or null when it has none. */
function tileGroup(testid, title, apps) {
  if (!apps.length) return null;
  const hid = `grp-${nextId()}`;
  return el('section', { class: 'category', 'aria-labelledby': hid, 'data-testid': testid },
    el('h2', { id: hid }, title),
    el('ul', { class: 'tiles' }, apps.map((a) => el('li', {}, serviceTile(a)))));
}

function serviceTile(a) {
  const id = str(a.id);
  return el('a', { class: 'tile', href: `#/app/${enc(id)}/`, 'data-testid': `service-${id}`, title: str(a.description) || null },
    el('span', { class: 'tile-icon', 'aria-hidden': 'true' }, Array.from(str(a.name))[0] || '·'),
    el('span', { class: 'tile-name' }, str(a.name)),
    el('span', { class: 'tile-dept' }, deptName(a.department)));
}
