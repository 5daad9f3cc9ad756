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

/// One change as it is audited.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// `fund:F-1`, `token:phayao-editor`.
    pub subject: String,
    /// The province the thing lies in, if it lies in one.
    pub province: Option<String>,
    /// None for a creation.
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Records changes inside an open transaction, each with its values before and after.
pub(crate) async fn audit_changes(
    conn: &mut AnyConnection,
    backend: Backend,
    actor: &Actor,
    action: &str,
    changes: &[Change],
) -> Result<(), StoreError> {
    let at = now_text();
    let rows: Vec<Vec<SqlValue>> = changes
        .iter()
        .map(|c| {
            vec![
                SqlValue::text(&at),
                SqlValue::text(&actor.name),
                SqlValue::text(&actor.role),
                SqlValue::text(action),
                SqlValue::text(&c.subject),
                SqlValue::opt_text(c.province.clone()),
                SqlValue::opt_text(c.before.as_ref().map(|v| v.to_string())),
                SqlValue::opt_text(c.after.as_ref().map(|v| v.to_string())),
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
            "province",
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
    pub province: Option<String>,
}

/// Which audit entries to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub subject: Option<String>,
    pub actor: Option<String>,
    /// Entries at or after this time (ISO-8601, as stored).
    pub from: Option<String>,
    /// Only entries of things in these provinces (an editor's scope); `None` for all.
    pub provinces: Option<Vec<String>>,
    /// Entries after this id (the page cursor).
    pub after_id: Option<i64>,
    pub limit: i64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            subject: None,
            actor: None,
            from: None,
            provinces: None,
            after_id: None,
            limit: 10_000,
        }
    }
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

    /// Records an action on a subject by a token (a run triggered): its detail as the value after.
    pub async fn audit_change(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        province: Option<String>,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            action,
            &[Change {
                subject: subject.to_string(),
                province,
                before: None,
                after: Some(detail.clone()),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The audit entries of a subject (`fund:F-1`), oldest first.
    pub async fn audit_of(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page(&AuditFilter {
            subject: Some(subject.into()),
            ..AuditFilter::default()
        })
        .await
    }

    /// A page of the audit trail, oldest first, as `filter` narrows it.
    pub async fn audit_page(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let bind = |v: String, binds: &mut Vec<String>| {
            binds.push(v);
            format!("${}", binds.len())
        };
        if let Some(s) = &filter.subject {
            let p = bind(s.clone(), &mut binds);
            conditions.push(format!("subject = {p}"));
        }
        if let Some(a) = &filter.actor {
            let p = bind(a.clone(), &mut binds);
            conditions.push(format!("actor = {p}"));
        }
        if let Some(f) = &filter.from {
            let p = bind(f.clone(), &mut binds);
            conditions.push(format!("at >= {p}"));
        }
        if let Some(provinces) = &filter.provinces {
            // The scope is a predicate of the query: an editor's reading never sees other rows.
            let list: Vec<String> = provinces
                .iter()
                .map(|p| bind(p.clone(), &mut binds))
                .collect();
            if list.is_empty() {
                conditions.push("1 = 0".into());
            } else {
                conditions.push(format!("province IN ({})", list.join(", ")));
            }
        }
        if let Some(after) = filter.after_id {
            conditions.push(format!("id > {after}"));
        }
        let select = format!(
            "SELECT id, at, actor, actor_role, action, subject, before_value, after_value, detail, province \
             FROM audit{}{} ORDER BY id LIMIT {}",
            if conditions.is_empty() { "" } else { " WHERE " },
            conditions.join(" AND "),
            filter.limit.clamp(1, 10_000)
        );
        let mut query = sqlx::query(super::rows::trusted(&select));
        for b in &binds {
            query = query.bind(b.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
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
                    province: r.try_get(9)?,
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
