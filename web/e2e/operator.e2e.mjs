#!/usr/bin/env node
// End-to-end check of the operator's page (/operator) served by a running hub (or anything serving
// the same API), signed in with a token, against what the caller expects that token to see.
//
//   node e2e/operator.e2e.mjs <base-url> <token> <expect.json> <screenshot.png>
//   (npm run e2e:operator -- <base-url> <token> <expect.json> <screenshot.png>)
//   CHROMIUM=/path/to/chromium overrides /usr/bin/chromium. A missing browser is a FAILURE, never a skip.
//
// expect.json:
//   {"provinces": ["56"],                          the token's provinces ([] for a national one)
//    "connectors": ["id-a", "id-b"],               exactly the connectors the table lists
//    "hidden_connectors": ["id-c"],                 connectors it must not list (optional)
//    "failed": {"id": "id-a", "error_contains": "some words"},
//    "quarantine": {"id": "id-a", "reasons_contain": ["word1", "word2"]}}
//
// At phone size (375×740, touch) it opens <base>/operator, signs in with the token and checks, printing
// each: the sign-in (token in sessionStorage only); the whoami line names the provinces; the table lists
// exactly the expected connectors; the failed one has data-status="failed" and its error text is
// visible without a click; the filters filter; the page does not scroll sideways; the quarantined
// connector's detail lists quarantine rows whose reasons hold each expected word; switching to
// English changes the column headings; the funds table loads and its search filters; no request
// left the origin, and the browser reported no Content-Security-Policy violation or script error.
// Screenshots: <screenshot.png> (signed in, the connectors), and <name>-detail.png, <name>-en.png,
// <name>-funds.png next to it. Exits 0 when every check passed, 1 on the first failure, 2 on bad usage.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const USAGE = 'usage: node e2e/operator.e2e.mjs <base-url> <token> <expect.json> <screenshot.png>';
const [baseArg, token, expectArg, shotArg] = process.argv.slice(2);
if (!baseArg || !token || !expectArg || !shotArg) {
  console.error(USAGE);
  process.exit(2);
}
const expect = readExpect(expectArg);
const BASE = baseArg.endsWith('/') ? baseArg : `${baseArg}/`;
const SHOT = resolve(shotArg);
const shotVariant = (suffix) => SHOT.replace(/(\.png)?$/i, `-${suffix}.png`);
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 60000);
const THAI = /[\u0E00-\u0E7F]/;

// Bad expectations are bad usage (exit 2), not a failure of the page.
function readExpect(path) {
  let e;
  try {
    e = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    console.error(`${USAGE}\ncannot read ${path} as JSON: ${err.message}`);
    process.exit(2);
  }
  const strings = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const problems = [];
  if (!strings(e?.provinces)) problems.push('"provinces" must be an array of strings');
  if (!strings(e?.connectors)) problems.push('"connectors" must be an array of strings');
  if (e?.hidden_connectors != null && !strings(e.hidden_connectors)) problems.push('"hidden_connectors" must be an array of strings');
  if (typeof e?.failed?.id !== 'string' || typeof e.failed.error_contains !== 'string') problems.push('"failed" must be {"id", "error_contains"}');
  if (typeof e?.quarantine?.id !== 'string' || !strings(e.quarantine.reasons_contain)) problems.push('"quarantine" must be {"id", "reasons_contain": [...]}');
  if (problems.length) {
    console.error(`${USAGE}\n${path}: ${problems.join('; ')}`);
    process.exit(2);
  }
  e.hidden_connectors ??= [];
  return e;
}

let passed = 0;
const ok = (msg) => { passed++; console.log(`ok ${passed} - ${msg}`); };
class CheckFailed extends Error {}
const check = (cond, msg) => {
  if (!cond) throw new CheckFailed(msg);
};
const sameSet = (a, b) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

if (!existsSync(EXE)) {
  console.error(`FAIL: the Chromium executable ${EXE} does not exist (install Debian's chromium, or set CHROMIUM=/path/to/chromium)`);
  process.exit(1);
}

let browser;
let page;
const problems = []; // CSP violations and script errors the browser reported

const pageState = () => page.evaluate(() => ({
  state: document.body.dataset.operatorState,
  error: document.getElementById('error')?.innerText || '',
  signinError: document.querySelector('[data-testid=signin-error]')?.innerText || '',
}));

async function waitFor(fn, arg, what) {
  try {
    await page.waitForFunction(fn, arg, { timeout: TIMEOUT });
  } catch {
    throw new CheckFailed(`${what} within ${TIMEOUT} ms (page ${JSON.stringify(await pageState())})`);
  }
}

const rowIds = () => page.$$eval('[data-testid=connectors] tr[data-connector-id]', (rows) => rows.map((r) => r.dataset.connectorId));
const headings = () => page.$$eval('[data-testid=connectors] thead th', (ths) => ths.map((th) => th.textContent.trim()));

async function main() {
  console.log(`operator e2e: ${BASE}operator with ${EXE}`);
  browser = await chromium.launch({
    executablePath: EXE,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const origin = new URL(BASE).origin;
  const ctx = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'th-TH' });
  page = await ctx.newPage();
  const foreign = [];
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !/^(data|blob):/.test(r.url())) foreign.push(r.url()); });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(m.text()); // 4xx answers are expected
  });
  page.on('pageerror', (e) => problems.push(String(e)));

  // ---------- sign in ----------
  const res = await page.goto(`${BASE}operator`, { waitUntil: 'load', timeout: TIMEOUT });
  check(res?.ok(), `GET ${BASE}operator answered ${res?.status()}`);
  const csp = res.headers()['content-security-policy'] || '';
  check(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp), `the page is not served with the hub's Content-Security-Policy (got ${JSON.stringify(csp)})`);
  await waitFor(() => document.body.dataset.operatorState === 'signed-out', null, 'the token form did not show');
  const input = page.getByTestId('token');
  check(await input.isVisible(), 'the token field is not visible');
  check((await input.getAttribute('type')) === 'password', `the token field is type=${await input.getAttribute('type')}, not password`);
  await input.fill(token);
  await page.getByTestId('sign-in').tap();
  await waitFor(() => ['ready', 'error', 'signed-out'].includes(document.body.dataset.operatorState)
    && document.body.dataset.operatorState !== 'loading', null, 'signing in did not finish');
  let st = await pageState();
  check(st.state === 'ready', `signing in ended "${st.state}": ${st.signinError || st.error}`);
  const kept = await page.evaluate((tok) => ({
    session: sessionStorage.getItem('welfare-hub-token'),
    local: Object.keys(localStorage).filter((k) => localStorage.getItem(k).includes(tok)),
  }), token);
  check(kept.session === token, 'the token is not kept in sessionStorage under welfare-hub-token');
  check(kept.local.length === 0, `the token leaked into localStorage (${kept.local.join(', ')})`);
  ok(`signed in at 375×740 (state ready; the token is in sessionStorage only; the page has the hub's CSP)`);

  const who = await page.getByTestId('whoami');
  check(await who.isVisible(), 'the whoami line is not visible');
  const whoText = (await who.innerText()).replace(/\s+/g, ' ');
  const whoProvinces = ((await who.getAttribute('data-provinces')) || '').split(',').filter(Boolean);
  check(sameSet(whoProvinces, expect.provinces), `whoami names provinces [${whoProvinces}], expected [${expect.provinces}]`);
  for (const p of expect.provinces) check(whoText.includes(p), `the whoami line "${whoText}" does not name province ${p}`);
  ok(`whoami: "${whoText}"`);

  // ---------- connectors ----------
  const ids = await rowIds();
  const leaked = ids.filter((id) => expect.hidden_connectors.includes(id));
  check(leaked.length === 0, `the table lists connectors outside the token's scope: ${leaked.join(', ')}`);
  check(sameSet(ids, expect.connectors), `the table lists [${ids.join(', ')}], expected [${expect.connectors.join(', ')}]`);
  ok(`the connectors table lists exactly ${ids.length}: ${ids.join(', ')}${expect.hidden_connectors.length ? ` (none of ${expect.hidden_connectors.join(', ')})` : ''}`);

  const failedRow = page.locator(`[data-testid=connectors] tr[data-connector-id="${expect.failed.id}"]`);
  check(await failedRow.count() === 1, `no row for the failed connector ${expect.failed.id}`);
  const status = await failedRow.getAttribute('data-status');
  check(status === 'failed', `connector ${expect.failed.id} has data-status="${status}", expected "failed"`);
  const errorCell = page.locator(`[data-testid=connectors] tbody[data-connector="${expect.failed.id}"] [data-testid=connector-error]`);
  check(await errorCell.count() === 1, `connector ${expect.failed.id}: no error line in the table`);
  await errorCell.scrollIntoViewIfNeeded();
  const errorText = (await errorCell.innerText()).replace(/\s+/g, ' ');
  const box = await errorCell.boundingBox();
  check(await errorCell.isVisible() && box && box.x >= 0 && box.x + box.width <= 376, `connector ${expect.failed.id}: its error is not visible on the phone (${JSON.stringify(box)})`);
  check(errorText.includes(expect.failed.error_contains), `connector ${expect.failed.id}: its error "${errorText}" does not contain "${expect.failed.error_contains}"`);
  ok(`${expect.failed.id} is data-status="failed" and shows, without a click: "${errorText.slice(0, 160)}"`);
  await page.screenshot({ path: SHOT });

  // Client-side filters: failed only, then each province (every row it keeps is an expected one).
  await page.getByTestId('filter-status').selectOption('failed');
  const failedOnly = await page.$$eval('[data-testid=connectors] tr[data-connector-id]', (rows) => rows.map((r) => [r.dataset.connectorId, r.dataset.status]));
  check(failedOnly.length >= 1 && failedOnly.every(([, s]) => s === 'failed') && failedOnly.some(([id]) => id === expect.failed.id),
    `status filter "failed" shows ${JSON.stringify(failedOnly)}`);
  await page.getByTestId('filter-status').selectOption('');
  const provinceOptions = await page.$$eval('[data-testid=filter-province] option', (os) => os.map((o) => o.value).filter(Boolean));
  check(provinceOptions.length >= 1, 'the province filter offers no province');
  for (const p of provinceOptions) {
    await page.getByTestId('filter-province').selectOption(p);
    const kept = await rowIds();
    check(kept.length >= 1 && kept.every((id) => expect.connectors.includes(id)), `province filter ${p} shows [${kept}]`);
  }
  await page.getByTestId('filter-province').selectOption('');
  check(sameSet(await rowIds(), expect.connectors), 'the filters set back to "all" do not list every connector again');
  ok(`filters: status "failed" keeps ${failedOnly.map(([id]) => id).join(', ')}; provinces offered: ${provinceOptions.join(', ')}`);

  const wide = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, vw: innerWidth }));
  check(wide.scroll <= wide.vw + 1, `the page scrolls sideways on a phone (${wide.scroll}px wide in ${wide.vw}px)`);
  ok(`nothing scrolls sideways at ${wide.vw}px`);

  // ---------- a connector's detail ----------
  const qid = expect.quarantine.id;
  await page.locator(`[data-testid=connectors] tr[data-connector-id="${qid}"]`).tap();
  await waitFor((id) => {
    const d = document.querySelector('[data-testid=connector-detail]');
    return d && !d.hidden && d.dataset.connector === id && d.dataset.state !== 'loading';
  }, qid, `the detail of ${qid} did not open`);
  const detail = await page.evaluate(() => {
    const d = document.querySelector('[data-testid=connector-detail]');
    return { state: d.dataset.state, text: d.innerText.slice(0, 400), hash: location.hash, top: d.getBoundingClientRect().top };
  });
  check(detail.state === 'ready', `the detail of ${qid} shows an error: ${detail.text}`);
  check(detail.hash === `#connector=${encodeURIComponent(qid)}`, `the URL hash is ${detail.hash}, expected #connector=${qid}`);
  const runs = await page.locator('[data-testid=runs] tbody tr[data-run-id]').count();
  const role = await page.getByTestId('whoami').getAttribute('data-role');
  if (['province-editor', 'admin'].includes(role)) {
    check(await page.getByTestId('run-now').isVisible() && await page.getByTestId('run-full').isVisible(), `a ${role} sees no run now / re-read buttons`);
  }
  const reasons = await page.$$eval('[data-testid=quarantine] [data-testid=quarantine-reason]', (cells) => cells.map((c) => c.textContent.trim()));
  check(reasons.length > 0, `the detail of ${qid} shows no quarantine rows`);
  for (const word of expect.quarantine.reasons_contain) {
    check(reasons.some((r) => r.includes(word)), `no quarantine reason of ${qid} contains "${word}" (reasons: ${reasons.map((r) => JSON.stringify(r)).join(', ')})`);
  }
  // On a phone the detail lies below the table: opening it must bring it into view.
  await waitFor(() => {
    const top = document.querySelector('[data-testid=connector-detail]').getBoundingClientRect().top;
    return top >= -1 && top < innerHeight / 3;
  }, null, `the detail of ${qid} was not scrolled into view`);
  await page.evaluate(() => new Promise((done) => { // the smooth scroll's end
    let last = -1;
    const tick = () => (scrollY === last ? done() : ((last = scrollY), setTimeout(tick, 150)));
    tick();
  }));
  ok(`detail of ${qid} (${detail.hash}) in view: ${runs} runs, ${reasons.length} quarantine rows with reasons holding ${expect.quarantine.reasons_contain.map((w) => `"${w}"`).join(', ')}`);
  await page.screenshot({ path: shotVariant('detail') });

  // ---------- English ----------
  const thai = await headings();
  check(thai.length >= 9, `the connectors table has ${thai.length} column headings`);
  await page.getByTestId('lang').tap();
  await waitFor(() => document.documentElement.lang === 'en', null, 'the language switch did not switch to English');
  const english = await headings();
  const unchanged = english.filter((hd, i) => hd === thai[i]);
  check(unchanged.length === 0, `headings unchanged by the switch: ${unchanged.join(', ')}`);
  check(english.every((hd) => !THAI.test(hd)), `English headings still hold Thai: ${english.join(' | ')}`);
  const labels = await page.$$eval('[data-testid=connectors] tr[data-connector-id] td[data-label]', (tds) => tds.map((td) => td.dataset.label));
  check(labels.every((l) => !THAI.test(l)), 'the phone layout\'s field labels are still Thai');
  ok(`English: headings "${english.join(' | ')}" (were "${thai.join(' | ')}")`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shotVariant('en') });

  // ---------- funds ----------
  await waitFor(() => {
    const s = document.querySelector('[data-testid=funds]')?.closest('section');
    return s && !s.hidden && s.dataset.state !== 'loading';
  }, null, 'the funds table did not load');
  const funds = await page.evaluate(() => {
    const s = document.querySelector('[data-testid=funds]').closest('section');
    return { state: s.dataset.state, error: s.querySelector('.error')?.innerText, rows: [...document.querySelectorAll('[data-testid=funds] tr[data-fund-id]')].map((r) => r.dataset.fundId), count: document.getElementById('funds-count')?.innerText };
  });
  check(funds.state === 'ready', `the funds table did not load: ${funds.error}`);
  let searched = '';
  if (funds.rows.length) {
    const id = funds.rows[funds.rows.length - 1];
    await page.getByTestId('funds-search').fill(id);
    const hits = await page.$$eval('[data-testid=funds] tr[data-fund-id]', (rs) => rs.map((r) => r.dataset.fundId));
    check(hits.includes(id), `searching the funds for ${id} shows [${hits.slice(0, 5)}]`);
    const rowText = await page.$$eval('[data-testid=funds] tr[data-fund-id]', (rs) => rs.map((r) => r.innerText.toLowerCase()));
    check(rowText.every((t) => t.includes(id.toLowerCase())), `searching the funds for ${id} keeps rows that do not name it`);
    searched = `; searching "${id}" keeps ${hits.length}`;
    const section = page.getByTestId('funds').locator('xpath=ancestor::section[1]');
    await section.scrollIntoViewIfNeeded();
    await page.screenshot({ path: shotVariant('funds') });
    await page.getByTestId('funds-search').fill('');
  }
  ok(`the funds table loaded: ${funds.rows.length} rows shown (${funds.count})${searched}`);

  // ---------- hygiene ----------
  check(foreign.length === 0, `requests left the origin: ${foreign.slice(0, 5).join(', ')}`);
  check(problems.length === 0, `the browser reported: ${problems.slice(0, 5).join(' | ')}`);
  ok(`no request left ${origin}; no CSP violation or script error`);
  ok(`screenshots written: ${SHOT}, ${shotVariant('detail')}, ${shotVariant('en')}${funds.rows.length ? `, ${shotVariant('funds')}` : ''}`);
}

try {
  mkdirSync(dirname(SHOT), { recursive: true });
  await main();
  console.log(`${passed} passed, 0 failed`);
  await browser?.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  if (problems.length) console.error(`browser console errors: ${problems.slice(0, 5).join(' | ')}`);
  // The page as it was when the check failed, to see why.
  await page?.screenshot({ path: shotVariant('failed') }).then(() => console.error(`screenshot of the failure: ${shotVariant('failed')}`)).catch(() => {});
  console.log(`${passed} passed, 1 failed`);
  await browser?.close().catch(() => {});
  process.exit(1);
}
