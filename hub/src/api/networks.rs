//! Networks: named sets of funds across the area hierarchy. `GET /api/v1/networks` lists them with
//! their size (anyone); `GET /api/v1/networks/{id}` gives a network's funds (a viewer's); `POST` and
//! `PATCH` make and change them (an admin's, or a province editor's when every fund before and after
//! lies within its provinces). Every change is audited. Indicators, maps and fund listings take
//! `network=ID`.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_model::{FundId, Network, NetworkId};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::params::{NoQuery, json_body, optional_text, parse_query};
use crate::access::{Caller, Role};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(networks))
        .routes(routes!(create_network))
        .routes(routes!(network))
        .routes(routes!(change_network))
}

/// A network as listed.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct NetworkSummary {
    id: String,
    name_th: String,
    name_en: Option<String>,
    /// How many funds it holds.
    funds: u64,
}

/// A network with its funds.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct NetworkView {
    id: String,
    name_th: String,
    name_en: Option<String>,
    /// Its funds' ids.
    funds: Vec<String>,
}

/// A network to make, as `POST /api/v1/networks` takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewNetwork {
    /// 1–64 ASCII letters, digits, `-`, `_` or `.`.
    #[schema(example = "songkhla-1baht")]
    id: String,
    #[schema(example = "เครือข่ายสัจจะวันละบาทจังหวัดสงขลา")]
    name_th: String,
    name_en: Option<String>,
    /// Its funds' ids (registered funds).
    #[serde(default)]
    funds: Vec<String>,
}

/// Changes to a network: only the fields sent change; `funds` replaces the members.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NetworkChanges {
    name_th: Option<String>,
    name_en: Option<String>,
    funds: Option<Vec<String>>,
}

/// Every network, with how many funds it holds.
#[utoipa::path(
    get,
    path = "/api/v1/networks",
    tag = "networks",
    responses((status = 200, description = "The networks", body = Vec<NetworkSummary>)),
)]
async fn networks(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let _: NoQuery = parse_query(raw)?;
    let listed: Vec<serde_json::Value> = state
        .store
        .networks()
        .await?
        .into_iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id, "name_th": n.name_th, "name_en": n.name_en, "funds": n.funds.len(),
            })
        })
        .collect();
    Ok(Json(serde_json::Value::Array(listed)))
}

/// One network with its funds.
#[utoipa::path(
    get,
    path = "/api/v1/networks/{id}",
    tag = "networks",
    params(("id" = String, Path, description = "The network's id", example = "songkhla-1baht")),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The network", body = NetworkView),
        (status = 401, description = "No token, or not a valid one: a network's funds need a viewer's", body = ErrorBody),
        (status = 403, description = "The token's role does not read fund-level data, or an editor's and a fund lies outside its provinces", body = ErrorBody),
        (status = 404, description = "No such network", body = ErrorBody),
    ),
)]
async fn network(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::Viewer).await?;
    let Some(network) = state.store.network(&id).await? else {
        return Err(ApiError::not_found(format!("no network {id}")));
    };
    // A province editor reads the networks whose funds all lie in its provinces.
    if caller.read_scope().is_some() {
        check_funds(&state, &caller, &network.funds).await?;
    }
    Ok(Json(serde_json::json!(network)))
}

/// The funds' ids checked as registered; 403 unless the caller may edit each one's area. Returns
/// the province of the funds when they all lie in one (for the audit's scope).
async fn check_funds(
    state: &AppState,
    caller: &Caller,
    ids: &[FundId],
) -> Result<Option<String>, ApiError> {
    let registered = state.store.fund_registrations().await?;
    let mut provinces = BTreeSet::new();
    for id in ids {
        let fund = registered.get(id).ok_or_else(|| {
            ApiError::unprocessable(format!("funds: fund {id} is not registered"))
        })?;
        if !caller.may_edit(&fund.area) {
            return Err(ApiError::forbidden(format!(
                "fund {id} lies outside this token's provinces ({})",
                caller.provinces.join(", ")
            )));
        }
        provinces.insert(fund.area.province().to_string());
    }
    Ok((provinces.len() == 1).then(|| provinces.into_iter().next().expect("one")))
}

fn fund_ids(texts: &[String]) -> Result<Vec<FundId>, ApiError> {
    let ids: BTreeSet<FundId> = texts
        .iter()
        .map(|t| FundId::parse(t).map_err(|e| ApiError::unprocessable(format!("funds: {e}"))))
        .collect::<Result<_, _>>()?;
    Ok(ids.into_iter().collect())
}

fn name_of(text: &str) -> Result<String, ApiError> {
    let name = text.trim();
    if name.is_empty() {
        return Err(ApiError::unprocessable(
            "name_th: a network has a Thai name",
        ));
    }
    Ok(name.to_string())
}

/// Makes a network.
#[utoipa::path(
    post,
    path = "/api/v1/networks",
    tag = "networks",
    request_body(content = NewNetwork, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 201, description = "Made", body = NetworkView),
        (status = 400, description = "Not a valid network: the message names the field", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or a fund lies outside its provinces", body = ErrorBody),
        (status = 409, description = "A network with this id exists", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn create_network(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let wanted: NewNetwork =
        json_body(&body, "a network: {\"id\", \"name_th\", \"funds\": [...]}")?;
    let id =
        NetworkId::parse(&wanted.id).map_err(|e| ApiError::unprocessable(format!("id: {e}")))?;
    let network = Network {
        id,
        name_th: name_of(&wanted.name_th)?,
        name_en: wanted
            .name_en
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        funds: fund_ids(&wanted.funds)?,
    };
    let province = check_funds(&state, &caller, &network.funds).await?;
    if state.store.network(network.id.as_str()).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "network {} exists: change it with PATCH /api/v1/networks/{}",
            network.id, network.id
        )));
    }
    state
        .store
        .save_network(None, &network, province, &caller.actor(), "network.create")
        .await?;
    state.registry_changed();
    Ok((StatusCode::CREATED, Json(serde_json::json!(network))))
}

/// Changes a network's name or replaces its funds.
#[utoipa::path(
    patch,
    path = "/api/v1/networks/{id}",
    tag = "networks",
    params(("id" = String, Path, description = "The network's id", example = "songkhla-1baht")),
    request_body(content = NetworkChanges, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The network as changed", body = NetworkView),
        (status = 400, description = "Not a valid change: the message names the field", body = ErrorBody),
        (status = 401, description = "No token, or not a valid one", body = ErrorBody),
        (status = 403, description = "Not an editor's token, or a fund before or after lies outside its provinces", body = ErrorBody),
        (status = 404, description = "No such network", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn change_network(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let caller = state.require(&headers, Role::ProvinceEditor).await?;
    let Some(before) = state.store.network(&id).await? else {
        return Err(ApiError::not_found(format!("no network {id}")));
    };
    check_funds(&state, &caller, &before.funds).await?;
    let changes: NetworkChanges = json_body(&body, "the fields to change: {\"funds\": [...], …}")?;
    let mut after = before.clone();
    if let Some(name) = changes.name_th {
        after.name_th = name_of(&name)?;
    }
    if let Some(name) = changes.name_en {
        after.name_en = optional_text(Some(name));
    }
    if let Some(funds) = changes.funds {
        after.funds = fund_ids(&funds)?;
    }
    let province = check_funds(&state, &caller, &after.funds).await?;
    if after != before {
        state
            .store
            .save_network(
                Some(&before),
                &after,
                province,
                &caller.actor(),
                "network.change",
            )
            .await?;
        state.registry_changed();
    }
    Ok(Json(serde_json::json!(after)))
}
