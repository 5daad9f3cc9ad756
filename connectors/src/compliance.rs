//! The compliance test every connector kind passes: the same fixtures and the same expectations for
//! good rows, bad rows, an empty source, an unreachable source and resuming from a cursor.
//!
//! A kind's tests implement [`Fixture`] (how to put rows into its kind of source, for real: a file on
//! disk, an HTTP server on loopback, a database) and call [`check`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use welfare_model::{FundId, Money, Period, Summary};

use crate::batch::from_batch;
use crate::config::SourceConfig;
use crate::source::{Connector, Pull};

/// How a kind's source is made to hold given rows.
#[async_trait]
pub trait Fixture: Send {
    /// A source holding `good` (written the way this kind's sources write them) and `bad` further
    /// rows that cannot be read (a count that is not a number, a month that does not exist, …).
    async fn source(&mut self, good: &[Summary], bad: usize) -> SourceConfig;
    /// Adds `rows` to the source made last, as a fund system does when new months are reported.
    async fn append(&mut self, rows: &[Summary]);
    /// A source that holds nothing.
    async fn empty(&mut self) -> SourceConfig;
    /// A source that cannot be reached (nothing listening, no such file).
    async fn unreachable(&mut self) -> SourceConfig;
    /// The name of a field the sources made by [`Fixture::source`] carry that feeds no canonical
    /// field (a remarks column), when this kind's fixture writes one: the pull must report it.
    fn unrecognised_heading(&self) -> Option<&'static str> {
        None
    }
}

/// The connector id every compliance source is built with; rows carry `connector:compliance`.
pub const ID: &str = "compliance";

fn money(text: &str) -> Option<Money> {
    Some(Money::parse(text).expect("fixture amount"))
}

/// The fixture rows: three funds, three months each, with satang, zeros and unreported fields, big
/// amounts and Thai-era-sensitive months (October, the start of the fiscal year).
pub fn sample_rows() -> Vec<Summary> {
    let mut rows = Vec::new();
    for (f, fund) in ["F100101", "F500101", "F900101M"].iter().enumerate() {
        for (m, period) in ["2025-09", "2025-10", "2025-11"].iter().enumerate() {
            let mut s = Summary::new(FundId::parse(fund).unwrap(), Period::parse(period).unwrap());
            let members = 1_000 + 100 * f as i64 + 7 * m as i64;
            s.members_total = Some(members);
            s.members_children = Some(100);
            s.members_working = Some(members - 400);
            s.members_elderly = Some(300);
            s.members_joined = Some(9 + m as i64);
            s.members_left = Some(2);
            s.contrib_members = money(&format!("{}.{:02}", 30_416 + m * 10, 67 - m));
            s.grant_state = if m == 1 {
                money("15000.50")
            } else {
                money("0")
            };
            // Reported by one fund only (zero elsewhere): a sheet with the column has every cell.
            s.grant_local = if f == 1 { money("2500.00") } else { money("0") };
            s.income_other = money("12.34");
            s.benefits_birth = money("1000.00");
            s.benefits_sickness = money("2400.00");
            s.benefits_death = if m == 2 {
                money("10000.00")
            } else {
                money("0")
            };
            s.benefits_elderly = money("3000.00");
            s.benefits_education = None;
            s.beneficiaries = Some(17 + m as i64);
            s.services_noncash = Some(4);
            s.admin_costs = money("1520.83");
            s.fund_balance = money(&format!(
                "{}.{:02}",
                1_234_567 + 10_000 * m + 100_000 * f,
                89 - m
            ));
            s.reported_at = Some(
                Utc.with_ymd_and_hms(2025, 10 + m as u32 % 3, 10, 2 + f as u32, 30, 0)
                    .unwrap(),
            );
            s.source = Some(format!("connector:{ID}"));
            rows.push(s);
        }
    }
    rows
}

/// Rows reported later, for cursor resume: a new month for two funds.
pub fn later_rows() -> Vec<Summary> {
    sample_rows()
        .into_iter()
        .filter(|s| s.period.to_string() == "2025-11" && s.fund_id.as_str() != "F900101M")
        .map(|mut s| {
            s.period = Period::parse("2025-12").unwrap();
            s.members_total = s.members_total.map(|m| m + 11);
            s.members_working = s.members_working.map(|m| m + 11);
            s.reported_at = Some(Utc.with_ymd_and_hms(2026, 1, 12, 3, 0, 0).unwrap());
            s
        })
        .collect()
}

fn rows_of(pull: &Pull) -> BTreeMap<(String, String), Summary> {
    let mut out = BTreeMap::new();
    for b in &pull.batches {
        assert_eq!(b.rows.num_rows(), b.locations.len(), "one location per row");
        assert!(
            b.locations.iter().all(|l| !l.is_empty()),
            "every row has a location"
        );
        for s in from_batch(&b.rows).expect("canonical batch") {
            let key = (s.fund_id.to_string(), s.period.to_string());
            assert!(
                out.insert(key.clone(), s).is_none(),
                "row {key:?} delivered twice"
            );
        }
    }
    out
}

fn keyed(rows: &[Summary]) -> BTreeMap<(String, String), Summary> {
    rows.iter()
        .map(|s| ((s.fund_id.to_string(), s.period.to_string()), s.clone()))
        .collect()
}

async fn build(config: &SourceConfig) -> std::sync::Arc<dyn Connector> {
    config
        .build(ID)
        .expect("the fixture's configuration builds")
}

/// Runs every expectation against a kind's fixture. Panics, naming the expectation, on failure.
pub async fn check<F: Fixture>(fixture: &mut F) {
    // Good and bad rows: every good row exactly, every bad row rejected with where and why.
    let good = sample_rows();
    let config = fixture.source(&good, 2).await;
    let connector = build(&config).await;
    connector
        .check()
        .await
        .expect("check() passes on a readable source");
    let pull = connector
        .pull(None)
        .await
        .expect("pull of good and bad rows");
    let got = rows_of(&pull);
    let want = keyed(&good);
    for (key, row) in &want {
        assert_eq!(
            got.get(key),
            Some(row),
            "good row {key:?} comes through exactly"
        );
    }
    assert_eq!(got.len(), want.len(), "no rows beyond the good ones");
    assert_eq!(
        pull.rejected.len(),
        2,
        "both bad rows rejected: {:?}",
        pull.rejected
    );
    for r in &pull.rejected {
        assert!(
            !r.location.is_empty() && !r.reason.is_empty(),
            "rejection says where and why: {r:?}"
        );
    }
    if let Some(heading) = fixture.unrecognised_heading() {
        let reported: Vec<&str> = pull
            .unrecognised
            .iter()
            .map(|u| u.heading.as_str())
            .collect();
        assert_eq!(
            reported,
            [heading],
            "the field that feeds nothing is reported, once"
        );
        assert!(
            !pull.unrecognised[0].location.is_empty(),
            "an unrecognised field says where it is"
        );
    }
    let first_cursor = pull.cursor.clone().expect("a pull returns a cursor");

    // Resume: nothing new since the cursor, then new rows, then nothing again.
    let again = connector
        .pull(Some(&first_cursor))
        .await
        .expect("pull from the cursor");
    assert_eq!(again.row_count(), 0, "nothing is new since the cursor");
    let later = later_rows();
    fixture.append(&later).await;
    let resumed = connector
        .pull(Some(&first_cursor))
        .await
        .expect("pull after new rows");
    let got = rows_of(&resumed);
    for (key, row) in keyed(&later) {
        assert_eq!(
            got.get(&key),
            Some(&row),
            "new row {key:?} comes through after the cursor"
        );
    }
    let second_cursor = resumed.cursor.clone().expect("a cursor after resuming");
    let last = connector
        .pull(Some(&second_cursor))
        .await
        .expect("pull from the second cursor");
    assert_eq!(
        last.row_count(),
        0,
        "nothing is new since the second cursor"
    );

    // Empty source: no rows, no rejections, no error.
    let empty = build(&fixture.empty().await).await;
    let pull = empty
        .pull(None)
        .await
        .expect("an empty source is not an error");
    assert_eq!(
        (pull.row_count(), pull.rejected.len()),
        (0, 0),
        "empty source"
    );

    // Unreachable source: an error worth retrying, from check() and pull() alike.
    let gone = build(&fixture.unreachable().await).await;
    let err = gone
        .check()
        .await
        .expect_err("check() fails on an unreachable source");
    assert!(err.is_transient(), "unreachable is transient: {err}");
    let err = gone
        .pull(None)
        .await
        .expect_err("pull() fails on an unreachable source");
    assert!(err.is_transient(), "unreachable is transient: {err}");
}
