//! The tables of an analytics snapshot and their Arrow schemas.
//!
//! The snapshot is built from plain rows (whoever owns the data, the hub's store or a test, fills a
//! [`TablesBuilder`]); `queries` never learns where they came from. Derived columns that every
//! indicator needs (a period's month index, cash benefits and income totals, whether a report came on
//! time, when a fund was first known) are computed here, once.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use welfare_model::summary::MEASURES;
use welfare_model::summary::MeasureValue;
use welfare_model::{Money, Period, Region, Summary, bangkok};

use crate::error::QueryError;
use crate::policy::Policy;

fn money_type() -> DataType {
    Money::arrow_type()
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `areas`: every province, district and tambon, with the codes of its ancestors so rollups need no
/// self-joins.
pub fn areas_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("parent_code", DataType::Utf8, true),
        Field::new("region", DataType::Utf8, false),
        Field::new("province_code", DataType::Utf8, false),
        Field::new("district_code", DataType::Utf8, true),
        Field::new("name_th", DataType::Utf8, false),
        Field::new("name_en", DataType::Utf8, false),
    ]))
}

/// `population`: people per tambon per year, for every current tambon and every year the bundle
/// covers (a year missing for a tambon takes the nearest year it has).
pub fn population_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("year", DataType::Int32, false),
        Field::new("population", DataType::Int64, false),
    ]))
}

/// `funds`: registered funds with their tambon (none for a provincial-level fund, registered to
/// its province), the month from which they count as expected to report (`registered_index`, a
/// [`Period::index`]) and, for a closed fund, the month from which they no longer count
/// (`closed_index`). `counts_in_coverage` is true for welfare funds (community welfare and
/// provincial-level funds), whose members coverage counts; other kinds are shown beside. `fund_key`
/// is a dense integer key (0, 1, 2… in this table's order) that `summaries` carries too: joins and
/// groupings on it are far cheaper than on the text id.
pub fn funds_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("fund_id", DataType::Utf8, false),
        Field::new("fund_key", DataType::Int32, false),
        Field::new("name_th", DataType::Utf8, false),
        Field::new("name_en", DataType::Utf8, true),
        Field::new("kind", DataType::Utf8, false),
        Field::new("tambon_code", DataType::Utf8, true),
        Field::new("province_code", DataType::Utf8, false),
        Field::new("municipality", DataType::Utf8, true),
        Field::new("registered_index", DataType::Int32, false),
        Field::new("registered", DataType::Utf8, false),
        Field::new("closed_index", DataType::Int32, true),
        Field::new("closed", DataType::Utf8, true),
        Field::new("counts_in_coverage", DataType::Boolean, false),
    ]))
}

/// `network_funds`: which funds (by `fund_key`) each network (`network_id`) holds.
pub fn network_funds_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("network_id", DataType::Utf8, false),
        Field::new("fund_key", DataType::Int32, false),
    ]))
}

/// `summaries`: the current revision of every fund-month: the canonical measures plus
/// `fund_key` (the fund's integer key in `funds`), `period_index`, `next_index` (the fund's next
/// reported month, NULL for its latest report), `benefits_total`, `income_total`,
/// `first_reported_at` and `on_time`.
///
/// `next_index` makes "each fund's last report at or before month X" a plain filter
/// (`period_index <= X AND (next_index IS NULL OR next_index > X)`) instead of a grouping over
/// the whole history. Rows are ordered by month, then fund.
pub fn summaries_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("fund_id", DataType::Utf8, false),
        Field::new("fund_key", DataType::Int32, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("period_index", DataType::Int32, false),
        Field::new("next_index", DataType::Int32, true),
    ];
    let canonical = welfare_model::summary_schema();
    for m in MEASURES {
        fields.push(
            canonical
                .field_with_name(m.name)
                .expect("a measure")
                .clone(),
        );
    }
    fields.extend([
        Field::new("benefits_total", money_type(), true),
        Field::new("income_total", money_type(), true),
        Field::new("revision", DataType::Int64, false),
        Field::new("reported_at", utc_micros(), true),
        Field::new("first_reported_at", utc_micros(), true),
        Field::new("on_time", DataType::Boolean, true),
        Field::new("source", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(fields))
}

/// `policies`: named matching-grant rules; `state_per_member_year` and `local_per_member_year` are
/// the rule resolved to baht per member per year (contribution × ratio, capped).
pub fn policies_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("title_th", DataType::Utf8, false),
        Field::new("title_en", DataType::Utf8, false),
        Field::new("contribution_per_member_year", money_type(), false),
        Field::new("state_ratio", DataType::Decimal128(9, 4), false),
        Field::new("local_ratio", DataType::Decimal128(9, 4), false),
        Field::new("cap_per_member_year", money_type(), true),
        Field::new("state_per_member_year", money_type(), false),
        Field::new("local_per_member_year", money_type(), false),
        Field::new("min_months_registered", DataType::Int32, false),
        Field::new("min_reports_last_12", DataType::Int32, false),
    ]))
}

/// An area of the reference geography.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaRow {
    pub code: String,
    pub parent_code: Option<String>,
    pub name_th: String,
    pub name_en: String,
}

/// A registered fund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundRow {
    pub fund_id: String,
    pub name_th: String,
    pub name_en: Option<String>,
    pub kind: String,
    /// The tambon (6 digits) or, for a provincial-level fund, the province (2 digits).
    pub area_code: String,
    pub municipality: Option<String>,
    /// The month of registration when known.
    pub registered: Option<Period>,
    /// The month it closed: it counts no more from then on, and its reports of that month and
    /// later are left out of the snapshot.
    pub closed: Option<Period>,
}

/// A stored summary (the current revision) with what the snapshot needs beyond the canonical record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub summary: Summary,
    pub revision: i64,
    /// When the hub recorded the first revision of this fund-month: the fallback for a report
    /// without `reported_at`.
    pub first_recorded_at: Option<DateTime<Utc>>,
    /// The earliest `reported_at` over every revision: a revision does not make an on-time report
    /// late.
    pub first_reported_at: Option<DateTime<Utc>>,
}

/// The rows a snapshot is built from.
#[derive(Debug, Default, Clone)]
pub struct TablesBuilder {
    pub areas: Vec<AreaRow>,
    /// (tambon code, year, people); any code not among the current tambons is ignored.
    pub population: Vec<(String, i32, i64)>,
    pub funds: Vec<FundRow>,
    /// Every network's id, an empty one included.
    pub networks: Vec<String>,
    /// (network id, fund id): which funds each network holds.
    pub network_funds: Vec<(String, String)>,
    /// Every governance assessment.
    pub assessments: Vec<crate::governance::AssessmentRow>,
    pub summaries: Vec<SummaryRow>,
    pub policies: Vec<Policy>,
    /// Reports are due on this day of the following month (default 15).
    pub deadline_day: u32,
}

/// The built Arrow tables of one snapshot, plus facts the query layer needs to pick defaults.
#[derive(Debug, Clone)]
pub struct Tables {
    pub areas: RecordBatch,
    pub population: RecordBatch,
    pub funds: RecordBatch,
    pub network_funds: RecordBatch,
    /// Every network's id.
    pub networks: std::collections::BTreeSet<String>,
    /// `assessments` (see [`crate::governance::assessments_schema`]).
    pub assessments: RecordBatch,
    pub summaries: Vec<RecordBatch>,
    pub policies: RecordBatch,
    pub policy_list: Vec<Policy>,
    /// The years the population table covers.
    pub population_years: Option<(i32, i32)>,
    /// The earliest and the latest month any fund reported.
    pub first_period: Option<Period>,
    pub latest_period: Option<Period>,
    pub summary_rows: usize,
    pub deadline_day: u32,
}

/// Rows per summaries batch: large enough for vectorised work, small enough to spread over cores.
const BATCH_ROWS: usize = 64 * 1024;

impl TablesBuilder {
    pub fn new(deadline_day: u32) -> Self {
        TablesBuilder {
            deadline_day,
            ..TablesBuilder::default()
        }
    }

    pub fn build(self) -> Result<Tables, QueryError> {
        let deadline_day = if self.deadline_day == 0 {
            15
        } else {
            self.deadline_day
        };
        let areas = build_areas(&self.areas)?;
        let tambons: Vec<&str> = self
            .areas
            .iter()
            .filter(|a| a.code.len() == 6)
            .map(|a| a.code.as_str())
            .collect();
        let (population, population_years) = build_population(&tambons, &self.population)?;
        let keys: HashMap<&str, i32> = self
            .funds
            .iter()
            .enumerate()
            .map(|(i, f)| (f.fund_id.as_str(), i as i32))
            .collect();
        if keys.len() != self.funds.len() {
            return Err(QueryError::Data(
                "a fund id appears twice among the funds".into(),
            ));
        }
        let closed: HashMap<&str, i32> = self
            .funds
            .iter()
            .filter_map(|f| Some((f.fund_id.as_str(), f.closed?.index())))
            .collect();
        let order = summary_order(&self.summaries, &keys, &closed)?;
        let mut first_report: HashMap<&str, i32> = HashMap::new();
        for row in &order {
            let s = &self.summaries[row.row].summary;
            first_report
                .entry(s.fund_id.as_str())
                .or_insert_with(|| s.period.index());
        }
        let first = order
            .first()
            .map(|row| self.summaries[row.row].summary.period);
        let latest = order
            .last()
            .map(|row| self.summaries[row.row].summary.period);
        let funds = build_funds(&self.funds, &first_report, latest)?;
        let mut summaries = Vec::new();
        for chunk in order.chunks(BATCH_ROWS) {
            summaries.push(build_summaries(&self.summaries, chunk, deadline_day)?);
        }
        if summaries.is_empty() {
            summaries.push(RecordBatch::new_empty(summaries_schema()));
        }
        let policies = build_policies(&self.policies)?;
        let mut network = StringBuilder::new();
        let mut member = Int32Builder::new();
        for (n, f) in &self.network_funds {
            let key = keys
                .get(f.as_str())
                .ok_or_else(|| QueryError::Data(format!("network {n} holds unknown fund {f}")))?;
            network.append_value(n);
            member.append_value(*key);
        }
        let network_funds = batch(
            network_funds_schema(),
            vec![Arc::new(network.finish()), Arc::new(member.finish())],
        )?;
        let assessments = crate::governance::build_assessments(&self.assessments, &keys)?;
        Ok(Tables {
            areas,
            population,
            funds,
            network_funds,
            networks: self.networks.iter().cloned().collect(),
            assessments,
            summaries,
            policies,
            policy_list: self.policies,
            population_years,
            first_period: first,
            latest_period: latest,
            summary_rows: self.summaries.len(),
            deadline_day,
        })
    }
}

/// Where one summary goes in the `summaries` table, with its derived keys.
struct OrderedRow {
    row: usize,
    fund_key: i32,
    period_index: i32,
    next_index: Option<i32>,
}

/// The summaries in table order (month, then fund), each with its fund key and the fund's next
/// reported month.
fn summary_order(
    rows: &[SummaryRow],
    keys: &HashMap<&str, i32>,
    closed: &HashMap<&str, i32>,
) -> Result<Vec<OrderedRow>, QueryError> {
    let mut order = Vec::with_capacity(rows.len());
    for (row, r) in rows.iter().enumerate() {
        let id = r.summary.fund_id.as_str();
        let fund_key = *keys
            .get(id)
            .ok_or_else(|| QueryError::Data(format!("summary of unknown fund {id}")))?;
        // A closed fund stops counting from its closing month: later reports (stored before the
        // closing was registered) stay in the store, not in the figures.
        if closed
            .get(id)
            .is_some_and(|&c| r.summary.period.index() >= c)
        {
            continue;
        }
        order.push(OrderedRow {
            row,
            fund_key,
            period_index: r.summary.period.index(),
            next_index: None,
        });
    }
    // By fund then month to link each report to the fund's next one…
    order.sort_unstable_by_key(|o| (o.fund_key, o.period_index));
    for i in 1..order.len() {
        if order[i - 1].fund_key == order[i].fund_key {
            if order[i - 1].period_index == order[i].period_index {
                let id = &rows[order[i].row].summary.fund_id;
                return Err(QueryError::Data(format!(
                    "two current summaries of fund {id} for {}",
                    rows[order[i].row].summary.period
                )));
            }
            order[i - 1].next_index = Some(order[i].period_index);
        }
    }
    // …then by month so a range of months is a run of neighbouring rows.
    order.sort_unstable_by_key(|o| (o.period_index, o.fund_key));
    Ok(order)
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch, QueryError> {
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn build_areas(rows: &[AreaRow]) -> Result<RecordBatch, QueryError> {
    let mut code = StringBuilder::new();
    let mut level = StringBuilder::new();
    let mut parent = StringBuilder::new();
    let mut region = StringBuilder::new();
    let mut province = StringBuilder::new();
    let mut district = StringBuilder::new();
    let mut name_th = StringBuilder::new();
    let mut name_en = StringBuilder::new();
    for a in rows {
        let parsed = welfare_model::AreaCode::parse(&a.code)
            .map_err(|e| QueryError::Data(format!("area {}: {e}", a.code)))?;
        code.append_value(&a.code);
        level.append_value(parsed.level().as_str());
        parent.append_option(a.parent_code.as_deref());
        region.append_value(Region::of_province(&a.code).code());
        province.append_value(&a.code[..2]);
        district.append_option((a.code.len() >= 4).then(|| &a.code[..4]));
        name_th.append_value(&a.name_th);
        name_en.append_value(&a.name_en);
    }
    batch(
        areas_schema(),
        vec![
            Arc::new(code.finish()),
            Arc::new(level.finish()),
            Arc::new(parent.finish()),
            Arc::new(region.finish()),
            Arc::new(province.finish()),
            Arc::new(district.finish()),
            Arc::new(name_th.finish()),
            Arc::new(name_en.finish()),
        ],
    )
}

/// Fills every (current tambon, year) pair: a year the bundle lacks for a tambon (a tambon created
/// later, say) takes the nearest year it has, so a denominator never silently drops people.
fn build_population(
    tambons: &[&str],
    rows: &[(String, i32, i64)],
) -> Result<(RecordBatch, Option<(i32, i32)>), QueryError> {
    let mut by_code: HashMap<&str, Vec<(i32, i64)>> = Default::default();
    for (code, year, people) in rows {
        by_code
            .entry(code.as_str())
            .or_default()
            .push((*year, *people));
    }
    let years = rows
        .iter()
        .map(|r| r.1)
        .fold(None, |acc: Option<(i32, i32)>, y| {
            Some(acc.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))))
        });
    let mut code = StringBuilder::new();
    let mut year = Int32Builder::new();
    let mut population = Int64Builder::new();
    if let Some((lo, hi)) = years {
        for t in tambons {
            let Some(known) = by_code.get(t) else {
                continue;
            };
            for y in lo..=hi {
                let nearest = known
                    .iter()
                    .min_by_key(|(ky, _)| ((ky - y).abs(), -ky))
                    .expect("a known year");
                code.append_value(t);
                year.append_value(y);
                population.append_value(nearest.1);
            }
        }
    }
    Ok((
        batch(
            population_schema(),
            vec![
                Arc::new(code.finish()),
                Arc::new(year.finish()),
                Arc::new(population.finish()),
            ],
        )?,
        years,
    ))
}

fn build_funds(
    rows: &[FundRow],
    first_report: &HashMap<&str, i32>,
    latest: Option<Period>,
) -> Result<RecordBatch, QueryError> {
    let mut id = StringBuilder::new();
    let mut key = Int32Builder::with_capacity(rows.len());
    let mut name_th = StringBuilder::new();
    let mut name_en = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut tambon = StringBuilder::new();
    let mut province = StringBuilder::new();
    let mut municipality = StringBuilder::new();
    let mut registered_index = Int32Builder::new();
    let mut registered = StringBuilder::new();
    let mut closed_index = Int32Builder::new();
    let mut closed = StringBuilder::new();
    let mut welfare = BooleanBuilder::new();
    for (i, f) in rows.iter().enumerate() {
        // Expected to report from registration, or from the first report when that came earlier
        // (or when the registration date is unknown). A fund with neither is expected from the
        // latest month on.
        let first = first_report.get(f.fund_id.as_str()).copied();
        let index = match (f.registered.map(Period::index), first) {
            (Some(r), Some(first)) => r.min(first),
            (Some(r), None) => r,
            (None, Some(first)) => first,
            (None, None) => latest.map_or(i32::MAX, Period::index),
        };
        id.append_value(&f.fund_id);
        key.append_value(i as i32);
        name_th.append_value(&f.name_th);
        name_en.append_option(f.name_en.as_deref());
        kind.append_value(&f.kind);
        if f.area_code.len() == 6 {
            tambon.append_value(&f.area_code);
        } else {
            tambon.append_null();
        }
        province.append_value(f.area_code.get(..2).unwrap_or_default());
        municipality.append_option(f.municipality.as_deref());
        closed_index.append_option(f.closed.map(Period::index));
        closed.append_option(f.closed.map(|p| p.to_string()));
        welfare.append_value(
            f.kind
                .parse::<welfare_model::FundKind>()
                .map_err(QueryError::Data)?
                .counts_in_coverage(),
        );
        registered_index.append_value(index);
        registered.append_value(
            Period::from_index(index)
                .map(|p| p.to_string())
                .unwrap_or_default(),
        );
    }
    batch(
        funds_schema(),
        vec![
            Arc::new(id.finish()),
            Arc::new(key.finish()),
            Arc::new(name_th.finish()),
            Arc::new(name_en.finish()),
            Arc::new(kind.finish()),
            Arc::new(tambon.finish()),
            Arc::new(province.finish()),
            Arc::new(municipality.finish()),
            Arc::new(registered_index.finish()),
            Arc::new(registered.finish()),
            Arc::new(closed_index.finish()),
            Arc::new(closed.finish()),
            Arc::new(welfare.finish()),
        ],
    )
}

/// The end of the deadline day in Bangkok, as an instant: a report at or before it is on time.
pub fn deadline_instant(period: Period, deadline_day: u32) -> DateTime<Utc> {
    let day = period.report_due(deadline_day);
    bangkok()
        .from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("a time")))
        .single()
        .expect("Bangkok has no daylight saving")
        .with_timezone(&Utc)
}

fn money_builder(capacity: usize) -> Decimal128Builder {
    Decimal128Builder::with_capacity(capacity).with_data_type(money_type())
}

fn build_summaries(
    rows: &[SummaryRow],
    order: &[OrderedRow],
    deadline_day: u32,
) -> Result<RecordBatch, QueryError> {
    enum Column {
        Count(Int64Builder),
        Money(Decimal128Builder),
    }
    let n = order.len();
    let mut fund = StringBuilder::with_capacity(n, n * 12);
    let mut fund_key = Int32Builder::with_capacity(n);
    let mut period = StringBuilder::with_capacity(n, n * 7);
    let mut period_index = Int32Builder::with_capacity(n);
    let mut next_index = Int32Builder::with_capacity(n);
    let mut measures: Vec<Column> = MEASURES
        .iter()
        .map(|m| {
            if m.unit.is_money() {
                Column::Money(money_builder(n))
            } else {
                Column::Count(Int64Builder::with_capacity(n))
            }
        })
        .collect();
    let mut benefits = money_builder(n);
    let mut income = money_builder(n);
    let mut revision = Int64Builder::with_capacity(n);
    let mut reported_at = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut first_reported_at = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut on_time = BooleanBuilder::with_capacity(n);
    let mut source = StringBuilder::new();
    for o in order {
        let row = &rows[o.row];
        let s = &row.summary;
        fund.append_value(s.fund_id.as_str());
        fund_key.append_value(o.fund_key);
        period.append_value(s.period.to_string());
        period_index.append_value(o.period_index);
        next_index.append_option(o.next_index);
        for (i, column) in measures.iter_mut().enumerate() {
            match (column, s.measure(i)) {
                (Column::Count(b), MeasureValue::Count(v)) => b.append_option(v),
                (Column::Money(b), MeasureValue::Money(v)) => {
                    b.append_option(v.map(Money::to_i128));
                }
                _ => return Err(QueryError::Data("a measure of the wrong kind".into())),
            }
        }
        benefits.append_option(s.benefits_total().map(Money::to_i128));
        income.append_option(income_total(s).map(Money::to_i128));
        revision.append_value(row.revision);
        reported_at.append_option(s.reported_at.map(|t| t.timestamp_micros()));
        let first = row.first_reported_at.or(row.first_recorded_at);
        first_reported_at.append_option(first.map(|t| t.timestamp_micros()));
        on_time.append_option(first.map(|t| t <= deadline_instant(s.period, deadline_day)));
        source.append_option(s.source.as_deref());
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(fund.finish()),
        Arc::new(fund_key.finish()),
        Arc::new(period.finish()),
        Arc::new(period_index.finish()),
        Arc::new(next_index.finish()),
    ];
    for column in measures {
        columns.push(match column {
            Column::Count(mut b) => Arc::new(b.finish()),
            Column::Money(mut b) => Arc::new(b.finish()),
        });
    }
    columns.extend([
        Arc::new(benefits.finish()) as ArrayRef,
        Arc::new(income.finish()),
        Arc::new(revision.finish()),
        Arc::new(reported_at.finish()),
        Arc::new(first_reported_at.finish()),
        Arc::new(on_time.finish()),
        Arc::new(source.finish()),
    ]);
    batch(summaries_schema(), columns)
}

/// All income of a month: member contributions, both matching grants and other income; `None` when
/// none of them was reported.
pub fn income_total(s: &Summary) -> Option<Money> {
    let parts = [
        s.contrib_members,
        s.grant_state,
        s.grant_local,
        s.income_other,
    ];
    parts
        .iter()
        .any(Option::is_some)
        .then(|| parts.iter().flatten().copied().sum())
}

fn build_policies(rows: &[Policy]) -> Result<RecordBatch, QueryError> {
    let mut name = StringBuilder::new();
    let mut title_th = StringBuilder::new();
    let mut title_en = StringBuilder::new();
    let mut contribution = money_builder(rows.len());
    let ratio_type = DataType::Decimal128(9, 4);
    let mut state_ratio = Decimal128Builder::new().with_data_type(ratio_type.clone());
    let mut local_ratio = Decimal128Builder::new().with_data_type(ratio_type);
    let mut cap = money_builder(rows.len());
    let mut state_per = money_builder(rows.len());
    let mut local_per = money_builder(rows.len());
    let mut min_months = Int32Builder::new();
    let mut min_reports = Int32Builder::new();
    for p in rows {
        name.append_value(&p.name);
        title_th.append_value(&p.title_th);
        title_en.append_value(&p.title_en);
        contribution.append_value(p.contribution_per_member_year.to_i128());
        state_ratio.append_value(ratio_units(p.state_ratio)?);
        local_ratio.append_value(ratio_units(p.local_ratio)?);
        cap.append_option(p.cap_per_member_year.map(Money::to_i128));
        state_per.append_value(p.state_per_member_year()?.to_i128());
        local_per.append_value(p.local_per_member_year()?.to_i128());
        min_months.append_value(p.eligibility.min_months_registered);
        min_reports.append_value(p.eligibility.min_reports_last_12);
    }
    batch(
        policies_schema(),
        vec![
            Arc::new(name.finish()),
            Arc::new(title_th.finish()),
            Arc::new(title_en.finish()),
            Arc::new(contribution.finish()),
            Arc::new(state_ratio.finish()),
            Arc::new(local_ratio.finish()),
            Arc::new(cap.finish()),
            Arc::new(state_per.finish()),
            Arc::new(local_per.finish()),
            Arc::new(min_months.finish()),
            Arc::new(min_reports.finish()),
        ],
    )
}

/// A ratio as Decimal128(9, 4) units.
fn ratio_units(ratio: rust_decimal::Decimal) -> Result<i128, QueryError> {
    let mut r = ratio;
    if r.scale() > 4 {
        return Err(QueryError::Data(format!(
            "ratio {ratio} has more than 4 decimals"
        )));
    }
    r.rescale(4);
    Ok(r.mantissa())
}
