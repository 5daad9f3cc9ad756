//! Property: at every level, an area's figures are the sums of its children's (country = regions,
//! region = its provinces, province = its districts, district = its tambons), and a level asked
//! alone equals the same level inside the five-level rollup. Random geography, funds, gaps in
//! reporting, revisions and money.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use welfare_model::{AreaCode, FundId, Level, Money, Period, Region, Summary};

use crate::indicators::{self, AreaIndicators};
use crate::sql::{Range, Rollup};
use crate::tables::{AreaRow, FundRow, SummaryRow, TablesBuilder};
use crate::{IndicatorQuery, Policy, RiskThresholds, SandboxLimits, Snapshot};

/// One tambon: (people, funds: list of (months registered before the end, reports as a bitmask
/// over 14 months, members, contribution satang)).
type TambonPlan = (i64, Vec<(i32, u16, i64, i64)>);

fn plan() -> impl Strategy<Value = Vec<Vec<Vec<TambonPlan>>>> {
    let fund = (0i32..40, any::<u16>(), 0i64..5_000, 0i64..10_000_000);
    let tambon = (0i64..20_000, prop::collection::vec(fund, 0..3));
    let district = prop::collection::vec(tambon, 1..4);
    let province = prop::collection::vec(district, 1..3);
    prop::collection::vec(province, 1..4)
}

/// Provinces from different regions, so region rows have several children.
const PROVINCES: [&str; 3] = ["10", "50", "90"];

fn build(plan: &[Vec<Vec<TambonPlan>>]) -> Snapshot {
    let end = Period::new(2025, 6).unwrap();
    let mut b = TablesBuilder::new(15);
    b.policies = Policy::defaults();
    for (pi, districts) in plan.iter().enumerate() {
        let province = PROVINCES[pi];
        b.areas.push(area(province, None));
        for (di, tambons) in districts.iter().enumerate() {
            let district = format!("{province}{:02}", di + 1);
            b.areas.push(area(&district, Some(province)));
            for (ti, (people, funds)) in tambons.iter().enumerate() {
                let tambon = format!("{district}{:02}", ti + 1);
                b.areas.push(area(&tambon, Some(&district)));
                b.population.push((tambon.clone(), 2024, *people));
                for (fi, (age, reports, members, satang)) in funds.iter().enumerate() {
                    let id = format!("F{tambon}-{fi}");
                    b.funds.push(FundRow {
                        fund_id: id.clone(),
                        name_th: id.clone(),
                        name_en: None,
                        kind: "community_welfare".into(),
                        area_code: tambon.clone(),
                        municipality: None,
                        registered: Some(end.add_months(-age)),
                        closed: None,
                    });
                    for m in 0..14 {
                        if reports & (1 << m) == 0 {
                            continue;
                        }
                        let period = end.add_months(-13 + m);
                        let mut s = Summary::new(FundId::parse(&id).unwrap(), period);
                        s.members_total = Some(members + i64::from(m));
                        s.members_joined = Some(1);
                        s.members_left = Some(0);
                        s.contrib_members = Some(Money::from_satang(*satang));
                        s.grant_state = Some(Money::from_satang(satang / 3));
                        s.benefits_sickness = Some(Money::from_satang(satang / 2));
                        s.fund_balance = Some(Money::from_satang(satang * 7));
                        let next = period.next();
                        // Some late (day 20), some on time.
                        let day = if (m + fi as i32) % 3 == 0 { 20 } else { 3 };
                        s.reported_at = Some(
                            Utc.with_ymd_and_hms(next.year(), next.month(), day, 0, 0, 0)
                                .unwrap(),
                        );
                        b.summaries.push(SummaryRow {
                            first_reported_at: s.reported_at,
                            first_recorded_at: s.reported_at,
                            summary: s,
                            revision: 1 + i64::from(m % 2),
                        });
                    }
                }
            }
        }
    }
    Snapshot::new(1, b.build().unwrap(), SandboxLimits::default()).unwrap()
}

fn area(code: &str, parent: Option<&str>) -> AreaRow {
    AreaRow {
        code: code.into(),
        parent_code: parent.map(Into::into),
        name_th: code.into(),
        name_en: code.into(),
    }
}

/// The code of an area's parent in the five-level tree.
fn parent(row: &AreaIndicators) -> Option<String> {
    match row.level {
        Level::Country => None,
        Level::Region => Some("TH".into()),
        Level::Province => Some(Region::of_province(&row.code).code().into()),
        _ => AreaCode::parse(&row.code)
            .ok()?
            .parent()
            .map(|c| c.to_string()),
    }
}

/// The additive figures of a row; `members` is `None` only where no child has a value.
fn sums(r: &AreaIndicators) -> Vec<i128> {
    let m = &r.matching;
    vec![
        i128::from(r.population),
        i128::from(r.tambons),
        i128::from(r.tambons_with_fund),
        i128::from(r.funds),
        i128::from(r.funds_reported),
        i128::from(r.members.unwrap_or(0)),
        i128::from(r.growth_12m.unwrap_or(0)),
        i128::from(r.expected_reports),
        i128::from(r.reports),
        i128::from(r.reports_on_time),
        i128::from(m.eligible_funds),
        m.due_state.to_i128(),
        m.due_local.to_i128(),
        m.received_state.to_i128(),
        m.shortfall_state.to_i128(),
        m.shortfall_local.to_i128(),
        m.universal_state.to_i128(),
        m.universal_local.to_i128(),
        i128::from(r.risk.low),
        i128::from(r.risk.watch),
        i128::from(r.risk.high),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn every_level_is_the_sum_of_its_children(plan in plan(), months in 1i32..13, policy in 0usize..2) {
        let snapshot = build(&plan);
        let policy = Policy::defaults()[policy].name.clone();
        let to = Period::new(2025, 6).unwrap();
        let range = Range { from: to.add_months(1 - months), to };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ask = |rollup| {
            let query = IndicatorQuery { rollup, within: None, network: None, range, policy: policy.clone() };
            runtime.block_on(indicators::area_indicators(&snapshot, &query, &RiskThresholds::default())).unwrap()
        };
        let all = ask(Rollup::All);
        let mut children: HashMap<String, Vec<i128>> = HashMap::new();
        let mut has_value: HashMap<String, bool> = HashMap::new();
        for r in &all {
            if let Some(p) = parent(r) {
                let entry = children.entry(p.clone()).or_insert_with(|| vec![0; sums(r).len()]);
                for (acc, v) in entry.iter_mut().zip(sums(r)) {
                    *acc += v;
                }
                *has_value.entry(p).or_default() |= r.members.is_some();
            }
        }
        for r in &all {
            if r.level == Level::Subdistrict {
                continue;
            }
            prop_assert_eq!(&sums(r), &children[&r.code], "{} {:?}", r.code, r.level);
            prop_assert_eq!(r.members.is_some(), has_value[&r.code], "{}", r.code);
        }
        for level in Level::ALL {
            let alone = ask(Rollup::Level(level));
            let inside: Vec<&AreaIndicators> = all.iter().filter(|r| r.level == level).collect();
            prop_assert_eq!(alone.iter().collect::<Vec<_>>(), inside, "{:?}", level);
        }
    }
}
