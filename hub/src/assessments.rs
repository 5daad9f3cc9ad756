//! Governance assessments: what an assessment file or a request would change, checked against the
//! fund registry and against what is stored, then written in one transaction with an audit of every
//! change. The command line and the API share it.

use welfare_connectors::assessments::AssessmentFile;
use welfare_connectors::registry::{Problems, RegistryError};
use welfare_model::Assessment;

use crate::store::{Actor, AssessmentChange, Store, StoreError};

/// What writing assessments would do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssessmentPlan {
    /// Only the assessments that are new or change; unchanged ones are not written.
    pub changes: Vec<AssessmentChange>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Why an assessment change is not made.
#[derive(Debug, thiserror::Error)]
pub enum AssessmentRefusal {
    #[error("{0}")]
    Invalid(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What importing `file` would change: every line's fund checked against the registry, each
/// assessment compared with the stored one of the same fund, day and form version. Assessments
/// absent from the file are left as they are. Without an assessor column, a stored assessor is kept.
pub async fn plan_import(
    store: &Store,
    file: &AssessmentFile,
) -> Result<AssessmentPlan, AssessmentRefusal> {
    let registered = store.fund_registrations().await?;
    let stored = store.assessments().await?;
    let mut problems = Problems::default();
    let mut plan = AssessmentPlan::default();
    for line in &file.lines {
        let Some(fund) = registered.get(&line.assessment.fund_id) else {
            problems.push(format!(
                "{}: fund {} is not registered: register it first (welfare-hub funds import)",
                line.fund_location, line.assessment.fund_id
            ));
            continue;
        };
        let before = stored.get(&line.assessment.key()).cloned();
        let mut after = line.assessment.clone();
        if !file.has_assessor
            && let Some(b) = &before
        {
            after.assessor = b.assessor.clone();
        }
        count(
            &mut plan,
            AssessmentChange {
                before,
                after,
                province: Some(fund.area.province().to_string()),
            },
        );
    }
    Ok(problems.result(plan)?)
}

/// Counts a change into the plan.
fn count(plan: &mut AssessmentPlan, change: AssessmentChange) {
    match &change.before {
        None => plan.created += 1,
        Some(b) if *b == change.after => {
            plan.unchanged += 1;
            return;
        }
        Some(_) => plan.updated += 1,
    }
    plan.changes.push(change);
}

/// What recording one new assessment would change (the API's create): refused when the fund is
/// not registered; `Ok(None)` when the fund already has an assessment of that day and form.
pub async fn plan_one(
    store: &Store,
    after: Assessment,
) -> Result<Option<AssessmentPlan>, AssessmentRefusal> {
    let Some(fund) = store.fund_registration(after.fund_id.as_str()).await? else {
        return Err(RegistryError::one(format!("fund {} is not registered", after.fund_id)).into());
    };
    let exists = store
        .fund_assessments(after.fund_id.as_str())
        .await?
        .iter()
        .any(|a| a.key() == after.key());
    if exists {
        return Ok(None);
    }
    let mut plan = AssessmentPlan::default();
    count(
        &mut plan,
        AssessmentChange {
            before: None,
            after,
            province: Some(fund.area.province().to_string()),
        },
    );
    Ok(Some(plan))
}

/// Writes a plan: all its changes in one transaction, or none.
pub async fn apply(
    store: &Store,
    plan: &AssessmentPlan,
    actor: &Actor,
    action: &str,
) -> Result<(), StoreError> {
    store.save_assessments(&plan.changes, actor, action).await
}
