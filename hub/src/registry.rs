//! The fund registry: what an import file or a request would change, checked against the geography
//! and against what is registered, then written in one transaction with an audit of every change.
//! The command line and the API share it.

use std::collections::{BTreeMap, BTreeSet};

use welfare_connectors::registry::{Problems, Registry, RegistryError, RegistryField};
use welfare_model::fund::{Fund, check_fund};
use welfare_model::{FundId, Network};

use crate::store::{Actor, FundChange, Store, StoreError};

/// What writing a registry would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryPlan {
    /// Only the funds that change; unchanged ones are not written.
    pub changes: Vec<FundChange>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Funds that were open and are closed by this registry (not also counted as updated).
    pub closed: usize,
    /// Networks whose funds change (a registry's network column): before and after.
    pub network_changes: Vec<(Network, Network)>,
}

/// Why a registry change is not made.
#[derive(Debug, thiserror::Error)]
pub enum RegistryRefusal {
    #[error("{0}")]
    Invalid(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The problem with `fund`'s registration: its area at the wrong level for its kind, or (`known`
/// false) not in the geography.
pub fn area_problem(fund: &Fund, known: bool) -> Option<String> {
    if let Err(e) = check_fund(fund) {
        return Some(e);
    }
    (!known).then(|| {
        format!(
            "{} {} is not in the geography: check the code (DOPA), never padded or guessed",
            fund.area.level().as_str().replace("subdistrict", "tambon"),
            fund.area
        )
    })
}

/// `fund` with every field the file has no column for kept as registered.
fn merged(fund: &Fund, before: Option<&Fund>, columns: &[RegistryField]) -> Fund {
    let Some(before) = before else {
        return fund.clone();
    };
    let has = |f: RegistryField| columns.contains(&f);
    let mut after = fund.clone();
    if !has(RegistryField::NameEn) {
        after.name_en = before.name_en.clone();
    }
    if !has(RegistryField::Kind) {
        after.kind = before.kind;
    }
    if !has(RegistryField::Municipality) {
        after.municipality = before.municipality.clone();
    }
    if !has(RegistryField::RegisteredOn) {
        after.registered_on = before.registered_on;
    }
    if !has(RegistryField::ClosedOn) {
        after.closed_on = before.closed_on;
    }
    after
}

/// Counts a change into the plan.
fn count(plan: &mut RegistryPlan, before: Option<Fund>, after: Fund) {
    match &before {
        None => plan.created += 1,
        Some(b) if *b == after => {
            plan.unchanged += 1;
            return;
        }
        Some(b) if b.closed_on.is_none() && after.closed_on.is_some() => plan.closed += 1,
        Some(_) => plan.updated += 1,
    }
    plan.changes.push(FundChange { before, after });
}

/// What importing `registry` would change: every line's area checked against the geography, each
/// fund compared with its registration. Funds absent from the file are left as they are.
pub async fn plan_import(
    store: &Store,
    registry: &Registry,
) -> Result<RegistryPlan, RegistryRefusal> {
    let areas = store.area_codes().await?;
    let registered = store.fund_registrations().await?;
    let networks: BTreeMap<String, Network> = store
        .networks()
        .await?
        .into_iter()
        .map(|n| (n.id.to_string(), n))
        .collect();
    let mut members: BTreeMap<String, BTreeSet<FundId>> = networks
        .iter()
        .map(|(id, n)| (id.clone(), n.funds.iter().cloned().collect()))
        .collect();
    let mut problems = Problems::default();
    let mut plan = RegistryPlan::default();
    let mut moved = BTreeSet::new();
    for line in &registry.lines {
        if let Some(problem) = area_problem(&line.fund, areas.contains(line.fund.area.as_str())) {
            problems.push(format!("{}: {problem}", line.area_location));
            continue;
        }
        if let Some((at, listed)) = &line.networks {
            if let Some(unknown) = listed.iter().find(|n| !networks.contains_key(n.as_str())) {
                problems.push(format!(
                    "{at}: network {unknown} does not exist: make it first (POST /api/v1/networks)"
                ));
                continue;
            }
            // The line says exactly which networks the fund is in.
            for (id, funds) in members.iter_mut() {
                let wanted = listed.iter().any(|n| n.as_str() == id);
                let changed = if wanted {
                    funds.insert(line.fund.id.clone())
                } else {
                    funds.remove(&line.fund.id)
                };
                if changed {
                    moved.insert(line.fund.id.clone());
                }
            }
        }
        let before = registered.get(&line.fund.id).cloned();
        let after = merged(&line.fund, before.as_ref(), &registry.columns);
        if before.as_ref() == Some(&after) && moved.contains(&after.id) {
            // Only its networks change: written again (harmlessly), counted as updated.
            plan.updated += 1;
            plan.changes.push(FundChange { before, after });
        } else {
            count(&mut plan, before, after);
        }
    }
    for (id, funds) in members {
        let before = &networks[&id];
        let after = Network {
            funds: funds.into_iter().collect(),
            ..before.clone()
        };
        if after.funds != before.funds {
            plan.network_changes.push((before.clone(), after));
        }
    }
    Ok(problems.result(plan)?)
}

/// Writes a plan: all its changes in one transaction, or none.
pub async fn apply(
    store: &Store,
    plan: &RegistryPlan,
    actor: &Actor,
    action: &str,
) -> Result<(), StoreError> {
    store
        .register_funds(&plan.changes, &plan.network_changes, actor, action)
        .await
}

/// What registering or re-registering one fund would change (the API's create and update).
pub async fn plan_one(
    store: &Store,
    before: Option<Fund>,
    after: Fund,
) -> Result<RegistryPlan, RegistryRefusal> {
    let known = store.area_exists(after.area.as_str()).await?;
    if let Some(problem) = area_problem(&after, known) {
        return Err(RegistryError::one(problem).into());
    }
    let mut plan = RegistryPlan::default();
    count(&mut plan, before, after);
    Ok(plan)
}
