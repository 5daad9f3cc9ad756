//! Governance: each fund's latest assessment on the national standard form, counted per area.
//!
//! The snapshot's `assessments` table holds every assessment with its fund's key, its month
//! (`assessed_index`) and the month of the fund's next assessment (`next_index`), so "each fund's
//! latest assessment at or before month X" is a filter, like a fund's last report in `summaries`.
//! Assessments of one fund are ordered by day, then form version: of two on the same day, the later
//! version counts.
//!
//! Per area (design section 5, docs/indicators.md), over the welfare funds (`counts_in_coverage`)
//! open at the end of the range (registered by then, not closed by then), of the network when one is
//! asked:
//! - `funds_assessed`: those with an assessment dated at or before the range's end;
//! - `assessed_share`: `funds_assessed` × 100 ÷ those funds, to two decimals (none without funds);
//! - `governance_excellent`, `_good`, `_fair`, `_improve`: how many funds' latest assessment is at
//!   each level.
//!
//! It is its own statement, run beside the area figures, so their SQL (and what it costs) is
//! unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Int32Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rust_decimal::Decimal;
use welfare_model::{AreaRef, GovernanceLevel, NetworkId, Period};

use crate::error::QueryError;
use crate::indicators::{IndicatorQuery, percent};
use crate::output::Columns;
use crate::snapshot::Snapshot;
use crate::sql::{self, Range, Rollup};

/// `assessments`: every governance assessment, with its fund's `fund_key`, the month it was made
/// (`assessed_index`, a [`Period::index`]) and the month of the fund's next one (`next_index`, NULL
/// for its latest).
pub fn assessments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("fund_id", DataType::Utf8, false),
        Field::new("fund_key", DataType::Int32, false),
        Field::new("assessed_on", DataType::Utf8, false),
        Field::new("assessed_index", DataType::Int32, false),
        Field::new("next_index", DataType::Int32, true),
        Field::new("form_version", DataType::Utf8, false),
        Field::new("overall_level", DataType::Utf8, false),
    ]))
}

/// A stored assessment, as the snapshot needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessmentRow {
    pub fund_id: String,
    pub assessed_on: NaiveDate,
    pub form_version: String,
    pub overall_level: GovernanceLevel,
}

/// The `assessments` table: rows ordered by fund, day and form version, each with its successor's
/// month. An assessment of a fund the snapshot does not know is an error.
pub(crate) fn build_assessments(
    rows: &[AssessmentRow],
    keys: &HashMap<&str, i32>,
) -> Result<RecordBatch, QueryError> {
    let mut order: Vec<(i32, &AssessmentRow)> = rows
        .iter()
        .map(|a| {
            keys.get(a.fund_id.as_str())
                .map(|k| (*k, a))
                .ok_or_else(|| {
                    QueryError::Data(format!("an assessment of unknown fund {}", a.fund_id))
                })
        })
        .collect::<Result<_, _>>()?;
    order.sort_by(|(ka, a), (kb, b)| {
        (ka, a.assessed_on, &a.form_version).cmp(&(kb, b.assessed_on, &b.form_version))
    });
    let mut fund_id = StringBuilder::new();
    let mut fund_key = Int32Builder::new();
    let mut assessed_on = StringBuilder::new();
    let mut assessed_index = Int32Builder::new();
    let mut next_index = Int32Builder::new();
    let mut form = StringBuilder::new();
    let mut level = StringBuilder::new();
    for (i, (key, a)) in order.iter().enumerate() {
        fund_id.append_value(&a.fund_id);
        fund_key.append_value(*key);
        assessed_on.append_value(a.assessed_on.to_string());
        assessed_index.append_value(Period::of_date(a.assessed_on).index());
        next_index.append_option(
            order
                .get(i + 1)
                .filter(|(k, _)| k == key)
                .map(|(_, n)| Period::of_date(n.assessed_on).index()),
        );
        form.append_value(&a.form_version);
        level.append_value(a.overall_level.as_str());
    }
    Ok(RecordBatch::try_new(
        assessments_schema(),
        vec![
            Arc::new(fund_id.finish()),
            Arc::new(fund_key.finish()),
            Arc::new(assessed_on.finish()),
            Arc::new(assessed_index.finish()),
            Arc::new(next_index.finish()),
            Arc::new(form.finish()),
            Arc::new(level.finish()),
        ],
    )?)
}

/// Each fund's latest assessment at or before month `to`, as a subquery with `fund_key`,
/// `assessed_on`, `form_version` and `overall_level`.
fn latest_as_of(to: i32) -> String {
    format!(
        "SELECT fund_key, assessed_on, form_version, overall_level FROM assessments
        WHERE assessed_index <= {to} AND (next_index IS NULL OR next_index > {to})"
    )
}

/// The governance counts per area, for one level or all five.
pub fn governance_sql(
    rollup: Rollup,
    within: Option<&AreaRef>,
    range: Range,
    network: Option<&NetworkId>,
) -> String {
    let to = range.to.index();
    let (code, level, group_by) = sql::grouping(rollup);
    let filter = sql::within_filter(within, "tambon");
    let in_network = sql::network_filter(network, "f.fund_key");
    let levels: String = GovernanceLevel::ALL
        .iter()
        .map(|l| {
            format!(
                ",\n    SUM(CASE WHEN g.overall_level = '{l}' THEN 1 ELSE 0 END) AS governance_{l}",
                l = l.as_str()
            )
        })
        .collect();
    format!(
        "SELECT * FROM (
SELECT {code} AS code, {level} AS level,
    COUNT(*) AS funds_open,
    SUM(CASE WHEN g.overall_level IS NOT NULL THEN 1 ELSE 0 END) AS funds_assessed{levels}
FROM ({funds}) f
JOIN ({places}) t ON t.place = f.place
LEFT JOIN ({latest}) g ON g.fund_key = f.fund_key
WHERE f.counts_in_coverage AND f.registered_index <= {to}
    AND (f.closed_index IS NULL OR f.closed_index > {to}) AND {filter} AND {in_network}
{group_by}
) rows
WHERE code IS NOT NULL",
        funds = sql::FUND_PLACES,
        places = sql::PLACES,
        latest = latest_as_of(to),
    )
}

/// The governance figures of one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GovernanceCounts {
    /// Welfare funds open at the range's end: the share's whole.
    pub funds_open: i64,
    pub funds_assessed: i64,
    pub excellent: i64,
    pub good: i64,
    pub fair: i64,
    pub improve: i64,
}

impl GovernanceCounts {
    /// `funds_assessed` × 100 ÷ `funds_open`, to two decimals; none without funds.
    pub fn assessed_share(&self) -> Option<Decimal> {
        percent(self.funds_assessed, self.funds_open, 2)
    }

    pub fn at(&self, level: GovernanceLevel) -> i64 {
        match level {
            GovernanceLevel::Excellent => self.excellent,
            GovernanceLevel::Good => self.good,
            GovernanceLevel::Fair => self.fair,
            GovernanceLevel::Improve => self.improve,
        }
    }
}

/// Governance counts per area code at the query's level(s).
pub async fn governance_counts(
    snapshot: &Snapshot,
    query: &IndicatorQuery,
) -> Result<HashMap<String, GovernanceCounts>, QueryError> {
    let text = governance_sql(
        query.rollup,
        query.within.as_ref(),
        query.range,
        query.network.as_ref(),
    );
    let c = Columns::new(&snapshot.sql(&text).await?)?;
    let codes = c.texts("code")?;
    let int = |name: &str| c.ints(name);
    let (open, assessed) = (int("funds_open")?, int("funds_assessed")?);
    let (excellent, good, fair, improve) = (
        int("governance_excellent")?,
        int("governance_good")?,
        int("governance_fair")?,
        int("governance_improve")?,
    );
    let mut out = HashMap::with_capacity(c.len());
    for i in 0..c.len() {
        let Some(code) = codes[i].clone() else {
            continue;
        };
        out.insert(
            code,
            GovernanceCounts {
                funds_open: open[i].unwrap_or(0),
                funds_assessed: assessed[i].unwrap_or(0),
                excellent: excellent[i].unwrap_or(0),
                good: good[i].unwrap_or(0),
                fair: fair[i].unwrap_or(0),
                improve: improve[i].unwrap_or(0),
            },
        );
    }
    Ok(out)
}

/// A fund's latest assessment at or before a month, as its figures show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestAssessment {
    pub assessed_on: String,
    pub form_version: String,
    pub overall_level: String,
}

/// `fund_id`'s latest assessment at or before month `to`, if it has one.
pub async fn fund_assessment(
    snapshot: &Snapshot,
    fund_id: &str,
    to: Period,
) -> Result<Option<LatestAssessment>, QueryError> {
    let id = welfare_model::FundId::parse(fund_id)
        .map_err(|e| QueryError::Invalid(format!("fund id: {e}")))?;
    // A FundId is [A-Za-z0-9._-]: safe to quote.
    let text = format!(
        "SELECT g.assessed_on, g.form_version, g.overall_level
FROM ({latest}) g JOIN funds f ON f.fund_key = g.fund_key
WHERE f.fund_id = '{id}'",
        latest = latest_as_of(to.index()),
        id = id.as_str()
    );
    let c = Columns::new(&snapshot.sql(&text).await?)?;
    let (days, forms, levels) = (
        c.texts("assessed_on")?,
        c.texts("form_version")?,
        c.texts("overall_level")?,
    );
    Ok((!c.is_empty()).then(|| LatestAssessment {
        assessed_on: days[0].clone().unwrap_or_default(),
        form_version: forms[0].clone().unwrap_or_default(),
        overall_level: levels[0].clone().unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::{AreaRow, FundRow, TablesBuilder};
    use crate::{AreaState, Policy, SandboxLimits, Snapshot};
    use welfare_model::{Level, Money, Summary};

    fn area(code: &str, parent: Option<&str>) -> AreaRow {
        AreaRow {
            code: code.into(),
            parent_code: parent.map(Into::into),
            name_th: format!("พื้นที่ {code}"),
            name_en: format!("Area {code}"),
        }
    }

    fn fund(id: &str, area: &str, kind: &str, closed: Option<&str>) -> FundRow {
        FundRow {
            fund_id: id.into(),
            name_th: format!("กองทุน {id}"),
            name_en: None,
            kind: kind.into(),
            area_code: area.into(),
            municipality: None,
            registered: Some(Period::parse("2020-01").unwrap()),
            closed: closed.map(|c| Period::parse(c).unwrap()),
        }
    }

    fn assessed(id: &str, day: &str, form: &str, level: GovernanceLevel) -> AssessmentRow {
        AssessmentRow {
            fund_id: id.into(),
            assessed_on: day.parse().unwrap(),
            form_version: form.into(),
            overall_level: level,
        }
    }

    /// Three welfare funds in tambon 500101 (one closed in 2025-05), one in 500102, a savings group
    /// and Chiang Mai's provincial-level fund.
    fn snapshot() -> Snapshot {
        let mut b = TablesBuilder::new(15);
        b.areas = vec![
            area("50", None),
            area("5001", Some("50")),
            area("500101", Some("5001")),
            area("500102", Some("5001")),
        ];
        b.population = vec![("500101".into(), 2025, 1000), ("500102".into(), 2025, 500)];
        b.funds = vec![
            fund("A", "500101", "community_welfare", None),
            fund("B", "500101", "community_welfare", None),
            fund("C", "500101", "community_welfare", Some("2025-05")),
            fund("D", "500102", "community_welfare", None),
            fund("S", "500102", "one_baht_savings", None),
            fund("P", "50", "provincial_fund", None),
        ];
        use GovernanceLevel::*;
        b.assessments = vec![
            assessed("A", "2024-06-30", "2564", Improve),
            assessed("A", "2025-03-10", "2566", Good),
            assessed("A", "2025-03-10", "2564", Fair),
            assessed("B", "2025-04-01", "2566", Excellent),
            assessed("C", "2024-01-15", "2566", Good),
            assessed("S", "2024-01-15", "2566", Good),
            assessed("P", "2023-09-01", "2566", Fair),
        ];
        let mut s = Summary::new(
            welfare_model::FundId::parse("A").unwrap(),
            Period::parse("2025-03").unwrap(),
        );
        s.members_total = Some(10);
        s.contrib_members = Some(Money::from_baht(100));
        b.summaries = vec![crate::tables::SummaryRow {
            summary: s,
            revision: 1,
            first_recorded_at: None,
            first_reported_at: None,
        }];
        b.policies = Policy::defaults();
        Snapshot::new(1, b.build().unwrap(), SandboxLimits::default()).unwrap()
    }

    fn query(rollup: Rollup, month: &str) -> IndicatorQuery {
        IndicatorQuery {
            rollup,
            within: None,
            network: None,
            range: Range::month(Period::parse(month).unwrap()),
            policy: crate::DEFAULT_POLICY.into(),
        }
    }

    #[tokio::test]
    async fn the_latest_assessment_at_the_range_end_counts_per_area() {
        let snapshot = snapshot();
        // 2025-03: A's latest is 2566 of 10 March (good; the later form of that day), B is not yet
        // assessed, C (open until May) is good; D none. The savings group is not counted.
        let counts = governance_counts(&snapshot, &query(Rollup::All, "2025-03"))
            .await
            .unwrap();
        let t = counts["500101"];
        assert_eq!(
            (
                t.funds_open,
                t.funds_assessed,
                t.excellent,
                t.good,
                t.fair,
                t.improve
            ),
            (3, 2, 0, 2, 0, 0)
        );
        assert_eq!(t.assessed_share(), Some(Decimal::new(6667, 2)));
        assert_eq!(counts["500102"].funds_open, 1);
        assert_eq!(counts["500102"].assessed_share(), Some(Decimal::ZERO));
        let d = counts["5001"];
        assert_eq!((d.funds_open, d.funds_assessed), (4, 2));
        // The province and the country count the provincial-level fund too.
        let p = counts["50"];
        assert_eq!(
            (p.funds_open, p.funds_assessed, p.good, p.fair),
            (5, 3, 2, 1)
        );
        assert_eq!(counts["TH"], p);
        // 2025-06: C is closed; B is excellent.
        let june = governance_counts(
            &snapshot,
            &query(Rollup::Level(Level::Subdistrict), "2025-06"),
        )
        .await
        .unwrap();
        let t = june["500101"];
        assert_eq!(
            (t.funds_open, t.funds_assessed, t.excellent, t.good),
            (2, 2, 1, 1)
        );
        assert_eq!(t.assessed_share(), Some(Decimal::ONE_HUNDRED));
        // 2024-07: only A (improve) and C.
        let early = governance_counts(
            &snapshot,
            &query(Rollup::Level(Level::Subdistrict), "2024-07"),
        )
        .await
        .unwrap();
        assert_eq!((early["500101"].improve, early["500101"].good), (1, 1));
    }

    #[tokio::test]
    async fn area_rows_carry_the_counts_and_a_fund_its_latest_assessment() {
        let snapshot = snapshot();
        let rows = crate::indicators::area_indicators(
            &snapshot,
            &query(Rollup::Level(Level::Subdistrict), "2025-03"),
            &crate::RiskThresholds::default(),
        )
        .await
        .unwrap();
        let t = rows.iter().find(|r| r.code == "500101").unwrap();
        assert_eq!(t.state, AreaState::Value);
        assert_eq!(t.governance.funds_assessed, 2);
        let out = crate::indicators::indicators_output(&rows, 2025).to_json_rows();
        let row = out.iter().find(|r| r["code"] == "500101").unwrap();
        assert_eq!(row["funds_assessed"], 2);
        assert_eq!(row["assessed_share"], serde_json::json!(66.67));
        assert_eq!(row["governance_good"], 2);
        assert_eq!(row["governance_excellent"], 0);
        let latest = fund_assessment(&snapshot, "A", Period::parse("2025-03").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                latest.assessed_on.as_str(),
                latest.form_version.as_str(),
                latest.overall_level.as_str()
            ),
            ("2025-03-10", "2566", "good")
        );
        assert!(
            fund_assessment(&snapshot, "B", Period::parse("2025-03").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }
}
