//! Networks from a file: what a network file would change, checked against the fund registry and
//! against the networks stored, then written in one transaction with an audit of every change (as
//! the API's changes are audited). The command line uses it; the API makes networks one at a time.

use std::collections::{BTreeMap, BTreeSet};

use welfare_connectors::networks::NetworkFile;
use welfare_connectors::registry::{Problems, RegistryError};
use welfare_model::Network;

use crate::store::{Actor, NetworkChange, Store, StoreError};

/// What writing a network file would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkPlan {
    /// Only the networks that are new or change; unchanged ones are not written.
    pub changes: Vec<NetworkChange>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// The (network, fund) memberships the file lists.
    pub memberships: usize,
}

/// Why a network file is not written.
#[derive(Debug, thiserror::Error)]
pub enum NetworkRefusal {
    #[error("{0}")]
    Invalid(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What importing `file` would change: every listed fund checked against the registry, each network
/// compared with the stored one. A network new to the store is created; a stored one takes the file's
/// names and, when the file has a fund column, exactly the funds listed for it. A column the file
/// lacks leaves that part as stored; networks absent from the file are left as they are.
pub async fn plan_import(store: &Store, file: &NetworkFile) -> Result<NetworkPlan, NetworkRefusal> {
    let registered = store.fund_registrations().await?;
    let stored: BTreeMap<String, Network> = store
        .networks()
        .await?
        .into_iter()
        .map(|mut n| {
            // Compared as sets, whatever order the database sorts ids in.
            n.funds.sort();
            (n.id.to_string(), n)
        })
        .collect();
    let mut problems = Problems::default();
    let mut plan = NetworkPlan {
        memberships: file.memberships(),
        ..NetworkPlan::default()
    };
    for entry in &file.networks {
        let mut known = true;
        for (fund, at) in &entry.fund_locations {
            if !registered.contains_key(fund) {
                problems.push(format!(
                    "{at}: fund {fund} is not registered: register it first (welfare-hub funds import)"
                ));
                known = false;
            }
        }
        if !known {
            continue;
        }
        let before = stored.get(entry.network.id.as_str()).cloned();
        let mut after = entry.network.clone();
        if let Some(b) = &before {
            if !file.has_name_en {
                after.name_en = b.name_en.clone();
            }
            if !file.has_funds {
                after.funds = b.funds.clone();
            }
        }
        after.funds.sort();
        match &before {
            None => plan.created += 1,
            Some(b) if *b == after => {
                plan.unchanged += 1;
                continue;
            }
            Some(_) => plan.updated += 1,
        }
        // The audit's scope: the one province every fund before and after lies in, if there is one.
        let provinces: BTreeSet<String> = before
            .iter()
            .flat_map(|b| b.funds.iter())
            .chain(after.funds.iter())
            .filter_map(|f| registered.get(f))
            .map(|f| f.area.province().to_string())
            .collect();
        let province = (provinces.len() == 1).then(|| provinces.into_iter().next().expect("one"));
        plan.changes.push(NetworkChange {
            before,
            after,
            province,
        });
    }
    Ok(problems.result(plan)?)
}

/// Writes a plan: all its changes in one transaction, or none.
pub async fn apply(
    store: &Store,
    plan: &NetworkPlan,
    actor: &Actor,
    action: &str,
) -> Result<(), StoreError> {
    store.save_networks(&plan.changes, actor, action).await
}
