// Welfare Hub map page: a choropleth of Thailand by province, drilling down to districts and
// subdistricts (tambons). Everything comes from the hub's own API on the same origin; the map
// style is inline (a background plus our GeoJSON), so nothing is fetched from elsewhere.
//
// For tests: window.__map is the MapLibre map; <body data-map-state="loading|ready|error"
// data-level="province|district|subdistrict" data-feature-count="N" data-period="YYYY-MM">.
import { Map as MapLibreMap, Popup, NavigationControl, setWorkerUrl } from 'maplibre-gl';
import { h } from './dom.js';
import { CLASS_SCHEMES, INDICATORS, STRINGS } from './i18n.js';

// The worker's name carries a hash of its bytes (build.mjs defines it), so the hub can serve it
// `immutable` like app.js; it is loaded from the page's own folder.
// eslint-disable-next-line no-undef
setWorkerUrl(new URL(__MAPLIBRE_WORKER__, import.meta.url).href);

const API = 'api/v1'; // relative: the page is served by the hub at /
const TH_BOUNDS = [[97.3, 5.6], [105.7, 20.5]];
const LEVELS = {
  province: { zoom: 5, child: 'district' },
  district: { zoom: 8, child: 'subdistrict' },
  subdistrict: { zoom: 10, child: null },
};
const EMPTY = { type: 'FeatureCollection', features: [] };
const NO_DATA_COLOUR = '#d9d9d9';

const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const state = {
  lang: pickLang(),
  indicator: INDICATORS.includes(params.get('indicator')) ? params.get('indicator') : 'coverage',
  period: /^\d{4}-\d{2}$/.test(params.get('period') || '') ? params.get('period') : null, // null = latest
  classes: CLASS_SCHEMES.includes(params.get('classes')) ? params.get('classes') : '', // '' = the hub's default
  shownPeriod: null,
  periods: null,
  legend: null,
  legendPromise: null,
  // Drill-down path: [country, province?, district?]; each entry shows the children of its area.
  stack: [{ level: 'province', within: null, bbox: null, name_th: null, name_en: null, fc: null }],
  byId: new Map(),
  seq: 0,
  hoverId: null,
  popup: null,
  popupFeature: null,
  lastError: null,
};

function pickLang() {
  const q = params.get('lang');
  if (q === 'th' || q === 'en') return q;
  try {
    const s = localStorage.getItem('welfarehub.lang');
    if (s === 'th' || s === 'en') return s;
  } catch { /* storage may be unavailable */ }
  return 'th';
}

function t(key, ...args) {
  const v = STRINGS[state.lang][key] ?? STRINGS.th[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}
const top = () => state.stack[state.stack.length - 1];

// ---------- formatting ----------
function fmtInt(n) {
  return n == null ? '—' : new Intl.NumberFormat(t('locale'), { maximumFractionDigits: 0 }).format(n);
}
function fmtDec(n, digits = 2) {
  return n == null
    ? '—'
    : new Intl.NumberFormat(t('locale'), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
}

// ---------- API ----------
class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function getJson(url) {
  let res;
  try {
    res = await fetch(url, { headers: { Accept: 'application/json, application/geo+json' } });
  } catch {
    throw new ApiError('network', t('errNetwork'));
  }
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) {
    throw new ApiError(body?.error || `http_${res.status}`, body?.message || `${res.status} ${res.statusText}`.trim(), res.status);
  }
  if (body == null || typeof body !== 'object') throw new ApiError('bad_response', t('errBadResponse'), res.status);
  return body;
}

// ---------- map ----------
let map;
try {
  map = new MapLibreMap({
    container: 'map',
    style: {
      version: 8,
      sources: {
        context: { type: 'geojson', data: EMPTY },
        areas: { type: 'geojson', data: EMPTY },
      },
      layers: [
        { id: 'background', type: 'background', paint: { 'background-color': '#dce6eb' } },
        { id: 'context-fill', type: 'fill', source: 'context', paint: { 'fill-color': '#f2f4f5', 'fill-opacity': 0.9 } },
        { id: 'context-line', type: 'line', source: 'context', paint: { 'line-color': '#9aa7b0', 'line-width': 0.7 } },
        {
          id: 'areas-fill', type: 'fill', source: 'areas',
          paint: {
            'fill-color': NO_DATA_COLOUR,
            'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 1, 0.88],
          },
        },
        {
          id: 'areas-line', type: 'line', source: 'areas',
          paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 5, 0.5, 10, 1.2] },
        },
        {
          id: 'areas-hover', type: 'line', source: 'areas',
          paint: {
            'line-color': '#1d2b36', 'line-width': 2.2,
            'line-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 1, 0],
          },
        },
      ],
    },
    bounds: TH_BOUNDS,
    fitBoundsOptions: { padding: 20 },
    attributionControl: false, // attributions are in the #attribution footer (exact wording)
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxZoom: 14,
  });
} catch (e) {
  showError(new ApiError('webgl', `${t('errNoWebgl')}: ${e.message}`));
  setMapState('error');
  throw e;
}
map.touchZoomRotate.disableRotation();
map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
window.__map = map;

const mapLoaded = new Promise((resolve) => (map.loaded() ? resolve() : map.once('load', resolve)));

function fillColour(legend) {
  const match = ['match', ['get', 'class']];
  for (const c of legend.classes || []) match.push(c.class, c.colour);
  const expr = match.length > 2 ? [...match, NO_DATA_COLOUR] : NO_DATA_COLOUR;
  return [
    'case',
    ['==', ['get', 'state'], 'no_fund'], legend.states?.no_fund?.colour || NO_DATA_COLOUR,
    ['==', ['get', 'state'], 'no_report'], legend.states?.no_report?.colour || NO_DATA_COLOUR,
    expr,
  ];
}

function setMapState(s, level, count) {
  const b = document.body.dataset;
  b.mapState = s;
  if (level) b.level = level;
  if (count != null) b.featureCount = String(count);
  if (state.shownPeriod) b.period = state.shownPeriod;
  $('loading').hidden = s !== 'loading';
}

function waitIdle(seq) {
  return new Promise((resolve) => {
    const check = () => {
      if (seq !== state.seq) return resolve(false);
      if (map.isSourceLoaded('areas') && map.loaded() && !map.isMoving()) return resolve(true);
      map.once('idle', check);
    };
    map.once('idle', check);
    map.triggerRepaint();
  });
}

function fitPadding() {
  const small = window.innerWidth <= 640;
  return small ? { top: 20, bottom: 60, left: 20, right: 20 } : { top: 30, bottom: 40, left: 40, right: 50 };
}

function fitTo(entry, animate) {
  const b = entry.bbox;
  const bounds = b ? [[b[0], b[1]], [b[2], b[3]]] : TH_BOUNDS;
  const reduce = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
  map.fitBounds(bounds, { padding: fitPadding(), duration: animate && !reduce ? 600 : 0, maxZoom: 12 });
}

// ---------- loading ----------
async function loadLegend() {
  const legend = await getJson(`${API}/legend?indicator=${encodeURIComponent(state.indicator)}`);
  await mapLoaded;
  applyLegend(legend);
  return legend;
}

function applyLegend(legend) {
  state.legend = legend;
  renderLegend();
  map.setPaintProperty('areas-fill', 'fill-color', fillColour(legend));
}

async function loadCurrent({ fit = true, animate = true } = {}) {
  const entry = top();
  const seq = ++state.seq;
  setMapState('loading');
  showError(null);
  renderBreadcrumb();
  const q = new URLSearchParams({ indicator: state.indicator, zoom: String(LEVELS[entry.level].zoom) });
  if (entry.within) q.set('within', entry.within);
  if (state.period) q.set('period', state.period);
  if (state.classes) q.set('classes', state.classes);
  let fc;
  try {
    const [data] = await Promise.all([getJson(`${API}/maps/${entry.level}.geojson?${q}`), mapLoaded]);
    fc = data;
    if (!Array.isArray(fc.features)) throw new ApiError('bad_response', t('errBadResponse'));
    // A map carries the legend of its own classes (computed from its areas, or the fixed ones);
    // a hub without it gets the fixed legend.
    if (fc.legend) applyLegend(fc.legend);
    else {
      if (!state.legendPromise) state.legendPromise = loadLegend();
      await state.legendPromise;
    }
  } catch (e) {
    if (seq !== state.seq) return;
    if (state.legendPromise && !state.legend) state.legendPromise = null; // retry the legend too
    state.lastRetry = () => loadCurrent({ fit, animate });
    showError(e);
    setMapState('error');
    return;
  }
  if (seq !== state.seq) return;

  entry.fc = fc;
  state.byId = new Map(fc.features.map((f) => [f.id, f]));
  state.shownPeriod = fc.period || state.shownPeriod;
  state.periods = fc.periods || state.periods;
  renderPeriod();
  clearHover();
  map.removeFeatureState({ source: 'areas' });
  const parent = state.stack.length > 1 ? state.stack[state.stack.length - 2].fc : null;
  map.getSource('context').setData(parent || EMPTY);
  map.getSource('areas').setData(fc);
  $('hint').textContent = LEVELS[entry.level].child ? t('hint') : t('hintLeaf');
  if (fit) fitTo(entry, animate);
  const ok = await waitIdle(seq);
  if (!ok || seq !== state.seq) return;
  setMapState('ready', entry.level, fc.features.length);
}

// ---------- interaction ----------
function clearHover() {
  if (state.hoverId != null) map.setFeatureState({ source: 'areas', id: state.hoverId }, { hover: false });
  state.hoverId = null;
  $('hover-info').hidden = true;
}

map.on('mousemove', 'areas-fill', (e) => {
  const f = e.features?.[0];
  if (!f || f.id == null) return;
  if (f.id !== state.hoverId) {
    clearHover();
    state.hoverId = f.id;
    map.setFeatureState({ source: 'areas', id: f.id }, { hover: true });
    const p = f.properties;
    $('hover-info').textContent = state.lang === 'th' ? p.name_th : p.name_en || p.name_th;
    $('hover-info').hidden = false;
  }
  map.getCanvas().style.cursor = 'pointer';
});
map.on('mouseleave', 'areas-fill', () => {
  clearHover();
  map.getCanvas().style.cursor = '';
});

map.on('click', (e) => {
  const hit = map.queryRenderedFeatures(e.point, { layers: ['areas-fill'] })[0];
  if (hit) {
    const f = state.byId.get(hit.id);
    if (!f) return;
    showPopup(f, e.lngLat);
    if (LEVELS[top().level].child) drill(f);
    return;
  }
  // A click on a neighbouring (grey) area of the level above: go there instead.
  const ctx = map.queryRenderedFeatures(e.point, { layers: ['context-fill'] })[0];
  if (ctx && state.stack.length > 1) {
    const parentFc = state.stack[state.stack.length - 2].fc;
    const f = parentFc?.features.find((x) => x.id === ctx.id);
    if (!f) return;
    state.stack.pop();
    showPopup(f, e.lngLat);
    drill(f);
  }
});

function drill(f) {
  const p = f.properties;
  const child = LEVELS[top().level].child;
  if (!child) return;
  state.stack.push({ level: child, within: p.code, bbox: f.bbox || bboxOf(f.geometry), name_th: p.name_th, name_en: p.name_en, fc: null });
  loadCurrent();
}

function goUp(index) {
  state.stack.length = index + 1;
  closePopup();
  loadCurrent();
}

function bboxOf(geom) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  if (geom?.coordinates) walk(geom.coordinates);
  return Number.isFinite(b[0]) ? b : null;
}

// ---------- popup ----------
function figuresUrl(p, format) {
  const q = new URLSearchParams({ level: p.level, within: p.code });
  if (state.shownPeriod) q.set('period', state.shownPeriod);
  if (format) q.set('format', format);
  return `${API}/indicators?${q}`;
}

function popupContent(f) {
  const p = f.properties;
  const other = state.lang === 'th' ? p.name_en : p.name_th;
  const main = state.lang === 'th' ? p.name_th : p.name_en || p.name_th;
  const rows = [
    [t('members'), h('td', { 'data-testid': 'popup-members' }, fmtInt(p.members))],
    [t('population'), h('td', { 'data-testid': 'popup-population' }, fmtInt(p.population))],
    [t('coverage'), h('td', {},
      h('span', { 'data-testid': 'popup-coverage', 'data-value': p.coverage ?? '', 'data-code': p.code }, fmtDec(p.coverage)),
      p.coverage != null ? ' %' : '')],
  ];
  if (p.reporting_rate != null) rows.push([t('reportingRate'), h('td', {}, `${fmtDec(p.reporting_rate)} %`)]);
  // High risk as the menu and legend give it (a share of the funds, %), with the count beside it.
  if (p.high_risk_funds != null && p.funds) {
    const share = (100 * p.high_risk_funds) / p.funds;
    rows.push([t('highRisk'), h('td', {}, `${fmtDec(Math.round(share * 100) / 100)} % (${t('fundsOf', fmtInt(p.high_risk_funds), fmtInt(p.funds))})`)]);
  }
  if (state.indicator !== 'coverage' && state.indicator !== 'reporting_rate' && state.indicator !== 'high_risk_funds' && p.value != null) {
    const u = state.legend?.[`unit_${state.lang}`] || state.legend?.unit;
    const unit = u ? ` ${u}` : '';
    const title = state.legend?.[`title_${state.lang}`] || t(`ind_${state.indicator}`);
    rows.push([title, h('td', {}, `${Number.isInteger(p.value) ? fmtInt(p.value) : fmtDec(p.value)}${unit}`)]);
  }
  let status;
  if (p.state === 'no_fund') status = h('span', { class: 'state-badge' }, t('state_no_fund'));
  else {
    status = [t('fundsLine', fmtInt(p.funds ?? 0), fmtInt(p.funds_reported ?? 0))];
    if (p.state === 'no_report') status.push(' · ', h('span', { class: 'state-badge' }, t('state_no_report')));
  }
  return h('div', { class: 'popup', 'data-testid': 'popup', 'data-code': p.code, 'data-level': p.level },
    h('h3', {}, main),
    other ? h('div', { class: 'en' }, other, ' · ', t(`level_${p.level}`), ' ', p.code) : null,
    h('table', {}, h('tbody', {}, rows.map(([k, td]) => h('tr', {}, h('th', { scope: 'row' }, k), td)))),
    h('div', { class: 'status', 'data-testid': 'popup-status' }, status),
    h('div', { class: 'links' },
      h('a', { href: figuresUrl(p), target: '_blank', rel: 'noopener', 'data-testid': 'popup-figures' }, t('figures')),
      h('a', { href: figuresUrl(p, 'csv'), download: `${p.level}-${p.code}-${state.shownPeriod || 'latest'}.csv`, 'data-testid': 'popup-figures-csv' }, t('figuresCsv'))),
  );
}

function showPopup(f, lngLat) {
  closePopup();
  state.popupFeature = f;
  state.popup = new Popup({ maxWidth: '300px', focusAfterOpen: false })
    .setLngLat(lngLat)
    .setDOMContent(popupContent(f))
    .addTo(map);
  state.popup.on('close', () => {
    state.popup = null;
    state.popupFeature = null;
  });
}

function closePopup() {
  state.popup?.remove();
  state.popup = null;
  state.popupFeature = null;
}

// ---------- chrome: legend, breadcrumb, controls, errors ----------
function renderLegend() {
  const lg = state.legend;
  const title = lg ? lg[`title_${state.lang}`] || lg.title_th : t(`ind_${state.indicator}`);
  // The unit once, in the page's language.
  const unit = lg?.[`unit_${state.lang}`] || lg?.unit;
  $('legend-title').textContent = unit && !title.includes(`(${unit})`) ? `${title} (${unit})` : title;
  const items = [];
  for (const c of lg?.classes || []) {
    const label = c[`label_${state.lang}`] || c.label_th || `${c.min ?? ''}–${c.max ?? ''}`;
    items.push(h('li', { class: 'legend-item' },
      h('span', { class: 'legend-swatch', 'data-testid': 'legend-swatch', 'data-class': c.class, style: `background:${c.colour}` }),
      h('span', {}, label)));
  }
  for (const key of ['no_fund', 'no_report']) {
    const s = lg?.states?.[key];
    if (!s) continue;
    items.push(h('li', { class: 'legend-item state' },
      h('span', { class: 'legend-swatch', 'data-testid': 'legend-swatch', 'data-state': key, style: `background:${s.colour}` }),
      h('span', {}, s[`label_${state.lang}`] || t(`state_${key}`))));
  }
  $('legend-items').replaceChildren(...items);
  $('legend-scheme').textContent = lg?.[`scheme_${state.lang}`] || '';
  document.body.dataset.classes = lg?.scheme || '';
}

function renderClassOptions() {
  const select = $('classes');
  select.replaceChildren(...CLASS_SCHEMES.map((s) =>
    h('option', { value: s, selected: s === state.classes ? '' : undefined }, t(`classes_${s || 'auto'}`))));
  select.value = state.classes;
}

function renderBreadcrumb() {
  const parts = [];
  state.stack.forEach((entry, i) => {
    const label = i === 0 ? t('country') : (state.lang === 'th' ? entry.name_th : entry.name_en || entry.name_th);
    if (i > 0) parts.push(h('span', { class: 'sep', 'aria-hidden': 'true' }, '›'));
    if (i === state.stack.length - 1) parts.push(h('span', { class: 'current', 'aria-current': 'page' }, label));
    else parts.push(h('button', { type: 'button', 'data-index': i, onclick: () => goUp(i) }, label));
  });
  $('breadcrumb').replaceChildren(...parts);
}

function renderPeriod() {
  const input = $('period');
  if (state.periods?.first) input.min = state.periods.first;
  if (state.periods?.latest) input.max = state.periods.latest;
  if (state.shownPeriod && input.value !== state.shownPeriod) input.value = state.shownPeriod;
  $('period-label').textContent = t('monthLabel', state.shownPeriod);
}

function renderIndicatorOptions() {
  const sel = $('indicator');
  sel.replaceChildren(...INDICATORS.map((k) => h('option', { value: k }, t(`ind_${k}`))));
  sel.value = state.indicator;
}

function showError(e) {
  state.lastError = e;
  const box = $('error');
  if (!e) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    h('strong', {}, t('errorTitle')),
    h('div', { 'data-testid': 'error-message' }, e.message || String(e)),
    e.code ? h('code', {}, e.code) : null,
    state.lastRetry ? h('div', {}, h('button', { type: 'button', onclick: () => state.lastRetry?.() }, t('retry'))) : null,
  );
  box.hidden = false;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = t('pageTitle');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  $('lang').textContent = t('langButton');
  $('lang').title = t('langButtonTitle');
  $('menu-toggle').setAttribute('aria-label', t('menu'));
  $('hint').textContent = LEVELS[top().level].child ? t('hint') : t('hintLeaf');
  renderIndicatorOptions();
  renderClassOptions();
  renderLegend();
  renderBreadcrumb();
  renderPeriod();
  if (state.popup && state.popupFeature) state.popup.setDOMContent(popupContent(state.popupFeature));
  if (state.lastError) showError(state.lastError);
}

$('lang').addEventListener('click', () => {
  state.lang = state.lang === 'th' ? 'en' : 'th';
  try { localStorage.setItem('welfarehub.lang', state.lang); } catch { /* ignore */ }
  applyLanguage();
});
$('indicator').addEventListener('change', (e) => {
  state.indicator = e.target.value;
  state.legend = null;
  state.legendPromise = null;
  closePopup();
  loadCurrent({ fit: false });
});
$('classes').addEventListener('change', (e) => {
  state.classes = CLASS_SCHEMES.includes(e.target.value) ? e.target.value : '';
  closePopup();
  loadCurrent({ fit: false });
});
$('period').addEventListener('change', (e) => {
  const v = e.target.value;
  if (v && !/^\d{4}-\d{2}$/.test(v)) return;
  state.period = v || null;
  closePopup();
  loadCurrent({ fit: false });
});
$('menu-toggle').addEventListener('click', () => {
  const open = document.body.classList.toggle('menu-open');
  $('menu-toggle').setAttribute('aria-expanded', String(open));
});
$('legend-toggle').addEventListener('click', () => {
  const collapsed = $('legend').classList.toggle('collapsed');
  $('legend-toggle').setAttribute('aria-expanded', String(!collapsed));
});

applyLanguage();
loadCurrent({ animate: false });
