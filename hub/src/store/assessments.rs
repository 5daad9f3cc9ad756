//! Governance assessments: each fund's dated results on the national standard form, and the changes
//! to them (audited).

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use welfare_model::{Assessment, FundId};

use super::audit::{Actor, Change, audit_changes};
use super::rows::{SqlValue, insert_rows, set_excluded, trusted};
use super::{Store, StoreError, now_text};

/// The table's columns, in the order written.
const ASSESSMENT_COLUMNS: &[&str] = &[
    "fund_id",
    "assessed_on",
    "form_version",
    "overall_level",
    "scores",
    "assessor",
    "created_at",
    "updated_at",
];

/// One assessment as a change makes it: what it was (none for a new one) and what it is, with the
/// province of its fund (the audit's scope).
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentChange {
    pub before: Option<Assessment>,
    pub after: Assessment,
    pub province: Option<String>,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn decode(r: &AnyRow) -> Result<Assessment, StoreError> {
    let fund: String = r.try_get(0)?;
    let day: String = r.try_get(1)?;
    let level: String = r.try_get(3)?;
    let scores: String = r.try_get(4)?;
    Ok(Assessment {
        fund_id: FundId::parse(&fund).map_err(|e| corrupt("assessment fund id", e))?,
        assessed_on: day
            .parse()
            .map_err(|e| corrupt(&format!("assessment of {fund} day {day:?}"), e))?,
        form_version: r.try_get(2)?,
        overall_level: level
            .parse()
            .map_err(|e: String| corrupt(&format!("assessment of {fund} level"), e))?,
        scores: serde_json::from_str(&scores)
            .map_err(|e| corrupt(&format!("assessment of {fund} scores"), e))?,
        assessor: r.try_get(5)?,
    })
}

fn values(a: &Assessment, now: &str) -> Result<Vec<SqlValue>, StoreError> {
    let scores = serde_json::to_string(&a.scores)
        .map_err(|e| StoreError::Invalid(format!("scores of {}: {e}", a.fund_id)))?;
    Ok(vec![
        SqlValue::text(a.fund_id.as_str()),
        SqlValue::text(a.assessed_on.to_string()),
        SqlValue::text(&a.form_version),
        SqlValue::text(a.overall_level.as_str()),
        SqlValue::text(scores),
        SqlValue::opt_text(a.assessor.clone()),
        SqlValue::text(now),
        SqlValue::text(now),
    ])
}

const SELECT: &str = "SELECT fund_id, assessed_on, form_version, overall_level, scores, assessor \
     FROM assessments";

impl Store {
    /// One fund's assessments, oldest first (then by form version).
    pub async fn fund_assessments(&self, fund: &str) -> Result<Vec<Assessment>, StoreError> {
        let rows = sqlx::query(trusted(&format!(
            "{SELECT} WHERE fund_id = $1 ORDER BY assessed_on, form_version"
        )))
        .bind(fund)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Every assessment, by (fund, day, form version).
    pub async fn assessments(
        &self,
    ) -> Result<BTreeMap<(FundId, chrono::NaiveDate, String), Assessment>, StoreError> {
        let rows = sqlx::query(trusted(&format!(
            "{SELECT} ORDER BY fund_id, assessed_on, form_version"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode(r).map(|a| (a.key(), a)))
            .collect()
    }

    /// Writes assessments (new ones and changed ones) in one transaction, each change audited with
    /// its values before and after. Nothing is written for no change.
    pub async fn save_assessments(
        &self,
        changes: &[AssessmentChange],
        actor: &Actor,
        action: &str,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = now_text();
        let rows = changes
            .iter()
            .map(|c| values(&c.after, &now))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.write_tx().await?;
        insert_rows(
            &mut tx,
            self.backend,
            "assessments",
            ASSESSMENT_COLUMNS,
            &rows,
            &format!(
                "ON CONFLICT (fund_id, assessed_on, form_version) DO UPDATE SET {}",
                set_excluded(&["overall_level", "scores", "assessor", "updated_at"])
            ),
        )
        .await?;
        let entries: Vec<Change> = changes
            .iter()
            .map(|c| Change {
                subject: format!(
                    "assessment:{}:{}:{}",
                    c.after.fund_id, c.after.assessed_on, c.after.form_version
                ),
                province: c.province.clone(),
                before: c.before.as_ref().map(|b| serde_json::json!(b)),
                after: Some(serde_json::json!(c.after)),
            })
            .collect();
        audit_changes(&mut tx, self.backend, actor, action, &entries).await?;
        tx.commit().await?;
        Ok(())
    }
}
