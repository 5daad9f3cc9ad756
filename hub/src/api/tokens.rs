//! `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/{name}`: an admin makes, lists and revokes
//! tokens. A new token's secret is in the creation's answer only; the store keeps its hash.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::params::{NoQuery, json_body, parse_query};
use crate::access::{NewToken, Role, issue_token};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens))
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(me))
}

/// Who a token is: its name, role and scope (what a page shows after a token is entered).
#[derive(serde::Serialize, ToSchema)]
struct Me {
    /// The token's name; `anonymous` without one.
    name: String,
    /// `anonymous`, `viewer`, `province-editor`, `fund-clerk` or `admin`.
    role: String,
    /// A province editor's provinces.
    provinces: Vec<String>,
    /// A fund clerk's fund.
    fund: Option<String>,
}

/// The caller as the hub sees it: anonymous without a token, 401 for a wrong, revoked or expired
/// one.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "tokens",
    security((), ("bearer_token" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "A wrong, revoked, expired or malformed token", body = ErrorBody),
    ),
)]
async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Me>, ApiError> {
    let _: NoQuery = parse_query(raw)?;
    let caller = state.caller(&headers).await?;
    Ok(Json(Me {
        name: caller.name,
        role: caller.role.as_str().to_string(),
        provinces: caller.provinces,
        fund: caller.fund.map(|f| f.to_string()),
    }))
}

/// A token as listed: never its secret or hash.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct TokenView {
    id: String,
    name: String,
    /// `viewer`, `province-editor`, `fund-clerk` or `admin`.
    role: String,
    provinces: Vec<String>,
    fund_id: Option<String>,
    created_at: String,
    created_by: String,
    #[schema(format = Date)]
    expires_on: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

/// A token just made, with its secret (shown this once).
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct CreatedToken {
    token: TokenView,
    /// Send it as `Authorization: Bearer <secret>`; it is never shown again.
    secret: String,
}

/// Every token, revoked ones included.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "tokens",
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The tokens", body = Vec<TokenView>),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an admin's token", body = ErrorBody),
    ),
)]
async fn tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.require(&headers, Role::Admin).await?;
    let _: NoQuery = parse_query(raw)?;
    Ok(Json(serde_json::json!(state.store.tokens().await?)))
}

/// Makes a token with a role and a scope.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "tokens",
    request_body(content = NewToken, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Made; the secret is in this answer only", body = CreatedToken),
        (status = 400, description = "Not a valid role or scope, or the name is taken", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an admin's token", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = state.require(&headers, Role::Admin).await?;
    let wanted: NewToken = json_body(
        &body,
        "a token: {\"name\", \"role\", \"provinces\": [\"56\"], \"fund\", \"expires\"}",
    )?;
    let (token, secret) = issue_token(&state.store, &wanted, &caller.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "token": token, "secret": secret })),
    ))
}

/// Revokes a token (by name or id): it is refused from then on.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{name}",
    tag = "tokens",
    params(("name" = String, Path, description = "The token's name or id")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "Revoked (or already revoked)", body = TokenView),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an admin's token", body = ErrorBody),
        (status = 404, description = "No such token", body = ErrorBody),
    ),
)]
async fn revoke_token(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::Admin).await?;
    match state.store.revoke_token(&name, &caller.actor()).await? {
        Some(token) => Ok(Json(serde_json::json!(token))),
        None => Err(ApiError::not_found(format!("no token named {name}"))),
    }
}
