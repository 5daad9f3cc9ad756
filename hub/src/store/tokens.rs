//! API tokens: name, role, scope, expiry and last use; the secret's hash, never the secret.

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::audit::{Actor, Change, audit_changes};
use super::{Store, StoreError, now_text};

/// A token as listed (its hash stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: String,
    /// A province editor's provinces.
    pub provinces: Vec<String>,
    /// A fund clerk's fund.
    pub fund_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    /// The last day it is accepted.
    pub expires_on: Option<NaiveDate>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const TOKEN_COLUMNS: &str = "id, name, role, provinces, fund_id, created_at, created_by, \
                             expires_on, last_used_at, revoked_at";

fn decode_token(r: &AnyRow) -> Result<TokenRecord, StoreError> {
    let provinces: Option<String> = r.try_get(3)?;
    let expires: Option<String> = r.try_get(7)?;
    Ok(TokenRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: r.try_get(2)?,
        provinces: provinces
            .map(|p| {
                p.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        fund_id: r.try_get(4)?,
        created_at: r.try_get(5)?,
        created_by: r.try_get(6)?,
        expires_on: expires
            .map(|d| {
                d.parse()
                    .map_err(|e| StoreError::Corrupt(format!("token expires_on {d}: {e}")))
            })
            .transpose()?,
        last_used_at: r.try_get(8)?,
        revoked_at: r.try_get(9)?,
    })
}

/// How the audit shows a token: everything listed, never the hash.
fn audited(t: &TokenRecord) -> serde_json::Value {
    serde_json::json!(t)
}

impl Store {
    /// Stores a new token with the hash of its secret. A name already taken is refused.
    pub async fn create_token(
        &self,
        token: &TokenRecord,
        secret_hash: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM tokens WHERE name = $1")
            .bind(&token.name)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Invalid(format!(
                "a token named {:?} exists already: names identify tokens in the audit",
                token.name
            )));
        }
        sqlx::query(
            "INSERT INTO tokens (id, name, role, provinces, fund_id, secret_hash, created_at, \
             created_by, expires_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(&token.role)
        .bind((!token.provinces.is_empty()).then(|| token.provinces.join(",")))
        .bind(token.fund_id.as_deref())
        .bind(secret_hash)
        .bind(&token.created_at)
        .bind(&token.created_by)
        .bind(token.expires_on.map(|d| d.to_string()))
        .execute(&mut *tx)
        .await?;
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            "token.create",
            &[Change {
                subject: format!("token:{}", token.name),
                province: None,
                before: None,
                after: Some(audited(token)),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every token, revoked ones included, by name.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let select = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY name");
        let rows = sqlx::query(super::rows::trusted(&select))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode_token).collect()
    }

    /// The token whose secret has this hash, whatever its state.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let select = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE secret_hash = $1");
        sqlx::query(super::rows::trusted(&select))
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(decode_token)
            .transpose()
    }

    /// Revokes the token with this name or id; `None` when there is none (a revoked one stays as
    /// it was revoked).
    pub async fn revoke_token(
        &self,
        name_or_id: &str,
        actor: &Actor,
    ) -> Result<Option<TokenRecord>, StoreError> {
        let mut tx = self.write_tx().await?;
        let select = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE name = $1 OR id = $1");
        let Some(before) = sqlx::query(super::rows::trusted(&select))
            .bind(name_or_id)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(decode_token)
            .transpose()?
        else {
            return Ok(None);
        };
        if before.revoked_at.is_some() {
            return Ok(Some(before));
        }
        let now = now_text();
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(&before.id)
            .execute(&mut *tx)
            .await?;
        let mut after = before.clone();
        after.revoked_at = Some(now);
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            "token.revoke",
            &[Change {
                subject: format!("token:{}", before.name),
                province: None,
                before: Some(audited(&before)),
                after: Some(audited(&after)),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Records that a token was used now.
    pub async fn touch_token(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now_text())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
