// DEVELOPMENT FIXTURE ONLY — the fake answers behind the operator's page (/operator), for
// dev/fake-api.mjs. Made-up connectors, runs and quarantine; funds made up from the bundle's real
// tambon codes and names (read in place). Not the hub, not used by any test of the hub.
//
// Tokens (send `Authorization: Bearer <token>`):
//   dev-editor   province editor of 56 (Phayao): two connectors, one failed with an error and two
//                open quarantine rows, one succeeded
//   dev-editor2  province editor of 56 and 90 (a listing of funds per province)
//   dev-admin    admin: every connector (partial, never run and disabled, running ones too)
//   dev-viewer   viewer: reads every connector, runs none
//   dev-clerk    fund clerk: the funds listing refuses it (403)
// FAKE_CONNECTOR_PAGE=N caps a page of /connectors at N (to exercise next_cursor).
// Starting a run answers 202; the run finishes after FAKE_RUN_MS (default 5000) ms.

const TOKENS = {
  'dev-editor': { name: 'สำนักงาน พมจ. พะเยา (dev)', role: 'province-editor', provinces: ['56'], fund: null },
  'dev-editor2': { name: 'editor of Phayao and Songkhla (dev)', role: 'province-editor', provinces: ['56', '90'], fund: null },
  'dev-admin': { name: 'ผู้ดูแลระบบ (dev)', role: 'admin', provinces: [], fund: null },
  'dev-viewer': { name: 'viewer (dev)', role: 'viewer', provinces: [], fund: null },
  'dev-clerk': { name: 'fund clerk (dev)', role: 'fund-clerk', provinces: ['56'], fund: 'F-560101-01' },
};
const PAGE_CAP = Number(process.env.FAKE_CONNECTOR_PAGE || 1000);
const RUN_MS = Number(process.env.FAKE_RUN_MS || 5000);

const now = () => Date.now();
const iso = (ms) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'); // micros, like the hub
const HOUR = 3600e3;

const PHAYAO_ERROR = 'cannot read /srv/inbox/56/funds-2026-10.xlsx: sheet "Summary" has no column "members" (its headings: รหัสกองทุน, เดือน, จำนวนสมาชิก)';

// Each connector with the outcome of its runs (a manual run ends the same way).
const CONNECTORS = [
  {
    id: 'phayao-sheet', name: 'รายงานรายเดือน เครือข่ายจังหวัดพะเยา (ไฟล์)', kind: 'file', origin: 'configuration', provinces: ['56'],
    enabled: true, schedule: '0 30 6 * * *', cursor: 'funds-2026-09.xlsx',
    config: { kind: 'file', path: '/srv/inbox/56/*.xlsx', sheet: 'Summary' },
    outcome: { status: 'failed', error: PHAYAO_ERROR, counts: { accepted: 0, rejected: 2, unchanged: 118, revised: 3 } },
    history: ['succeeded', 'succeeded', 'failed'],
  },
  {
    id: 'phayao-api', name: 'ระบบบัญชีกองทุน พะเยา (API)', kind: 'http_json', origin: 'api', provinces: ['56'],
    enabled: true, schedule: '0 0 */6 * * *', cursor: '2026-10-31T23:00:00Z',
    config: { kind: 'http_json', url: 'https://funds.example.go.th/api/summary?key=***', headers: { Authorization: '${PHAYAO_API_TOKEN}' } },
    outcome: { status: 'succeeded', error: null, counts: { accepted: 42, rejected: 0, unchanged: 310, revised: 1 } },
    history: ['succeeded', 'succeeded', 'succeeded'],
  },
  {
    id: 'songkhla-1baht', name: 'Songkhla one-baht savings network', kind: 'sql', origin: 'configuration', provinces: ['90'],
    enabled: true, schedule: '0 0 2 * * *', cursor: '2026-10',
    config: { kind: 'sql', url: 'postgres://reader:***@db.songkhla.example/funds', query: 'SELECT * FROM monthly_summary WHERE period > $1' },
    outcome: { status: 'partial', error: '3 rows rejected: members_elderly greater than members', counts: { accepted: 96, rejected: 3, unchanged: 12, revised: 0 } },
    history: ['succeeded', 'partial'],
  },
  {
    id: 'chiangmai-db', name: null, kind: 'sql', origin: 'api', provinces: ['50'],
    enabled: false, schedule: null, cursor: null,
    config: { kind: 'sql', url: 'mysql://cm:***@10.0.0.5/welfare', query: 'SELECT …' },
    outcome: { status: 'succeeded', error: null, counts: { accepted: 1, rejected: 0, unchanged: 0, revised: 0 } },
    history: [],
  },
  {
    id: 'bangkok-json', name: 'Bangkok district offices', kind: 'http_json', origin: 'configuration', provinces: ['10'],
    enabled: true, schedule: '0 15 * * * *', cursor: 'page=41',
    config: { kind: 'http_json', url: 'https://bkk.example/api/funds' },
    outcome: { status: 'succeeded', error: null, counts: { accepted: 5, rejected: 0, unchanged: 800, revised: 0 } },
    history: ['succeeded'], runningAtStart: true,
  },
];

const QUARANTINE = [
  { connector_id: 'phayao-sheet', location: 'funds-2026-09.xlsx!Summary!C14', reason: 'members is not a whole number: "สามสิบ"', fund_id: 'F-560103-01', period: '2026-09', raw: { รหัสกองทุน: 'F-560103-01', เดือน: '2026-09', สมาชิก: 'สามสิบ' } },
  { connector_id: 'phayao-sheet', location: 'funds-2026-09.xlsx!Summary!A27', reason: 'fund F-560199-01 is not registered', fund_id: 'F-560199-01', period: '2026-09', raw: { รหัสกองทุน: 'F-560199-01', เดือน: '2026-09', สมาชิก: '212' } },
  { connector_id: 'songkhla-1baht', location: 'monthly_summary row 77', reason: 'members_elderly (140) greater than members (120)', fund_id: 'F-900105-02', period: '2026-10', raw: { fund: 'F-900105-02', members: 120, members_elderly: 140 } },
];

export function makeOperatorApi({ tambons, provinces, HttpError }) {
  // ---------- runs (mutable: a manual run is added and finished later) ----------
  let runSeq = 0;
  const runs = new Map(CONNECTORS.map((c) => [c.id, []]));
  const running = new Set();
  const newRun = (c, status, startedMs, trigger) => {
    const done = status !== 'running';
    const outcome = status === c.outcome.status ? c.outcome : { error: null, counts: { accepted: 20, rejected: 0, unchanged: 300, revised: 0 } };
    const r = {
      id: ++runSeq, connector_id: c.id, trigger, status, started_at: iso(startedMs), finished_at: done ? iso(startedMs + 8000) : null,
      counts: done ? { ...outcome.counts } : { accepted: 0, rejected: 0, unchanged: 0, revised: 0 },
      error: done && status !== 'succeeded' ? outcome.error : null, refused: false, unrecognised: [],
    };
    if (c.id === 'phayao-sheet' && status === 'failed') r.unrecognised = [{ location: 'Summary!D1', heading: 'จำนวนสมาชิก' }];
    runs.get(c.id).unshift(r);
    return r;
  };
  for (const c of CONNECTORS) {
    c.history.forEach((status, i) => newRun(c, status, now() - (c.history.length - i) * 6 * HOUR, i % 2 ? 'manual' : 'schedule'));
    if (c.runningAtStart) {
      newRun(c, 'running', now() - 60e3, 'schedule');
      running.add(c.id);
    }
  }
  let qSeq = 0;
  const quarantine = QUARANTINE.map((q) => {
    const first = runs.get(q.connector_id).find((r) => r.status !== 'running');
    return { id: ++qSeq, run_id: first?.id ?? null, created_at: first?.started_at ?? iso(now()), last_seen_run: first?.id ?? null, resolved_at: null, resolved_by_run: null, ...q };
  });

  // ---------- funds, from the bundle's tambons ----------
  const KINDS = ['community_welfare', 'one_baht_savings', 'elderly_fund', 'other_community_fund'];
  const hash = (s) => [...s].reduce((a, ch) => (Math.imul(a ^ ch.charCodeAt(0), 16777619) >>> 0), 2166136261);
  const funds = [];
  for (const r of tambons) {
    const n = hash(r.code) % 10 === 0 ? 2 : 1;
    for (let i = 1; i <= n; i++) {
      const kind = i === 1 ? 'community_welfare' : KINDS[hash(r.code + i) % KINDS.length];
      const members = 40 + (hash(r.code + 'm' + i) % 900);
      const since = hash(r.code + 's' + i) % 7;
      const risk = since >= 4 ? 'high' : since >= 2 ? 'watch' : 'low';
      funds.push({
        fund_id: `F-${r.code}-0${i}`,
        name_th: i === 1 ? `กองทุนสวัสดิการชุมชนตำบล${r.name_th}` : `กลุ่มออมทรัพย์ตำบล${r.name_th}`,
        name_en: i === 1 ? `${r.name_en} Community Welfare Fund` : null,
        kind, tambon_code: r.code, province_code: r.province_code, municipality: null, registered: '2012-04-01',
        last_period: since === 6 ? null : `2026-${String(10 - since).padStart(2, '0')}`,
        months_since_report: since === 6 ? null : since, reports_last_12: 12 - since, members, members_elderly: Math.round(members * 0.3),
        fund_balance: `${members * 1234}.50`, contributions_12m: `${members * 365}.00`, income_12m: `${members * 400}.00`,
        benefits_12m: `${members * 210}.00`, admin_costs_12m: `${members * 12}.00`, combined_ratio: 0.55, reserve_months: 14.2,
        admin_share: 0.03, self_reliance: 0.6, elderly_share: 0.3, net_growth: 0.02, drop_out: 0.01,
        risk, reasons: risk === 'low' ? '' : `reporting:${risk}`,
      });
    }
  }
  for (const p of provinces) {
    funds.push({
      fund_id: `F-${p.code}-P1`, name_th: `กองทุนสวัสดิการชุมชนระดับจังหวัด${p.name_th}`, name_en: `${p.name_en} provincial welfare fund`,
      kind: 'provincial_fund', tambon_code: null, province_code: p.code, municipality: null, registered: '2015-01-01', last_period: '2026-10',
      months_since_report: 0, reports_last_12: 12, members: 0, members_elderly: 0, fund_balance: '0.00', contributions_12m: '0.00',
      income_12m: '0.00', benefits_12m: '0.00', admin_costs_12m: '0.00', combined_ratio: null, reserve_months: null, admin_share: null,
      self_reliance: null, elderly_share: null, net_growth: null, drop_out: null, risk: 'low', reasons: '',
    });
  }

  // ---------- access ----------
  function caller(req) {
    const auth = req.headers.authorization || '';
    if (!auth) return { role: 'anonymous', provinces: [] };
    const m = /^Bearer (\S+)$/.exec(auth);
    const who = m && TOKENS[m[1]];
    if (!who) throw new HttpError(401, 'unauthorized', 'this token is not known to the hub (or was revoked): ask an administrator for a new one');
    return who;
  }
  const sees = (who, c) => who.role === 'admin' || who.role === 'viewer' || c.provinces.some((p) => who.provinces.includes(p));
  function need(who, roles) {
    if (who.role === 'anonymous') throw new HttpError(401, 'unauthorized', `this request needs a ${roles[0]} token: send Authorization: Bearer <token>`);
    if (!roles.includes(who.role)) throw new HttpError(403, 'forbidden', `a ${who.role} token may not do this: it needs ${roles[0]}`);
  }
  function connectorFor(who, id) {
    const c = CONNECTORS.find((x) => x.id === id);
    if (!c) throw new HttpError(404, 'not_found', `no connector ${id}`);
    if (!sees(who, c)) throw new HttpError(403, 'forbidden', `connector ${id} lies outside this token's provinces (${who.provinces.join(', ')})`);
    return c;
  }
  function only(q, allowed) {
    for (const k of q.keys()) {
      if (!allowed.includes(k)) throw new HttpError(400, 'unknown_parameter', `unknown parameter \`${k}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`);
    }
  }
  function limitOf(q, dflt) {
    if (!q.has('limit')) return dflt;
    const n = Number(q.get('limit'));
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new HttpError(400, 'invalid_parameter', 'limit must be 1 to 1000');
    return n;
  }

  function view(c) {
    const list = runs.get(c.id);
    const open = quarantine.filter((x) => x.connector_id === c.id && !x.resolved_at).length;
    return {
      id: c.id, name: c.name, kind: c.kind, origin: c.origin, provinces: c.provinces, enabled: c.enabled, schedule: c.schedule,
      next_run: c.enabled && c.schedule ? iso(now() + 2 * HOUR) : null, running: running.has(c.id), cursor: c.cursor,
      open_quarantine: open, last_run: list[0] || null, config: c.config,
    };
  }

  function startRun(c, full) {
    const r = newRun(c, 'running', now(), full ? 'manual (full)' : 'manual');
    running.add(c.id);
    setTimeout(() => {
      const o = c.outcome;
      Object.assign(r, { status: o.status, finished_at: iso(now()), counts: { ...o.counts }, error: o.error });
      running.delete(c.id);
    }, RUN_MS);
  }
  // The connector running at start finishes a little later, so "running" can be seen.
  setTimeout(() => {
    for (const c of CONNECTORS.filter((x) => x.runningAtStart)) {
      const r = runs.get(c.id)[0];
      Object.assign(r, { status: 'succeeded', finished_at: iso(now()), counts: { ...c.outcome.counts } });
      running.delete(c.id);
    }
  }, 120e3);

  // The answer to an operator route as [status, body], or null when the path is not one of them.
  return function route(req, url) {
    const q = url.searchParams;
    const path = url.pathname;
    let m;
    if (req.method === 'POST' && (m = /^\/api\/v1\/connectors\/([^/]+)\/run$/.exec(path))) {
      only(q, ['full']);
      const who = caller(req);
      need(who, ['province-editor', 'admin']);
      const c = connectorFor(who, decodeURIComponent(m[1]));
      if (!c.enabled) throw new HttpError(409, 'conflict', `connector ${c.id} is disabled: enable it first`);
      if (running.has(c.id)) throw new HttpError(409, 'already_running', `connector ${c.id} is running now; try again when it has finished`);
      startRun(c, q.get('full') === 'true');
      return [202, { status: 'started', connector: c.id, runs: `/api/v1/connectors/${c.id}/runs` }];
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return null;
    if (path === '/api/v1/me') {
      only(q, []);
      const who = caller(req);
      need(who, ['viewer', 'province-editor', 'fund-clerk', 'admin']);
      return [200, { name: who.name, role: who.role, provinces: who.provinces, fund: who.fund }];
    }
    if (path === '/api/v1/connectors') {
      only(q, ['limit', 'cursor']);
      const who = caller(req);
      const limit = Math.min(limitOf(q, 100), PAGE_CAP);
      const after = q.get('cursor') || '';
      const list = CONNECTORS.filter((c) => who.role === 'anonymous' || sees(who, c)).sort((a, b) => (a.id < b.id ? -1 : 1)).filter((c) => c.id > after);
      const page = list.slice(0, limit);
      const next = list.length > limit ? page[page.length - 1].id : null;
      const shown = page.map((c) => {
        const v = view(c);
        return who.role === 'anonymous'
          ? { id: v.id, kind: v.kind, enabled: v.enabled, schedule: v.schedule, last_run: v.last_run && { status: v.last_run.status, finished_at: v.last_run.finished_at } }
          : v;
      });
      return [200, { count: shown.length, connectors: shown, next_cursor: next }];
    }
    if ((m = /^\/api\/v1\/connectors\/([^/]+)\/runs$/.exec(path))) {
      only(q, ['limit', 'cursor']);
      const who = caller(req);
      need(who, ['viewer', 'province-editor', 'admin']);
      const c = connectorFor(who, decodeURIComponent(m[1]));
      const limit = limitOf(q, 50);
      const before = q.has('cursor') ? Number(q.get('cursor')) : Infinity;
      const list = runs.get(c.id).filter((r) => r.id < before);
      const page = list.slice(0, limit);
      return [200, { connector: c.id, count: page.length, runs: page, next_cursor: list.length > limit ? String(page[page.length - 1].id) : null }];
    }
    if (path === '/api/v1/quarantine') {
      only(q, ['connector', 'limit', 'cursor', 'all']);
      const who = caller(req);
      need(who, ['viewer', 'province-editor', 'admin']);
      const id = q.get('connector');
      if (id) connectorFor(who, id);
      const limit = limitOf(q, 100);
      const before = q.has('cursor') ? Number(q.get('cursor')) : Infinity;
      const list = quarantine
        .filter((x) => (id ? x.connector_id === id : sees(who, CONNECTORS.find((c) => c.id === x.connector_id))))
        .filter((x) => q.get('all') === 'true' || !x.resolved_at)
        .filter((x) => x.id < before)
        .sort((a, b) => b.id - a.id);
      const page = list.slice(0, limit);
      return [200, { count: page.length, rows: page, next_cursor: list.length > limit ? String(page[page.length - 1].id) : null }];
    }
    if (path === '/api/v1/funds') {
      // As the hub: no paging parameters (an unknown one is a 400); an editor reads its provinces.
      only(q, ['within', 'risk', 'period', 'network', 'format']);
      const who = caller(req);
      need(who, ['viewer', 'province-editor', 'admin']);
      let within = q.get('within') || null;
      if (who.role === 'province-editor') {
        if (within && !who.provinces.includes(within.slice(0, 2))) throw new HttpError(403, 'forbidden', `${within} lies outside this token's provinces (${who.provinces.join(', ')})`);
        if (!within && who.provinces.length === 1) [within] = who.provinces;
        if (!within) throw new HttpError(403, 'forbidden', `this token reads funds within its provinces (${who.provinces.join(', ')}): ask for within=<one of them>`);
      }
      const rows = funds.filter((f) => !within || within === 'TH' || (f.tambon_code || f.province_code).startsWith(within));
      return [200, { within, period: '2026-10', risk: q.get('risk'), snapshot: 1, count: rows.length, rows }];
    }
    if (path === '/api/v1/areas' && (q.get('level') || 'province') === 'province') {
      const areas = provinces.map((p) => ({ code: p.code, name_th: p.name_th, name_en: p.name_en, level: 'province', parent: null, region: '', population: Number(p.pop_total) || 0, population_year: 2025, funds: 0 }));
      return [200, { level: 'province', within: null, count: areas.length, population_year: 2025, total_population: 0, total_funds: 0, areas }];
    }
    return null;
  };
}
