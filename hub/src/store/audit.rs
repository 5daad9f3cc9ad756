//! The audit trail: who changed what, when.

use sqlx::{AnyConnection, Row};

use super::rows::{SqlValue, insert_rows};
use super::{Backend, Store, StoreError, now_text};

/// Who makes a change: a token's name and role, or the operator at the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: String,
}

impl Actor {
    /// The operator running a command on the hub's machine: they hold the store itself.
    pub fn command_line() -> Actor {
        Actor {
            name: "command line".into(),
            role: "admin".into(),
        }
    }
}

/// Records changes inside an open transaction: per subject, the values before and after (none
/// before for a creation).
pub(crate) async fn audit_changes(
    conn: &mut AnyConnection,
    backend: Backend,
    actor: &Actor,
    action: &str,
    changes: &[(String, Option<serde_json::Value>, Option<serde_json::Value>)],
) -> Result<(), StoreError> {
    let at = now_text();
    let rows: Vec<Vec<SqlValue>> = changes
        .iter()
        .map(|(subject, before, after)| {
            vec![
                SqlValue::text(&at),
                SqlValue::text(&actor.name),
                SqlValue::text(&actor.role),
                SqlValue::text(action),
                SqlValue::text(subject),
                SqlValue::opt_text(before.as_ref().map(|v| v.to_string())),
                SqlValue::opt_text(after.as_ref().map(|v| v.to_string())),
            ]
        })
        .collect();
    insert_rows(
        conn,
        backend,
        "audit",
        &[
            "at",
            "actor",
            "actor_role",
            "action",
            "subject",
            "before_value",
            "after_value",
        ],
        &rows,
        "",
    )
    .await?;
    Ok(())
}

/// One change as the audit trail holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub actor_role: Option<String>,
    pub action: String,
    pub subject: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub detail: Option<serde_json::Value>,
}

/// Writes an audit row inside an open transaction.
pub(crate) async fn audit_in(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_text())
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records a change in the audit trail.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        audit_in(&mut tx, actor, action, subject, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit entries of a subject (`fund:F-1`), oldest first.
    pub async fn audit_of(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, actor, actor_role, action, subject, before_value, after_value, detail \
             FROM audit WHERE subject = $1 ORDER BY id",
        )
        .bind(subject)
        .fetch_all(&self.pool)
        .await?;
        let json = |t: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
            t.map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| StoreError::Corrupt(format!("audit value: {e}")))
            })
            .transpose()
        };
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    actor: r.try_get(2)?,
                    actor_role: r.try_get(3)?,
                    action: r.try_get(4)?,
                    subject: r.try_get(5)?,
                    before: json(r.try_get(6)?)?,
                    after: json(r.try_get(7)?)?,
                    detail: json(r.try_get(8)?)?,
                })
            })
            .collect()
    }

    /// The audit trail's actions, oldest first.
    pub async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT action FROM audit ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}
