//! Fund kinds, closed funds and a provincial-level fund in the indicators. Every expected number was
//! worked out by hand from the rows below.
//!
//! | fund | kind | area | reports (members) |
//! |---|---|---|---|
//! | A | community welfare | tambon 500101 (1,000 people) | Jan–Mar 2025: 100 |
//! | B | elderly fund | tambon 500101 | Jan–Mar 2025: 40 |
//! | C | community welfare, closed 15 Mar 2025 | tambon 500102 (500 people) | Jan–Mar 2025: 50 (March's left out) |
//! | D | community welfare | tambon 520101 (800 people) | Jan–Mar 2025: 20 |
//! | L | provincial-level fund | province 52 | Jan–Mar 2025: 300 |

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use welfare_model::{AreaCode, AreaRef, FundId, Level, Summary};

use crate::fixture_tests::{area, p};
use crate::indicators::{self, AreaIndicators, AreaState};
use crate::sql::{Range, Rollup};
use crate::tables::{FundRow, SummaryRow, TablesBuilder};
use crate::{IndicatorQuery, Policy, RiskThresholds, SandboxLimits, Snapshot};

fn fund(id: &str, kind: &str, area: &str, closed: Option<&str>) -> FundRow {
    FundRow {
        fund_id: id.into(),
        name_th: format!("กองทุน {id}"),
        name_en: None,
        kind: kind.into(),
        area_code: area.into(),
        municipality: None,
        registered: Some(p("2024-01")),
        closed: closed.map(p),
    }
}

fn snapshot() -> Snapshot {
    let mut b = TablesBuilder::new(15);
    b.areas = vec![
        area("50", None),
        area("5001", Some("50")),
        area("500101", Some("5001")),
        area("500102", Some("5001")),
        area("52", None),
        area("5201", Some("52")),
        area("520101", Some("5201")),
    ];
    b.population = vec![
        ("500101".into(), 2024, 1_000),
        ("500102".into(), 2024, 500),
        ("520101".into(), 2024, 800),
    ];
    b.funds = vec![
        fund("A", "community_welfare", "500101", None),
        fund("B", "elderly_fund", "500101", None),
        // Closed on 15 March 2025: it counts no more from March.
        fund("C", "community_welfare", "500102", Some("2025-03")),
        fund("D", "community_welfare", "520101", None),
        fund("L", "provincial_fund", "52", None),
    ];
    b.networks = vec!["north-federation".into(), "empty".into()];
    // A network across two provinces: A in Chiang Mai, L in Lampang.
    b.network_funds = vec![
        ("north-federation".into(), "A".into()),
        ("north-federation".into(), "L".into()),
    ];
    b.policies = Policy::defaults();
    for (id, members) in [("A", 100), ("B", 40), ("C", 50), ("D", 20), ("L", 300)] {
        for m in p("2025-01").through(p("2025-03")) {
            let mut s = Summary::new(FundId::parse(id).unwrap(), m);
            s.members_total = Some(members);
            let next = m.next();
            s.reported_at = Some(
                Utc.with_ymd_and_hms(next.year(), next.month(), 5, 3, 0, 0)
                    .unwrap(),
            );
            b.summaries.push(SummaryRow {
                first_reported_at: s.reported_at,
                first_recorded_at: s.reported_at,
                summary: s,
                revision: 1,
            });
        }
    }
    Snapshot::new(1, b.build().unwrap(), SandboxLimits::default()).unwrap()
}

async fn rows(s: &Snapshot, rollup: Rollup, range: Range) -> Vec<AreaIndicators> {
    rows_of(s, rollup, range, None).await
}

async fn rows_of(
    s: &Snapshot,
    rollup: Rollup,
    range: Range,
    network: Option<&str>,
) -> Vec<AreaIndicators> {
    indicators::area_indicators(
        s,
        &IndicatorQuery {
            rollup,
            within: None,
            network: network.map(|n| welfare_model::NetworkId::parse(n).unwrap()),
            range,
            policy: Policy::defaults()[0].name.clone(),
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

fn range(from: &str, to: &str) -> Range {
    Range {
        from: p(from),
        to: p(to),
    }
}

#[tokio::test]
async fn welfare_funds_make_coverage_and_other_kinds_are_shown_beside() {
    let s = snapshot();
    let all = rows(&s, Rollup::All, range("2025-03", "2025-03")).await;
    assert!(all.iter().all(|r| !r.code.is_empty()));
    // One row per area and level: 3 tambons, 2 districts, 2 provinces, 1 region, the country.
    assert_eq!(
        all.len(),
        3 + 2 + 2 + 1 + 1,
        "{:?}",
        all.iter().map(|r| &r.code).collect::<Vec<_>>()
    );

    let t = find(&all, "500101");
    assert_eq!(
        (t.funds, t.members, t.other_funds, t.members_other_funds),
        (1, Some(100), 1, Some(40))
    );
    assert_eq!(t.coverage, Some(Decimal::new(1000, 2)));
    // C closed in March: in March the tambon has no fund.
    let closed = find(&all, "500102");
    assert_eq!(
        (closed.funds, closed.members, closed.state),
        (0, None, AreaState::NoFund)
    );
    assert_eq!(closed.expected_reports, 0);

    let chiang_mai = find(&all, "50");
    assert_eq!(
        (chiang_mai.funds, chiang_mai.members, chiang_mai.population),
        (1, Some(100), 1_500)
    );
    assert_eq!(chiang_mai.coverage, Some(Decimal::new(667, 2)));
    assert_eq!(
        (chiang_mai.other_funds, chiang_mai.members_other_funds),
        (1, Some(40))
    );
    assert_eq!((chiang_mai.tambons, chiang_mai.tambons_with_fund), (2, 1));

    // Lampang's provincial-level fund counts in the province, not in its district or tambon.
    let lampang = find(&all, "52");
    assert_eq!(
        (lampang.funds, lampang.members, lampang.population),
        (2, Some(320), 800)
    );
    assert_eq!(lampang.coverage, Some(Decimal::new(4000, 2)));
    assert_eq!((lampang.tambons, lampang.tambons_with_fund), (1, 1));
    assert_eq!((lampang.expected_reports, lampang.reports), (2, 2));
    let district = find(&all, "5201");
    assert_eq!((district.funds, district.members), (1, Some(20)));
    assert_eq!(find(&all, "520101").members, Some(20));

    let country = find(&all, "TH");
    assert_eq!(
        (country.funds, country.members, country.population),
        (3, Some(420), 2_300)
    );
    assert_eq!(
        (
            country.other_funds,
            country.members_other_funds,
            country.tambons
        ),
        (1, Some(40), 3)
    );
    assert_eq!(country.level, Level::Country);

    // The same figures asked one level at a time.
    let provinces = rows(
        &s,
        Rollup::Level(Level::Province),
        range("2025-03", "2025-03"),
    )
    .await;
    assert_eq!(find(&provinces, "52").members, Some(320));
    assert_eq!(provinces.len(), 2);
    let tambons = rows(
        &s,
        Rollup::Level(Level::Subdistrict),
        range("2025-03", "2025-03"),
    )
    .await;
    assert_eq!(tambons.len(), 3);
}

#[tokio::test]
async fn a_closed_fund_counts_only_the_months_it_was_open() {
    let s = snapshot();
    // Over January–March, C was open in January and February: expected twice, reported twice, and
    // no members at the range's end.
    let q = rows(
        &s,
        Rollup::Level(Level::Subdistrict),
        range("2025-01", "2025-03"),
    )
    .await;
    let c = find(&q, "500102");
    assert_eq!(
        (c.funds, c.funds_reported, c.expected_reports, c.reports),
        (1, 1, 2, 2)
    );
    assert_eq!(c.members, None);
    // In February it still counts in full.
    let feb = rows(
        &s,
        Rollup::Level(Level::Subdistrict),
        range("2025-02", "2025-02"),
    )
    .await;
    assert_eq!(find(&feb, "500102").members, Some(50));

    // Month by month in Chiang Mai: C's members and expected report stop in March; the elderly fund
    // is in neither.
    let ts = indicators::timeseries(
        &s,
        &AreaRef::Code(AreaCode::parse("50").unwrap()),
        None,
        range("2025-01", "2025-03"),
        &[
            "members".into(),
            "funds_expected".into(),
            "funds_reported".into(),
        ],
    )
    .await
    .unwrap();
    let cells: Vec<String> = ts.rows.iter().map(|r| format!("{:?}", &r[1..])).collect();
    assert_eq!(
        cells,
        [
            "[Int(Some(150)), Int(Some(2)), Int(Some(2))]",
            "[Int(Some(150)), Int(Some(2)), Int(Some(2))]",
            "[Int(Some(100)), Int(Some(1)), Int(Some(1))]",
        ]
    );
    let lampang = indicators::timeseries(
        &s,
        &AreaRef::Code(AreaCode::parse("52").unwrap()),
        None,
        range("2025-03", "2025-03"),
        &["members".into(), "funds_expected".into()],
    )
    .await
    .unwrap();
    assert_eq!(
        format!("{:?}", &lampang.rows[0][1..]),
        "[Int(Some(320)), Int(Some(2))]"
    );

    // The fund listing: C is gone in March; L is listed in Lampang with its province and no tambon.
    let chiang_mai = indicators::fund_risks(
        &s,
        Some(&AreaRef::Code(AreaCode::parse("50").unwrap())),
        None,
        p("2025-03"),
        &RiskThresholds::default(),
    )
    .await
    .unwrap();
    let ids: Vec<&str> = chiang_mai.iter().map(|f| f.fund_id.as_str()).collect();
    assert_eq!(ids, ["A", "B"]);
    let lampang = indicators::fund_risks(
        &s,
        Some(&AreaRef::Code(AreaCode::parse("52").unwrap())),
        None,
        p("2025-03"),
        &RiskThresholds::default(),
    )
    .await
    .unwrap();
    let l = lampang.iter().find(|f| f.fund_id == "L").unwrap();
    assert_eq!(
        (l.tambon_code.as_deref(), l.province_code.as_str()),
        (None, "52")
    );
    assert_eq!(lampang.len(), 2);
    // And the risk counts of the province include it.
    let all = rows(
        &s,
        Rollup::Level(Level::Province),
        range("2025-03", "2025-03"),
    )
    .await;
    let flags = &find(&all, "52").risk;
    assert_eq!(flags.low + flags.watch + flags.high, 2);
}

#[tokio::test]
async fn a_network_row_adds_up_exactly_to_its_funds_at_every_level() {
    let s = snapshot();
    let march = range("2025-03", "2025-03");
    let all = rows_of(&s, Rollup::All, march, Some("north-federation")).await;
    // Worked by hand: the network's funds are A (tambon 500101, 100 members) and L (province 52, 300).
    let members: Vec<(String, Option<i64>, i64)> = all
        .iter()
        .map(|r| (r.code.clone(), r.members, r.funds))
        .collect();
    assert_eq!(
        members,
        [
            ("50".to_string(), Some(100), 1),
            ("5001".to_string(), Some(100), 1),
            ("500101".to_string(), Some(100), 1),
            ("500102".to_string(), None, 0),
            ("52".to_string(), Some(300), 1),
            ("5201".to_string(), None, 0),
            ("520101".to_string(), None, 0),
            ("TH".to_string(), Some(400), 2),
            ("north".to_string(), Some(400), 2),
        ]
    );
    // The population stays the area's: coverage is the network's members over everyone there.
    let lampang = find(&all, "52");
    assert_eq!(
        (lampang.population, lampang.coverage),
        (800, Some(Decimal::new(3750, 2)))
    );
    // Other kinds are counted beside only when they are the network's: B is not.
    assert_eq!(find(&all, "500101").other_funds, 0);
    // Each row equals the sum of the network's funds within it, by the fund listing.
    let funds = indicators::fund_risks(
        &s,
        None,
        Some(&welfare_model::NetworkId::parse("north-federation").unwrap()),
        p("2025-03"),
        &RiskThresholds::default(),
    )
    .await
    .unwrap();
    let mut ids: Vec<&str> = funds.iter().map(|f| f.fund_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["A", "L"]);
    for row in &all {
        let within: i64 = funds
            .iter()
            .filter(|f| {
                let area = f.tambon_code.as_deref().unwrap_or(&f.province_code);
                row.code == "TH" || row.code == "north" || area.starts_with(&row.code)
            })
            .filter_map(|f| f.members)
            .sum();
        assert_eq!(row.members.unwrap_or(0), within, "{}", row.code);
    }
    // A network with no funds has no members anywhere; the time series follows the network too.
    let empty = rows_of(&s, Rollup::Level(Level::Country), march, Some("empty")).await;
    assert_eq!((empty[0].funds, empty[0].members), (0, None));
    let ts = indicators::timeseries(
        &s,
        &AreaRef::Country,
        Some(&welfare_model::NetworkId::parse("north-federation").unwrap()),
        march,
        &["members".into(), "funds_expected".into()],
    )
    .await
    .unwrap();
    assert_eq!(
        format!("{:?}", &ts.rows[0][1..]),
        "[Int(Some(400)), Int(Some(2))]"
    );
}
