//! Networks: named sets of funds, their members, and the changes to them (audited).

use std::collections::BTreeMap;

use sqlx::Row;
use welfare_model::{FundId, Network, NetworkId};

use super::audit::{Actor, Change, audit_changes};
use super::{Store, StoreError, now_text};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

impl Store {
    /// Every network with its funds, by id.
    pub async fn networks(&self) -> Result<Vec<Network>, StoreError> {
        let rows = sqlx::query("SELECT id, name_th, name_en FROM networks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let mut networks: BTreeMap<String, Network> = BTreeMap::new();
        for r in rows {
            let id: String = r.try_get(0)?;
            networks.insert(
                id.clone(),
                Network {
                    id: NetworkId::parse(&id).map_err(|e| corrupt("network id", e))?,
                    name_th: r.try_get(1)?,
                    name_en: r.try_get(2)?,
                    funds: Vec::new(),
                },
            );
        }
        let members = sqlx::query(
            "SELECT network_id, fund_id FROM network_funds ORDER BY network_id, fund_id",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in members {
            let network: String = r.try_get(0)?;
            let fund: String = r.try_get(1)?;
            if let Some(n) = networks.get_mut(&network) {
                n.funds
                    .push(FundId::parse(&fund).map_err(|e| corrupt("fund id", e))?);
            }
        }
        Ok(networks.into_values().collect())
    }

    /// One network with its funds.
    pub async fn network(&self, id: &str) -> Result<Option<Network>, StoreError> {
        Ok(self
            .networks()
            .await?
            .into_iter()
            .find(|n| n.id.as_str() == id))
    }

    /// Creates a network or replaces its name and members, in one audited transaction. `provinces`
    /// are those of its funds before and after (for the audit's scope).
    pub async fn save_network(
        &self,
        before: Option<&Network>,
        after: &Network,
        province: Option<String>,
        actor: &Actor,
        action: &str,
    ) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.write_tx().await?;
        write_network(&mut tx, after, &now).await?;
        write_members(&mut tx, after).await?;
        audit_changes(
            &mut tx,
            self.backend,
            actor,
            action,
            &[Change {
                subject: format!("network:{}", after.id),
                province,
                before: before.map(|b| serde_json::json!(b)),
                after: Some(serde_json::json!(after)),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates or replaces several networks (names and members) in one transaction, each change
    /// audited with its values before and after: all of them, or none.
    pub async fn save_networks(
        &self,
        changes: &[NetworkChange],
        actor: &Actor,
        action: &str,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let now = now_text();
        let mut tx = self.write_tx().await?;
        for change in changes {
            write_network(&mut tx, &change.after, &now).await?;
            write_members(&mut tx, &change.after).await?;
        }
        let entries: Vec<Change> = changes
            .iter()
            .map(|c| Change {
                subject: format!("network:{}", c.after.id),
                province: c.province.clone(),
                before: c.before.as_ref().map(|b| serde_json::json!(b)),
                after: Some(serde_json::json!(c.after)),
            })
            .collect();
        audit_changes(&mut tx, self.backend, actor, action, &entries).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every (network, fund) membership, for the analytics snapshot.
    pub async fn network_memberships(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT network_id, fund_id FROM network_funds ORDER BY network_id, fund_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

/// A network made or changed, as it is written and audited.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkChange {
    /// None for a creation.
    pub before: Option<Network>,
    pub after: Network,
    /// The province its funds before and after lie in, when they all lie in one (the audit's scope).
    pub province: Option<String>,
}

/// Creates a network or replaces its names, inside an open transaction.
async fn write_network(
    conn: &mut sqlx::AnyConnection,
    network: &Network,
    now: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO networks (id, name_th, name_en, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (id) DO UPDATE SET \
         name_th = excluded.name_th, name_en = excluded.name_en, updated_at = excluded.updated_at",
    )
    .bind(network.id.as_str())
    .bind(&network.name_th)
    .bind(network.name_en.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces a network's members with `network`'s funds, inside an open transaction.
pub(crate) async fn write_members(
    conn: &mut sqlx::AnyConnection,
    network: &Network,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM network_funds WHERE network_id = $1")
        .bind(network.id.as_str())
        .execute(&mut *conn)
        .await?;
    for fund in &network.funds {
        sqlx::query("INSERT INTO network_funds (network_id, fund_id) VALUES ($1, $2)")
            .bind(network.id.as_str())
            .bind(fund.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
