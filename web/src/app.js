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
  // The table beside the map: rows of /api/v1/indicators for the view, sorting, filters.
  rows: null,
  rowsKey: null,
  rowsByCode: new Map(),
  rowsError: null,
  sort: { key: 'name', dir: 1 },
  filters: { no_fund: false, no_report: false, at_risk: false },
  // Search: the province list once, then the districts and tambons of each province visited.
  provinces: null,
  areasOf: new Map(), // province code -> [{code, name_th, name_en, level}]
  pendingPopup: null, // a code whose popup opens once its level is shown (a tambon chosen by search)
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
    // The PNG download reads the canvas back after rendering.
    canvasContextAttributes: { antialias: false, preserveDrawingBuffer: true },
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
  if (!entry.bbox) entry.bbox = unionBbox(fc.features);
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
  applyFilterPaint();
  writeUrl();
  loadTable(entry);
  loadSearchAreas();
  if (fit) fitTo(entry, animate);
  const ok = await waitIdle(seq);
  if (!ok || seq !== state.seq) return;
  setMapState('ready', entry.level, fc.features.length);
  if (state.pendingPopup) {
    const code = state.pendingPopup;
    state.pendingPopup = null;
    const f = featureByCode(code);
    if (f) showPopup(f, centreOf(f));
  }
}

function unionBbox(features) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features) {
    const x = f.bbox || bboxOf(f.geometry);
    if (!x) continue;
    b[0] = Math.min(b[0], x[0]); b[1] = Math.min(b[1], x[1]); b[2] = Math.max(b[2], x[2]); b[3] = Math.max(b[3], x[3]);
  }
  return Number.isFinite(b[0]) ? b : null;
}
const featureByCode = (code) => top().fc?.features.find((f) => f.properties.code === code) || null;
function centreOf(f) {
  const b = f.bbox || bboxOf(f.geometry);
  return b ? [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] : map.getCenter();
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
  const r = state.rowsByCode.get(p.code);
  if (r && r.level === p.level) {
    if (r.gap != null) rows.push([t('gap'), h('td', { 'data-testid': 'popup-gap' }, t('gapPeople', fmtInt(r.gap)))]);
    if (r.growth_12m != null) rows.push([t('growth12m'), h('td', { 'data-testid': 'popup-growth' }, fmtSigned(r.growth_12m))]);
    if (r.full_coverage && r.full_coverage !== 'unknown') rows.push([t('fullYear'), h('td', { 'data-testid': 'popup-full-year' }, fullText(r))]);
  }
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
  $('search').placeholder = t('searchPlaceholder');
  $('dl-png').title = t('downloadPng');
  renderTable();
  updateDownloads();
  writeUrl();
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


// ---------- the table of the areas shown ----------
const nameOf = (r) => (state.lang === 'th' ? r.name_th : r.name_en || r.name_th) || r.code;
function fmtSigned(n) {
  if (n == null) return '—';
  return `${n > 0 ? '+' : ''}${fmtInt(n)}`;
}
function fullText(r) {
  if (r.full_coverage === 'by_year' && r.full_coverage_year != null) return t('yearOf', r.full_coverage_year);
  if (r.full_coverage === 'reached' || r.full_coverage === 'not_at_this_rate') return t(`full_${r.full_coverage}`);
  return '—';
}
function fullSortValue(r) {
  if (r.full_coverage === 'reached') return 0;
  if (r.full_coverage === 'by_year') return r.full_coverage_year;
  if (r.full_coverage === 'not_at_this_rate') return 99999;
  return null;
}
const STATE_ORDER = { value: 0, no_report: 1, no_fund: 2 };
const COLUMNS = [
  { key: 'name', text: (r) => nameOf(r), sort: (r) => nameOf(r) },
  { key: 'state', text: (r) => t(`state_${r.state}`), sort: (r) => STATE_ORDER[r.state] ?? 3 },
  { key: 'members', num: true, text: (r) => fmtInt(r.members) },
  { key: 'population', num: true, text: (r) => fmtInt(r.population) },
  { key: 'coverage', num: true, text: (r) => fmtDec(r.coverage) },
  { key: 'gap', num: true, text: (r) => fmtInt(r.gap) },
  { key: 'growth_12m', num: true, text: (r) => fmtSigned(r.growth_12m) },
  { key: 'full_coverage_year', num: true, text: fullText, sort: fullSortValue },
  { key: 'funds', num: true, text: (r) => fmtInt(r.funds) },
  { key: 'funds_reported', num: true, text: (r) => fmtInt(r.funds_reported) },
  { key: 'reporting_rate', num: true, text: (r) => fmtDec(r.reporting_rate) },
  { key: 'funds_high_risk', num: true, text: (r) => fmtInt(r.funds_high_risk) },
];

function indicatorsQuery(entry, extra = {}) {
  const q = new URLSearchParams({ level: entry.level });
  if (entry.within) q.set('within', entry.within);
  if (state.shownPeriod) q.set('period', state.shownPeriod);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}

async function loadTable(entry) {
  const q = indicatorsQuery(entry);
  const key = q.toString();
  if (key === state.rowsKey && state.rows) { renderTable(); return; }
  state.rowsKey = key;
  state.rows = null;
  state.rowsError = null;
  state.rowsByCode = new Map();
  $('area-table').dataset.state = 'loading';
  renderTable();
  updateDownloads();
  try {
    const body = await getJson(`${API}/indicators?${q}`);
    if (state.rowsKey !== key) return;
    state.rows = Array.isArray(body.rows) ? body.rows : [];
    state.rowsByCode = new Map(state.rows.map((r) => [r.code, { ...r, level: r.level || entry.level }]));
  } catch (e) {
    if (state.rowsKey !== key) return;
    state.rowsError = e;
    state.rowsKey = null;
  }
  renderTable();
}

function rowMatches(r) {
  const f = state.filters;
  if (!f.no_fund && !f.no_report && !f.at_risk) return true;
  return (f.no_fund && r.state === 'no_fund') || (f.no_report && r.state === 'no_report')
    || (f.at_risk && (r.funds_high_risk ?? r.high_risk_funds ?? 0) > 0);
}

function renderTable() {
  const table = $('area-table');
  const entry = top();
  table.dataset.level = entry.level;
  table.dataset.within = entry.within || '';
  table.dataset.period = state.shownPeriod || '';
  $('print-info').textContent = `${viewTitle()} · ${t('printedOn', new Intl.DateTimeFormat(t('locale'), { dateStyle: 'medium' }).format(new Date()))}`;
  // Headings are buttons: click or Enter sorts, again reverses.
  $('table-head').replaceChildren(...COLUMNS.map((c) => {
    const on = state.sort.key === c.key;
    const label = t(c.key === 'name' ? 'col_name' : `col_${c.key}`);
    return h('th', { scope: 'col', class: c.num ? 'num' : null, 'aria-sort': on ? (state.sort.dir > 0 ? 'ascending' : 'descending') : 'none' },
      h('button', { type: 'button', 'data-sort': c.key, title: t('sortBy', label), onclick: () => sortBy(c.key) },
        label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, on ? (state.sort.dir > 0 ? ' ▲' : ' ▼') : '')));
  }));
  if (state.rowsError) {
    table.dataset.state = 'error';
    $('table-status').textContent = t('tableError', state.rowsError.message);
    $('table-body').replaceChildren();
    return;
  }
  if (!state.rows) {
    $('table-status').textContent = t('tableLoading');
    $('table-body').replaceChildren();
    return;
  }
  const col = COLUMNS.find((c) => c.key === state.sort.key) || COLUMNS[0];
  const val = col.sort || ((r) => r[col.key]);
  const coll = new Intl.Collator(t('locale'));
  const shown = state.rows.filter(rowMatches).sort((a, b) => {
    const x = val(a);
    const y = val(b);
    if (x == null && y == null) return 0;
    if (x == null) return 1; // no value last, either way
    if (y == null) return -1;
    const c = typeof x === 'string' ? coll.compare(x, y) : x - y;
    return c * state.sort.dir || coll.compare(nameOf(a), nameOf(b));
  });
  $('table-body').replaceChildren(...shown.map((r) => h('tr', {
    tabindex: 0, 'data-code': r.code, 'data-state': r.state, class: `state-${r.state}`,
    onclick: () => selectArea(r.code),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); selectArea(r.code); } },
    onmouseenter: () => hoverCode(r.code),
    onmouseleave: () => clearHover(),
  }, COLUMNS.map((c) => h(c.key === 'name' ? 'th' : 'td', { class: c.num ? 'num' : null, scope: c.key === 'name' ? 'row' : null, 'data-col': c.key }, c.text(r))))));
  $('table-status').textContent = t('tableCount', shown.length, state.rows.length);
  table.dataset.state = 'ready';
  table.dataset.count = String(shown.length);
}

function sortBy(key) {
  if (state.sort.key === key) state.sort.dir = -state.sort.dir;
  else state.sort = { key, dir: COLUMNS.find((c) => c.key === key)?.num ? -1 : 1 };
  renderTable();
  document.querySelector(`#table-head button[data-sort="${key}"]`)?.focus();
}

function hoverCode(code) {
  const f = featureByCode(code);
  if (!f || f.id == null) return;
  clearHover();
  state.hoverId = f.id;
  map.setFeatureState({ source: 'areas', id: f.id }, { hover: true });
}

// A row chosen in the table does what a click on its area does: popup, and one level down.
function selectArea(code) {
  const f = featureByCode(code);
  if (!f) return;
  showPopup(f, centreOf(f));
  if (LEVELS[top().level].child) drill(f);
}

// ---------- filters ----------
function filterExpr() {
  const f = state.filters;
  const any = ['any'];
  if (f.no_fund) any.push(['==', ['get', 'state'], 'no_fund']);
  if (f.no_report) any.push(['==', ['get', 'state'], 'no_report']);
  if (f.at_risk) any.push(['>', ['coalesce', ['get', 'high_risk_funds'], 0], 0]);
  return any.length > 1 ? any : null;
}
function applyFilterPaint() {
  const hover = ['boolean', ['feature-state', 'hover'], false];
  const m = filterExpr();
  map.setPaintProperty('areas-fill', 'fill-opacity', m ? ['case', hover, 1, m, 0.92, 0.18] : ['case', hover, 1, 0.88]);
  document.body.dataset.filters = Object.keys(state.filters).filter((k) => state.filters[k]).join(',');
}
for (const btn of document.querySelectorAll('#filters [data-filter]')) {
  btn.addEventListener('click', () => {
    const k = btn.dataset.filter;
    state.filters[k] = !state.filters[k];
    btn.setAttribute('aria-pressed', String(state.filters[k]));
    renderTable();
    mapLoaded.then(applyFilterPaint);
  });
}

// ---------- downloads ----------
function updateDownloads() {
  const entry = top();
  const stem = `${entry.level}-${entry.within || 'TH'}-${state.shownPeriod || 'latest'}`;
  $('dl-csv').href = `${API}/indicators?${indicatorsQuery(entry, { format: 'csv', lang: state.lang })}`;
  $('dl-csv').setAttribute('download', `${stem}.csv`);
  $('dl-xlsx').href = `${API}/indicators?${indicatorsQuery(entry, { format: 'xlsx', lang: state.lang })}`;
  $('dl-xlsx').setAttribute('download', `${stem}.xlsx`);
}

function viewTitle() {
  const entry = top();
  const where = state.stack.length > 1 ? nameOf(entry) : t('country');
  const what = state.legend?.[`title_${state.lang}`] || t(`ind_${state.indicator}`);
  return `${t('title')} · ${where} · ${what} · ${t('monthLabel', state.shownPeriod)}`;
}

function exportPng() {
  const src = map.getCanvas();
  const dpr = src.width / src.clientWidth || 1;
  const head = Math.round(44 * dpr);
  const foot = Math.round(22 * dpr);
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height + head + foot;
  const g = out.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, out.width, out.height);
  g.drawImage(src, 0, head);
  const font = 'system-ui, "Noto Sans Thai", Tahoma, sans-serif';
  g.fillStyle = '#1d2b36';
  g.font = `600 ${Math.round(16 * dpr)}px ${font}`;
  g.fillText(viewTitle(), 10 * dpr, 27 * dpr, out.width - 20 * dpr);
  // Legend: a box in the lower left of the map with the legend's swatches and labels.
  const lg = state.legend;
  const items = [];
  for (const c of lg?.classes || []) items.push([c.colour, c[`label_${state.lang}`] || c.label_th || '']);
  for (const k of ['no_fund', 'no_report']) if (lg?.states?.[k]) items.push([lg.states[k].colour, lg.states[k][`label_${state.lang}`] || t(`state_${k}`)]);
  const line = 18 * dpr;
  g.font = `${Math.round(12 * dpr)}px ${font}`;
  const legendTitle = $('legend-title').textContent;
  const w = Math.max(g.measureText(legendTitle).width, ...items.map(([, l]) => g.measureText(l).width + 30 * dpr)) + 20 * dpr;
  const hgt = (items.length + 1) * line + 12 * dpr;
  const x0 = 10 * dpr;
  const y0 = head + src.height - hgt - 10 * dpr;
  g.fillStyle = 'rgba(255,255,255,0.93)';
  g.fillRect(x0, y0, w, hgt);
  g.fillStyle = '#1d2b36';
  g.fillText(legendTitle, x0 + 8 * dpr, y0 + line);
  items.forEach(([colour, label], i) => {
    const y = y0 + line * (i + 2);
    g.fillStyle = colour;
    g.fillRect(x0 + 8 * dpr, y - 11 * dpr, 22 * dpr, 12 * dpr);
    g.strokeStyle = 'rgba(0,0,0,0.3)';
    g.strokeRect(x0 + 8 * dpr, y - 11 * dpr, 22 * dpr, 12 * dpr);
    g.fillStyle = '#1d2b36';
    g.fillText(label, x0 + 36 * dpr, y);
  });
  g.font = `${Math.round(10 * dpr)}px ${font}`;
  g.fillStyle = '#333333';
  const attribution = [...document.querySelectorAll('#attribution div')].map((d) => d.textContent).join(' · ');
  g.fillText(attribution, 10 * dpr, out.height - 7 * dpr, out.width - 20 * dpr);
  out.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `map-${top().level}-${top().within || 'TH'}-${state.shownPeriod || 'latest'}.png` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }, 'image/png');
}
$('dl-png').addEventListener('click', () => { map.triggerRepaint(); map.once('render', exportPng); });

// ---------- search ----------
const norm = (x) => (x || '').toLowerCase().normalize('NFC').replace(/\s+/g, ' ').trim();
async function areasList(level, within) {
  const q = new URLSearchParams({ level });
  if (within) q.set('within', within);
  const body = await getJson(`${API}/areas?${q}`);
  return (body.areas || []).map((a) => ({ code: a.code, name_th: a.name_th, name_en: a.name_en, level }));
}
async function loadSearchAreas() {
  try {
    if (!state.provinces) state.provinces = await areasList('province');
    const p = state.stack[1]?.within;
    if (p && !state.areasOf.has(p)) {
      state.areasOf.set(p, []);
      const [d, s] = await Promise.all([areasList('district', p), areasList('subdistrict', p)]);
      state.areasOf.set(p, [...d, ...s]);
    }
  } catch {
    state.provinces = state.provinces || null; // the search then offers what it has
  }
}
function searchCandidates() {
  const all = [...(state.provinces || [])];
  for (const list of state.areasOf.values()) all.push(...list);
  return all;
}
const provinceName = (code) => state.provinces?.find((a) => a.code === code);
const areaName = (code) => searchCandidates().find((a) => a.code === code);
function suggestionLabel(a) {
  const main = nameOf(a);
  const other = state.lang === 'th' ? a.name_en : a.name_th;
  const parts = [t(`level_${a.level}`)];
  if (a.level !== 'province') {
    const d = a.level === 'subdistrict' ? areaName(a.code.slice(0, 4)) : null;
    if (d) parts.push(nameOf(d));
    const p = provinceName(a.code.slice(0, 2));
    if (p) parts.push(nameOf(p));
  }
  return [main, other && other !== main ? ` (${other})` : '', h('span', { class: 'muted' }, ` · ${parts.join(' · ')}`)];
}
let suggestions = [];
let active = -1;
function renderSuggestions() {
  const list = $('search-list');
  const q = norm($('search').value);
  if (!q) { suggestions = []; list.hidden = true; $('search').setAttribute('aria-expanded', 'false'); return; }
  const order = { province: 0, district: 1, subdistrict: 2 };
  const scored = [];
  for (const a of searchCandidates()) {
    const th = norm(a.name_th);
    const en = norm(a.name_en);
    let score = -1;
    if (th === q || en === q || a.code === q) score = 0;
    else if (th.startsWith(q) || en.startsWith(q)) score = 1;
    else if (th.includes(q) || en.includes(q)) score = 2;
    if (score >= 0) scored.push([score * 10 + order[a.level], a]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].code.localeCompare(y[1].code));
  suggestions = scored.slice(0, 12).map(([, a]) => a);
  active = suggestions.length ? 0 : -1;
  list.replaceChildren(...(suggestions.length ? suggestions.map((a, i) => h('li', {
    role: 'option', id: `sugg-${i}`, 'data-code': a.code, 'data-level': a.level, 'aria-selected': String(i === active),
    onmousedown: (e) => { e.preventDefault(); choose(a); },
  }, suggestionLabel(a))) : [h('li', { class: 'muted none' }, t('noMatch'))]));
  list.hidden = false;
  $('search').setAttribute('aria-expanded', 'true');
}
function moveActive(d) {
  if (!suggestions.length) return;
  active = (active + d + suggestions.length) % suggestions.length;
  [...$('search-list').children].forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
  $('search').setAttribute('aria-activedescendant', `sugg-${active}`);
}
function choose(a) {
  $('search').value = '';
  renderSuggestions();
  $('search').blur();
  goToArea(a.code).catch((e) => showError(e));
}
$('search').addEventListener('input', renderSuggestions);
$('search').addEventListener('focus', () => { loadSearchAreas().then(renderSuggestions); });
$('search').addEventListener('blur', () => { $('search-list').hidden = true; });
$('search').addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown') { e.preventDefault(); moveActive(1); }
  else if (e.key === 'ArrowUp') { e.preventDefault(); moveActive(-1); }
  else if (e.key === 'Enter' && suggestions[active]) { e.preventDefault(); choose(suggestions[active]); }
  else if (e.key === 'Escape') { $('search').value = ''; renderSuggestions(); }
});

// Shows the children of an area by its code (2 digits: a province's districts, 4: a district's
// tambons, 6: a tambon, shown with its district's tambons and its popup open).
async function goToArea(code) {
  if (!/^\d{2}(\d{2}(\d{2})?)?$/.test(code)) return;
  closePopup();
  if (!state.provinces) await loadSearchAreas();
  const p = code.slice(0, 2);
  const root = state.stack[0];
  const named = (c) => areaName(c) || { name_th: c, name_en: c };
  const fromRoot = root.fc?.features.find((f) => f.properties.code === p);
  const pa = named(p);
  const stack = [root, { level: 'district', within: p, bbox: fromRoot?.bbox || null, name_th: pa.name_th, name_en: pa.name_en, fc: null }];
  if (code.length >= 4) {
    if (!state.areasOf.get(p)?.length) {
      state.stack = stack; // so that loadSearchAreas fetches this province's districts
      await loadSearchAreas();
    }
    const d = code.slice(0, 4);
    const da = named(d);
    stack.push({ level: 'subdistrict', within: d, bbox: null, name_th: da.name_th, name_en: da.name_en, fc: null });
  }
  if (code.length === 6) state.pendingPopup = code;
  state.stack = stack;
  await loadCurrent();
}

// ---------- the URL records the view ----------
function writeUrl() {
  const q = new URLSearchParams();
  const area = top().within;
  if (area) q.set('area', area);
  q.set('indicator', state.indicator);
  if (state.shownPeriod || state.period) q.set('period', state.shownPeriod || state.period);
  if (state.classes) q.set('classes', state.classes);
  q.set('lang', state.lang);
  try { history.replaceState(null, '', `${location.pathname}?${q}${location.hash}`); } catch { /* ignore */ }
}

applyLanguage();
{
  const area = params.get('area');
  if (area && /^\d{2}(\d{2}(\d{2})?)?$/.test(area)) goToArea(area).catch((e) => { showError(e); loadCurrent({ animate: false }); });
  else loadCurrent({ animate: false });
}
