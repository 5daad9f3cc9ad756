// Welfare Hub operator's page (/operator), for provincial network editors and admins. With a bearer
// token (kept in sessionStorage: this tab only) it shows who is signed in, the connectors within
// the token's scope with their last run, a connector's runs and open quarantine (and starts runs),
// and the funds registered within the scope. Everything comes from the hub's API on the same origin.
//
// For tests: <body data-operator-state="signed-out|loading|ready|error"> (ready = who is signed in
// and the connectors are shown); the detail panel and the funds section carry their own
// data-state="loading|ready|error" (the detail also data-connector="ID"; only a connector's row
// carries data-connector-id). The data-testid hooks are listed in web/README.md.
import { h } from './dom.js';
import { STRINGS } from './operator-i18n.js';

const API = 'api/v1'; // relative: the page is served by the hub at /operator
const TOKEN_KEY = 'welfare-hub-token';
const LANG_KEY = 'welfarehub.lang'; // the map page's key: one language choice for both pages
const POLL_MS = 2000;
const NEW_RUN_WAIT_MS = 30000; // a started run not listed by then is left to the refresh button
const RUNS_SHOWN = 5; // of the 20 read: the rest behind "show all" (a phone shows each as a card)
const FUNDS_PAGE = 50; // fund rows rendered at first and added by "show more": a national listing holds thousands
const TIME_ZONE = 'Asia/Bangkok'; // the hub's timestamps are UTC; its operators read Thai time
const RUNNERS = ['province-editor', 'admin']; // the roles that may start a run
const STATUS_FILTERS = ['succeeded', 'partial', 'failed', 'running', 'never_run', 'disabled'];
// Trouble first: the table lists failed connectors, then partial ones, …; disabled ones last.
const STATUS_ORDER = ['failed', 'partial', 'running', 'never_run', 'succeeded'];

const $ = (id) => document.getElementById(id);

const state = {
  lang: pickLang(),
  token: null,
  me: null,
  connectors: null,
  provinceNames: new Map(), // code → { th, en }, best effort (codes alone without it)
  funds: null, // { rows, period }
  fundsError: null,
  fundsLoading: false,
  fundsShown: FUNDS_PAGE,
  detailId: null,
  detail: null, // { runs, runsAll, quarantine, quarantineMore, runsError, quarantineError, loading }
  runMessages: new Map(), // connector id → { key, arg, raw, code, kind, busy }: a run being followed
  error: null, // { e, retry }
  signinError: null,
  seq: 0, // bumped on sign-in and sign-out: answers to an earlier session are dropped
  detailSeq: 0,
};

// ---------- small helpers ----------
function pickLang() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'th' || q === 'en') return q;
  try {
    const s = localStorage.getItem(LANG_KEY);
    if (s === 'th' || s === 'en') return s;
  } catch { /* storage may be unavailable */ }
  return 'th';
}

function t(key, ...args) {
  const v = STRINGS[state.lang][key] ?? STRINGS.th[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}
// The label of a value the hub names (a kind, a trigger), or the value itself when it is new to us.
const named = (prefix, value) => (STRINGS.th[`${prefix}_${value}`] ? t(`${prefix}_${value}`) : value);

const storage = {
  get() { try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; } },
  set(v) { try { sessionStorage.setItem(TOKEN_KEY, v); } catch { /* the token then lasts this page only */ } },
  clear() { try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ } },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

function fmtInt(n) {
  return n == null ? t('none') : new Intl.NumberFormat(t('locale')).format(n);
}

function fmtTime(iso) {
  if (!iso) return t('none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(t('locale'), { dateStyle: 'medium', timeStyle: 'short', timeZone: TIME_ZONE }).format(d);
}

const timeEl = (iso) => (iso ? h('time', { datetime: iso, title: iso }, fmtTime(iso)) : t('none'));

// A connector's provinces; none is a national connector (a viewer's older answers may lack the field).
function provincesText(c) {
  if (!Array.isArray(c.provinces)) return t('none');
  return c.provinces.length ? c.provinces.map(provinceLabel).join(', ') : t('national');
}

function provinceLabel(code) {
  const n = state.provinceNames.get(code);
  const name = n && (state.lang === 'th' ? n.th : n.en || n.th);
  return name ? `${code} ${name}` : code;
}

// A connector's status as the table and its filter see it.
function statusOf(c) {
  if (c.running || c.last_run?.status === 'running') return 'running';
  return c.last_run?.status || 'never_run';
}

const badge = (status) => h('span', { class: `badge status-${status}` }, t('runStatus', status));

// ---------- API ----------
class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// A JSON answer, or an ApiError carrying the hub's `message`. A 401 to the current token signs out
// (the token was revoked or expired): the form comes back with the hub's message.
async function api(path, { method = 'GET', auth = true } = {}) {
  const token = state.token;
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`${API}/${path}`, { method, headers, cache: 'no-store' });
  } catch {
    throw new ApiError('network', t('errNetwork'), 0);
  }
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = new ApiError(body?.error || `http_${res.status}`, body?.message || `${res.status} ${res.statusText}`.trim(), res.status);
    if (res.status === 401 && auth && token === state.token) signOut(e);
    throw e;
  }
  if (body == null || typeof body !== 'object') throw new ApiError('bad_response', t('errBadResponse'), res.status);
  return body;
}

// Every page of a cursor listing: `key` is the array of each page.
async function listAll(path, key) {
  const all = [];
  const seen = new Set();
  let cursor = null;
  do {
    const page = await api(cursor == null ? path : `${path}&cursor=${enc(cursor)}`);
    if (!Array.isArray(page[key])) throw new ApiError('bad_response', t('errBadResponse'));
    all.push(...page[key]);
    cursor = page.next_cursor ?? null;
    if (cursor != null && seen.has(cursor)) throw new ApiError('bad_response', `${t('errBadResponse')} (next_cursor ${cursor} repeats)`);
    seen.add(cursor);
  } while (cursor != null);
  return all;
}

// ---------- session ----------
function setState(s) {
  document.body.dataset.operatorState = s;
  $('loading').hidden = !(s === 'loading' && state.token != null);
}

async function signIn(token) {
  const seq = ++state.seq;
  Object.assign(state, { token, me: null, connectors: null, funds: null, fundsError: null, error: null, signinError: null });
  storage.set(token);
  setState('loading');
  renderAll();
  let me;
  try {
    me = await api('me');
  } catch (e) {
    if (seq !== state.seq || e.status === 401) return; // a 401 has signed out already
    state.error = { e, retry: () => signIn(token) };
    setState('error');
    renderAll();
    return;
  }
  if (seq !== state.seq) return;
  state.me = me;
  renderAll();
  loadProvinceNames(seq);
  loadFunds(seq);
  await loadConnectors(seq);
  if (seq === state.seq && state.connectors) openFromHash();
}

function signOut(error = null) {
  state.seq++;
  storage.clear();
  Object.assign(state, {
    token: null, me: null, connectors: null, funds: null, fundsError: null, detailId: null, detail: null, error: null,
    signinError: error,
  });
  state.runMessages.clear();
  setState('signed-out');
  renderAll();
  $('token').focus();
}

async function loadConnectors(seq) {
  setState('loading');
  try {
    const list = await listAll('connectors?limit=1000', 'connectors');
    if (seq !== state.seq) return;
    state.connectors = list;
    state.error = null;
    setState('ready');
  } catch (e) {
    if (seq !== state.seq || e.status === 401) return;
    state.error = { e, retry: () => loadConnectors(state.seq) };
    setState('error');
  }
  renderAll();
}

async function loadProvinceNames(seq) {
  try {
    const body = await api('areas?level=province', { auth: false }); // public
    if (seq !== state.seq || !Array.isArray(body.areas)) return;
    state.provinceNames = new Map(body.areas.map((a) => [a.code, { th: a.name_th, en: a.name_en }]));
    renderWho();
    renderConnectors();
  } catch { /* codes only */ }
}

async function loadFunds(seq) {
  state.fundsLoading = true;
  renderFunds();
  // A province editor reads within its provinces: the hub takes one `within` per listing (and
  // none for an editor of one province); everybody else reads nationally.
  const provinces = state.me.role === 'province-editor' ? state.me.provinces || [] : [];
  const paths = provinces.length > 1 ? provinces.map((p) => `funds?within=${enc(p)}`) : ['funds'];
  try {
    const answers = await Promise.all(paths.map((p) => api(p)));
    if (seq !== state.seq) return;
    const byId = new Map();
    for (const a of answers) {
      if (!Array.isArray(a.rows)) throw new ApiError('bad_response', t('errBadResponse'));
      for (const r of a.rows) byId.set(r.fund_id, r);
    }
    const rows = [...byId.values()].sort((a, b) => (a.fund_id < b.fund_id ? -1 : a.fund_id > b.fund_id ? 1 : 0));
    for (const r of rows) r._search = [r.fund_id, r.name_th, r.name_en, r.tambon_code].filter(Boolean).join(' ').toLowerCase();
    state.funds = { rows, period: answers[0]?.period };
    state.fundsError = null;
  } catch (e) {
    if (seq !== state.seq || e.status === 401) return;
    state.fundsError = e;
  }
  state.fundsLoading = false;
  renderFunds();
}

// ---------- connector detail ----------
function hashConnector() {
  return new URLSearchParams(location.hash.slice(1)).get('connector');
}

function openFromHash() {
  const id = hashConnector();
  if (!state.me) return; // opened after sign-in
  if (id) openDetail(id);
  else if (state.detailId) closeDetail(false);
}

// Opening a connector goes through the URL hash, so it can be bookmarked and Back closes it.
function showConnector(id) {
  if (hashConnector() === id) openDetail(id);
  else location.hash = `connector=${enc(id)}`;
}

async function openDetail(id, { scroll = true } = {}) {
  const dseq = ++state.detailSeq;
  const seq = state.seq;
  const same = state.detailId === id;
  state.detailId = id;
  if (!same) state.detail = null;
  state.detail = { ...(state.detail || {}), loading: true };
  renderDetail();
  if (scroll) {
    const panel = $('detail');
    panel.scrollIntoView({ block: 'start', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
    panel.focus({ preventScroll: true });
  }
  const [runs, quarantine] = await Promise.allSettled([
    api(`connectors/${enc(id)}/runs?limit=20`),
    api(`quarantine?connector=${enc(id)}&limit=100`),
  ]);
  if (seq !== state.seq || dseq !== state.detailSeq) return;
  const d = { loading: false, runsAll: same && state.detail?.runsAll };
  if (runs.status === 'fulfilled' && Array.isArray(runs.value.runs)) d.runs = runs.value.runs;
  else d.runsError = runs.reason || new ApiError('bad_response', t('errBadResponse'));
  if (quarantine.status === 'fulfilled' && Array.isArray(quarantine.value.rows)) {
    d.quarantine = quarantine.value.rows;
    d.quarantineMore = quarantine.value.next_cursor != null;
  } else d.quarantineError = quarantine.reason || new ApiError('bad_response', t('errBadResponse'));
  state.detail = d;
  renderDetail();
}

function closeDetail(clearHash = true) {
  const id = state.detailId;
  state.detailId = null;
  state.detail = null;
  state.detailSeq++;
  if (clearHash && location.hash) history.replaceState(null, '', location.pathname + location.search);
  renderDetail();
  const row = id && document.querySelector(`#connectors tr[data-connector-id="${CSS.escape(id)}"]`);
  row?.focus();
}

// Starts a run and follows it: the runs are polled until a run newer than the ones listed before
// has finished, then the table (and the open detail) are read again.
async function startRun(full) {
  const id = state.detailId;
  const seq = state.seq;
  if (!id) return;
  const setMessage = (m) => {
    state.runMessages.set(id, m);
    if (state.detailId === id) renderRunMessage();
  };
  setMessage({ key: 'runStarting', busy: true });
  let before = 0;
  try {
    const latest = (await api(`connectors/${enc(id)}/runs?limit=1`)).runs?.[0];
    before = latest?.id ?? 0;
    try {
      await api(`connectors/${enc(id)}/run${full ? '?full=true' : ''}`, { method: 'POST' });
      setMessage({ key: 'runWaiting', busy: true });
    } catch (e) {
      if (e.code !== 'already_running') throw e;
      // Somebody else's run (or the schedule's) is on: say so, and follow that one instead.
      if (latest?.status === 'running') before = latest.id - 1;
      setMessage({ raw: e.message, code: e.code, busy: true });
    }
  } catch (e) {
    if (seq !== state.seq) return;
    setMessage({ raw: e.message, code: e.code, kind: 'error', busy: false });
    return;
  }
  const started = Date.now();
  for (;;) {
    await sleep(POLL_MS);
    if (seq !== state.seq) return;
    let page;
    try {
      page = await api(`connectors/${enc(id)}/runs?limit=20`);
    } catch (e) {
      if (seq !== state.seq) return;
      setMessage({ raw: e.message, code: e.code, kind: 'error', busy: false });
      break;
    }
    if (seq !== state.seq) return;
    if (state.detailId === id && state.detail && Array.isArray(page.runs)) {
      state.detail.runs = page.runs;
      renderRuns();
    }
    const newest = page.runs?.find((r) => r.id > before);
    if (newest && newest.status !== 'running') {
      setMessage({ key: 'runDone', arg: newest.status, kind: newest.status === 'failed' ? 'error' : 'ok', busy: false });
      break;
    }
    if (!newest && Date.now() - started > NEW_RUN_WAIT_MS) {
      setMessage({ key: 'runNoNewRun', busy: false });
      break;
    }
  }
  await loadConnectors(seq);
  if (seq === state.seq && state.detailId === id) openDetail(id, { scroll: false });
}

// ---------- rendering ----------
function renderAll() {
  renderSession();
  renderWho();
  renderError();
  renderConnectors();
  renderDetail();
  renderFunds();
}

function renderSession() {
  const signedIn = state.token != null;
  $('signin').hidden = signedIn;
  const err = $('signin-error');
  err.hidden = !state.signinError;
  err.replaceChildren(...(state.signinError ? [state.signinError.message] : []));
  $('connectors-section').hidden = !state.connectors;
  $('funds-section').hidden = !state.me;
}

function renderWho() {
  const me = state.me;
  const el = $('whoami');
  $('session').hidden = state.token == null; // sign-out stays reachable when /me fails
  el.hidden = !me;
  if (!me) return;
  const provinces = me.provinces?.length ? t('provincesOf', me.provinces.map(provinceLabel).join(', ')) : t('allProvinces');
  el.dataset.provinces = (me.provinces || []).join(',');
  el.dataset.role = me.role;
  el.textContent = t('whoami', me.name || '?', named('role', me.role), provinces);
}

function renderError() {
  const box = $('error');
  const err = state.error;
  box.hidden = !err;
  if (!err) return box.replaceChildren();
  box.replaceChildren(
    h('strong', {}, t('errorTitle')),
    h('div', { 'data-testid': 'error-message' }, err.e.message),
    err.e.code ? h('code', {}, err.e.code) : null,
    err.retry ? h('div', {}, h('button', { type: 'button', class: 'secondary', onclick: err.retry }, t('retry'))) : null,
  );
}

// A table of `cols` ([key, label, class?]): header cells, and each data cell labelled for the
// phone layout, where rows become cards.
function tableHead(cols) {
  return h('thead', {}, h('tr', {}, cols.map(([, label, cls]) => h('th', { scope: 'col', class: cls }, label))));
}
function cell(label, content, attrs = {}) {
  return h('td', { 'data-label': label, ...attrs }, content);
}

function connectorColumns() {
  return [
    ['connector', t('col_connector')], ['kind', t('col_kind')], ['provinces', t('col_provinces')],
    ['status', t('col_status')], ['lastRun', t('col_lastRun')], ['rows', t('col_rows'), 'num'],
    ['errors', t('col_errors'), 'num'], ['quarantine', t('col_quarantine'), 'num'], ['enabled', t('col_enabled')],
  ];
}

function renderFilters() {
  const list = state.connectors || [];
  const provSel = $('filter-province');
  const provinces = [...new Set(list.flatMap((c) => c.provinces || []))].sort();
  const keepProv = provSel.value;
  provSel.replaceChildren(
    h('option', { value: '' }, t('allProvincesOption')),
    ...provinces.map((p) => h('option', { value: p }, provinceLabel(p))),
  );
  provSel.value = provinces.includes(keepProv) ? keepProv : '';
  const statusSel = $('filter-status');
  const keepStatus = statusSel.value;
  statusSel.replaceChildren(
    h('option', { value: '' }, t('status_all')),
    ...STATUS_FILTERS.map((s) => h('option', { value: s }, s === 'disabled' ? t('status_disabled') : t('runStatus', s))),
  );
  statusSel.value = STATUS_FILTERS.includes(keepStatus) ? keepStatus : '';
}

function renderConnectors() {
  const table = $('connectors');
  if (!state.connectors) return table.replaceChildren();
  renderFilters();
  const prov = $('filter-province').value;
  const status = $('filter-status').value;
  const all = state.connectors;
  const rank = (c) => (c.enabled === false ? STATUS_ORDER.length : STATUS_ORDER.indexOf(statusOf(c)));
  const shown = all.filter((c) => (!prov || (c.provinces || []).includes(prov))
    && (!status || (status === 'disabled' ? !c.enabled : statusOf(c) === status)))
    .sort((a, b) => rank(a) - rank(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const cols = connectorColumns();
  const l = Object.fromEntries(cols.map(([k, v]) => [k, v]));
  const bodies = shown.map((c) => {
    const run = c.last_run;
    const st = statusOf(c);
    const counts = run?.counts;
    const main = h('tr', {
      class: 'main', tabindex: '0', 'data-connector-id': c.id, 'data-status': st, 'data-enabled': String(c.enabled !== false),
      'aria-label': c.name ? `${c.id} ${c.name}` : c.id,
    },
    cell(l.connector, [
      h('a', { href: `#connector=${enc(c.id)}`, tabindex: '-1', class: 'cid' }, c.id),
      c.name ? h('div', { class: 'muted small' }, c.name) : null,
    ], { class: 'name' }),
    cell(l.kind, named('kind', c.kind), { class: 'nowrap' }),
    cell(l.provinces, provincesText(c)),
    cell(l.status, badge(st)),
    cell(l.lastRun, timeEl(run?.finished_at || run?.started_at), { class: 'nowrap' }),
    cell(l.rows, counts ? `${fmtInt(counts.accepted)} / ${fmtInt(counts.unchanged)} / ${fmtInt(counts.revised)}` : t('none'), { class: 'num' }),
    cell(l.errors, counts ? fmtInt(counts.rejected) : t('none'), { class: `num${counts?.rejected > 0 ? ' warn' : ''}` }),
    cell(l.quarantine, fmtInt(c.open_quarantine), { class: `num${c.open_quarantine > 0 ? ' warn' : ''}` }),
    cell(l.enabled, c.enabled === false ? h('span', { class: 'badge off' }, t('no')) : t('yes')));
    // The last run's error is shown under its row, not behind a click: the operator sees why at once.
    const errorRow = run?.error
      ? h('tr', { class: 'error-row' }, h('td', { colspan: String(cols.length), 'data-testid': 'connector-error' },
        h('strong', {}, `${t('runError')}: `), run.error, run.refused ? h('span', { class: 'muted' }, ` (${t('refusedNote')})`) : null))
      : null;
    return h('tbody', { class: `connector status-${st}${c.id === state.detailId ? ' selected' : ''}`, 'data-connector': c.id }, main, errorRow);
  });
  if (shown.length === 0) {
    bodies.push(h('tbody', {}, h('tr', { class: 'empty' }, h('td', { colspan: String(cols.length) }, all.length ? t('noMatch') : t('noConnectors')))));
  }
  table.replaceChildren(tableHead(cols), ...bodies);
  $('connectors-count').textContent = t('shownOf', shown.length, all.length);
}

function renderDetail() {
  const panel = $('detail');
  const id = state.detailId;
  panel.hidden = !id || !state.me;
  document.querySelectorAll('#connectors tbody.connector').forEach((b) => b.classList.toggle('selected', b.dataset.connector === id));
  if (!id) {
    delete panel.dataset.connector;
    delete panel.dataset.state;
    return;
  }
  const d = state.detail || { loading: true };
  panel.dataset.connector = id;
  panel.dataset.state = d.loading ? 'loading' : d.runsError || d.quarantineError ? 'error' : 'ready';
  const c = (state.connectors || []).find((x) => x.id === id);
  $('detail-title').textContent = c?.name ? `${id} · ${c.name}` : id;
  const facts = [];
  if (c) {
    facts.push([t('fact_kind'), named('kind', c.kind)]);
    if (c.origin) facts.push([t('fact_origin'), named('origin', c.origin)]);
    facts.push([t('fact_provinces'), provincesText(c)]);
    facts.push([t('fact_enabled'), c.enabled === false ? t('no') : t('yes')]);
    facts.push([t('fact_schedule'), c.schedule ? h('code', {}, c.schedule) : t('none')]);
    facts.push([t('fact_nextRun'), timeEl(c.next_run)]);
    facts.push([t('fact_cursor'), c.cursor ? h('code', {}, c.cursor) : t('none')]);
  }
  $('detail-facts').replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  $('config-box').hidden = !c?.config;
  $('config').textContent = c?.config ? JSON.stringify(c.config, null, 2) : '';
  $('run-full').title = t('runFullTitle');
  $('detail-actions').hidden = !RUNNERS.includes(state.me?.role);
  renderRunMessage();
  renderRuns();
  renderQuarantine();
}

function renderRunMessage() {
  const m = state.runMessages.get(state.detailId);
  const el = $('run-message');
  el.textContent = m ? (m.key ? t(m.key, m.arg) : m.raw) : '';
  el.className = `small run-message ${m?.kind || ''}`;
  if (m?.code) el.dataset.code = m.code;
  else delete el.dataset.code;
  // A disabled connector does not run (the hub says so with a 409): the buttons say it first.
  const off = (state.connectors || []).some((c) => c.id === state.detailId && c.enabled === false);
  for (const b of [$('run-now'), $('run-full')]) b.disabled = !!m?.busy || off;
  if (off && !m) el.textContent = t('disabledNote');
}

function sectionError(id, e) {
  const box = $(id);
  box.hidden = !e;
  box.replaceChildren(...(e ? [h('div', {}, e.message), e.code ? h('code', {}, e.code) : null].filter(Boolean) : []));
}

function renderRuns() {
  const d = state.detail || {};
  sectionError('runs-error', d.runsError);
  const table = $('runs');
  if (!d.runs) {
    $('runs-more').hidden = true;
    return table.replaceChildren(...(d.loading ? [h('caption', { class: 'muted' }, t('loading'))] : []));
  }
  const cols = [
    ['run', t('col_run'), 'num'], ['trigger', t('col_trigger')], ['status', t('col_status')], ['started', t('col_started')],
    ['finished', t('col_finished')], ['rows', t('col_rows'), 'num'], ['rejected', t('col_rejected'), 'num'], ['error', t('col_error')],
  ];
  const l = Object.fromEntries(cols.map(([k, v]) => [k, v]));
  const more = $('runs-more');
  more.hidden = d.runsAll || d.runs.length <= RUNS_SHOWN;
  more.textContent = t('showAllRuns', d.runs.length);
  const rows = (d.runsAll ? d.runs : d.runs.slice(0, RUNS_SHOWN)).map((r) => {
    const c = r.counts || {};
    const unrec = (r.unrecognised || []).map((u) => `${u.heading} (${u.location})`).join(', ');
    return h('tr', { 'data-run-id': r.id, 'data-status': r.status },
      cell(l.run, r.id, { class: 'num' }),
      cell(l.trigger, named('trigger', r.trigger), { class: 'nowrap' }),
      cell(l.status, badge(r.status)),
      cell(l.started, timeEl(r.started_at), { class: 'nowrap' }),
      cell(l.finished, timeEl(r.finished_at), { class: 'nowrap' }),
      cell(l.rows, `${fmtInt(c.accepted)} / ${fmtInt(c.unchanged)} / ${fmtInt(c.revised)}`, { class: 'num' }),
      cell(l.rejected, fmtInt(c.rejected), { class: `num${c.rejected > 0 ? ' warn' : ''}` }),
      cell(l.error, [
        r.error ? h('div', { class: 'err-text' }, r.error) : null,
        r.refused ? h('div', { class: 'muted' }, t('refusedNote')) : null,
        unrec ? h('div', { class: 'muted' }, `${t('unrecognised')}: ${unrec}`) : null,
        !r.error && !r.refused && !unrec ? t('none') : null,
      ], { class: r.error || r.refused || unrec ? 'wide' : 'wide blank' }));
  });
  table.replaceChildren(tableHead(cols), h('tbody', {}, rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colspan: String(cols.length) }, t('noRuns')))));
}

function renderQuarantine() {
  const d = state.detail || {};
  sectionError('quarantine-error', d.quarantineError);
  const table = $('quarantine');
  $('quarantine-note').textContent = d.quarantineMore ? t('quarantineMore', d.quarantine.length) : '';
  if (!d.quarantine) return table.replaceChildren(...(d.loading ? [h('caption', { class: 'muted' }, t('loading'))] : []));
  const cols = [['location', t('col_location')], ['fund', t('col_fund')], ['period', t('col_period')], ['reason', t('col_reason')]];
  const l = Object.fromEntries(cols.map(([k, v]) => [k, v]));
  const rows = d.quarantine.map((q) => h('tr', { 'data-quarantine-id': q.id },
    cell(l.location, h('code', {}, q.location)),
    cell(l.fund, q.fund_id || t('none')),
    cell(l.period, q.period || t('none')),
    cell(l.reason, q.reason, { 'data-testid': 'quarantine-reason', class: 'wide' })));
  table.replaceChildren(tableHead(cols), h('tbody', {}, rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colspan: '4' }, t('noQuarantine')))));
}

function renderFunds() {
  const section = $('funds-section');
  section.dataset.state = state.fundsError ? 'error' : state.funds ? 'ready' : 'loading';
  sectionError('funds-error', state.fundsError);
  const table = $('funds');
  const count = $('funds-count');
  if (!state.funds) {
    count.textContent = state.fundsLoading ? t('loading') : '';
    return table.replaceChildren();
  }
  const q = $('funds-search').value.trim().toLowerCase();
  const all = state.funds.rows;
  const matched = q ? all.filter((r) => r._search.includes(q)) : all;
  const shown = matched.slice(0, state.fundsShown);
  const cols = [
    ['id', t('col_fundId')], ['name', t('col_name')], ['kind', t('col_fundKind')], ['tambon', t('col_tambon')],
    ['members', t('col_members'), 'num'], ['last', t('col_lastReport')], ['risk', t('col_risk')],
  ];
  const l = Object.fromEntries(cols.map(([k, v]) => [k, v]));
  const rows = shown.map((r) => {
    const main = state.lang === 'th' ? r.name_th : r.name_en || r.name_th;
    const other = state.lang === 'th' ? r.name_en : r.name_en ? r.name_th : null;
    return h('tr', { 'data-fund-id': r.fund_id },
      cell(l.id, h('code', {}, r.fund_id), { class: 'fid' }),
      cell(l.name, [main, other ? h('div', { class: 'muted small' }, other) : null], { class: 'fname wide' }),
      cell(l.kind, named('fundKind', r.kind), { class: 'fkind' }),
      cell(l.tambon, r.tambon_code || t('none')),
      cell(l.members, fmtInt(r.members), { class: 'num' }),
      cell(l.last, r.last_period || t('none')),
      cell(l.risk, r.risk ? h('span', { class: `badge risk-${r.risk}`, title: r.reasons || '' }, named('risk', r.risk)) : t('none'), { class: 'frisk' }));
  });
  const empty = h('tr', { class: 'empty' }, h('td', { colspan: String(cols.length) }, all.length ? t('noMatch') : t('noFunds')));
  table.replaceChildren(tableHead(cols), h('tbody', {}, rows.length ? rows : empty));
  $('funds-more').hidden = shown.length >= matched.length;
  count.textContent = [t('fundsCount', shown.length, matched.length, all.length), state.funds.period ? t('fundsPeriod', state.funds.period) : null]
    .filter(Boolean).join(' · ');
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = t('pageTitle');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('lang').textContent = t('langButton');
  $('lang').title = t('langButtonTitle');
  $('funds-search').placeholder = t('fundsSearchPlaceholder');
  renderAll();
}

// ---------- events ----------
$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault(); // never a native submission: the CSP has form-action 'none'
  const token = $('token').value.trim();
  if (!token || /[^\x21-\x7e]/.test(token)) { // a header value takes printable ASCII only
    state.signinError = new Error(t(token ? 'tokenInvalid' : 'tokenEmpty'));
    renderSession();
    return;
  }
  $('token').value = '';
  signIn(token);
});
$('sign-out').addEventListener('click', () => signOut());
$('lang').addEventListener('click', () => {
  state.lang = state.lang === 'th' ? 'en' : 'th';
  try { localStorage.setItem(LANG_KEY, state.lang); } catch { /* ignore */ }
  applyLanguage();
});
$('filter-province').addEventListener('change', renderConnectors);
$('filter-status').addEventListener('change', renderConnectors);
$('refresh').addEventListener('click', () => loadConnectors(state.seq));
$('funds-search').addEventListener('input', () => {
  state.fundsShown = FUNDS_PAGE;
  renderFunds();
});
$('funds-more').addEventListener('click', () => {
  state.fundsShown += FUNDS_PAGE * 2;
  renderFunds();
});
$('detail-close').addEventListener('click', () => closeDetail());
$('run-now').addEventListener('click', () => startRun(false));
$('run-full').addEventListener('click', () => startRun(true));
$('runs-more').addEventListener('click', () => {
  if (state.detail) state.detail.runsAll = true;
  renderRuns();
});
window.addEventListener('hashchange', openFromHash);

// A click anywhere on a connector (its error line included) or Enter on its row opens it.
$('connectors').addEventListener('click', (e) => {
  const body = e.target.closest('tbody.connector');
  if (!body) return;
  e.preventDefault(); // the id's link would set the hash too
  showConnector(body.dataset.connector);
});
$('connectors').addEventListener('keydown', (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  const row = e.target.closest('tr.main');
  if (!row) return;
  e.preventDefault();
  showConnector(row.dataset.connectorId);
});

// ---------- start ----------
applyLanguage();
const saved = storage.get();
if (saved) signIn(saved);
else {
  setState('signed-out');
  renderSession();
}
