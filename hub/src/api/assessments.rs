//! Governance assessments of a fund (the national standard form for welfare funds: morality and good
//! governance). `GET /api/v1/funds/{id}/assessments` lists a fund's results (a viewer's, or an
//! editor's within its provinces); `POST` records a new one (an admin's, or a province editor's
//! within its provinces). Every change is audited and marks the analytics snapshot stale: the area
//! indicators count assessed funds and their levels, and anyone reads those aggregates.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_model::assessment::{
    Assessment, GovernanceLevel, Score, check_assessed_on, check_name,
};
use welfare_model::fund::Fund;
use welfare_model::{FundId, bangkok};

use super::error::{ApiError, ErrorBody};
use super::params::{NoQuery, json_body, optional_text, parse_query};
use super::{AppState, require_scope};
use crate::access::{Caller, Role};
use crate::assessments::{self, AssessmentRefusal};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(fund_assessments))
        .routes(routes!(record_assessment))
}

/// An assessment to record, as `POST /api/v1/funds/{id}/assessments` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAssessment {
    /// The day of the assessment (ISO date), not in the future.
    #[schema(example = "2025-06-30", format = Date)]
    assessed_on: String,
    /// The form's version as the assessors name it.
    #[schema(example = "2566")]
    form_version: String,
    /// `excellent`, `good`, `fair`, `improve`, or a Thai label (ดีมาก, ดี, พอใช้, ต้องปรับปรุง).
    #[schema(example = "good")]
    overall_level: String,
    /// Score per dimension, 0–100: a number, or a decimal as a string (`"72.5"`).
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"ธรรมาภิบาล": 80, "คุณธรรม": "72.5"}))]
    scores: BTreeMap<String, serde_json::Value>,
    assessor: Option<String>,
}

/// An assessment as answered.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct AssessmentView {
    fund_id: String,
    #[schema(format = Date)]
    assessed_on: String,
    form_version: String,
    /// `excellent`, `good`, `fair` or `improve`.
    overall_level: String,
    /// Score per dimension: whole scores as numbers, others as decimal strings.
    #[schema(value_type = Object)]
    scores: (),
    assessor: Option<String>,
}

/// A fund's assessments.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct AssessmentList {
    fund_id: String,
    /// Oldest first.
    assessments: Vec<AssessmentView>,
}

/// The fund, registered, or a 404; 403 unless the caller may `edit` (else read) its area.
async fn scoped_fund(
    state: &AppState,
    caller: &Caller,
    id: &str,
    edit: bool,
) -> Result<Fund, ApiError> {
    let Some(fund) = state.store.fund_registration(id).await? else {
        return Err(ApiError::not_found(format!("no fund {id} is registered")));
    };
    if edit || caller.read_scope().is_some() {
        require_scope(caller, &fund.area)?;
    }
    Ok(fund)
}

/// A fund's governance assessments, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/funds/{id}/assessments",
    tag = "funds",
    params(("id" = String, Path, description = "The fund's id", example = "F-560101-01")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The fund's assessments", body = AssessmentList),
        (status = 401, description = "No token, or not a valid one: a fund's assessments need a viewer's", body = ErrorBody),
        (status = 403, description = "The token's role does not read fund-level data, or the fund lies outside its provinces", body = ErrorBody),
        (status = 404, description = "No such fund registered", body = ErrorBody),
    ),
)]
async fn fund_assessments(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::Viewer).await?;
    let _: NoQuery = parse_query(raw)?;
    let fund = scoped_fund(&state, &caller, &id, false).await?;
    let listed = state.store.fund_assessments(fund.id.as_str()).await?;
    Ok(Json(serde_json::json!({
        "fund_id": fund.id,
        "assessments": listed,
    })))
}

/// The body as an assessment of `fund`, or a 400 naming the field at fault.
fn assessment_of(fund: FundId, wanted: NewAssessment) -> Result<Assessment, ApiError> {
    let field = |name: &str, e: String| ApiError::unprocessable(format!("{name}: {e}"));
    let assessed_on =
        NaiveDate::parse_from_str(wanted.assessed_on.trim(), "%Y-%m-%d").map_err(|_| {
            field(
                "assessed_on",
                format!(
                    "{:?} is not a day: write YYYY-MM-DD (2025-06-30)",
                    wanted.assessed_on
                ),
            )
        })?;
    let today = chrono::Utc::now().with_timezone(&bangkok()).date_naive();
    check_assessed_on(assessed_on, today).map_err(|e| field("assessed_on", e))?;
    let form_version =
        check_name("form version", &wanted.form_version).map_err(|e| field("form_version", e))?;
    let overall_level = GovernanceLevel::from_label(&wanted.overall_level)
        .map_err(|e| field("overall_level", e))?;
    let mut scores = BTreeMap::new();
    for (name, value) in wanted.scores {
        let dimension = check_name("dimension", &name).map_err(|e| field("scores", e))?;
        let score = match &value {
            serde_json::Value::String(text) => Score::parse(text),
            serde_json::Value::Number(n) => Score::parse(&n.to_string()),
            other => Err(format!(
                "{other} is not a score: send a number 0–100 or a decimal string"
            )),
        }
        .map_err(|e| field(&format!("scores.{dimension}"), e))?;
        scores.insert(dimension, score);
    }
    Ok(Assessment {
        fund_id: fund,
        assessed_on,
        form_version,
        overall_level,
        scores,
        assessor: optional_text(wanted.assessor),
    })
}

/// Records a governance assessment of a fund.
#[utoipa::path(
    post,
    path = "/api/v1/funds/{id}/assessments",
    tag = "funds",
    params(("id" = String, Path, description = "The fund's id", example = "F-560101-01")),
    request_body(content = NewAssessment, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Recorded", body = AssessmentView),
        (status = 400, description = "Not a valid assessment: the message names the field", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or the fund lies outside its provinces", body = ErrorBody),
        (status = 404, description = "No such fund registered", body = ErrorBody),
        (status = 409, description = "The fund has an assessment of this day and form version", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn record_assessment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let fund = scoped_fund(&state, &caller, &id, true).await?;
    let wanted: NewAssessment = json_body(
        &body,
        "an assessment: {\"assessed_on\", \"form_version\", \"overall_level\", \"scores\": {...}}",
    )?;
    let assessment = assessment_of(fund.id.clone(), wanted)?;
    let plan = match assessments::plan_one(&state.store, assessment.clone()).await {
        Ok(Some(plan)) => plan,
        Ok(None) => {
            return Err(ApiError::conflict(format!(
                "fund {} has an assessment of {} on form {} already",
                assessment.fund_id, assessment.assessed_on, assessment.form_version
            )));
        }
        Err(AssessmentRefusal::Invalid(e)) => return Err(ApiError::unprocessable(e.to_string())),
        Err(AssessmentRefusal::Store(e)) => return Err(e.into()),
    };
    assessments::apply(&state.store, &plan, &caller.actor(), "assessment.record").await?;
    state.registry_changed();
    Ok((StatusCode::CREATED, Json(serde_json::json!(assessment))))
}
