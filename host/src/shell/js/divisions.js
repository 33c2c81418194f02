// The citizen's place: a division of Zhejiang from the province down to a
// township (GB/T 2260, the host's directory), chosen with four labelled,
// cascading <select>s over `GET /api/divisions` and kept in this browser
// (localStorage). Native selects keep the picker usable by keyboard and
// screen reader alike.
import { api } from './api.js';
import { el } from './dom.js';
import { errorNotice } from './errors.js';
import { t } from './i18n.js';
import { arr, enc, nextId, str } from './util.js';

/** The label of each level's select. */
const LEVEL_LABELS = {
  province: () => t('divisions.level.province'),
  city: () => t('divisions.level.city'),
  county: () => t('divisions.level.county'),
  township: () => t('divisions.level.township'),
};

/** The levels the picker offers, province first. */
const LEVELS = ['province', 'city', 'county', 'township'];

/** localStorage key of the chosen division's code. */
const KEY = 'cityhost.division';

/** The code of the place chosen in this browser, or '' for none. */
export function storedPlace() {
  try { return localStorage.getItem(KEY) || ''; } catch { return ''; }
}

/** Keeps (or, for '', forgets) the chosen place's code. */
export function storePlace(code) {
  try {
    if (code) localStorage.setItem(KEY, code);
    else localStorage.removeItem(KEY);
  } catch { /* storage disabled: the choice lasts for this page only */ }
}

/**
 * The divisions from the province down to `code` (`[{code, name, level}]`),
 * or [] for no code. A code the host does not know (4xx) is forgotten.
 */
export async function placePath(code) {
  if (!code) return [];
  try {
    const d = await api('GET', `/api/divisions/${enc(code)}`, undefined, { auth: false });
    return arr(d && d.path);
  } catch (e) {
    if (e.status === 400 || e.status === 404) {
      storePlace('');
      return [];
    }
    throw e;
  }
}

/** "浙江省 · 杭州市 · 桐庐县". */
export const placeLabel = (path) => path.map((d) => str(d.name)).join(' · ');

/**
 * The picker, showing `path` (the chosen place, province first; [] for
 * none). `onChange(path)` is called after each choice with the new path.
 * Returns `{ node, load, clear }`: `load()` fills the selects (once; call
 * it when the picker is first shown), `clear()` chooses no place.
 */
export function divisionPicker(path, onChange) {
  const chosen = [...path];
  const lists = LEVELS.map(() => []); // the divisions offered at each level
  const loads = LEVELS.map(() => 0); // bumped per request, so a late answer is dropped
  const status = el('div', { 'data-testid': 'division-error' });
  const rows = LEVELS.map((level, i) => {
    const select = el('select', {
      id: `division-${level}-${nextId()}`, 'data-testid': `division-${level}`, disabled: true,
      onchange: () => changed(i),
    }, el('option', { value: '' }, t('divisions.any')));
    return { select, wrap: el('div', { class: 'field' }, el('label', { for: select.id }, LEVEL_LABELS[level]()), select) };
  });

  /** Offers the divisions below `parent` (Zhejiang for null) at level i. */
  async function fill(i, parent, selected) {
    const n = ++loads[i];
    const select = rows[i].select;
    select.disabled = true;
    let list;
    try {
      list = arr(await api('GET', parent ? `/api/divisions?parent=${enc(parent)}` : '/api/divisions', undefined, { auth: false }));
    } catch (e) {
      if (n === loads[i]) status.replaceChildren(errorNotice(e, 'divisions'));
      return false;
    }
    if (n !== loads[i]) return false;
    status.replaceChildren();
    lists[i] = list;
    select.replaceChildren(el('option', { value: '' }, t('divisions.any')),
      ...list.map((d) => el('option', { value: str(d.code) }, str(d.name))));
    select.value = list.some((d) => d.code === selected) ? selected : '';
    select.disabled = !list.length;
    return true;
  }

  /** Empties the selects from level i down. */
  function clearFrom(i) {
    for (let k = i; k < LEVELS.length; k++) {
      loads[k]++;
      lists[k] = [];
      rows[k].select.replaceChildren(el('option', { value: '' }, t('divisions.any')));
      rows[k].select.disabled = true;
    }
  }

  function changed(i) {
    const code = rows[i].select.value;
    const division = lists[i].find((d) => d.code === code);
    chosen.length = i;
    if (division) chosen.push({ code: str(division.code), name: str(division.name), level: str(division.level) });
    clearFrom(i + 1);
    onChange([...chosen]);
    if (division && i + 1 < LEVELS.length) fill(i + 1, division.code, '');
  }

  let loading = null;
  function load() {
    loading ??= (async () => {
      if (!(await fill(0, null, chosen[0] && chosen[0].code))) return;
      for (let k = 0; k + 1 < LEVELS.length && chosen[k]; k++) {
        if (!(await fill(k + 1, chosen[k].code, chosen[k + 1] && chosen[k + 1].code))) return;
      }
    })().finally(() => { if (!lists[0].length) loading = null; }); // try again on the next opening
    return loading;
  }

  function clear() {
    chosen.length = 0;
    rows[0].select.value = '';
    clearFrom(1);
    onChange([]);
  }

  const node = el('fieldset', { class: 'division-picker', 'data-testid': 'division-picker' },
    el('legend', {}, t('divisions.legend')), ...rows.map((r) => r.wrap), status);
  return { node, load, clear };
}
