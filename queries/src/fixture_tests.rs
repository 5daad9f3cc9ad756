//! The hand-worked fixture (docs/indicators.md walks through it): two provinces, six tambons, six
//! funds. Every expected number below was worked out by hand from the rows, not read from the code.
//!
//! | tambon | people | funds |
//! |---|---|---|
//! | 900101 | 1,000 | A: 100 → 130 members, on time; its March 2025 report was revised |
//! | 900102 | 500 | none |
//! | 900201 | 2,000 | B (400 → 460, big payouts) and C, a municipal fund registered Nov 2024 (50) |
//! | 500101 | 800 | D: zero members |
//! | 500102 | 1,200 | E: 240 → 300, its March 2025 report came late (25 April) |
//! | 500103 | 700 | F: stopped reporting after Dec 2024 (70) |

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use welfare_model::{AreaRef, FundId, Level, Money, Period, Summary};

use crate::indicators::{self, AreaIndicators, AreaState, FullCoverage, RiskFlag};
use crate::sql::{Range, Rollup};
use crate::tables::{AreaRow, FundRow, SummaryRow, TablesBuilder};
use crate::{IndicatorQuery, Policy, RiskThresholds, SandboxLimits, Snapshot};

pub(crate) fn p(text: &str) -> Period {
    Period::parse(text).unwrap()
}

fn baht(text: &str) -> Money {
    Money::parse(text).unwrap()
}

pub(crate) fn area(code: &str, parent: Option<&str>) -> AreaRow {
    AreaRow {
        code: code.into(),
        parent_code: parent.map(Into::into),
        name_th: format!("พื้นที่ {code}"),
        name_en: format!("Area {code}"),
    }
}

fn fund(id: &str, tambon: &str, registered: &str) -> FundRow {
    FundRow {
        fund_id: id.into(),
        name_th: format!("กองทุน {id}"),
        name_en: None,
        kind: "community_welfare".into(),
        area_code: tambon.into(),
        municipality: (id == "C").then(|| "เทศบาลตำบลตัวอย่าง".into()),
        registered: Some(p(registered)),
        closed: None,
    }
}

/// Reported on the 5th of the following month unless said otherwise.
fn report(id: &str, period: Period, fill: impl Fn(&mut Summary)) -> SummaryRow {
    let mut s = Summary::new(FundId::parse(id).unwrap(), period);
    let next = period.next();
    s.reported_at = Some(
        Utc.with_ymd_and_hms(next.year(), next.month(), 5, 3, 0, 0)
            .unwrap(),
    );
    fill(&mut s);
    SummaryRow {
        first_reported_at: s.reported_at,
        first_recorded_at: s.reported_at,
        summary: s,
        revision: 1,
    }
}

pub(crate) fn fixture_builder() -> TablesBuilder {
    let mut b = TablesBuilder::new(15);
    b.areas = vec![
        area("90", None),
        area("9001", Some("90")),
        area("900101", Some("9001")),
        area("900102", Some("9001")),
        area("9002", Some("90")),
        area("900201", Some("9002")),
        area("50", None),
        area("5001", Some("50")),
        area("500101", Some("5001")),
        area("500102", Some("5001")),
        area("500103", Some("5001")),
    ];
    b.population = [
        ("900101", 1000),
        ("900102", 500),
        ("900201", 2000),
        ("500101", 800),
        ("500102", 1200),
        ("500103", 700),
    ]
    .iter()
    .map(|(c, n)| (c.to_string(), 2024, *n))
    .collect();
    b.funds = vec![
        fund("A", "900101", "2020-01"),
        fund("B", "900201", "2018-06"),
        fund("C", "900201", "2024-11"),
        fund("D", "500101", "2015-01"),
        fund("E", "500102", "2016-01"),
        fund("F", "500103", "2019-01"),
    ];
    b.policies = Policy::defaults();
    let months = |from: &str, to: &str| p(from).through(p(to)).collect::<Vec<_>>();
    let mut rows = Vec::new();
    for m in months("2024-03", "2025-03") {
        let after_aug = m >= p("2024-09");
        rows.push(report("A", m, |s| {
            s.members_total = Some(if after_aug { 130 } else { 100 });
            s.members_elderly = Some(if after_aug { 26 } else { 20 });
            s.members_joined = Some(if m == p("2024-09") { 35 } else { 0 });
            s.members_left = Some(if m == p("2024-09") { 5 } else { 0 });
            s.contrib_members = Some(baht("3000"));
            s.grant_state = Some(baht("2500"));
            s.grant_local = Some(Money::ZERO);
            s.income_other = Some(baht("500"));
            s.benefits_sickness = Some(baht("1000"));
            s.admin_costs = Some(baht("200"));
            s.fund_balance = Some(baht("50000"));
        }));
        rows.push(report("B", m, |s| {
            s.members_total = Some(if m == p("2025-03") { 460 } else { 400 });
            s.contrib_members = Some(baht("12000"));
            s.grant_state = Some(baht("12000"));
            s.grant_local = Some(baht("6000"));
            s.benefits_death = Some(baht("20000"));
            s.admin_costs = Some(baht("1000"));
            s.fund_balance = Some(baht("100000"));
        }));
        rows.push(report("D", m, |s| {
            s.members_total = Some(0);
            s.contrib_members = Some(Money::ZERO);
            s.income_other = Some(baht("100"));
            s.admin_costs = Some(baht("100"));
            s.fund_balance = Some(baht("10000"));
        }));
        rows.push(report("E", m, |s| {
            s.members_total = Some(if m == p("2025-03") { 300 } else { 240 });
            s.contrib_members = Some(baht("9000"));
            s.grant_state = Some(baht("9000"));
            s.benefits_elderly = Some(baht("5000"));
            s.admin_costs = Some(baht("500"));
            s.fund_balance = Some(baht("200000"));
        }));
    }
    for m in months("2024-11", "2025-03") {
        rows.push(report("C", m, |s| {
            s.members_total = Some(50);
            s.contrib_members = Some(baht("1500"));
            s.fund_balance = Some(baht("7500"));
        }));
    }
    for m in months("2024-03", "2024-12") {
        rows.push(report("F", m, |s| {
            s.members_total = Some(70);
            s.contrib_members = Some(baht("2100"));
            s.fund_balance = Some(baht("30000"));
        }));
    }
    // E's March 2025 report came on 25 April: late.
    let late = Utc.with_ymd_and_hms(2025, 4, 25, 3, 0, 0).unwrap();
    for r in &mut rows {
        if r.summary.fund_id.as_str() == "E" && r.summary.period == p("2025-03") {
            r.summary.reported_at = Some(late);
            r.first_reported_at = Some(late);
            r.first_recorded_at = Some(late);
        }
        // A's March 2025 report: first sent on 10 April (128 members, on time), revised on 20 April
        // to 130. The revision is what counts; the first sending decides timeliness.
        if r.summary.fund_id.as_str() == "A" && r.summary.period == p("2025-03") {
            r.revision = 2;
            r.first_reported_at = Some(Utc.with_ymd_and_hms(2025, 4, 10, 3, 0, 0).unwrap());
            r.summary.reported_at = Some(Utc.with_ymd_and_hms(2025, 4, 20, 3, 0, 0).unwrap());
        }
    }
    b.summaries = rows;
    b
}

pub(crate) fn fixture() -> Snapshot {
    Snapshot::new(
        1,
        fixture_builder().build().unwrap(),
        SandboxLimits::default(),
    )
    .unwrap()
}

async fn rows(s: &Snapshot, rollup: Rollup, range: Range, policy: &str) -> Vec<AreaIndicators> {
    indicators::area_indicators(
        s,
        &IndicatorQuery {
            rollup,
            within: None,
            network: None,
            range,
            policy: policy.into(),
        },
        &RiskThresholds::default(),
    )
    .await
    .unwrap()
}

fn find<'a>(rows: &'a [AreaIndicators], code: &str) -> &'a AreaIndicators {
    rows.iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("no row {code}"))
}

fn pct(text: &str) -> Option<Decimal> {
    Some(text.parse().unwrap())
}

const MARCH: &str = "2025-03";

#[tokio::test]
async fn coverage_for_one_month_at_every_level() {
    let s = fixture();
    let all = rows(&s, Rollup::All, Range::month(p(MARCH)), "codi-1-1").await;
    // 11 areas + 2 regions + the country.
    assert_eq!(all.len(), 14);
    let expect = [
        // code, population, members, coverage, state, funds, funds reported
        (
            "900101",
            1000,
            Some(130),
            pct("13.00"),
            AreaState::Value,
            1,
            1,
        ),
        ("900102", 500, None, None, AreaState::NoFund, 0, 0),
        (
            "900201",
            2000,
            Some(510),
            pct("25.50"),
            AreaState::Value,
            2,
            2,
        ),
        ("500101", 800, Some(0), pct("0.00"), AreaState::Value, 1, 1),
        (
            "500102",
            1200,
            Some(300),
            pct("25.00"),
            AreaState::Value,
            1,
            1,
        ),
        ("500103", 700, None, None, AreaState::NoReport, 1, 0),
        ("9001", 1500, Some(130), pct("8.67"), AreaState::Value, 1, 1),
        (
            "9002",
            2000,
            Some(510),
            pct("25.50"),
            AreaState::Value,
            2,
            2,
        ),
        (
            "5001",
            2700,
            Some(300),
            pct("11.11"),
            AreaState::Value,
            3,
            2,
        ),
        ("90", 3500, Some(640), pct("18.29"), AreaState::Value, 3, 3),
        ("50", 2700, Some(300), pct("11.11"), AreaState::Value, 3, 2),
        (
            "south",
            3500,
            Some(640),
            pct("18.29"),
            AreaState::Value,
            3,
            3,
        ),
        (
            "north",
            2700,
            Some(300),
            pct("11.11"),
            AreaState::Value,
            3,
            2,
        ),
        ("TH", 6200, Some(940), pct("15.16"), AreaState::Value, 6, 5),
    ];
    for (code, population, members, coverage, state, funds, reported) in expect {
        let r = find(&all, code);
        assert_eq!(
            (
                r.population,
                r.members,
                r.coverage,
                r.state,
                r.funds,
                r.funds_reported
            ),
            (population, members, coverage, state, funds, reported),
            "{code}"
        );
    }
    assert_eq!(find(&all, "TH").level, Level::Country);
    assert_eq!(find(&all, "north").level, Level::Region);
    assert_eq!(find(&all, "9001").level, Level::District);
    // The gap to 100% and the year it is reached at the last 12 months' growth:
    // TH grew 30 + 60 + 50 + 0 + 60 = 200 (F did not report); gap 5,260 → ⌈5,260 × 12 / 200⌉ = 316
    // months after March 2025 = July 2051.
    let th = find(&all, "TH");
    assert_eq!((th.gap, th.growth_12m), (Some(5260), Some(200)));
    assert_eq!(th.full_coverage, FullCoverage::ByYear(2051));
    // 900201: gap 1,490, growth 110 → ⌈17,880 / 110⌉ = 163 months → October 2038.
    assert_eq!(
        find(&all, "900201").full_coverage,
        FullCoverage::ByYear(2038)
    );
    // 900101: gap 870, growth 30 → 348 months → March 2054.
    assert_eq!(
        find(&all, "900101").full_coverage,
        FullCoverage::ByYear(2054)
    );
    assert_eq!(
        find(&all, "500101").full_coverage,
        FullCoverage::NotAtThisRate
    );
    assert_eq!(find(&all, "500103").full_coverage, FullCoverage::Unknown);
    assert_eq!(find(&all, "900102").gap, None);
    // One level alone gives the same rows as the rollup.
    let provinces = rows(
        &s,
        Rollup::Level(Level::Province),
        Range::month(p(MARCH)),
        "codi-1-1",
    )
    .await;
    assert_eq!(provinces.len(), 2);
    assert_eq!(&provinces[0], find(&all, "50"));
    assert_eq!(&provinces[1], find(&all, "90"));
}

#[tokio::test]
async fn completeness_and_timeliness() {
    let s = fixture();
    let all = rows(&s, Rollup::All, Range::month(p(MARCH)), "codi-1-1").await;
    let th = find(&all, "TH");
    // Six funds expected; F did not report; E reported on 25 April, after the 15th; A's revision
    // on 20 April does not make its 10 April report late.
    assert_eq!(
        (th.expected_reports, th.reports, th.reports_on_time),
        (6, 5, 4)
    );
    assert_eq!(th.reporting_rate, pct("83.33"));
    assert_eq!(th.on_time_rate, pct("66.67"));
    let north = find(&all, "50");
    assert_eq!(
        (north.expected_reports, north.reports, north.reports_on_time),
        (3, 2, 1)
    );
    // Over April 2024 – March 2025: C counts from November (5 months), F sent 9 of 12.
    let year = rows(
        &s,
        Rollup::Level(Level::Country),
        Range {
            from: p("2024-04"),
            to: p(MARCH),
        },
        "codi-1-1",
    )
    .await;
    assert_eq!((year[0].expected_reports, year[0].reports), (65, 62));
    // F's last value inside the range (December, 70) counts as a stock of the range.
    assert_eq!((year[0].funds_reported, year[0].members), (6, Some(1010)));
}

#[tokio::test]
async fn matching_under_the_default_policy() {
    let s = fixture();
    let all = rows(&s, Rollup::All, Range::month(p(MARCH)), "codi-1-1").await;
    let m = |code: &str| find(&all, code).matching.clone();
    // A: 130 × 365 / 12 = 3,954.1666… → 3,954.17 due, 2,500 received.
    let a = m("900101");
    assert_eq!(
        (a.due_state, a.received_state, a.shortfall_state),
        (baht("3954.17"), baht("2500"), baht("1454.17"))
    );
    // B: 460 × 365 / 12 = 13,991.67 due, 12,000 received; C (registered Nov 2024) is not eligible.
    let b = m("900201");
    assert_eq!((b.eligible_funds, b.eligible_members), (1, Some(460)));
    assert_eq!(
        (b.due_state, b.received_state, b.shortfall_state),
        (baht("13991.67"), baht("12000"), baht("1991.67"))
    );
    assert_eq!(b.received_local, baht("6000"));
    // E: 300 × 365 / 12 = 9,125 due, 9,000 received. D is eligible with 0 members: 0 due.
    assert_eq!(m("500102").shortfall_state, baht("125"));
    assert_eq!(
        (m("500101").eligible_funds, m("500101").due_state),
        (1, Money::ZERO)
    );
    // F did not report this month: not eligible.
    assert_eq!(m("500103").eligible_funds, 0);
    let th = m("TH");
    assert_eq!(th.eligible_funds, 4);
    assert_eq!(th.due_state, baht("27070.84"));
    assert_eq!(th.received_state, baht("23500"));
    assert_eq!(th.shortfall_state, baht("3570.84"));
    assert_eq!(th.due_local, Money::ZERO);
    assert_eq!(th.received(), baht("29500"));
    // Every resident a member: 6,200 people, rounded per tambon: 30,416.67 + 15,208.33 + 60,833.33
    // + 24,333.33 + 36,500.00 + 21,291.67.
    assert_eq!(th.universal_state, baht("188583.33"));
    assert_eq!(m("90").universal_state, baht("106458.33"));
    assert_eq!(m("50").universal_state, baht("82125"));
    // A whole year: A 47,450 − 30,000; B 167,900 − 144,000; E 109,500 − 108,000.
    let year = rows(
        &s,
        Rollup::Level(Level::Country),
        Range {
            from: p("2024-04"),
            to: p(MARCH),
        },
        "codi-1-1",
    )
    .await;
    assert_eq!(year[0].matching.due_state, baht("324850"));
    assert_eq!(year[0].matching.shortfall_state, baht("42850"));
    assert_eq!(year[0].matching.universal_state, baht("2263000"));
}

#[tokio::test]
async fn two_policies_side_by_side() {
    let s = fixture();
    let codi = rows(
        &s,
        Rollup::Level(Level::Country),
        Range::month(p(MARCH)),
        "codi-1-1",
    )
    .await;
    let act = rows(
        &s,
        Rollup::Level(Level::Country),
        Range::month(p(MARCH)),
        "act-1-1-1",
    )
    .await;
    assert_eq!(act[0].matching.due_state, codi[0].matching.due_state);
    assert_eq!(act[0].matching.due_local, baht("27070.84"));
    // Local shortfall: A 3,954.17; B 13,991.67 − 6,000; E 9,125.
    assert_eq!(act[0].matching.shortfall_local, baht("21070.84"));
    assert_eq!(act[0].matching.shortfall(), baht("24641.68"));
    let table =
        indicators::matching_output(&[("codi-1-1".into(), codi), ("act-1-1-1".into(), act)]);
    let col = table.column("act-1-1-1.shortfall").unwrap();
    assert_eq!(
        table.rows[0][col],
        crate::Value::Money(Some(baht("24641.68")))
    );
    assert!(table.column("codi-1-1.due").is_some());
    // An unknown policy is the caller's mistake, named.
    let e = indicators::area_indicators(
        &s,
        &IndicatorQuery {
            rollup: Rollup::Level(Level::Country),
            within: None,
            network: None,
            range: Range::month(p(MARCH)),
            policy: "nope".into(),
        },
        &RiskThresholds::default(),
    )
    .await
    .unwrap_err();
    assert!(e.is_client_error() && e.to_string().contains("nope"));
}

#[tokio::test]
async fn risk_ratios_and_flags() {
    let s = fixture();
    let funds = indicators::fund_risks(&s, None, None, p(MARCH), &RiskThresholds::default())
        .await
        .unwrap();
    let f = |id: &str| funds.iter().find(|f| f.fund_id == id).unwrap().clone();
    let a = f("A");
    assert_eq!(a.combined_ratio, pct("0.40")); // (12,000 + 2,400) / 36,000
    assert_eq!(a.reserve_months, pct("50.0")); // 50,000 × 12 / 12,000
    assert_eq!(a.admin_share, pct("3.33")); // 2,400 / 72,000
    assert_eq!(a.self_reliance, pct("50.00"));
    assert_eq!(a.elderly_share, pct("20.00")); // 26 / 130
    assert_eq!(a.net_growth, pct("30.00")); // (35 − 5) / 100
    assert_eq!(a.drop_out, pct("5.00"));
    assert_eq!((a.months_since_report, a.flag), (Some(0), RiskFlag::Low));
    let b = f("B");
    assert_eq!(b.combined_ratio, pct("1.75")); // 252,000 / 144,000
    assert_eq!(b.reserve_months, pct("5.0")); // 100,000 × 12 / 240,000
    assert_eq!(b.self_reliance, pct("40.00"));
    assert_eq!(b.flag, RiskFlag::High);
    assert_eq!(b.reasons, ["combined_ratio:watch", "reserve_months:high"]);
    let d = f("D");
    assert_eq!(
        (d.combined_ratio, d.admin_share, d.self_reliance),
        (None, pct("100.00"), pct("0.00"))
    );
    assert_eq!(d.flag, RiskFlag::High);
    let e = f("E");
    assert_eq!(
        (e.combined_ratio, e.reserve_months, e.flag),
        (pct("0.61"), pct("40.0"), RiskFlag::Low)
    );
    let ff = f("F");
    assert_eq!(
        (ff.months_since_report, ff.last_period.as_deref()),
        (Some(3), Some("2024-12"))
    );
    assert_eq!(
        (ff.flag, ff.reasons.clone()),
        (
            RiskFlag::Watch,
            vec!["months_since_report:watch".to_string()]
        )
    );
    assert_eq!(f("C").flag, RiskFlag::Low);
    let all = rows(&s, Rollup::All, Range::month(p(MARCH)), "codi-1-1").await;
    let counts = |code: &str| {
        let r = find(&all, code).risk;
        (r.low, r.watch, r.high)
    };
    assert_eq!(counts("90"), (2, 0, 1));
    assert_eq!(counts("50"), (1, 1, 1));
    assert_eq!(counts("TH"), (3, 1, 2));
    assert_eq!(counts("900102"), (0, 0, 0));
    // Filtering by area and fetching one fund.
    let south = indicators::fund_risks(
        &s,
        Some(&AreaRef::Code(
            welfare_model::AreaCode::parse("90").unwrap(),
        )),
        None,
        p(MARCH),
        &RiskThresholds::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        south.iter().map(|f| f.fund_id.as_str()).collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
    let one = indicators::fund_risk(&s, "B", p(MARCH), &RiskThresholds::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one, b);
    assert!(
        indicators::fund_risk(&s, "ZZ", p(MARCH), &RiskThresholds::default())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn no_floats_in_money_and_outputs_agree() {
    let s = fixture();
    let all = rows(&s, Rollup::All, Range::month(p(MARCH)), "codi-1-1").await;
    let out = indicators::indicators_output(&all, 2024);
    let batch = out.to_batch().unwrap();
    for name in ["due", "received", "shortfall", "universal_budget"] {
        assert_eq!(
            batch.schema().field_with_name(name).unwrap().data_type(),
            &datafusion::arrow::datatypes::DataType::Decimal128(18, 2)
        );
    }
    let json = out.to_json_rows();
    let th = json.iter().find(|r| r["code"] == "TH").unwrap();
    assert_eq!(th["shortfall"], "3570.84");
    assert_eq!(th["coverage"].to_string(), "15.16");
    assert_eq!(th["state"], "value");
    let none = json.iter().find(|r| r["code"] == "900102").unwrap();
    assert_eq!(
        (none["state"].as_str(), none["members"].is_null()),
        (Some("no_fund"), true)
    );
    let csv = String::from_utf8(
        crate::output::to_csv(&batch.schema(), std::slice::from_ref(&batch)).unwrap(),
    )
    .unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.contains("พื้นที่ 900101"));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("TH,country,ประเทศไทย,Thailand,value,6200,2024,940,15.16,"))
    );
}

#[tokio::test]
async fn timeseries_and_history() {
    let s = fixture();
    let ts = indicators::timeseries(
        &s,
        &AreaRef::Code(welfare_model::AreaCode::parse("50").unwrap()),
        None,
        Range {
            from: p("2024-12"),
            to: p(MARCH),
        },
        &[
            "members".into(),
            "funds_reported".into(),
            "coverage".into(),
            "contributions".into(),
        ],
    )
    .await
    .unwrap();
    let cells: Vec<_> = ts
        .rows
        .iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect();
    use crate::Value::{Int, Text};
    assert_eq!(
        cells[0],
        (Text(Some("2024-12".into())), Int(Some(310)), Int(Some(3)))
    );
    assert_eq!(
        cells[3],
        (Text(Some("2025-03".into())), Int(Some(300)), Int(Some(2)))
    );
    // December: 310 of 2,700; contributions 0 + 9,000 + 2,100.
    assert_eq!(ts.rows[0][3], crate::Value::Ratio(pct("11.48")));
    assert_eq!(ts.rows[0][4], crate::Value::Money(Some(baht("11100"))));
    let e = indicators::timeseries(
        &s,
        &AreaRef::Country,
        None,
        Range::month(p(MARCH)),
        &["bogus".into()],
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("bogus"));
    let h = indicators::fund_history(&s, "A").await.unwrap();
    assert_eq!(h.rows.len(), 13);
    let rev = h.column("revision").unwrap();
    assert_eq!(h.rows[12][rev], Int(Some(2)));
}

#[tokio::test]
async fn user_sql_is_read_only_and_capped() {
    let s = Snapshot::new(
        1,
        fixture_builder().build().unwrap(),
        SandboxLimits {
            max_rows: 10,
            ..SandboxLimits::default()
        },
    )
    .unwrap();
    let (_, batches, truncated) = s
        .user_query("SELECT fund_id, SUM(contrib_members) AS c FROM summaries GROUP BY fund_id ORDER BY fund_id")
        .await
        .unwrap();
    assert!(!truncated);
    let json = crate::output::batches_to_json_rows(&batches).unwrap();
    assert_eq!(json[0]["fund_id"], "A");
    assert_eq!(json[0]["c"], "39000.00"); // 13 months × 3,000, exact
    let (_, batches, truncated) = s.user_query("SELECT * FROM summaries").await.unwrap();
    assert!(truncated);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
    for bad in [
        "DROP TABLE funds",
        "INSERT INTO funds SELECT * FROM funds",
        "SELECT 1; SELECT 2",
    ] {
        let e = s.user_query(bad).await.unwrap_err();
        assert!(e.is_client_error(), "{bad}: {e}");
    }
    let e = s.user_query("SELECT nope FROM funds").await.unwrap_err();
    assert!(e.is_client_error() && e.to_string().contains("nope"), "{e}");
}

#[tokio::test]
async fn user_sql_stops_at_its_time_and_memory_limits() {
    let slow = Snapshot::new(
        1,
        fixture_builder().build().unwrap(),
        SandboxLimits {
            time_limit: std::time::Duration::from_millis(200),
            ..SandboxLimits::default()
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let e = slow
        .user_query("SELECT SUM(a.value * b.value) FROM generate_series(1, 100000) a CROSS JOIN generate_series(1, 100000) b")
        .await
        .unwrap_err();
    assert!(matches!(e, crate::QueryError::Timeout(200)), "{e}");
    assert!(e.is_client_error());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "stopped {:?} after it began",
        started.elapsed()
    );
    let small = Snapshot::new(
        1,
        fixture_builder().build().unwrap(),
        SandboxLimits {
            memory_bytes: 1024 * 1024,
            ..SandboxLimits::default()
        },
    )
    .unwrap();
    let e = small
        .user_query("SELECT value FROM generate_series(1, 5000000) ORDER BY value DESC")
        .await
        .map(|(_, b, t)| (b.len(), t))
        .unwrap_err();
    assert!(matches!(e, crate::QueryError::ResourcesExhausted(_)), "{e}");
}
