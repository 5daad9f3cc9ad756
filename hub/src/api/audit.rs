//! `GET /api/v1/audit`: every change, who made it (token name and role), when, and the values before
//! and after. An admin reads it all; a province editor the changes within its provinces (the scope
//! is a predicate of the query).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::params::{id_cursor, limit_of, next_cursor, parse_query};
use crate::access::Role;
use crate::store::AuditFilter;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditParams {
    /// What changed: `fund:F-560101-01`, `token:phayao-editor`, `connector:api-56`.
    subject: Option<String>,
    /// The token name that made the change.
    actor: Option<String>,
    /// Changes at or after this time (`2026-12-01` or an RFC 3339 time).
    from: Option<String>,
    /// Entries on a page (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One change.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct AuditView {
    id: i64,
    at: String,
    actor: String,
    actor_role: Option<String>,
    action: String,
    subject: Option<String>,
    /// The values before (`null` for a creation).
    before: Option<serde_json::Value>,
    /// The values after.
    after: Option<serde_json::Value>,
    detail: Option<serde_json::Value>,
    /// The province the changed thing lies in.
    province: Option<String>,
}

/// A page of the audit trail.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct AuditPage {
    count: u64,
    entries: Vec<AuditView>,
    next_cursor: Option<String>,
}

/// The audit trail, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditParams),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "A page of changes", body = AuditPage),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Neither an admin's nor a province editor's token", body = ErrorBody),
    ),
)]
async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let q: AuditParams = parse_query(raw)?;
    let limit = limit_of(q.limit, 100)?;
    let from = q
        .from
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(|f| {
            if let Ok(day) = chrono::NaiveDate::parse_from_str(f, "%Y-%m-%d") {
                return Ok(format!("{day}T00:00:00"));
            }
            chrono::DateTime::parse_from_rfc3339(f)
                .map(|t| crate::store::timestamp_text(t.with_timezone(&chrono::Utc)))
                .map_err(|_| {
                    ApiError::invalid("from", "expected a day (2026-12-01) or an RFC 3339 time")
                })
        })
        .transpose()?;
    let filter = AuditFilter {
        subject: q.subject.filter(|s| !s.is_empty()),
        actor: q.actor.filter(|s| !s.is_empty()),
        from,
        provinces: caller.read_scope().map(<[String]>::to_vec),
        after_id: id_cursor(q.cursor.as_deref())?,
        limit,
    };
    let entries = state.store.audit_page(&filter).await?;
    let next = next_cursor(
        entries.len(),
        limit,
        entries.last().map(|e| e.id.to_string()),
    );
    Ok(Json(serde_json::json!({
        "count": entries.len(),
        "entries": entries,
        "next_cursor": next,
    })))
}
