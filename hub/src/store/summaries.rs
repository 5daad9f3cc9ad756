//! Summaries with revisions: upsert by (fund, period); an identical re-delivery changes nothing; a
//! changed value moves the stored row to `summary_revisions` and becomes the next revision.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use welfare_model::summary::{MEASURES, MeasureValue};
use welfare_model::{FundId, Money, Period, Summary};

use super::rows::{SqlValue, bind_all, insert_rows, placeholders, trusted};
use super::{Backend, Store, StoreError, now_text, parse_timestamp, timestamp_text};

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertOutcome {
    /// New (fund, period) rows.
    pub inserted: u64,
    /// Rows whose values changed: the old values are kept as a revision.
    pub revised: u64,
    /// Rows equal to what is stored.
    pub unchanged: u64,
}

/// The store column of each measure: counts by name, money as `<name>_satang`.
static MEASURE_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    MEASURES
        .iter()
        .map(|m| {
            if m.unit.is_money() {
                format!("{}_satang", m.name)
            } else {
                m.name.to_string()
            }
        })
        .collect()
});

/// All columns of `summaries`, in order: key, revision, measures, provenance, bookkeeping.
pub(super) static SUMMARY_COLUMNS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut c = vec!["fund_id".to_string(), "period".into(), "revision".into()];
    c.extend(MEASURE_COLUMNS.iter().cloned());
    c.extend(["reported_at", "source", "run_id", "recorded_at"].map(String::from));
    c
});

fn measure_values(s: &Summary) -> impl Iterator<Item = SqlValue> + '_ {
    (0..MEASURES.len()).map(|i| match s.measure(i) {
        MeasureValue::Count(v) => SqlValue::Int(v),
        MeasureValue::Money(v) => SqlValue::Int(v.map(Money::satang)),
    })
}

fn summary_row(s: &Summary, revision: i64, run_id: Option<i64>, now: &str) -> Vec<SqlValue> {
    let mut row = vec![
        SqlValue::text(s.fund_id.as_str()),
        SqlValue::text(s.period.to_string()),
        SqlValue::int(revision),
    ];
    row.extend(measure_values(s));
    row.push(SqlValue::opt_text(s.reported_at.map(timestamp_text)));
    row.push(SqlValue::opt_text(s.source.clone()));
    row.push(SqlValue::Int(run_id));
    row.push(SqlValue::text(now));
    row
}

/// Reads a row selected with [`SUMMARY_COLUMNS`] back into a summary and its revision.
pub(super) fn decode(row: &AnyRow) -> Result<(i64, Summary), StoreError> {
    let fund: String = row.try_get(0)?;
    let period: String = row.try_get(1)?;
    let fund_id = FundId::parse(&fund).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let period = Period::parse(&period).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let revision: i64 = row.try_get(2)?;
    let mut s = Summary::new(fund_id, period);
    for (i, m) in MEASURES.iter().enumerate() {
        let v: Option<i64> = row.try_get(3 + i)?;
        let value = if m.unit.is_money() {
            MeasureValue::Money(v.map(Money::from_satang))
        } else {
            MeasureValue::Count(v)
        };
        s.set_measure(i, value).map_err(StoreError::Corrupt)?;
    }
    let base = 3 + MEASURES.len();
    s.reported_at = row
        .try_get::<Option<String>, _>(base)?
        .map(|t| parse_timestamp(&t))
        .transpose()?;
    s.source = row.try_get(base + 1)?;
    Ok((revision, s))
}

/// True when the figures differ (provenance alone is not a revision).
fn figures_differ(a: &Summary, b: &Summary) -> bool {
    (0..MEASURES.len()).any(|i| a.measure(i) != b.measure(i))
}

/// Upserts `rows` on an open connection or transaction; the caller commits. Rows for the same
/// (fund, period) twice in one call are refused: which one is right cannot be guessed.
pub(crate) async fn upsert_summaries_in(
    conn: &mut AnyConnection,
    backend: Backend,
    run_id: Option<i64>,
    rows: &[Summary],
) -> Result<UpsertOutcome, StoreError> {
    let mut keys = HashSet::with_capacity(rows.len());
    for s in rows {
        if !keys.insert((&s.fund_id, s.period)) {
            return Err(StoreError::Invalid(format!(
                "fund {} period {} appears twice in one delivery",
                s.fund_id, s.period
            )));
        }
    }
    let now = now_text();
    let mut outcome = UpsertOutcome::default();
    let columns: Vec<&str> = SUMMARY_COLUMNS.iter().map(String::as_str).collect();
    let select = format!("SELECT {} FROM summaries", columns.join(", "));
    let revision_columns = columns.join(", ");
    let update_set: String = MEASURE_COLUMNS
        .iter()
        .chain(
            ["reported_at", "source", "run_id", "recorded_at"]
                .map(String::from)
                .iter(),
        )
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let n_set = MEASURE_COLUMNS.len() + 4;
    let archive_sql = format!(
        "INSERT INTO summary_revisions ({revision_columns}, superseded_at, superseded_by_run) \
         SELECT {revision_columns}, $3, $4 FROM summaries WHERE fund_id = $1 AND period = $2"
    );

    for chunk in rows.chunks(500) {
        // Stored rows for these funds and periods: a superset of the keys, narrowed in Rust.
        let funds: Vec<&str> = chunk
            .iter()
            .map(|s| s.fund_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let periods: Vec<String> = chunk
            .iter()
            .map(|s| s.period.to_string())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let sql = format!(
            "{select} WHERE fund_id IN {} AND period IN {}",
            placeholders(backend, 1, funds.len()),
            placeholders(backend, funds.len() + 1, periods.len())
        );
        let args: Vec<SqlValue> = funds
            .iter()
            .map(|f| SqlValue::text(*f))
            .chain(periods.iter().map(|p| SqlValue::text(p.as_str())))
            .collect();
        let stored: HashMap<(String, String), (i64, Summary)> =
            bind_all(sqlx::query(trusted(&sql)), &args)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| {
                    decode(r)
                        .map(|(rev, s)| ((s.fund_id.to_string(), s.period.to_string()), (rev, s)))
                })
                .collect::<Result<_, StoreError>>()?;

        let mut new_rows = Vec::new();
        for s in chunk {
            match stored.get(&(s.fund_id.to_string(), s.period.to_string())) {
                None => new_rows.push(summary_row(s, 1, run_id, &now)),
                Some((_, old)) if !figures_differ(old, s) => outcome.unchanged += 1,
                Some((revision, _)) => {
                    // Keep the old values, then overwrite the current row as the next revision.
                    sqlx::query(trusted(&archive_sql))
                        .bind(s.fund_id.as_str())
                        .bind(s.period.to_string())
                        .bind(now.as_str())
                        .bind(run_id)
                        .execute(&mut *conn)
                        .await?;
                    let mut values: Vec<SqlValue> =
                        summary_row(s, revision + 1, run_id, &now).split_off(3);
                    values.push(SqlValue::int(revision + 1));
                    values.push(SqlValue::text(s.fund_id.as_str()));
                    values.push(SqlValue::text(s.period.to_string()));
                    let sql = format!(
                        "UPDATE summaries SET {update_set}, revision = ${} WHERE fund_id = ${} AND period = ${}",
                        n_set + 1,
                        n_set + 2,
                        n_set + 3
                    );
                    bind_all(sqlx::query(trusted(&sql)), &values)
                        .execute(&mut *conn)
                        .await?;
                    outcome.revised += 1;
                }
            }
        }
        outcome.inserted +=
            insert_rows(conn, backend, "summaries", &columns, &new_rows, "").await?;
    }
    Ok(outcome)
}

impl Store {
    /// Upserts summaries in one transaction: all of them or none.
    pub async fn upsert_summaries(
        &self,
        run_id: Option<i64>,
        rows: &[Summary],
    ) -> Result<UpsertOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let outcome = upsert_summaries_in(&mut tx, self.backend, run_id, rows).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// The current figures of one fund and month, with their revision number.
    pub async fn summary(
        &self,
        fund: &FundId,
        period: Period,
    ) -> Result<Option<(i64, Summary)>, StoreError> {
        let sql = format!(
            "SELECT {} FROM summaries WHERE fund_id = $1 AND period = $2",
            SUMMARY_COLUMNS.join(", ")
        );
        let row = sqlx::query(trusted(&sql))
            .bind(fund.as_str())
            .bind(period.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Superseded revisions of one fund and month, oldest first.
    pub async fn summary_revisions(
        &self,
        fund: &FundId,
        period: Period,
    ) -> Result<Vec<(i64, Summary)>, StoreError> {
        let sql = format!(
            "SELECT {} FROM summary_revisions WHERE fund_id = $1 AND period = $2 ORDER BY revision",
            SUMMARY_COLUMNS.join(", ")
        );
        let rows = sqlx::query(trusted(&sql))
            .bind(fund.as_str())
            .bind(period.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Number of current summary rows.
    pub async fn count_summaries(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM summaries")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// The latest period any fund reported.
    pub async fn latest_period(&self) -> Result<Option<Period>, StoreError> {
        let row = sqlx::query("SELECT MAX(period) FROM summaries")
            .fetch_one(&self.pool)
            .await?;
        row.try_get::<Option<String>, _>(0)?
            .map(|p| Period::parse(&p).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
}
