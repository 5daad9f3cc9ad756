//! The indicators of design section 5, answered from a [`Snapshot`].
//!
//! SQL (in [`crate::sql`]) does the heavy part: scanning summaries, last values, sums per tambon and
//! the rollup. Rust finishes each row: exact percentages, the year 100% is reached, the area's state
//! (`value` / `no_report` / `no_fund`), and risk flags against configured thresholds.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use welfare_model::{AreaCode, AreaRef, Level, Money, Period, Region};

use crate::error::QueryError;
use crate::output::{ColumnType, Columns, Output, Value};
use crate::snapshot::Snapshot;
use crate::sql::{self, Range, Rollup};

/// `part × 100 ÷ whole` rounded half away from zero to `dp` decimals; `None` when `whole` is 0.
pub fn percent(part: i64, whole: i64, dp: u32) -> Option<Decimal> {
    ratio(
        Decimal::from(part) * Decimal::ONE_HUNDRED,
        Decimal::from(whole),
        dp,
    )
}

/// `a ÷ b` rounded half away from zero; `None` when `b` is 0.
pub fn ratio(a: Decimal, b: Decimal, dp: u32) -> Option<Decimal> {
    if b.is_zero() {
        return None;
    }
    a.checked_div(b)
        .map(|q| q.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero))
}

/// Why an area has or lacks a value: three different things, never confused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaState {
    /// Funds reported: the figures are values (which may be 0).
    Value,
    /// Funds exist but none reported in the range.
    NoReport,
    /// No fund is registered in the area.
    NoFund,
}

impl AreaState {
    /// The state of an area with `funds` registered funds of which `funds_reported` reported.
    pub fn of(funds: i64, funds_reported: i64) -> Self {
        if funds == 0 {
            AreaState::NoFund
        } else if funds_reported == 0 {
            AreaState::NoReport
        } else {
            AreaState::Value
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AreaState::Value => "value",
            AreaState::NoReport => "no_report",
            AreaState::NoFund => "no_fund",
        }
    }
}

/// When the area reaches 100% coverage at its current 12-month growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullCoverage {
    Reached,
    ByYear(i32),
    NotAtThisRate,
    /// No members known in the range.
    Unknown,
}

impl FullCoverage {
    pub fn status(self) -> &'static str {
        match self {
            FullCoverage::Reached => "reached",
            FullCoverage::ByYear(_) => "by_year",
            FullCoverage::NotAtThisRate => "not_at_this_rate",
            FullCoverage::Unknown => "unknown",
        }
    }

    pub fn year(self) -> Option<i32> {
        match self {
            FullCoverage::ByYear(y) => Some(y),
            _ => None,
        }
    }

    /// From the gap and the growth of the last 12 months, counted from the range's last month.
    pub fn estimate(population: i64, members: Option<i64>, growth_12m: i64, to: Period) -> Self {
        let Some(members) = members else {
            return FullCoverage::Unknown;
        };
        let gap = population - members;
        if gap <= 0 {
            return FullCoverage::Reached;
        }
        if growth_12m <= 0 {
            return FullCoverage::NotAtThisRate;
        }
        // Months needed at the current pace, rounded up; past year 2200 is "not at this rate".
        let (need, pace) = (i128::from(gap) * 12, i128::from(growth_12m));
        let months = (need + pace - 1) / pace;
        match i32::try_from(months) {
            Ok(m) if to.year() + m / 12 <= welfare_model::period::LAST_YEAR => {
                FullCoverage::ByYear(to.add_months(m).year())
            }
            _ => FullCoverage::NotAtThisRate,
        }
    }
}

/// The matching figures of one area under one policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matching {
    pub eligible_funds: i64,
    pub eligible_members: Option<i64>,
    pub due_state: Money,
    pub due_local: Money,
    pub received_state: Money,
    pub received_local: Money,
    pub shortfall_state: Money,
    pub shortfall_local: Money,
    /// What the policy would cost if every resident were a member.
    pub universal_state: Money,
    pub universal_local: Money,
}

impl Matching {
    pub fn due(&self) -> Money {
        self.due_state + self.due_local
    }
    pub fn received(&self) -> Money {
        self.received_state + self.received_local
    }
    pub fn shortfall(&self) -> Money {
        self.shortfall_state + self.shortfall_local
    }
    pub fn universal(&self) -> Money {
        self.universal_state + self.universal_local
    }
}

/// Counts of funds in each risk flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagCounts {
    pub low: i64,
    pub watch: i64,
    pub high: i64,
}

/// Every indicator of one area for one range.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaIndicators {
    pub code: String,
    pub level: Level,
    pub name_th: String,
    pub name_en: String,
    pub population: i64,
    pub tambons: i64,
    pub tambons_with_fund: i64,
    pub funds: i64,
    pub funds_reported: i64,
    /// Savings groups, village funds and elderly funds, counted beside the welfare funds.
    pub other_funds: i64,
    pub members_other_funds: Option<i64>,
    pub state: AreaState,
    pub members: Option<i64>,
    pub coverage: Option<Decimal>,
    pub gap: Option<i64>,
    pub growth_12m: Option<i64>,
    pub full_coverage: FullCoverage,
    pub expected_reports: i64,
    pub reports: i64,
    pub reports_on_time: i64,
    pub reporting_rate: Option<Decimal>,
    pub on_time_rate: Option<Decimal>,
    pub matching: Matching,
    pub risk: FlagCounts,
    /// Governance assessments of the welfare funds open at the range's end.
    pub governance: crate::governance::GovernanceCounts,
}

/// What an indicators request asks.
#[derive(Debug, Clone)]
pub struct IndicatorQuery {
    pub rollup: Rollup,
    pub within: Option<AreaRef>,
    /// Only the funds of this network.
    pub network: Option<welfare_model::NetworkId>,
    pub range: Range,
    pub policy: String,
}

/// Names of areas, regions and the country.
pub fn area_name(snapshot: &Snapshot, code: &str) -> (String, String) {
    if code == AreaRef::COUNTRY_CODE {
        return ("ประเทศไทย".into(), "Thailand".into());
    }
    if let Ok(region) = code.parse::<Region>() {
        return (region.name_th().into(), region.name_en().into());
    }
    snapshot.area_names().get(code).cloned().unwrap_or_default()
}

fn level_of(text: &str) -> Result<Level, QueryError> {
    text.parse::<Level>()
        .map_err(|e| QueryError::Data(format!("level {text}: {e}")))
}

/// Coverage, completeness, matching under `policy`, risk-flag and governance counts per area.
pub async fn area_indicators(
    snapshot: &Snapshot,
    query: &IndicatorQuery,
    thresholds: &RiskThresholds,
) -> Result<Vec<AreaIndicators>, QueryError> {
    // Independent statements: run side by side, each on its own partitions.
    let (mut rows, risk, governance) = futures_util::future::try_join3(
        area_figures(snapshot, query),
        risk_counts(snapshot, query, thresholds),
        crate::governance::governance_counts(snapshot, query),
    )
    .await?;
    for r in &mut rows {
        r.risk = risk.get(&r.code).copied().unwrap_or_default();
        r.governance = governance.get(&r.code).copied().unwrap_or_default();
    }
    Ok(rows)
}

/// Coverage, completeness and matching under `policy` per area, without risk flags (their counts
/// stay 0): one SQL statement.
pub async fn area_figures(
    snapshot: &Snapshot,
    query: &IndicatorQuery,
) -> Result<Vec<AreaIndicators>, QueryError> {
    if snapshot.policy(&query.policy).is_none() {
        return Err(QueryError::Invalid(format!(
            "policy: no policy named {}; see /api/v1/policies",
            query.policy
        )));
    }
    let population_year = snapshot.population_year(query.range.to);
    let text = sql::area_indicators(
        query.rollup,
        query.within.as_ref(),
        query.range,
        population_year,
        &query.policy,
        query.network.as_ref(),
    );
    let c = Columns::new(&snapshot.sql(&text).await?)?;
    let codes = c.texts("code")?;
    let levels = c.texts("level")?;
    let int = |name: &str| c.ints(name);
    let (population, tambons, with_fund, funds, reported) = (
        int("population")?,
        int("tambons")?,
        int("tambons_with_fund")?,
        int("funds")?,
        int("funds_reported")?,
    );
    let (other_funds, members_other) = (int("other_funds")?, int("members_other_funds")?);
    let (members, growth, expected, reports, on_time, eligible, eligible_members) = (
        int("members")?,
        int("growth_12m")?,
        int("expected_reports")?,
        int("reports")?,
        int("reports_on_time")?,
        int("eligible_funds")?,
        int("eligible_members")?,
    );
    let money = |name: &str| c.money(name);
    let (due_s, due_l, rec_s, rec_l, short_s, short_l, uni_s, uni_l) = (
        money("due_state")?,
        money("due_local")?,
        money("received_state")?,
        money("received_local")?,
        money("shortfall_state")?,
        money("shortfall_local")?,
        money("universal_state")?,
        money("universal_local")?,
    );
    let mut out = Vec::with_capacity(c.len());
    for i in 0..c.len() {
        let code = codes[i].clone().unwrap_or_default();
        let level = level_of(levels[i].as_deref().unwrap_or_default())?;
        let (name_th, name_en) = area_name(snapshot, &code);
        let population = population[i].unwrap_or(0);
        let funds = funds[i].unwrap_or(0);
        let funds_reported = reported[i].unwrap_or(0);
        let state = AreaState::of(funds, funds_reported);
        let members = if state == AreaState::Value {
            members[i]
        } else {
            None
        };
        let growth = members.and(growth[i]);
        let expected_reports = expected[i].unwrap_or(0);
        let reports = reports[i].unwrap_or(0);
        let reports_on_time = on_time[i].unwrap_or(0);
        let m0 = |v: &Option<Money>| v.unwrap_or(Money::ZERO);
        out.push(AreaIndicators {
            level,
            name_th,
            name_en,
            population,
            tambons: tambons[i].unwrap_or(0),
            tambons_with_fund: with_fund[i].unwrap_or(0),
            funds,
            funds_reported,
            other_funds: other_funds[i].unwrap_or(0),
            members_other_funds: members_other[i],
            state,
            members,
            coverage: members.and_then(|m| percent(m, population, 2)),
            gap: members.map(|m| (population - m).max(0)),
            growth_12m: growth,
            full_coverage: FullCoverage::estimate(
                population,
                members,
                growth.unwrap_or(0),
                query.range.to,
            ),
            expected_reports,
            reports,
            reports_on_time,
            reporting_rate: percent(reports, expected_reports, 2),
            on_time_rate: percent(reports_on_time, expected_reports, 2),
            matching: Matching {
                eligible_funds: eligible[i].unwrap_or(0),
                eligible_members: eligible_members[i],
                due_state: m0(&due_s[i]),
                due_local: m0(&due_l[i]),
                received_state: m0(&rec_s[i]),
                received_local: m0(&rec_l[i]),
                shortfall_state: m0(&short_s[i]),
                shortfall_local: m0(&short_l[i]),
                universal_state: m0(&uni_s[i]),
                universal_local: m0(&uni_l[i]),
            },
            risk: FlagCounts::default(),
            governance: Default::default(),
            code,
        });
    }
    Ok(out)
}

/// Risk flags of every fund within the query's area, counted per area at the asked level(s).
async fn risk_counts(
    snapshot: &Snapshot,
    query: &IndicatorQuery,
    thresholds: &RiskThresholds,
) -> Result<HashMap<String, FlagCounts>, QueryError> {
    let funds = fund_risks(
        snapshot,
        query.within.as_ref(),
        query.network.as_ref(),
        query.range.to,
        thresholds,
    )
    .await?;
    let levels: Vec<Level> = match query.rollup {
        Rollup::Level(l) => vec![l],
        Rollup::All => Level::ALL.to_vec(),
    };
    let mut counts: HashMap<String, FlagCounts> = HashMap::new();
    for f in &funds {
        // A provincial-level fund is counted in its province and above.
        let Ok(tambon) = AreaCode::parse(f.tambon_code.as_deref().unwrap_or(&f.province_code))
        else {
            continue;
        };
        for level in &levels {
            let key = match level {
                Level::Country => AreaRef::COUNTRY_CODE.to_string(),
                Level::Region => tambon.region().code().to_string(),
                l => match tambon.at_level(*l) {
                    Some(c) => c.as_str().to_string(),
                    None => continue,
                },
            };
            let entry = counts.entry(key).or_default();
            match f.flag {
                RiskFlag::Low => entry.low += 1,
                RiskFlag::Watch => entry.watch += 1,
                RiskFlag::High => entry.high += 1,
            }
        }
    }
    Ok(counts)
}

/// The columns of the indicators table, in order.
pub fn indicators_output(rows: &[AreaIndicators], population_year: i32) -> Output {
    use ColumnType::{Int, Money as M, Ratio, Text};
    let columns = [
        ("code", Text),
        ("level", Text),
        ("name_th", Text),
        ("name_en", Text),
        ("state", Text),
        ("population", Int),
        ("population_year", Int),
        ("members", Int),
        ("coverage", Ratio),
        ("gap", Int),
        ("growth_12m", Int),
        ("full_coverage", Text),
        ("full_coverage_year", Int),
        ("tambons", Int),
        ("tambons_with_fund", Int),
        ("funds", Int),
        ("funds_reported", Int),
        ("other_funds", Int),
        ("members_other_funds", Int),
        ("expected_reports", Int),
        ("reports", Int),
        ("reports_on_time", Int),
        ("reporting_rate", Ratio),
        ("on_time_rate", Ratio),
        ("eligible_funds", Int),
        ("due", M),
        ("received_state", M),
        ("received_local", M),
        ("received", M),
        ("shortfall_state", M),
        ("shortfall_local", M),
        ("shortfall", M),
        ("universal_budget", M),
        ("funds_assessed", Int),
        ("assessed_share", Ratio),
        ("governance_excellent", Int),
        ("governance_good", Int),
        ("governance_fair", Int),
        ("governance_improve", Int),
        ("funds_low_risk", Int),
        ("funds_watch", Int),
        ("funds_high_risk", Int),
    ];
    let mut out = Output::with_columns(&columns);
    for r in rows {
        out.rows.push(vec![
            Value::Text(Some(r.code.clone())),
            Value::Text(Some(r.level.as_str().into())),
            Value::Text(Some(r.name_th.clone())),
            Value::Text(Some(r.name_en.clone())),
            Value::Text(Some(r.state.as_str().into())),
            Value::Int(Some(r.population)),
            Value::Int(Some(i64::from(population_year))),
            Value::Int(r.members),
            Value::Ratio(r.coverage),
            Value::Int(r.gap),
            Value::Int(r.growth_12m),
            Value::Text(Some(r.full_coverage.status().into())),
            Value::Int(r.full_coverage.year().map(i64::from)),
            Value::Int(Some(r.tambons)),
            Value::Int(Some(r.tambons_with_fund)),
            Value::Int(Some(r.funds)),
            Value::Int(Some(r.funds_reported)),
            Value::Int(Some(r.other_funds)),
            Value::Int(r.members_other_funds),
            Value::Int(Some(r.expected_reports)),
            Value::Int(Some(r.reports)),
            Value::Int(Some(r.reports_on_time)),
            Value::Ratio(r.reporting_rate),
            Value::Ratio(r.on_time_rate),
            Value::Int(Some(r.matching.eligible_funds)),
            Value::Money(Some(r.matching.due())),
            Value::Money(Some(r.matching.received_state)),
            Value::Money(Some(r.matching.received_local)),
            Value::Money(Some(r.matching.received())),
            Value::Money(Some(r.matching.shortfall_state)),
            Value::Money(Some(r.matching.shortfall_local)),
            Value::Money(Some(r.matching.shortfall())),
            Value::Money(Some(r.matching.universal())),
            Value::Int(Some(r.governance.funds_assessed)),
            Value::Ratio(r.governance.assessed_share()),
            Value::Int(Some(r.governance.excellent)),
            Value::Int(Some(r.governance.good)),
            Value::Int(Some(r.governance.fair)),
            Value::Int(Some(r.governance.improve)),
            Value::Int(Some(r.risk.low)),
            Value::Int(Some(r.risk.watch)),
            Value::Int(Some(r.risk.high)),
        ]);
    }
    out
}

/// The matching table: one row per area, the policies side by side (columns prefixed by policy name
/// when more than one is asked).
pub fn matching_output(per_policy: &[(String, Vec<AreaIndicators>)]) -> Output {
    use ColumnType::{Int, Money as M, Text};
    let mut columns: Vec<(String, ColumnType)> = [
        ("code", Text),
        ("level", Text),
        ("name_th", Text),
        ("name_en", Text),
        ("population", Int),
        ("funds", Int),
        ("members", Int),
    ]
    .iter()
    .map(|(n, t)| (n.to_string(), *t))
    .collect();
    let measures = [
        ("eligible_funds", Int),
        ("eligible_members", Int),
        ("due_state", M),
        ("due_local", M),
        ("due", M),
        ("received_state", M),
        ("received_local", M),
        ("received", M),
        ("shortfall_state", M),
        ("shortfall_local", M),
        ("shortfall", M),
        ("universal_budget_state", M),
        ("universal_budget_local", M),
        ("universal_budget", M),
    ];
    let prefixed = per_policy.len() > 1;
    for (policy, _) in per_policy {
        for (name, t) in measures {
            let name = if prefixed {
                format!("{policy}.{name}")
            } else {
                name.to_string()
            };
            columns.push((name, t));
        }
    }
    let mut out = Output::new(columns);
    let Some((_, first)) = per_policy.first() else {
        return out;
    };
    for (i, r) in first.iter().enumerate() {
        let mut row = vec![
            Value::Text(Some(r.code.clone())),
            Value::Text(Some(r.level.as_str().into())),
            Value::Text(Some(r.name_th.clone())),
            Value::Text(Some(r.name_en.clone())),
            Value::Int(Some(r.population)),
            Value::Int(Some(r.funds)),
            Value::Int(r.members),
        ];
        for (_, rows) in per_policy {
            let m = &rows[i].matching;
            row.extend([
                Value::Int(Some(m.eligible_funds)),
                Value::Int(m.eligible_members),
                Value::Money(Some(m.due_state)),
                Value::Money(Some(m.due_local)),
                Value::Money(Some(m.due())),
                Value::Money(Some(m.received_state)),
                Value::Money(Some(m.received_local)),
                Value::Money(Some(m.received())),
                Value::Money(Some(m.shortfall_state)),
                Value::Money(Some(m.shortfall_local)),
                Value::Money(Some(m.shortfall())),
                Value::Money(Some(m.universal_state)),
                Value::Money(Some(m.universal_local)),
                Value::Money(Some(m.universal())),
            ]);
        }
        out.rows.push(row);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Risk

/// The flag of a fund: the worst of its ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskFlag {
    Low,
    Watch,
    High,
}

impl RiskFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskFlag::Low => "low",
            RiskFlag::Watch => "watch",
            RiskFlag::High => "high",
        }
    }
}

impl std::str::FromStr for RiskFlag {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "low" => Ok(RiskFlag::Low),
            "watch" => Ok(RiskFlag::Watch),
            "high" => Ok(RiskFlag::High),
            other => Err(QueryError::Invalid(format!(
                "risk: {other:?} is not low, watch or high"
            ))),
        }
    }
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Above,
    Below,
}

/// The thresholds of one ratio: at or past `watch` the fund is watched, at or past `high` it is at
/// high risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub direction: Direction,
    pub watch: Option<Decimal>,
    pub high: Option<Decimal>,
}

impl Threshold {
    const fn above(watch: i64, high: i64) -> Self {
        Threshold {
            direction: Direction::Above,
            watch: Some(Decimal::from_parts(watch as u32, 0, 0, false, 0)),
            high: Some(Decimal::from_parts(high as u32, 0, 0, false, 0)),
        }
    }

    fn below(watch: Decimal, high: Decimal) -> Self {
        Threshold {
            direction: Direction::Below,
            watch: Some(watch),
            high: Some(high),
        }
    }

    pub fn flag(&self, value: Option<Decimal>) -> RiskFlag {
        let Some(v) = value else {
            return RiskFlag::Low;
        };
        let past = |t: Option<Decimal>| match (t, self.direction) {
            (Some(t), Direction::Above) => v > t,
            (Some(t), Direction::Below) => v < t,
            (None, _) => false,
        };
        if past(self.high) {
            RiskFlag::High
        } else if past(self.watch) {
            RiskFlag::Watch
        } else {
            RiskFlag::Low
        }
    }
}

/// Thresholds for every risk ratio (configuration `[risk]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskThresholds {
    /// (benefits + admin) ÷ member contributions, a ratio.
    pub combined_ratio: Threshold,
    /// Fund balance ÷ average monthly benefits, in months.
    pub reserve_months: Threshold,
    /// Admin costs ÷ income, %.
    pub admin_share: Threshold,
    /// Member contributions ÷ income, %.
    pub self_reliance: Threshold,
    /// Members aged 60+ ÷ members, %.
    pub elderly_share: Threshold,
    /// (joined − left) ÷ members a year earlier, %.
    pub net_growth: Threshold,
    /// Left ÷ members a year earlier, %.
    pub drop_out: Threshold,
    /// Months since the last report (0 = reported the last month asked).
    pub months_since_report: Threshold,
}

impl Default for RiskThresholds {
    fn default() -> Self {
        RiskThresholds {
            // Matching grants let a fund pay out more than its members save: flag from 1.5×.
            combined_ratio: Threshold {
                direction: Direction::Above,
                watch: Some(Decimal::new(15, 1)),
                high: Some(Decimal::from(2)),
            },
            reserve_months: Threshold::below(Decimal::from(12), Decimal::from(6)),
            admin_share: Threshold::above(20, 30),
            self_reliance: Threshold::below(Decimal::from(40), Decimal::from(20)),
            elderly_share: Threshold::above(40, 60),
            net_growth: Threshold::below(Decimal::ZERO, Decimal::from(-5)),
            drop_out: Threshold::above(10, 20),
            months_since_report: Threshold::above(1, 3),
        }
    }
}

/// The risk ratios of one fund over the 12 months ending the asked month.
#[derive(Debug, Clone, PartialEq)]
pub struct FundRisk {
    pub fund_id: String,
    pub name_th: String,
    pub name_en: Option<String>,
    pub kind: String,
    /// None for a provincial-level fund.
    pub tambon_code: Option<String>,
    pub province_code: String,
    pub municipality: Option<String>,
    pub registered: Option<String>,
    pub last_period: Option<String>,
    pub reports_last_12: i64,
    pub members: Option<i64>,
    pub members_elderly: Option<i64>,
    pub fund_balance: Option<Money>,
    pub contributions: Option<Money>,
    pub income: Option<Money>,
    pub benefits: Option<Money>,
    pub admin_costs: Option<Money>,
    pub combined_ratio: Option<Decimal>,
    pub reserve_months: Option<Decimal>,
    pub admin_share: Option<Decimal>,
    pub self_reliance: Option<Decimal>,
    pub elderly_share: Option<Decimal>,
    pub net_growth: Option<Decimal>,
    pub drop_out: Option<Decimal>,
    pub months_since_report: Option<i64>,
    pub flag: RiskFlag,
    /// The ratios past a threshold, e.g. `admin_share:high`.
    pub reasons: Vec<String>,
}

/// Every fund expected by `to` within an area, with its ratios and flag.
pub async fn fund_risks(
    snapshot: &Snapshot,
    within: Option<&AreaRef>,
    network: Option<&welfare_model::NetworkId>,
    to: Period,
    thresholds: &RiskThresholds,
) -> Result<Vec<FundRisk>, QueryError> {
    fund_risks_sql(
        snapshot,
        &sql::fund_risk(within, network, to, None),
        to,
        thresholds,
    )
    .await
}

/// One fund's risk (`None` when no such fund is expected by `to`).
pub async fn fund_risk(
    snapshot: &Snapshot,
    fund_id: &str,
    to: Period,
    thresholds: &RiskThresholds,
) -> Result<Option<FundRisk>, QueryError> {
    let id = welfare_model::FundId::parse(fund_id)
        .map_err(|e| QueryError::Invalid(format!("fund id: {e}")))?;
    let mut rows = fund_risks_sql(
        snapshot,
        &sql::fund_risk(None, None, to, Some(id.as_str())),
        to,
        thresholds,
    )
    .await?;
    Ok(rows.pop())
}

async fn fund_risks_sql(
    snapshot: &Snapshot,
    text: &str,
    to: Period,
    thresholds: &RiskThresholds,
) -> Result<Vec<FundRisk>, QueryError> {
    let c = Columns::new(&snapshot.sql(text).await?)?;
    let ids = c.texts("fund_id")?;
    let names_th = c.texts("name_th")?;
    let names_en = c.texts("name_en")?;
    let kinds = c.texts("kind")?;
    let tambons = c.texts("tambon_code")?;
    let provinces = c.texts("province_code")?;
    let municipalities = c.texts("municipality")?;
    let registered = c.texts("registered")?;
    let last_periods = c.texts("last_period")?;
    let last_index = c.ints("last_index")?;
    let reports = c.ints("reports_last_12")?;
    let members = c.ints("members_total")?;
    let elderly = c.ints("members_elderly")?;
    let joined = c.ints("joined")?;
    let left = c.ints("left_members")?;
    let balance = c.money("fund_balance")?;
    let contributions = c.money("contributions")?;
    let income = c.money("income")?;
    let benefits = c.money("benefits")?;
    let admin = c.money("admin_costs")?;
    let mut out = Vec::with_capacity(c.len());
    for i in 0..c.len() {
        let d = |m: Option<Money>| m.map(Money::decimal);
        let contrib = d(contributions[i]);
        let inc = d(income[i]);
        let ben = d(benefits[i]);
        let adm = d(admin[i]);
        let combined = match (ben, adm, contrib) {
            (None, None, _) | (_, _, None) => None,
            (b, a, Some(c)) => ratio(b.unwrap_or_default() + a.unwrap_or_default(), c, 2),
        };
        let reserve = match (d(balance[i]), ben) {
            (Some(bal), Some(b)) => ratio(bal * Decimal::from(12), b, 1),
            _ => None,
        };
        let hundred = |part: Option<Decimal>, whole: Option<Decimal>| match (part, whole) {
            (Some(p), Some(w)) => ratio(p * Decimal::ONE_HUNDRED, w, 2),
            _ => None,
        };
        let start = match (members[i], joined[i], left[i]) {
            (Some(m), j, l) if j.is_some() || l.is_some() => {
                Some(m - j.unwrap_or(0) + l.unwrap_or(0))
            }
            _ => None,
        };
        let net = start.and_then(|s| percent(joined[i].unwrap_or(0) - left[i].unwrap_or(0), s, 2));
        let drop = start.and_then(|s| percent(left[i].unwrap_or(0), s, 2));
        let months_since = last_index[i].map(|l| i64::from(to.index()) - l);
        let ratios = [
            ("combined_ratio", combined, &thresholds.combined_ratio),
            ("reserve_months", reserve, &thresholds.reserve_months),
            ("admin_share", hundred(adm, inc), &thresholds.admin_share),
            (
                "self_reliance",
                hundred(contrib, inc),
                &thresholds.self_reliance,
            ),
            (
                "elderly_share",
                elderly[i]
                    .zip(members[i])
                    .and_then(|(e, m)| percent(e, m, 2)),
                &thresholds.elderly_share,
            ),
            ("net_growth", net, &thresholds.net_growth),
            ("drop_out", drop, &thresholds.drop_out),
            (
                "months_since_report",
                months_since.map(Decimal::from),
                &thresholds.months_since_report,
            ),
        ];
        let mut flag = RiskFlag::Low;
        let mut reasons = Vec::new();
        for (name, value, threshold) in &ratios {
            let f = threshold.flag(*value);
            if f > RiskFlag::Low {
                reasons.push(format!("{name}:{}", f.as_str()));
            }
            flag = flag.max(f);
        }
        if months_since.is_none() {
            // Expected, yet never reported: nobody knows how the fund stands.
            flag = RiskFlag::High;
            reasons.push("never_reported:high".into());
        }
        out.push(FundRisk {
            fund_id: ids[i].clone().unwrap_or_default(),
            name_th: names_th[i].clone().unwrap_or_default(),
            name_en: names_en[i].clone(),
            kind: kinds[i].clone().unwrap_or_default(),
            tambon_code: tambons[i].clone(),
            province_code: provinces[i].clone().unwrap_or_default(),
            municipality: municipalities[i].clone(),
            registered: registered[i].clone(),
            last_period: last_periods[i].clone(),
            reports_last_12: reports[i].unwrap_or(0),
            members: members[i],
            members_elderly: elderly[i],
            fund_balance: balance[i],
            contributions: contributions[i],
            income: income[i],
            benefits: benefits[i],
            admin_costs: admin[i],
            combined_ratio: combined,
            reserve_months: reserve,
            admin_share: ratios[2].1,
            self_reliance: ratios[3].1,
            elderly_share: ratios[4].1,
            net_growth: net,
            drop_out: drop,
            months_since_report: months_since,
            flag,
            reasons,
        });
    }
    Ok(out)
}

/// The columns of the funds table.
pub fn funds_output(rows: &[FundRisk]) -> Output {
    use ColumnType::{Int, Money as M, Ratio, Text};
    let columns = [
        ("fund_id", Text),
        ("name_th", Text),
        ("name_en", Text),
        ("kind", Text),
        ("tambon_code", Text),
        ("province_code", Text),
        ("municipality", Text),
        ("registered", Text),
        ("last_period", Text),
        ("months_since_report", Int),
        ("reports_last_12", Int),
        ("members", Int),
        ("members_elderly", Int),
        ("fund_balance", M),
        ("contributions_12m", M),
        ("income_12m", M),
        ("benefits_12m", M),
        ("admin_costs_12m", M),
        ("combined_ratio", Ratio),
        ("reserve_months", Ratio),
        ("admin_share", Ratio),
        ("self_reliance", Ratio),
        ("elderly_share", Ratio),
        ("net_growth", Ratio),
        ("drop_out", Ratio),
        ("risk", Text),
        ("reasons", Text),
    ];
    let mut out = Output::with_columns(&columns);
    for f in rows {
        out.rows.push(vec![
            Value::Text(Some(f.fund_id.clone())),
            Value::Text(Some(f.name_th.clone())),
            Value::Text(f.name_en.clone()),
            Value::Text(Some(f.kind.clone())),
            Value::Text(f.tambon_code.clone()),
            Value::Text(Some(f.province_code.clone())),
            Value::Text(f.municipality.clone()),
            Value::Text(f.registered.clone()),
            Value::Text(f.last_period.clone()),
            Value::Int(f.months_since_report),
            Value::Int(Some(f.reports_last_12)),
            Value::Int(f.members),
            Value::Int(f.members_elderly),
            Value::Money(f.fund_balance),
            Value::Money(f.contributions),
            Value::Money(f.income),
            Value::Money(f.benefits),
            Value::Money(f.admin_costs),
            Value::Ratio(f.combined_ratio),
            Value::Ratio(f.reserve_months),
            Value::Ratio(f.admin_share),
            Value::Ratio(f.self_reliance),
            Value::Ratio(f.elderly_share),
            Value::Ratio(f.net_growth),
            Value::Ratio(f.drop_out),
            Value::Text(Some(f.flag.as_str().into())),
            Value::Text(Some(f.reasons.join(" "))),
        ]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Time series

/// The indicators a time series can show, in column order.
pub const TIMESERIES_INDICATORS: &[&str] = &[
    "coverage",
    "members",
    "population",
    "funds_expected",
    "funds_reported",
    "reporting_rate",
    "on_time_rate",
    "members_joined",
    "members_left",
    "contributions",
    "grant_state",
    "grant_local",
    "income",
    "benefits",
    "admin_costs",
    "fund_balance",
];

/// Month by month figures of an area: one row per month of the range (months without any report
/// are present, with `funds_reported` 0 and sums empty).
pub async fn timeseries(
    snapshot: &Snapshot,
    area: &AreaRef,
    network: Option<&welfare_model::NetworkId>,
    range: Range,
    indicators: &[String],
) -> Result<Output, QueryError> {
    for name in indicators {
        if !TIMESERIES_INDICATORS.contains(&name.as_str()) {
            return Err(QueryError::Invalid(format!(
                "indicator: {name:?} is not one of {}",
                TIMESERIES_INDICATORS.join(", ")
            )));
        }
    }
    let within = Some(area);
    let sums = Columns::new(
        &snapshot
            .sql(&sql::timeseries(within, network, range))
            .await?,
    )?;
    let people = Columns::new(&snapshot.sql(&sql::population_by_year(within)).await?)?;
    let registrations = Columns::new(
        &snapshot
            .sql(&sql::fund_registrations(within, network))
            .await?,
    )?;
    let population: HashMap<i64, i64> = people
        .ints("year")?
        .into_iter()
        .zip(people.ints("population")?)
        .filter_map(|(y, p)| Some((y?, p?)))
        .collect();
    // When each welfare fund counts: from its registration until its closing month.
    let registered: Vec<(i64, Option<i64>)> = registrations
        .ints("registered_index")?
        .into_iter()
        .zip(registrations.ints("closed_index")?)
        .filter_map(|(r, c)| Some((r?, c)))
        .collect();
    let index = sums.ints("period_index")?;
    let by_month: HashMap<i64, usize> = index
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(((*p)?, i)))
        .collect();
    let ints: HashMap<&str, Vec<Option<i64>>> = [
        "reports",
        "reports_on_time",
        "members",
        "members_joined",
        "members_left",
    ]
    .into_iter()
    .map(|n| Ok((n, sums.ints(n)?)))
    .collect::<Result<_, QueryError>>()?;
    let money: HashMap<&str, Vec<Option<Money>>> = [
        "contributions",
        "grant_state",
        "grant_local",
        "income",
        "benefits",
        "admin_costs",
        "fund_balance",
    ]
    .into_iter()
    .map(|n| Ok((n, sums.money(n)?)))
    .collect::<Result<_, QueryError>>()?;
    let chosen: Vec<&str> = if indicators.is_empty() {
        TIMESERIES_INDICATORS.to_vec()
    } else {
        indicators.iter().map(String::as_str).collect()
    };
    let mut columns = vec![("period".to_string(), ColumnType::Text)];
    for name in &chosen {
        let t = match *name {
            "coverage" | "reporting_rate" | "on_time_rate" => ColumnType::Ratio,
            n if money.contains_key(n) => ColumnType::Money,
            _ => ColumnType::Int,
        };
        columns.push((name.to_string(), t));
    }
    let mut out = Output::new(columns);
    for period in range.from.through(range.to) {
        let p = i64::from(period.index());
        let row = by_month.get(&p).copied();
        let int = |n: &str| row.and_then(|r| ints[n][r]);
        let expected = registered
            .iter()
            .filter(|(r, c)| *r <= p && c.is_none_or(|c| c > p))
            .count() as i64;
        let reported = int("reports").unwrap_or(0);
        let year = i64::from(snapshot.population_year(period));
        let pop = population.get(&year).copied().unwrap_or(0);
        let members = int("members");
        let mut cells = vec![Value::Text(Some(period.to_string()))];
        for name in &chosen {
            cells.push(match *name {
                "coverage" => Value::Ratio(members.and_then(|m| percent(m, pop, 2))),
                "members" => Value::Int(members),
                "population" => Value::Int(Some(pop)),
                "funds_expected" => Value::Int(Some(expected)),
                "funds_reported" => Value::Int(Some(reported)),
                "reporting_rate" => Value::Ratio(percent(reported, expected, 2)),
                "on_time_rate" => {
                    Value::Ratio(percent(int("reports_on_time").unwrap_or(0), expected, 2))
                }
                "members_joined" | "members_left" => Value::Int(int(name)),
                n => Value::Money(row.and_then(|r| money[n][r])),
            });
        }
        out.rows.push(cells);
    }
    Ok(out)
}

/// All summaries of one fund, oldest first, as stored (the current revision of each month).
pub async fn fund_history(snapshot: &Snapshot, fund_id: &str) -> Result<Output, QueryError> {
    let id = welfare_model::FundId::parse(fund_id)
        .map_err(|e| QueryError::Invalid(format!("fund id: {e}")))?;
    let mut names: Vec<&str> = vec!["period"];
    names.extend(welfare_model::summary::MEASURES.iter().map(|m| m.name));
    names.extend(["revision", "on_time", "source"]);
    let text = format!(
        "SELECT {} FROM summaries WHERE fund_id = '{}' ORDER BY period_index",
        names.join(", "),
        id.as_str()
    );
    let c = Columns::new(&snapshot.sql(&text).await?)?;
    let mut columns = vec![("period".to_string(), ColumnType::Text)];
    let mut values: Vec<Vec<Value>> =
        vec![c.texts("period")?.into_iter().map(Value::Text).collect()];
    for m in welfare_model::summary::MEASURES {
        if m.unit.is_money() {
            columns.push((m.name.into(), ColumnType::Money));
            values.push(c.money(m.name)?.into_iter().map(Value::Money).collect());
        } else {
            columns.push((m.name.into(), ColumnType::Int));
            values.push(c.ints(m.name)?.into_iter().map(Value::Int).collect());
        }
    }
    columns.push(("revision".into(), ColumnType::Int));
    values.push(c.ints("revision")?.into_iter().map(Value::Int).collect());
    columns.push(("on_time".into(), ColumnType::Text));
    values.push(c.texts("on_time")?.into_iter().map(Value::Text).collect());
    columns.push(("source".into(), ColumnType::Text));
    values.push(c.texts("source")?.into_iter().map(Value::Text).collect());
    let mut out = Output::new(columns);
    for i in 0..c.len() {
        out.rows
            .push(values.iter().map(|col| col[i].clone()).collect());
    }
    Ok(out)
}
