//! The SQL behind every indicator, written once.
//!
//! Each builder returns plain SQL text over the snapshot's tables (`areas`, `population`, `funds`,
//! `summaries`, `policies`). Only validated values are put into the text: month indexes and years are
//! integers, area codes are digits, regions and policy names are `[a-z0-9-]`. The text sticks to SQL
//! both DataFusion and DuckDB run unchanged, so the benchmark compares the same statements.
//!
//! Conventions the indicators share (docs/indicators.md explains them for users):
//! - a fund counts from `registered_index` (its registration month, or its first report if earlier)
//!   until `closed_index` (its closing month, when closed): a fund closed by a range's end has no
//!   members there, and it is expected to report only the months it was open;
//! - the area figures (funds, members, coverage, completeness, matching) are of welfare funds
//!   (`counts_in_coverage`); other kinds (savings groups, village funds, elderly funds) are counted
//!   beside them in `other_funds` and `members_other_funds`;
//! - a provincial-level fund (no tambon) counts in its province, its region and the country, and in
//!   no district or tambon;
//! - stocks (members, balance) are the last value inside the asked range, flows are summed over it;
//! - a fund with no report in the range has no members there: its tambon shows `no_report`, not 0;
//! - growth compares each reporting fund with its last value 12 or more months before the range end;
//! - "a fund's last report at or before a month" is a filter on `next_index` (see
//!   [`crate::tables::summaries_schema`]), so no statement groups the whole history.

use std::fmt::Write as _;

use welfare_model::{AreaRef, Level, NetworkId, Period};

/// The months asked about, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Period,
    pub to: Period,
}

impl Range {
    pub fn month(p: Period) -> Self {
        Range { from: p, to: p }
    }

    pub fn months(&self) -> i32 {
        self.from.months_until(self.to) + 1
    }

    /// The 12 months ending with the range's last month.
    pub fn last_12(&self) -> Range {
        Range {
            from: self.to.add_months(-11),
            to: self.to,
        }
    }
}

/// Which level rows to produce: one level, or all five at once (GROUPING SETS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    Level(Level),
    All,
}

/// A filter on tambon rows (with columns `tambon`, `district_code`, `province_code`, `region`).
pub fn within_filter(within: Option<&AreaRef>, tambon_column: &str) -> String {
    match within {
        None | Some(AreaRef::Country) => "TRUE".into(),
        Some(AreaRef::Region(r)) => format!("region = '{}'", r.code()),
        Some(AreaRef::Code(code)) => {
            let column = match code.level() {
                Level::Province => "province_code",
                Level::District => "district_code",
                _ => tambon_column,
            };
            // An AreaCode is digits only: safe to quote.
            format!("{column} = '{}'", code.as_str())
        }
    }
}

/// A filter keeping the funds of `network` (all funds without one), on the fund key column `key`.
pub fn network_filter(network: Option<&NetworkId>, key: &str) -> String {
    match network {
        None => "TRUE".into(),
        // A NetworkId is [A-Za-z0-9._-]: safe to quote.
        Some(n) => format!(
            "{key} IN (SELECT fund_key FROM network_funds WHERE network_id = '{}')",
            n.as_str()
        ),
    }
}

/// Each fund's last report at or before month `at` (and not before `since`), as a subquery with
/// `fund_key`, `period_index` and `columns`. `next_index` makes this a filter, not a grouping over
/// the fund's whole history.
fn last_report_as_of(at: i32, since: Option<i32>, columns: &str, filter: &str) -> String {
    let since = since.map_or(String::new(), |s| format!("period_index >= {s} AND "));
    format!(
        "SELECT fund_key, period_index, {columns} FROM summaries
        WHERE {since}period_index <= {at} AND (next_index IS NULL OR next_index > {at}) AND {filter}"
    )
}

/// The CTEs every area indicator starts from: one row per fund expected by the range's end, with
/// what it reported in the range, and its matching under `policy`.
fn fund_rows(range: Range, policy: &str, network: Option<&NetworkId>) -> String {
    let from = range.from.index();
    let to = range.to.index();
    let months = range.months();
    let scan_from = from.min(to - 11);
    let cur = last_report_as_of(to, Some(from), "members_total", "TRUE");
    let prev = last_report_as_of(to - 12, None, "members_total", "TRUE");
    let open_at_end = format!("(f.closed_index IS NULL OR f.closed_index > {to})");
    let in_network = network_filter(network, "f.fund_key");
    format!(
        "fund_window AS (
    SELECT fund_key,
        SUM(CASE WHEN period_index >= {from} THEN 1 ELSE 0 END) AS reports,
        SUM(CASE WHEN period_index >= {from} AND on_time THEN 1 ELSE 0 END) AS reports_on_time,
        SUM(CASE WHEN period_index >= {from} THEN grant_state END) AS received_state,
        SUM(CASE WHEN period_index >= {from} THEN grant_local END) AS received_local,
        SUM(CASE WHEN period_index >= {to} - 11 THEN 1 ELSE 0 END) AS reports_last_12
    FROM summaries
    WHERE period_index BETWEEN {scan_from} AND {to}
    GROUP BY fund_key
),
fund_rows AS (
    SELECT f.fund_id, f.tambon_code, f.province_code,
        COALESCE(f.tambon_code, f.province_code) AS place,
        f.counts_in_coverage AS welfare,
        CASE WHEN w.reports > 0 THEN 1 ELSE 0 END AS reported,
        LEAST({to}, COALESCE(f.closed_index - 1, {to})) - GREATEST({from}, f.registered_index) + 1
            AS expected_reports,
        COALESCE(w.reports, 0) AS reports,
        COALESCE(w.reports_on_time, 0) AS reports_on_time,
        CASE WHEN {open_at_end} THEN cur.members_total END AS members,
        CASE WHEN {open_at_end} THEN cur.members_total - COALESCE(prev.members_total, 0) END
            AS growth_12m,
        CAST(COALESCE(w.received_state, 0) AS DECIMAL(18, 2)) AS received_state,
        CAST(COALESCE(w.received_local, 0) AS DECIMAL(18, 2)) AS received_local,
        CASE WHEN cur.members_total IS NOT NULL AND {open_at_end}
                AND f.registered_index <= {to} - pol.min_months_registered
                AND COALESCE(w.reports_last_12, 0) >= pol.min_reports_last_12
            THEN 1 ELSE 0 END AS eligible,
        pol.state_per_member_year, pol.local_per_member_year
    FROM funds f
    CROSS JOIN policies pol
    LEFT JOIN fund_window w ON w.fund_key = f.fund_key
    LEFT JOIN ({cur}) cur ON cur.fund_key = f.fund_key
    LEFT JOIN ({prev}) prev ON prev.fund_key = cur.fund_key
    WHERE f.registered_index <= {to} AND (f.closed_index IS NULL OR f.closed_index > {from})
        AND pol.name = '{policy}' AND {in_network}
),
fund_matching AS (
    SELECT fund_rows.*,
        CASE WHEN eligible = 1 THEN CAST(ROUND(CAST(members AS DECIMAL(18, 0)) * state_per_member_year * {months} / 12, 2) AS DECIMAL(18, 2))
            ELSE CAST(0 AS DECIMAL(18, 2)) END AS due_state,
        CASE WHEN eligible = 1 THEN CAST(ROUND(CAST(members AS DECIMAL(18, 0)) * local_per_member_year * {months} / 12, 2) AS DECIMAL(18, 2))
            ELSE CAST(0 AS DECIMAL(18, 2)) END AS due_local
    FROM fund_rows
)"
    )
}

/// One row per tambon (current codes) with its people, its funds and their sums.
fn tambon_rows(
    range: Range,
    population_year: i32,
    policy: &str,
    network: Option<&NetworkId>,
) -> String {
    let months = range.months();
    format!(
        "{funds},
places AS (
    SELECT t.code AS place, t.code AS tambon, t.district_code, t.province_code, t.region,
        1 AS is_tambon, COALESCE(p.population, 0) AS population
    FROM areas t
    LEFT JOIN population p ON p.code = t.code AND p.year = {population_year}
    WHERE t.level = 'subdistrict'
    UNION ALL
    -- Each province as the place of its provincial-level funds: in no district or tambon.
    SELECT a.code, NULL, NULL, a.province_code, a.region, 0, 0
    FROM areas a
    WHERE a.level = 'province'
),
other_funds AS (
    SELECT place, COUNT(*) AS other_funds, SUM(members) AS members_other_funds
    FROM fund_rows
    WHERE NOT welfare
    GROUP BY place
),
tambon_rows AS (
    SELECT t.tambon, t.district_code, t.province_code, t.region, t.is_tambon,
        MAX(t.population) AS population,
        COUNT(m.fund_id) AS funds,
        COALESCE(SUM(m.reported), 0) AS funds_reported,
        SUM(m.members) AS members,
        SUM(m.growth_12m) AS growth_12m,
        COALESCE(SUM(m.expected_reports), 0) AS expected_reports,
        COALESCE(SUM(m.reports), 0) AS reports,
        COALESCE(SUM(m.reports_on_time), 0) AS reports_on_time,
        COALESCE(SUM(m.eligible), 0) AS eligible_funds,
        SUM(CASE WHEN m.eligible = 1 THEN m.members END) AS eligible_members,
        COALESCE(SUM(m.due_state), 0) AS due_state,
        COALESCE(SUM(m.due_local), 0) AS due_local,
        COALESCE(SUM(m.received_state), 0) AS received_state,
        COALESCE(SUM(m.received_local), 0) AS received_local,
        COALESCE(SUM(CASE WHEN m.eligible = 1 AND m.due_state > m.received_state
            THEN m.due_state - m.received_state END), 0) AS shortfall_state,
        COALESCE(SUM(CASE WHEN m.eligible = 1 AND m.due_local > m.received_local
            THEN m.due_local - m.received_local END), 0) AS shortfall_local,
        COALESCE(MAX(o.other_funds), 0) AS other_funds,
        MAX(o.members_other_funds) AS members_other_funds
    FROM places t
    LEFT JOIN fund_matching m ON m.place = t.place AND m.welfare
    LEFT JOIN other_funds o ON o.place = t.place
    GROUP BY t.place, t.tambon, t.district_code, t.province_code, t.region, t.is_tambon
),
tambon_budget AS (
    SELECT tambon_rows.*,
        CAST(ROUND(CAST(population AS DECIMAL(18, 0)) * pol.state_per_member_year * {months} / 12, 2) AS DECIMAL(18, 2)) AS universal_state,
        CAST(ROUND(CAST(population AS DECIMAL(18, 0)) * pol.local_per_member_year * {months} / 12, 2) AS DECIMAL(18, 2)) AS universal_local
    FROM tambon_rows CROSS JOIN policies pol
    WHERE pol.name = '{policy}'
)",
        funds = fund_rows(range, policy, network),
    )
}

/// The level key columns of a rollup: (code expression, level expression, GROUP BY clause).
pub(crate) fn grouping(rollup: Rollup) -> (String, String, String) {
    let level_key = |level: Level| match level {
        Level::Country => "'TH'",
        Level::Region => "region",
        Level::Province => "province_code",
        Level::District => "district_code",
        Level::Subdistrict => "tambon",
    };
    match rollup {
        Rollup::Level(Level::Country) => ("'TH'".into(), "'country'".into(), String::new()),
        Rollup::Level(level) => (
            level_key(level).into(),
            format!("'{}'", level.as_str()),
            format!("GROUP BY {}", level_key(level)),
        ),
        Rollup::All => {
            let mut code = String::from("CASE");
            let mut level_expr = String::from("CASE");
            for level in [
                Level::Subdistrict,
                Level::District,
                Level::Province,
                Level::Region,
            ] {
                let key = level_key(level);
                let _ = write!(code, " WHEN GROUPING({key}) = 0 THEN {key}");
                let _ = write!(
                    level_expr,
                    " WHEN GROUPING({key}) = 0 THEN '{}'",
                    level.as_str()
                );
            }
            code.push_str(" ELSE 'TH' END");
            level_expr.push_str(" ELSE 'country' END");
            (
                code,
                level_expr,
                "GROUP BY GROUPING SETS ((), (region), (province_code), (district_code), (tambon))"
                    .into(),
            )
        }
    }
}

/// Coverage, completeness and matching per area, for one level or all five.
pub fn area_indicators(
    rollup: Rollup,
    within: Option<&AreaRef>,
    range: Range,
    population_year: i32,
    policy: &str,
    network: Option<&NetworkId>,
) -> String {
    let (code, level, group_by) = grouping(rollup);
    let filter = within_filter(within, "tambon");
    // A province's own place (its provincial-level funds) has no tambon or district: its group at
    // those levels is dropped.
    format!(
        "WITH {tambons}
SELECT * FROM (
SELECT {code} AS code, {level} AS level,
    SUM(population) AS population,
    SUM(is_tambon) AS tambons,
    SUM(CASE WHEN is_tambon = 1 AND funds > 0 THEN 1 ELSE 0 END) AS tambons_with_fund,
    SUM(funds) AS funds,
    SUM(other_funds) AS other_funds,
    SUM(members_other_funds) AS members_other_funds,
    SUM(funds_reported) AS funds_reported,
    SUM(members) AS members,
    SUM(growth_12m) AS growth_12m,
    SUM(expected_reports) AS expected_reports,
    SUM(reports) AS reports,
    SUM(reports_on_time) AS reports_on_time,
    SUM(eligible_funds) AS eligible_funds,
    SUM(eligible_members) AS eligible_members,
    SUM(due_state) AS due_state,
    SUM(due_local) AS due_local,
    SUM(received_state) AS received_state,
    SUM(received_local) AS received_local,
    SUM(shortfall_state) AS shortfall_state,
    SUM(shortfall_local) AS shortfall_local,
    SUM(universal_state) AS universal_state,
    SUM(universal_local) AS universal_local
FROM tambon_budget
WHERE {filter}
{group_by}
) rows
WHERE code IS NOT NULL
ORDER BY code",
        tambons = tambon_rows(range, population_year, policy, network),
    )
}

/// Per-fund figures for risk: flows over the 12 months ending `to`, stocks at the fund's last report
/// at or before `to`.
pub fn fund_risk(
    within: Option<&AreaRef>,
    network: Option<&NetworkId>,
    to: Period,
    fund_id: Option<&str>,
) -> String {
    let to = to.index();
    let filter = within_filter(within, "tambon");
    let in_network = network_filter(network, "f.fund_key");
    // A FundId is validated ([A-Za-z0-9._-]); quotes cannot appear in it. The filter goes into
    // every scan of summaries, so one fund's page does not aggregate every fund.
    let (fund_filter, outer_fund_filter) = match fund_id {
        Some(id) => (format!("fund_id = '{id}'"), format!("f.fund_id = '{id}'")),
        None => ("TRUE".into(), "TRUE".into()),
    };
    let last = last_report_as_of(
        to,
        None,
        "period, members_total, members_elderly, fund_balance",
        &fund_filter,
    );
    format!(
        "WITH fund_window AS (
    SELECT fund_key,
        COUNT(*) AS reports_last_12,
        SUM(contrib_members) AS contributions,
        SUM(income_total) AS income,
        SUM(benefits_total) AS benefits,
        SUM(admin_costs) AS admin_costs,
        SUM(members_joined) AS joined,
        SUM(members_left) AS left_members
    FROM summaries
    WHERE period_index BETWEEN {to} - 11 AND {to} AND {fund_filter}
    GROUP BY fund_key
),
located AS (
    SELECT f.*, t.district_code, t.region, f.tambon_code AS tambon
    FROM funds f JOIN areas t ON t.code = COALESCE(f.tambon_code, f.province_code)
)
SELECT f.fund_id, f.name_th, f.name_en, f.kind, f.tambon_code, f.province_code, f.municipality,
    f.registered,
    COALESCE(w.reports_last_12, 0) AS reports_last_12,
    w.contributions, w.income, w.benefits, w.admin_costs, w.joined, w.left_members,
    s.period_index AS last_index, s.period AS last_period,
    s.members_total, s.members_elderly, s.fund_balance
FROM located f
LEFT JOIN fund_window w ON w.fund_key = f.fund_key
LEFT JOIN ({last}) s ON s.fund_key = f.fund_key
WHERE f.registered_index <= {to} AND (f.closed_index IS NULL OR f.closed_index > {to})
    AND {filter} AND {outer_fund_filter} AND {in_network}
ORDER BY f.fund_id"
    )
}

/// Month by month sums for the welfare funds within an area.
pub fn timeseries(within: Option<&AreaRef>, network: Option<&NetworkId>, range: Range) -> String {
    let filter = within_filter(within, "tambon");
    let in_network = network_filter(network, "f.fund_key");
    format!(
        "SELECT s.period_index, s.period,
    COUNT(*) AS reports,
    SUM(CASE WHEN s.on_time THEN 1 ELSE 0 END) AS reports_on_time,
    SUM(s.members_total) AS members,
    SUM(s.members_joined) AS members_joined,
    SUM(s.members_left) AS members_left,
    SUM(s.contrib_members) AS contributions,
    SUM(s.grant_state) AS grant_state,
    SUM(s.grant_local) AS grant_local,
    SUM(s.income_total) AS income,
    SUM(s.benefits_total) AS benefits,
    SUM(s.admin_costs) AS admin_costs,
    SUM(s.fund_balance) AS fund_balance
FROM summaries s
JOIN ({FUND_PLACES}) f ON f.fund_id = s.fund_id
JOIN ({placed}) t ON t.place = f.place
WHERE s.period_index BETWEEN {from} AND {to} AND f.counts_in_coverage AND {filter}
    AND {in_network}
GROUP BY s.period_index, s.period
ORDER BY s.period_index",
        from = range.from.index(),
        to = range.to.index(),
        placed = PLACES,
    )
}

/// Where a fund is: its tambon with the tambon's ancestors, or (a provincial-level fund) its
/// province with no tambon or district.
pub(crate) const PLACES: &str = "SELECT code AS place, CASE WHEN level = 'subdistrict' THEN code END AS tambon, \
    district_code, province_code, region FROM areas WHERE level IN ('subdistrict', 'province')";

/// The funds with the code of their place (their tambon, or a provincial-level fund's province), and
/// no column named like the places' own (an area filter names those).
pub(crate) const FUND_PLACES: &str = "SELECT fund_id, fund_key, COALESCE(tambon_code, province_code) AS place, \
    counts_in_coverage, registered_index, closed_index FROM funds";

/// People per year within an area.
pub fn population_by_year(within: Option<&AreaRef>) -> String {
    let filter = within_filter(within, "tambon");
    format!(
        "SELECT p.year, SUM(p.population) AS population
FROM population p
JOIN (SELECT code AS tambon, district_code, province_code, region FROM areas
      WHERE level = 'subdistrict') t ON t.tambon = p.code
WHERE {filter}
GROUP BY p.year
ORDER BY p.year"
    )
}

/// Welfare funds expected per month within an area: each one's registered_index and closed_index.
pub fn fund_registrations(within: Option<&AreaRef>, network: Option<&NetworkId>) -> String {
    let filter = within_filter(within, "tambon");
    let in_network = network_filter(network, "f.fund_key");
    format!(
        "SELECT f.registered_index, f.closed_index
FROM ({FUND_PLACES}) f
JOIN ({PLACES}) t ON t.place = f.place
WHERE f.counts_in_coverage AND {filter} AND {in_network}"
    )
}
