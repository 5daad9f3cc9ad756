#!/usr/bin/env node
// DEVELOPMENT FIXTURE ONLY — not the hub, not used by any test of the hub.
//
// A throwaway server for working on the map page before/without the hub: it serves web/dist/ at /
// and FAKE answers for the few API routes the page uses, built from the real Thailand boundaries
// and population of the geography bundle (read in place, never copied into the repository) with
// MADE-UP fund figures (deterministic pseudo-random per tambon and month).
//
//   node dev/fake-api.mjs --geo /path/to/shared/data/thailand [--port 8089]
//   (or THAI_GEO_DIR=/path/to/shared/data/thailand PORT=8089 node dev/fake-api.mjs)
//   FAKE_FAIL=district  makes /api/v1/maps/district.geojson answer a 500 JSON error (to see the error box).
//
// Routes: GET /api/v1/maps/{province|district|subdistrict}.geojson, GET /api/v1/legend,
//         GET /api/v1/indicators (json|csv), the operator's page's routes (see fake-operator.mjs:
//         tokens dev-editor, dev-admin, …), and static files from ../dist (/operator is
//         operator.html), with the hub's Content-Security-Policy.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeOperatorApi } from './fake-operator.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const GEO = arg('geo') || process.env.THAI_GEO_DIR;
const PORT = Number(arg('port') || process.env.PORT || 8089);
const HOST = arg('host') || '127.0.0.1';
const DIST = resolve(arg('dist') || join(here, '..', 'dist'));
const FAIL = (process.env.FAKE_FAIL || '').split(',').filter(Boolean);
if (!GEO || !existsSync(join(GEO, 'geojson', 'province.geojson'))) {
  console.error('fake-api: give the geography bundle folder (with geojson/ and *.csv) as --geo DIR or THAI_GEO_DIR');
  process.exit(2);
}

// ---------- the bundle ----------
function readCsv(file) {
  const [head, ...lines] = readFileSync(join(GEO, file), 'utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}
const readGeo = (f) => JSON.parse(readFileSync(join(GEO, 'geojson', f), 'utf8')).features;

function bboxOf(geom) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      if (c[0] < b[0]) b[0] = c[0];
      if (c[1] < b[1]) b[1] = c[1];
      if (c[0] > b[2]) b[2] = c[0];
      if (c[1] > b[3]) b[3] = c[1];
    } else c.forEach(walk);
  };
  walk(geom.coordinates);
  return b.map((x) => Math.round(x * 1e5) / 1e5);
}

const t0 = Date.now();
const tambons = readCsv('tambon.csv'); // one row per current code; geom_code = the polygon it lies in
const AREAS = {
  province: readGeo('province.geojson').map((f) => ({ level: 'province', code: f.properties.code, f })),
  district: readGeo('amphoe.geojson').map((f) => ({ level: 'district', code: f.properties.code, f })),
  subdistrict: readGeo('tambon.geojson').map((f) => ({ level: 'subdistrict', code: f.properties.code, f })),
};
for (const list of Object.values(AREAS)) for (const a of list) a.bbox = bboxOf(a.f.geometry);
// Which tambon rows fall in an area of each level.
const keyOf = {
  province: (r) => r.province_code,
  district: (r) => r.amphoe_code,
  subdistrict: (r) => r.geom_code,
};
const members = { province: new Map(), district: new Map(), subdistrict: new Map() };
for (const r of tambons) {
  for (const lv of Object.keys(members)) {
    const k = keyOf[lv](r);
    if (!members[lv].has(k)) members[lv].set(k, []);
    members[lv].get(k).push(r);
  }
}
console.log(`fake-api: read ${tambons.length} tambon rows and ${Object.values(AREAS).map((l) => l.length).join('/')} polygons in ${Date.now() - t0} ms`);

// ---------- made-up fund figures ----------
const FIRST = '2025-01';
const LATEST = '2026-10';
const monthIndex = (ym) => Number(ym.slice(0, 4)) * 12 + Number(ym.slice(5, 7)) - 1;

function rand(...parts) { // deterministic 0..1 from a string (FNV-1a + xorshift)
  let h = 2166136261;
  for (const ch of parts.join('|')) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  h ^= h >>> 13; h = Math.imul(h, 0x5bd1e995); h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

function tambonFigures(r, period) {
  const pop = Number(r.pop_total) || 0;
  const regional = Number(r.province_code) / 100; // broad regional gradient for a readable map
  const funds = rand(r.code, 'has') < 0.1 + 0.1 * (r.province_code === '10' ? 1 : 0) ? 0 : 1 + Math.floor(rand(r.code, 'n') * 3);
  const age = monthIndex(period) - monthIndex(FIRST);
  let reported = 0;
  let mem = 0;
  let high = 0;
  let shortfall = 0;
  for (let i = 0; i < funds; i++) {
    const reliability = 0.55 + 0.45 * rand(r.code, i, 'rel');
    if (rand(r.code, i, period) < reliability) {
      reported++;
      const rate = (0.04 + 0.5 * rand(r.code, i, 'rate') * (0.4 + regional)) * (1 + age * 0.01);
      const m = Math.round((pop / funds) * Math.min(rate, 0.98));
      mem += m;
      shortfall += Math.round(m * 365 * 0.25 * rand(r.code, i, period, 'sf') * 100) / 100;
    }
    if (rand(r.code, i, 'risk', period.slice(0, 4)) < 0.12) high++;
  }
  return { pop, funds, reported, mem, high, shortfall };
}

const round2 = (x) => Math.sign(x) * Math.round(Math.abs(x) * 100 + 1e-9) / 100;

function areaFigures(level, code, period) {
  const rows = members[level].get(code) || [];
  const s = { population: 0, members: 0, funds: 0, funds_reported: 0, high_risk_funds: 0, shortfall: 0 };
  for (const r of rows) {
    const f = tambonFigures(r, period);
    s.population += f.pop;
    s.members += f.mem;
    s.funds += f.funds;
    s.funds_reported += f.reported;
    s.high_risk_funds += f.high;
    s.shortfall += f.shortfall;
  }
  const out = { population: s.population, funds: s.funds, funds_reported: s.funds_reported, high_risk_funds: s.high_risk_funds };
  if (s.funds === 0) out.state = 'no_fund';
  else if (s.funds_reported === 0) out.state = 'no_report';
  else out.state = 'value';
  if (out.state === 'value') {
    out.members = s.members;
    if (s.population > 0) out.coverage = round2((s.members / s.population) * 100);
  }
  if (s.funds > 0) out.reporting_rate = round2((s.funds_reported / s.funds) * 100);
  out.shortfall = s.shortfall;
  out.shortfall_per_resident = s.population > 0 ? round2(s.shortfall / s.population) : null;
  return out;
}

// ---------- legends ----------
const LEGENDS = {
  coverage: {
    title_th: 'ความครอบคลุมสมาชิก', title_en: 'Membership coverage', unit: '%',
    breaks: [0, 5, 10, 20, 30, 100], colours: ['#edf8b1', '#c7e9b4', '#7fcdbb', '#2c7fb8', '#253494'],
  },
  shortfall_per_resident: {
    title_th: 'เงินสมทบที่ยังขาดต่อประชากร', title_en: 'Matching shortfall per resident', unit: 'บาท',
    breaks: [0, 2, 5, 10, 20, 1e9], colours: ['#fef0d9', '#fdcc8a', '#fc8d59', '#e34a33', '#b30000'],
  },
  high_risk_funds: {
    title_th: 'จำนวนกองทุนความเสี่ยงสูง', title_en: 'High-risk funds', unit: '',
    breaks: [0, 1, 5, 20, 100, 1e9], colours: ['#fee5d9', '#fcae91', '#fb6a4a', '#de2d26', '#a50f15'],
  },
  reporting_rate: {
    title_th: 'อัตราการส่งรายงาน', title_en: 'Reporting rate', unit: '%',
    breaks: [0, 50, 70, 85, 95, 100.0001], colours: ['#d7191c', '#fdae61', '#ffffbf', '#a6d96a', '#1a9641'],
  },
};
const fmtBreak = (x) => (x >= 1e9 ? '' : String(Math.min(x, 100) === x ? x : Math.round(x)));
function legend(indicator) {
  const L = LEGENDS[indicator];
  const classes = L.colours.map((colour, i) => {
    const min = L.breaks[i];
    const max = L.breaks[i + 1];
    const top = max >= 1e9 ? null : Math.round(max);
    const range = top == null ? `${fmtBreak(min)} ขึ้นไป` : `${fmtBreak(min)} – ${top}`;
    const rangeEn = top == null ? `${fmtBreak(min)} or more` : `${fmtBreak(min)} – ${top}`;
    return { class: i, min, max: top, colour, label_th: `${range} ${L.unit}`.trim(), label_en: `${rangeEn} ${L.unit === 'บาท' ? 'baht' : L.unit}`.trim() };
  });
  return {
    indicator, title_th: L.title_th, title_en: L.title_en, unit: L.unit, classes,
    states: {
      no_fund: { colour: '#b4b4b4', label_th: 'ไม่มีกองทุน', label_en: 'No fund' },
      no_report: { colour: '#f4e3f0', label_th: 'ไม่ส่งรายงาน', label_en: 'No report' },
    },
  };
}
function classOf(indicator, v) {
  const b = LEGENDS[indicator].breaks;
  for (let i = 0; i < b.length - 1; i++) if (v >= b[i] && v < b[i + 1]) return i;
  return b.length - 2;
}

// ---------- handlers ----------
class HttpError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}
function periodOf(q) {
  const p = q.get('period');
  if (!p) return LATEST;
  if (!/^\d{4}-\d{2}$/.test(p)) throw new HttpError(400, 'invalid_query', `period must be YYYY-MM, got ${JSON.stringify(p)}`);
  if (p < FIRST || p > LATEST) throw new HttpError(400, 'invalid_query', `no data for ${p}: months ${FIRST} to ${LATEST}`);
  return p;
}
function indicatorOf(q) {
  const i = q.get('indicator') || 'coverage';
  if (!LEGENDS[i]) throw new HttpError(400, 'invalid_query', `unknown indicator ${JSON.stringify(i)}`);
  return i;
}
function withinOk(area, within) {
  return !within || within === 'TH' || area.code.startsWith(within);
}

function mapGeojson(level, q) {
  if (FAIL.includes(level)) throw new HttpError(500, 'internal', `fake failure for ${level} (FAKE_FAIL)`);
  const indicator = indicatorOf(q);
  const period = periodOf(q);
  const within = q.get('within') || '';
  if (within && !/^(TH|\d{2}|\d{4})$/.test(within)) throw new HttpError(400, 'invalid_query', `bad within ${JSON.stringify(within)}`);
  const features = [];
  for (const a of AREAS[level]) {
    if (!withinOk(a, within)) continue;
    const fig = areaFigures(level, a.code, period);
    const p = a.f.properties;
    const props = { code: a.code, name_th: p.name_th, name_en: p.name_en, level };
    if (level !== 'province') props.province_code = a.code.slice(0, 2);
    if (level === 'subdistrict') props.district_code = a.code.slice(0, 4);
    props.state = fig.state;
    if (fig.state === 'value') {
      const v = indicator === 'high_risk_funds' ? fig.high_risk_funds : fig[indicator];
      if (v != null) {
        props.value = v;
        props.class = classOf(indicator, v);
      }
    }
    props.population = fig.population;
    if (fig.members != null) props.members = fig.members;
    if (fig.coverage != null) props.coverage = fig.coverage;
    props.funds = fig.funds;
    props.funds_reported = fig.funds_reported;
    if (fig.reporting_rate != null) props.reporting_rate = fig.reporting_rate;
    props.high_risk_funds = fig.high_risk_funds;
    features.push({ type: 'Feature', id: Number(a.code), bbox: a.bbox, properties: props, geometry: a.f.geometry });
  }
  if (within && features.length === 0) throw new HttpError(404, 'not_found', `no ${level} within ${within}`);
  const asked = q.get('classes') || '';
  const scheme = asked || (within ? 'fixed' : 'quantile');
  const lg = legend(indicator);
  if (scheme !== 'fixed') {
    // Five classes of the areas shown: equal counts (quantile) or equal widths (pretty).
    const vals = features.map((f) => f.properties.value).filter((v) => v != null).sort((a, b) => a - b);
    if (vals.length) {
      const lo = vals[0];
      const hi = vals[vals.length - 1];
      const br = [0, 1, 2, 3, 4, 5].map((i) => (scheme === 'pretty'
        ? lo + ((hi - lo) * i) / 5
        : vals[Math.min(vals.length - 1, Math.floor((vals.length * i) / 5))]));
      br[5] = hi + 1e-9;
      lg.classes = lg.classes.map((c, i) => ({ ...c, min: round2(br[i]), max: round2(br[i + 1]),
        label_th: `${round2(br[i])} – ${round2(br[i + 1])}`, label_en: `${round2(br[i])} – ${round2(br[i + 1])}` }));
      for (const f of features) {
        const v = f.properties.value;
        if (v == null) continue;
        let k = 4;
        for (let i = 0; i < 5; i++) if (v >= br[i] && v < br[i + 1]) { k = i; break; }
        f.properties.class = k;
      }
    }
  }
  lg.scheme = scheme;
  lg.scheme_th = { quantile: 'แบ่งตามจำนวนพื้นที่เท่ากัน', pretty: 'แบ่งช่วงกว้างเท่ากัน', fixed: 'ช่วงคงที่ สู่ 100%' }[scheme];
  lg.scheme_en = { quantile: 'Equal counts of areas', pretty: 'Equal widths', fixed: 'Fixed, toward 100%' }[scheme];
  return {
    type: 'FeatureCollection', indicator, level, period, within: within || null, classes: scheme, legend: lg,
    periods: { first: FIRST, latest: LATEST }, snapshot_version: 1, features,
  };
}

function indicatorsRows(q) {
  const level = q.get('level') || 'province';
  if (!AREAS[level]) throw new HttpError(400, 'invalid_query', `fake-api knows levels province, district, subdistrict, not ${level}`);
  const period = periodOf(q);
  const within = q.get('within') || '';
  const rows = AREAS[level].filter((a) => withinOk(a, within)).map((a) => {
    const f = areaFigures(level, a.code, period);
    const ym = monthIndex(period) - 12;
    const before = ym >= monthIndex(FIRST)
      ? areaFigures(level, a.code, `${Math.floor(ym / 12)}-${String((ym % 12) + 1).padStart(2, '0')}`).members ?? 0 : 0;
    const gap = f.members == null ? null : Math.max(0, f.population - f.members);
    const growth = f.members == null ? null : f.members - before;
    let full = 'unknown';
    let year = null;
    if (f.members != null) {
      if (gap === 0) full = 'reached';
      else if (growth <= 0) full = 'not_at_this_rate';
      else {
        const months = Math.ceil((gap * 12) / growth);
        year = Math.floor((monthIndex(period) + months) / 12);
        if (year > 2200) { full = 'not_at_this_rate'; year = null; } else full = 'by_year';
      }
    }
    return {
      code: a.code, level, name_th: a.f.properties.name_th, name_en: a.f.properties.name_en, state: f.state,
      population: f.population, members: f.members ?? null, coverage: f.coverage ?? null,
      gap, growth_12m: growth, full_coverage: full, full_coverage_year: year,
      funds: f.funds, funds_reported: f.funds_reported, reporting_rate: f.reporting_rate ?? null,
      shortfall: f.shortfall.toFixed(2), funds_high_risk: f.high_risk_funds,
    };
  });
  return { level, within: within || 'TH', period, rows };
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8', '.map': 'application/json',
};

// The hub's policy (hub/src/api/hygiene.rs), so a page that breaks it breaks here too.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
  + "worker-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function send(res, status, type, body) {
  res.writeHead(status, {
    'Content-Type': type, 'Cache-Control': 'no-store', 'X-Snapshot-Version': '1',
    'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff',
  });
  res.end(body);
}
const sendJson = (res, status, obj, type = 'application/json') => send(res, status, type, JSON.stringify(obj));

const operatorRoute = makeOperatorApi({ tambons, provinces: readCsv('province.csv'), HttpError });

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const q = url.searchParams;
  try {
    const answer = operatorRoute(req, url);
    if (answer) return sendJson(res, answer[0], answer[1]);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', req.method);
    let m;
    if ((m = /^\/api\/v1\/maps\/([a-z]+)\.geojson$/.exec(url.pathname))) {
      if (!AREAS[m[1]]) throw new HttpError(404, 'not_found', `no map level ${m[1]}`);
      return sendJson(res, 200, mapGeojson(m[1], q), 'application/geo+json');
    }
    if (url.pathname === '/api/v1/legend') return sendJson(res, 200, legend(indicatorOf(q)));
    if (url.pathname === '/api/v1/areas') {
      const level = { amphoe: 'district', tambon: 'subdistrict' }[q.get('level')] || q.get('level') || 'province';
      if (!AREAS[level]) throw new HttpError(400, 'invalid_query', `unknown level ${level}`);
      const within = q.get('within') || '';
      const areas = AREAS[level].filter((a) => withinOk(a, within)).map((a) => ({
        code: a.code, name_th: a.f.properties.name_th, name_en: a.f.properties.name_en, level,
        parent: level === 'province' ? null : a.code.slice(0, level === 'district' ? 2 : 4),
      }));
      return sendJson(res, 200, { level, within: within || null, count: areas.length, areas });
    }
    if (url.pathname === '/api/v1/indicators') {
      const out = indicatorsRows(q);
      if (q.get('format') === 'xlsx') {
        // A stub: a ZIP signature and a few bytes, NOT a real workbook (the hub writes real ones).
        res.setHeader('Content-Disposition', `attachment; filename="indicators-${out.level}-${out.within}-${out.period}.xlsx"`);
        return send(res, 200, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from(`fake xlsx ${q.get('lang') || ''}\n`)]));
      }
      if (q.get('format') === 'csv') {
        const cols = Object.keys(out.rows[0] || { code: 1 });
        const esc = (v) => (v == null ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
        const csv = '\uFEFF' + [cols.join(','), ...out.rows.map((r) => cols.map((c) => esc(r[c])).join(','))].join('\r\n') + '\r\n';
        return send(res, 200, 'text/csv; charset=utf-8', csv);
      }
      return sendJson(res, 200, { snapshot: 1, ...out, count: out.rows.length });
    }
    if (url.pathname.startsWith('/api/')) throw new HttpError(404, 'not_found', `fake-api has no ${url.pathname}`);
    // static files
    const rel = url.pathname === '/' ? '/index.html' : url.pathname === '/operator' ? '/operator.html' : decodeURIComponent(url.pathname);
    const file = normalize(join(DIST, rel));
    if (!file.startsWith(DIST + '/') || !existsSync(file) || !statSync(file).isFile()) throw new HttpError(404, 'not_found', rel);
    return send(res, 200, TYPES[extname(file)] || 'application/octet-stream', readFileSync(file));
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 500;
    if (status === 500 && !(e instanceof HttpError)) console.error(e);
    return sendJson(res, status, { error: e.code || 'internal', message: e.message });
  }
});
server.listen(PORT, HOST, () => console.log(`fake-api: http://${HOST}:${PORT}/ (serving ${DIST}) — FAKE DATA, development only`));
