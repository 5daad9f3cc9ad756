#!/usr/bin/env node
// End-to-end check of the map page served by a running hub (or anything serving the same API).
//
//   node e2e/map.e2e.mjs <base-url> <screenshot.png>     (npm run e2e -- <base-url> <screenshot.png>)
//   CHROMIUM=/path/to/chromium overrides /usr/bin/chromium. A missing browser is a FAILURE, never a skip.
//
// Checks, printing each: the country map loads (77 provinces, coloured by at least 4 classes computed
// from its provinces, legend swatches = classes + 2, the fixed classes one choice away, the
// three attribution lines); at 375×667 the map and legend are visible and the legend leaves most of
// the map free; clicking Chiang Mai ("50") shows its districts only; clicking a district opens a popup
// whose coverage equals /api/v1/indicators?level=district&within=50&period=<shown> for that district.
// Then: searching "พะเยา" lands on Phayao's districts; the table's rows (all, and with the "no report"
// filter) match /api/v1/indicators for the same level, area and month (state, members); the page's own
// URL opened in a new page shows the same view; page.pdf() of the view is over 20 KB; the "Download
// this view" XLSX link gives a file starting with the ZIP signature PK.
// Writes a full-page screenshot to <screenshot.png> (and <name>-country.png, <name>-phone.png next to it).
// Exits 0 when every check passed, 1 on the first failure, 2 on bad usage.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const [baseArg, shotArg] = process.argv.slice(2);
if (!baseArg || !shotArg) {
  console.error('usage: node e2e/map.e2e.mjs <base-url> <screenshot.png>');
  process.exit(2);
}
const BASE = baseArg.endsWith('/') ? baseArg : `${baseArg}/`;
const SHOT = resolve(shotArg);
const shotVariant = (suffix) => SHOT.replace(/(\.png)?$/i, `-${suffix}.png`);
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 60000);
const PROVINCE = '50'; // Chiang Mai

let passed = 0;
const ok = (msg) => { passed++; console.log(`ok ${passed} - ${msg}`); };
class CheckFailed extends Error {}
const check = (cond, msg) => {
  if (!cond) throw new CheckFailed(msg);
};

if (!existsSync(EXE)) {
  console.error(`FAIL: the Chromium executable ${EXE} does not exist (install Debian's chromium, or set CHROMIUM=/path/to/chromium)`);
  process.exit(1);
}

let browser;
const consoleErrors = [];

async function waitReady(page, level, what) {
  try {
    await page.waitForFunction(
      (lv) => {
        const d = document.body?.dataset || {};
        return d.mapState === 'error' || (d.mapState === 'ready' && d.level === lv);
      },
      level,
      { timeout: TIMEOUT },
    );
  } catch (e) {
    const d = await page.evaluate(() => ({ ...document.body.dataset, error: document.getElementById('error')?.innerText }));
    throw new CheckFailed(`${what}: map did not become ready at level ${level} within ${TIMEOUT} ms (state ${JSON.stringify(d)})`);
  }
  const d = await page.evaluate(() => ({ ...document.body.dataset, error: document.getElementById('error')?.innerText }));
  check(d.mapState === 'ready', `${what}: the page shows an error: ${d.error}`);
  return { level: d.level, count: Number(d.featureCount), period: d.period };
}

// A screen point (page coordinates) well inside the rendered feature whose property `code` is `code`,
// found by querying rendered features on a grid over the feature's projected extent (a bbox centre may
// fall outside a concave area). The point must hit the map canvas, not a control or the legend.
async function pointInside(page, code) {
  return page.evaluate((code) => {
    const map = window.__map;
    const canvas = map.getCanvas();
    const rect = canvas.getBoundingClientRect();
    const feats = map.querySourceFeatures('areas', { filter: ['==', ['get', 'code'], code] });
    if (!feats.length) return { error: `no source feature with code ${code}` };
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
      } else c.forEach(walk);
    };
    feats.forEach((f) => walk(f.geometry.coordinates));
    const p1 = map.project([b[0], b[3]]);
    const p2 = map.project([b[2], b[1]]);
    const x0 = Math.max(2, Math.min(p1.x, p2.x));
    const x1 = Math.min(rect.width - 2, Math.max(p1.x, p2.x));
    const y0 = Math.max(2, Math.min(p1.y, p2.y));
    const y1 = Math.min(rect.height - 2, Math.max(p1.y, p2.y));
    const hits = (x, y) => {
      if (x < 0 || y < 0 || x > rect.width || y > rect.height) return false;
      const top = document.elementFromPoint(rect.left + x, rect.top + y);
      if (top !== canvas) return false;
      return map.queryRenderedFeatures([x, y], { layers: ['areas-fill'] }).some((f) => f.properties.code === code);
    };
    const step = Math.max(3, Math.min(x1 - x0, y1 - y0) / 24);
    const r = Math.max(3, step);
    const good = [];
    for (let y = y0 + step / 2; y < y1; y += step) {
      for (let x = x0 + step / 2; x < x1; x += step) {
        if (hits(x, y) && hits(x + r, y) && hits(x - r, y) && hits(x, y + r) && hits(x, y - r)) good.push([x, y]);
      }
    }
    if (!good.length) return { error: `no visible interior point for ${code} (extent ${[x0, y0, x1, y1].map(Math.round)})` };
    const cx = good.reduce((s, p) => s + p[0], 0) / good.length;
    const cy = good.reduce((s, p) => s + p[1], 0) / good.length;
    good.sort((a, b2) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b2[0] - cx, b2[1] - cy));
    const [x, y] = good[0];
    return { x: rect.left + x, y: rect.top + y, candidates: good.length };
  }, code);
}

async function main() {
  console.log(`map e2e: ${BASE} with ${EXE}`);
  browser = await chromium.launch({
    executablePath: EXE,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      // WebGL through SwiftShader: newer Chromium no longer falls back to it by itself.
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const origin = new URL(BASE).origin;

  // ---------- phone ----------
  {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const page = await ctx.newPage();
    const foreign = [];
    page.on('request', (r) => { if (!r.url().startsWith(origin) && !/^(data|blob):/.test(r.url())) foreign.push(r.url()); });
    await page.goto(BASE, { waitUntil: 'load', timeout: TIMEOUT });
    const st = await waitReady(page, 'province', 'phone 375×667');
    const g = await page.evaluate(() => {
      const box = (sel) => {
        const el = document.querySelector(sel);
        if (!el) return null;
        const r = el.getBoundingClientRect();
        const s = getComputedStyle(el);
        return { x: r.x, y: r.y, w: r.width, h: r.height, visible: s.display !== 'none' && s.visibility !== 'hidden' && r.width > 0 && r.height > 0 };
      };
      return { map: box('#map canvas'), legend: box('#legend'), attribution: box('#attribution'), vw: innerWidth, vh: innerHeight, scrollW: document.documentElement.scrollWidth };
    });
    check(g.map?.visible && g.map.w >= 370 && g.map.h >= 400, `phone: map canvas not visible or too small: ${JSON.stringify(g.map)}`);
    check(g.legend?.visible, 'phone: legend not visible');
    check(g.legend.y >= 0 && g.legend.y + g.legend.h <= g.vh + 1 && g.legend.x >= 0 && g.legend.x + g.legend.w <= g.vw + 1, `phone: legend outside the viewport: ${JSON.stringify(g.legend)}`);
    const share = (g.legend.w * g.legend.h) / (g.map.w * g.map.h);
    check(share < 0.4, `phone: legend covers ${(share * 100).toFixed(0)}% of the map`);
    check(g.attribution?.visible, 'phone: attributions not visible');
    check(g.scrollW <= g.vw + 1, `phone: page scrolls sideways (${g.scrollW}px wide)`);
    check(foreign.length === 0, `phone: requests left the origin: ${foreign.slice(0, 5).join(', ')}`);
    ok(`phone 375×667: ${st.count} provinces, map ${Math.round(g.map.w)}×${Math.round(g.map.h)}, legend covers ${(share * 100).toFixed(0)}% of it, no request left ${origin}`);
    await page.screenshot({ path: shotVariant('phone'), fullPage: true });
    await ctx.close();
  }

  // ---------- desktop ----------
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !/^(data|blob):/.test(r.url())) foreign.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(BASE, { waitUntil: 'load', timeout: TIMEOUT });

  const country = await waitReady(page, 'province', 'country');
  check(country.count === 77, `country: expected 77 province features, the page has ${country.count}`);
  check(/^\d{4}-\d{2}$/.test(country.period || ''), `country: no period shown (${country.period})`);
  ok(`country map ready: level province, 77 features, period ${country.period}`);

  // The country map's classes are computed from its provinces by default: its answer carries them.
  const legendOf = (query) => page.evaluate(async (q) => {
    const r = await fetch(`api/v1/maps/province.geojson?${q}`);
    const legend = (await r.json()).legend;
    const sw = [...document.querySelectorAll('#legend [data-testid="legend-swatch"]')];
    const visible = sw.filter((e) => e.getBoundingClientRect().width > 0).length;
    return {
      classes: legend.classes.length, scheme: legend.scheme, shown: document.body.dataset.classes,
      swatches: sw.length, visible, title: document.getElementById('legend-title').textContent,
      labels: [...document.querySelectorAll('#legend-items li')].map((li) => li.textContent).join(' | '),
      words: document.getElementById('legend-scheme').textContent,
    };
  }, query);
  const lg = await legendOf('indicator=coverage&zoom=5');
  check(lg.scheme === 'quantile' && lg.shown === 'quantile', `legend: the country map's classes are ${lg.shown} (the hub's ${lg.scheme}), expected quantile`);
  check(lg.classes >= 4, `legend: the country map shows ${lg.classes} classes, expected at least 4`);
  check(lg.swatches === lg.classes + 2, `legend: ${lg.swatches} swatches, expected ${lg.classes} classes + 2 states`);
  check(lg.visible === lg.swatches, `legend: only ${lg.visible} of ${lg.swatches} swatches visible`);
  check(lg.words.length > 0, 'legend: the scheme is not named');
  ok(`legend "${lg.title}" (${lg.words}): ${lg.swatches} swatches = ${lg.classes} classes + no fund + no report: ${lg.labels}`);
  // The fixed classes toward 100% are one choice away.
  // On a narrow window the controls sit behind the menu button.
  if (!(await page.locator('#classes').isVisible())) await page.click('#menu-toggle');
  await page.selectOption('#classes', 'fixed', { timeout: 10000 });
  await page.waitForFunction(() => document.body.dataset.classes === 'fixed' && document.body.dataset.mapState === 'ready', null, { timeout: TIMEOUT });
  const fixed = await legendOf('indicator=coverage&zoom=5&classes=fixed');
  check(fixed.swatches === fixed.classes + 2 && fixed.classes === 5, `fixed legend: ${fixed.swatches} swatches for ${fixed.classes} classes`);
  ok(`fixed classes one choice away: ${fixed.labels}`);
  await page.selectOption('#classes', '', { timeout: 10000 });
  await page.waitForFunction(() => document.body.dataset.classes === 'quantile' && document.body.dataset.mapState === 'ready', null, { timeout: TIMEOUT });

  const attr = await page.locator('#attribution').innerText();
  for (const line of ['Boundaries: OCHA/HDX COD-AB, Royal Thai Survey Department', 'Codes and names: GeoThai (DOPA), CC BY 4.0', 'Population: DOPA registration statistics']) {
    check(attr.includes(line), `attribution line missing: ${line}`);
  }
  ok('the three attribution lines are shown');

  // The choropleth is really coloured from the legend: some rendered province has a class colour.
  const painted = await page.evaluate(() => {
    const fill = window.__map.getPaintProperty('areas-fill', 'fill-color');
    return JSON.stringify(fill).includes('"match"') && JSON.stringify(fill).includes('no_fund');
  });
  check(painted, 'map: fill-color is not the legend expression');
  await page.screenshot({ path: shotVariant('country'), fullPage: true });

  // ---------- drill into Chiang Mai ----------
  const pt = await pointInside(page, PROVINCE);
  check(!pt.error, `province ${PROVINCE}: ${pt.error}`);
  await page.mouse.click(pt.x, pt.y);
  const popup1 = await page.waitForSelector('[data-testid="popup"]', { timeout: TIMEOUT }).catch(() => null);
  check(popup1, `province ${PROVINCE}: no popup after the click at ${Math.round(pt.x)},${Math.round(pt.y)}`);
  check((await popup1.getAttribute('data-code')) === PROVINCE, `province click opened the popup of ${await popup1.getAttribute('data-code')}`);
  const dist = await waitReady(page, 'district', `after clicking province ${PROVINCE}`);
  check(dist.count > 0, `province ${PROVINCE}: no district features`);
  const distFeatures = await page.evaluate(async () => {
    const fc = await window.__map.getSource('areas').getData();
    return fc.features.map((f) => f.properties);
  });
  check(distFeatures.length === dist.count, `data-feature-count ${dist.count} but the source has ${distFeatures.length}`);
  const strays = distFeatures.filter((p) => p.province_code !== PROVINCE || p.level !== 'district');
  check(strays.length === 0, `districts outside ${PROVINCE}: ${strays.slice(0, 5).map((p) => p.code).join(', ')}`);
  const crumb = await page.locator('#breadcrumb').innerText();
  ok(`clicked province ${PROVINCE} at (${Math.round(pt.x)}, ${Math.round(pt.y)}): popup shown, ${dist.count} districts, all with province_code ${PROVINCE}; breadcrumb "${crumb.replace(/\s+/g, ' ')}"`);

  // ---------- a district's popup against the indicators API ----------
  const target = distFeatures.find((p) => p.state === 'value' && typeof p.coverage === 'number') || distFeatures[0];
  const pt2 = await pointInside(page, target.code);
  check(!pt2.error, `district ${target.code}: ${pt2.error}`);
  await page.mouse.click(pt2.x, pt2.y);
  await page.waitForSelector(`[data-testid="popup"][data-code="${target.code}"]`, { timeout: TIMEOUT }).catch(() => {
    throw new CheckFailed(`district ${target.code}: its popup did not open after the click at ${Math.round(pt2.x)},${Math.round(pt2.y)}`);
  });
  const shown = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="popup-coverage"]');
    return { raw: el?.dataset.value, text: el?.textContent, code: el?.dataset.code, period: document.body.dataset.period };
  });
  check(shown.code === target.code, `popup coverage belongs to ${shown.code}, expected ${target.code}`);
  check(shown.raw !== undefined && shown.raw !== '', `district ${target.code}: popup coverage has no data-value (state ${target.state})`);
  const rows = await page.evaluate(async ({ period, province }) => {
    const r = await fetch(`api/v1/indicators?level=district&within=${province}&period=${period}`);
    const body = await r.json();
    return { status: r.status, rows: (body.rows || []).map((x) => ({ code: x.code, coverage: x.coverage })) };
  }, { period: shown.period, province: PROVINCE });
  check(rows.status === 200, `indicators API answered ${rows.status}`);
  const row = rows.rows.find((x) => x.code === target.code);
  check(row, `indicators API has no row for district ${target.code}`);
  check(typeof row.coverage === 'number', `indicators API coverage of ${target.code} is ${row.coverage}`);
  const diff = Math.abs(Number(shown.raw) - row.coverage);
  check(diff <= 1e-9, `district ${target.code} (${target.name_en}): popup coverage ${shown.raw} ≠ indicators API ${row.coverage}`);
  ok(`district ${target.code} ${target.name_en}: popup coverage "${shown.text}" (raw ${shown.raw}) = /api/v1/indicators coverage ${row.coverage} for ${shown.period}`);

  // The click on a district also drills into its tambons.
  const sub = await waitReady(page, 'subdistrict', `after clicking district ${target.code}`);
  check(sub.count > 0, `district ${target.code}: no subdistrict features`);
  ok(`district ${target.code}: ${sub.count} subdistricts shown`);

  check(foreign.length === 0, `requests left the origin: ${foreign.slice(0, 5).join(', ')}`);
  ok(`no request left ${origin}`);
  if (consoleErrors.length) console.log(`note: browser console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);

  mkdirSync(dirname(SHOT), { recursive: true });
  await page.screenshot({ path: SHOT, fullPage: true });

  // ---------- search, table, filters, shared URL, print, downloads ----------
  const page2 = await ctx.newPage();
  page2.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page2.goto(BASE, { waitUntil: 'load', timeout: TIMEOUT });
  await waitReady(page2, 'province', 'search page');
  await page2.fill('[data-testid="search"]', 'พะเยา');
  const sugg = await page2.waitForSelector('#search-list li[data-code="56"]', { timeout: TIMEOUT }).catch(() => null);
  check(sugg, 'search "พะเยา": Phayao (56) is not among the suggestions');
  await sugg.click();
  const phayao = await waitReady(page2, 'district', 'after choosing Phayao in the search');
  const phayaoFeatures = await page2.evaluate(async () => (await window.__map.getSource('areas').getData()).features.map((f) => f.properties.province_code));
  check(phayao.count > 0 && phayaoFeatures.every((c) => c === '56'), `search: the map does not show Phayao's districts (${phayaoFeatures.join(',')})`);
  ok(`search "พะเยา" → Phayao's ${phayao.count} districts, breadcrumb "${(await page2.locator('#breadcrumb').innerText()).replace(/\s+/g, ' ')}"`);

  // The table against /api/v1/indicators for the same level, area and month.
  const tableRows = async () => {
    await page2.waitForFunction(() => document.querySelector('[data-testid="area-table"]')?.dataset.state === 'ready', null, { timeout: TIMEOUT });
    return page2.evaluate(() => {
      const t = document.querySelector('[data-testid="area-table"]');
      return {
        level: t.dataset.level, within: t.dataset.within, period: t.dataset.period,
        rows: [...t.querySelectorAll('tbody tr[data-code]')].map((tr) => ({
          code: tr.dataset.code, state: tr.dataset.state, members: tr.querySelector('[data-col="members"]')?.textContent,
        })),
      };
    });
  };
  const apiRows = (tb) => page2.evaluate(async (x) => {
    const r = await fetch(`api/v1/indicators?level=${x.level}&within=${x.within}&period=${x.period}`);
    return (await r.json()).rows.map((row) => ({ code: row.code, state: row.state, members: row.members }));
  }, tb);
  const compare = (what, tb, api) => {
    const byCode = new Map(api.map((r) => [r.code, r]));
    for (const r of tb.rows) {
      const a = byCode.get(r.code);
      check(a, `${what}: table row ${r.code} is not in /api/v1/indicators`);
      check(a.state === r.state, `${what}: ${r.code} state ${r.state} ≠ API ${a.state}`);
      const digits = (r.members || '').replace(/[^0-9]/g, '');
      check(a.members == null ? digits === '' : Number(digits) === a.members, `${what}: ${r.code} members "${r.members}" ≠ API ${a.members}`);
    }
  };
  const all = await tableRows();
  check(all.level === 'district' && all.within === '56', `table shows ${all.level} within ${all.within}, expected district within 56`);
  const allApi = await apiRows(all);
  check(all.rows.length === allApi.length, `table has ${all.rows.length} rows, /api/v1/indicators ${allApi.length}`);
  compare('table', all, allApi);
  ok(`table: ${all.rows.length} rows = /api/v1/indicators?level=district&within=56&period=${all.period} (state and members of each)`);

  // The "no report" filter keeps exactly the no_report rows.
  await page2.click('[data-testid="filter-no-report"]');
  const filtered = await tableRows();
  const wantNoReport = allApi.filter((r) => r.state === 'no_report').length;
  check(filtered.rows.length === wantNoReport && filtered.rows.every((r) => r.state === 'no_report'),
    `filter "no report": ${filtered.rows.length} rows (${filtered.rows.map((r) => r.state).join(',')}), the API has ${wantNoReport} no_report districts`);
  compare('filter no report', filtered, allApi);
  ok(`filter "no report": ${filtered.rows.length} rows, each no_report in /api/v1/indicators with the same members`);
  await page2.click('[data-testid="filter-no-report"]');

  // The page's own URL, opened anew, lands on the same view.
  await page2.selectOption('#indicator', 'reporting_rate');
  await page2.waitForFunction(() => /indicator=reporting_rate/.test(location.search) && document.body.dataset.mapState === 'ready', null, { timeout: TIMEOUT });
  const shared = page2.url();
  const page3 = await ctx.newPage();
  await page3.goto(shared, { waitUntil: 'load', timeout: TIMEOUT });
  const again = await waitReady(page3, 'district', `the shared URL ${shared}`);
  const view3 = await page3.evaluate(async () => ({
    indicator: document.getElementById('indicator').value,
    provinces: [...new Set((await window.__map.getSource('areas').getData()).features.map((f) => f.properties.province_code))],
  }));
  check(view3.indicator === 'reporting_rate' && view3.provinces.join() === '56' && again.count === phayao.count,
    `shared URL ${shared}: ${JSON.stringify(view3)}, ${again.count} features`);
  ok(`the page's URL ${new URL(shared).search} opened in a new page: district level, area 56, indicator reporting_rate`);
  await page3.close();

  // Print: a PDF of the view with the map in it.
  const pdf = await page2.pdf({ format: 'A4', printBackground: true });
  check(pdf.length > 20 * 1024, `page.pdf(): only ${pdf.length} bytes`);
  ok(`page.pdf() of the view: ${(pdf.length / 1024).toFixed(0)} KB`);

  // Download this view: XLSX of /api/v1/indicators.
  const [download] = await Promise.all([
    page2.waitForEvent('download', { timeout: TIMEOUT }),
    page2.click('[data-testid="download-xlsx"]'),
  ]);
  const xlsxPath = await download.path();
  const head = readFileSync(xlsxPath).subarray(0, 2).toString('latin1');
  check(head === 'PK', `XLSX download ${download.suggestedFilename()} starts with ${JSON.stringify(head)}, not PK`);
  ok(`XLSX download ${download.suggestedFilename()} (${download.url().replace(/^.*\?/, '?')}) starts with PK`);
  await page2.close();
  ok(`screenshot written to ${SHOT} (also ${shotVariant('country')}, ${shotVariant('phone')})`);
}

try {
  await main();
  console.log(`${passed} passed, 0 failed`);
  await browser?.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  if (consoleErrors.length) console.error(`browser console errors: ${consoleErrors.slice(0, 5).join(' | ')}`);
  console.log(`${passed} passed, 1 failed`);
  await browser?.close().catch(() => {});
  process.exit(1);
}
