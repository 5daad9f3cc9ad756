//! The OpenAPI 3.1 contract of the HTTP API, served at `GET /api/v1/openapi.json`.
//!
//! The document is not written by hand: every route is registered with `utoipa_axum::routes!`
//! from its handler's `#[utoipa::path]`, so the router and the document come from the same list
//! (`super::documented_routes`). This module adds what every operation shares — the bearer-token
//! scheme, the one error shape and the errors any route can answer — and the row schemas of the
//! indicator tables, built from the tables' own column lists in `welfare_queries`.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response as DocResponse, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, LicenseBuilder, OpenApi,
    OpenApiBuilder, RefOr, Tag,
};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_queries::output::ColumnType;

use super::AppState;
use super::error::ErrorBody;
use super::params::{Format, Language, Month};
use crate::access::Role;

/// The name of the bearer-token security scheme (`Authorization: Bearer <token>`).
pub const BEARER: &str = "bearer_token";

/// The role each route needs (method, path as documented): `finish` writes it into the document
/// as `x-required-role`, and the route-by-route access test holds every handler to it. Anonymous
/// callers read aggregates; fund-level figures and SQL over them need a viewer; the registry and
/// the audit an editor (within its provinces); runs, quarantine and tokens an admin.
pub const ROUTE_ROLES: &[(&str, &str, Role)] = &[
    ("get", "/healthz", Role::Anonymous),
    ("get", "/readyz", Role::Anonymous),
    ("get", "/api/v1/openapi.json", Role::Anonymous),
    ("get", "/api/v1/areas", Role::Anonymous),
    ("get", "/api/v1/indicators", Role::Anonymous),
    ("get", "/api/v1/matching", Role::Anonymous),
    ("get", "/api/v1/timeseries", Role::Anonymous),
    ("get", "/api/v1/policies", Role::Anonymous),
    ("get", "/api/v1/maps/{file}", Role::Anonymous),
    ("get", "/api/v1/legend", Role::Anonymous),
    ("get", "/api/v1/connectors", Role::Anonymous),
    ("get", "/api/v1/connectors/{id}", Role::Anonymous),
    ("get", "/api/v1/networks", Role::Anonymous),
    ("get", "/api/v1/networks/{id}", Role::Viewer),
    ("post", "/api/v1/networks", Role::ProvinceEditor),
    ("patch", "/api/v1/networks/{id}", Role::ProvinceEditor),
    ("get", "/api/v1/funds", Role::Viewer),
    ("get", "/api/v1/funds/{id}", Role::Viewer),
    ("post", "/api/v1/query", Role::Viewer),
    ("post", "/api/v1/funds", Role::ProvinceEditor),
    ("patch", "/api/v1/funds/{id}", Role::ProvinceEditor),
    ("get", "/api/v1/funds/{id}/assessments", Role::Viewer),
    (
        "post",
        "/api/v1/funds/{id}/assessments",
        Role::ProvinceEditor,
    ),
    ("get", "/api/v1/audit", Role::ProvinceEditor),
    ("post", "/api/v1/connectors", Role::ProvinceEditor),
    ("patch", "/api/v1/connectors/{id}", Role::ProvinceEditor),
    ("delete", "/api/v1/connectors/{id}", Role::ProvinceEditor),
    ("post", "/api/v1/connectors/check", Role::ProvinceEditor),
    (
        "post",
        "/api/v1/connectors/{id}/check",
        Role::ProvinceEditor,
    ),
    ("get", "/api/v1/connectors/{id}/runs", Role::Viewer),
    ("post", "/api/v1/connectors/{id}/run", Role::ProvinceEditor),
    ("get", "/api/v1/quarantine", Role::Viewer),
    ("get", "/api/v1/me", Role::Anonymous),
    ("get", "/api/v1/tokens", Role::Admin),
    ("post", "/api/v1/tokens", Role::Admin),
    ("delete", "/api/v1/tokens/{name}", Role::Admin),
];

/// The role a documented route needs.
pub fn required_role(method: &str, path: &str) -> Option<Role> {
    ROUTE_ROLES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, r)| *r)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = serde_json::Value)),
)]
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = DOCUMENT.get_or_init(|| {
        serde_json::to_vec(&super::openapi_document()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the OpenAPI document could not be written");
            b"{}".to_vec()
        })
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes.as_slice(),
    )
        .into_response()
}

/// The document's frame: what the API is, its tags and the bearer-token scheme.
pub fn base() -> OpenApi {
    let tag = |name: &str, description: &str| {
        let mut t = Tag::new(name);
        t.description = Some(description.into());
        t
    };
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Welfare Hub")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Coverage, matching grants and risk of Thailand's community welfare funds. \
                     Every error is `{\"error\": code, \"message\": text}`. Money is a decimal \
                     string (baht, two places); area codes are strings (DOPA: province NN, \
                     district NNNN, tambon NNNNNN). Analytics answers carry the snapshot version \
                     they were computed from (`snapshot`, `X-Snapshot-Version`), a weak `ETag` and \
                     answer 304 to `If-None-Match`. Geography: see the page's attributions.",
                ))
                .license(Some(LicenseBuilder::new().name("MIT").build())),
        )
        .tags(Some([
            tag("health", "Liveness and readiness"),
            tag("areas", "Provinces, districts and tambons with population"),
            tag("indicators", "Coverage, matching grants and time series"),
            tag(
                "funds",
                "The fund registry, and funds with their ratios and risk flag",
            ),
            tag("maps", "Coverage maps (GeoJSON) and their legends"),
            tag("query", "Read-only SQL over the analytics snapshot"),
            tag(
                "connectors",
                "Sources the hub pulls, their runs and quarantine",
            ),
            tag("networks", "Named sets of funds across the area hierarchy"),
            tag("tokens", "API tokens: roles and scopes (admins)"),
            tag("audit", "Who changed what, when, before and after"),
            tag("meta", "This contract"),
        ]))
        .components(Some(
            ComponentsBuilder::new()
                .schema(ErrorBody::name(), ErrorBody::schema())
                // Parameter types (`value_type = …`), which the operations refer to by name.
                .schema(Month::name(), Month::schema())
                .schema(Format::name(), Format::schema())
                .schema(Language::name(), Language::schema())
                .schema(ArrowStream::name(), ArrowStream::schema())
                .security_scheme(
                    BEARER,
                    SecurityScheme::Http(
                        HttpBuilder::new()
                            .scheme(HttpAuthScheme::Bearer)
                            .description(Some(
                                "A token made by `welfare-hub token create` or POST \
                                 /api/v1/tokens, or the hub's API token (api.token_env, an \
                                 admin's). Each operation's `x-required-role` says which role it \
                                 needs: anonymous, viewer, fund-clerk, province-editor or admin",
                            ))
                            .build(),
                    ),
                )
                .build(),
        ))
        .build()
}

/// Adds what operations share, so that no handler repeats it:
/// - to every operation, the errors any route can answer (each only where the handler did not
///   describe it more precisely): 400 (a bad parameter, bad UTF-8 in the path or query), 500, 503
///   (busy, with `Retry-After`) and, for everything else the HTTP layer answers (405, 408, 413, …),
///   `default` — all in the one error shape;
/// - to every table answer (an operation with a `format` parameter), its CSV, Arrow, XLSX and
///   Parquet forms beside the JSON, and for a `GET` (cached per snapshot) the 304 to `If-None-Match`.
pub fn finish(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let get = item.get.is_some();
        for (method, operation) in operations(item) {
            // Every route says what it needs; a route missing from ROUTE_ROLES is an admin's until
            // it is listed (deny by default), and the access test fails on it.
            let role = required_role(method, path).unwrap_or(Role::Admin);
            operation
                .extensions
                .get_or_insert_with(Default::default)
                .insert(
                    "x-required-role".into(),
                    serde_json::Value::String(role.as_str().into()),
                );
            let tabular = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "format"));
            let responses = &mut operation.responses.responses;
            if tabular {
                if let Some(RefOr::T(ok)) = responses.get_mut("200") {
                    ok.content.insert(
                        "text/csv; charset=utf-8".into(),
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build()
                            .into(),
                    );
                    for binary in [super::params::XLSX, super::params::PARQUET] {
                        ok.content.insert(
                            binary.into(),
                            ContentBuilder::new()
                                .schema(Some(
                                    ObjectBuilder::new()
                                        .schema_type(Type::String)
                                        .content_media_type(binary),
                                ))
                                .build()
                                .into(),
                        );
                    }
                    ok.content.insert(
                        "application/vnd.apache.arrow.stream".into(),
                        ContentBuilder::new()
                            .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                                ArrowStream::name(),
                            ))))
                            .build()
                            .into(),
                    );
                }
                if get {
                    responses
                        .entry("304".into())
                        .or_insert(RefOr::T(not_modified()));
                }
            }
            for (status, response) in [
                (
                    "400",
                    error("A parameter, the path or the query is not valid"),
                ),
                (
                    "500",
                    error("The hub failed; its log has the details (the answer says no more)"),
                ),
                ("503", busy()),
                (
                    "default",
                    error("Any other error (405, 408, 413, …), in the same shape"),
                ),
            ] {
                responses
                    .entry(status.to_string())
                    .or_insert(RefOr::T(response));
            }
        }
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, o)| o.map(|o| (m, o)))
}

/// 304: the client's copy (`If-None-Match`) is current.
pub fn not_modified() -> DocResponse {
    ResponseBuilder::new()
        .description("Not modified: the `ETag` sent in `If-None-Match` is current")
        .build()
}

/// An error answer in the one shape.
fn error(description: &str) -> DocResponse {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    ErrorBody::name(),
                ))))
                .build(),
        )
        .build()
}

/// 503: busy (with `Retry-After`), or a part of the hub this one does not run.
fn busy() -> DocResponse {
    let mut response = error(
        "The hub is busy (code `busy`, with `Retry-After` seconds) or does not serve this part",
    );
    response.headers.insert(
        "Retry-After".into(),
        HeaderBuilder::new()
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            ))
            .description(Some("Seconds to wait before trying again (when busy)"))
            .build()
            .into(),
    );
    response
}

/// The schema of one row of an indicator table with these columns: every column present, each a
/// value of its type or `null` (money a decimal string, ratios numbers). `open` tables (a column
/// per policy or per chosen indicator) may hold further columns of any of those types.
pub fn rows_schema(columns: &[(String, ColumnType)], open: bool) -> RefOr<Schema> {
    let mut row = ObjectBuilder::new().schema_type(Type::Object);
    for (name, kind) in columns {
        row = row.property(name, cell_schema(*kind)).required(name);
    }
    if !open {
        row = row.additional_properties(Some(AdditionalProperties::FreeForm(false)));
    }
    ArrayBuilder::new().items(row).build().into()
}

fn cell_schema(kind: ColumnType) -> Schema {
    let nullable = |t: Type| SchemaType::from_iter([t, Type::Null]);
    let cell = ObjectBuilder::new();
    match kind {
        ColumnType::Text => cell.schema_type(nullable(Type::String)),
        ColumnType::Int => cell.schema_type(nullable(Type::Integer)),
        ColumnType::Money => cell
            .schema_type(nullable(Type::String))
            .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
            .description(Some("baht, an exact decimal")),
        ColumnType::Ratio => cell.schema_type(nullable(Type::Number)),
        ColumnType::Bool => cell.schema_type(nullable(Type::Boolean)),
    }
    .into()
}

/// A table as an Arrow IPC stream (`format=arrow`): the OpenAPI type of such an answer.
#[derive(Debug)]
pub struct ArrowStream;

impl PartialSchema for ArrowStream {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .content_media_type("application/vnd.apache.arrow.stream")
            .description(Some("A table as an Arrow IPC stream"))
            .into()
    }
}

impl ToSchema for ArrowStream {}
