//! Reading the store whole for an analytics snapshot: areas, population, funds, the current summary
//! revisions, and when each fund-month was first reported.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::Row;
use welfare_model::Period;
use welfare_queries::{AreaRow, FundRow, SummaryRow, TablesBuilder};

use super::summaries::{SUMMARY_COLUMNS, decode};
use super::{Store, StoreError, parse_timestamp};
use crate::store::rows::trusted;

type FirstSeen = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

fn min_time(
    a: Option<chrono::DateTime<chrono::Utc>>,
    b: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Store {
    /// Everything a snapshot is built from, read in one pass per table. Policies are not in the
    /// store; the caller adds them.
    pub async fn analytics_rows(&self, deadline_day: u32) -> Result<TablesBuilder, StoreError> {
        let mut b = TablesBuilder::new(deadline_day);
        let pool = self.pool();
        let rows =
            sqlx::query("SELECT code, parent_code, name_th, name_en FROM areas ORDER BY code")
                .fetch_all(pool)
                .await?;
        for r in rows {
            b.areas.push(AreaRow {
                code: r.try_get(0)?,
                parent_code: r.try_get(1)?,
                name_th: r.try_get(2)?,
                name_en: r.try_get(3)?,
            });
        }
        let rows = sqlx::query(
            "SELECT code, year, pop_total FROM area_population \
             WHERE code_current = 1 AND pop_total IS NOT NULL",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            let year: i64 = r.try_get(1)?;
            b.population.push((
                r.try_get(0)?,
                i32::try_from(year).map_err(|_| StoreError::Corrupt(format!("year {year}")))?,
                r.try_get(2)?,
            ));
        }
        let rows = sqlx::query(
            "SELECT id, name_th, name_en, kind, area_code, municipality, registered_on, closed_on \
             FROM funds ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        for r in rows {
            let month = |i: usize, what: &str| -> Result<Option<Period>, StoreError> {
                r.try_get::<Option<String>, _>(i)?
                    .as_deref()
                    .map(|d| {
                        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .map(Period::of_date)
                            .map_err(|e| StoreError::Corrupt(format!("{what} {d}: {e}")))
                    })
                    .transpose()
            };
            let registered = month(6, "registered_on")?;
            let closed = month(7, "closed_on")?;
            b.funds.push(FundRow {
                fund_id: r.try_get(0)?,
                name_th: r.try_get(1)?,
                name_en: r.try_get(2)?,
                kind: r.try_get(3)?,
                area_code: r.try_get(4)?,
                municipality: r.try_get(5)?,
                registered,
                closed,
            });
        }
        b.networks = self
            .networks()
            .await?
            .into_iter()
            .map(|n| n.id.to_string())
            .collect();
        b.network_funds = self.network_memberships().await?;
        b.assessments = self
            .assessments()
            .await?
            .into_values()
            .map(|a| welfare_queries::governance::AssessmentRow {
                fund_id: a.fund_id.to_string(),
                assessed_on: a.assessed_on,
                form_version: a.form_version,
                overall_level: a.overall_level,
            })
            .collect();
        // The earliest sending of each revised fund-month decides whether it came on time.
        let mut first: HashMap<(String, String), FirstSeen> = HashMap::new();
        let mut stream =
            sqlx::query("SELECT fund_id, period, reported_at, recorded_at FROM summary_revisions")
                .fetch(pool);
        while let Some(r) = stream.try_next().await? {
            let reported = r
                .try_get::<Option<String>, _>(2)?
                .map(|t| parse_timestamp(&t))
                .transpose()?;
            let recorded = Some(parse_timestamp(&r.try_get::<String, _>(3)?)?);
            let slot = first
                .entry((r.try_get(0)?, r.try_get(1)?))
                .or_insert((None, None));
            slot.0 = min_time(slot.0, reported);
            slot.1 = min_time(slot.1, recorded);
        }
        drop(stream);
        let select = format!(
            "SELECT {} FROM summaries ORDER BY fund_id, period",
            SUMMARY_COLUMNS.join(", ")
        );
        let recorded_at = SUMMARY_COLUMNS.len() - 1;
        let mut stream = sqlx::query(trusted(&select)).fetch(pool);
        while let Some(r) = stream.try_next().await? {
            let (revision, summary) = decode(&r)?;
            let recorded = Some(parse_timestamp(&r.try_get::<String, _>(recorded_at)?)?);
            let (first_reported, first_recorded) = first
                .get(&(summary.fund_id.to_string(), summary.period.to_string()))
                .copied()
                .unwrap_or((None, None));
            b.summaries.push(SummaryRow {
                first_reported_at: min_time(first_reported, summary.reported_at),
                first_recorded_at: min_time(first_recorded, recorded),
                summary,
                revision,
            });
        }
        Ok(b)
    }
}
