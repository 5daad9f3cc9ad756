//! `POST /api/v1/query` with `{"sql": "SELECT …"}`: read-only SQL over the snapshot's tables.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use welfare_queries::AnswerFormat;

use super::error::{ApiError, ErrorBody};
use super::params::{Format, format_of, json_body, parse_query};
use super::{AppState, snapshot_header};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(query))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    /// One read-only statement (`SELECT`, `WITH`, `EXPLAIN`, `SHOW`, `DESCRIBE`).
    #[schema(
        example = "SELECT code, name_en, population FROM areas WHERE level = 'province' LIMIT 5"
    )]
    sql: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QueryParams {
    /// `json` (default), `csv` or `xlsx` for Excel, `arrow` or `parquet` for analysts.
    #[param(value_type = Option<Format>)]
    format: Option<String>,
}

/// The shape of a JSON query answer.
#[derive(ToSchema)]
#[allow(dead_code)] // only describes the answer in the OpenAPI document
struct QueryAnswer {
    /// Rows were cut at the row or byte cap (also `X-Rows-Truncated: true`).
    truncated: bool,
    max_rows: u64,
    max_bytes: u64,
    snapshot: u64,
    count: u64,
    /// The rows: integers and floats as numbers, decimals as exact strings.
    rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Read-only SQL over the snapshot's tables, within the snapshot's limits (statement size and
/// depth, time, memory, rows, answer bytes, a few at once). The answer is computed and encoded on
/// the query's own threads; `truncated` (and `X-Rows-Truncated`) says when rows were cut at the
/// row or byte cap.
#[utoipa::path(
    post,
    path = "/api/v1/query",
    tag = "query",
    params(QueryParams),
    request_body(content = QueryBody, content_type = "application/json"),
    security(("bearer_token" = [])),
    responses(
        (status = 200, description = "The rows", body = QueryAnswer),
        (status = 401, description = "No token, or not a valid one: SQL over fund-level rows needs a viewer's", body = ErrorBody),
        (status = 403, description = "The token's role does not read fund-level rows", body = ErrorBody),
        (status = 400, description = "Not one read-only statement, too large or deep, or it failed (the message says where)", body = ErrorBody),
        (status = 413, description = "The body, or the answer past the byte cap, is too large (the message gives the limit)", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
    ),
)]
async fn query(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // The snapshot holds fund-level rows: SQL over it is a viewer's, not an anonymous caller's.
    state.require(&headers, crate::access::Role::Viewer).await?;
    let q: QueryParams = parse_query(raw)?;
    let format = match format_of(q.format.as_deref())? {
        Format::Json => AnswerFormat::Json,
        Format::Csv => AnswerFormat::Csv,
        Format::Arrow => AnswerFormat::Arrow,
        Format::Xlsx => AnswerFormat::Xlsx,
        Format::Parquet => AnswerFormat::Parquet,
    };
    let body: QueryBody = json_body(&body, "{\"sql\": \"SELECT …\"}")?;
    let analytics = state.analytics()?;
    let snapshot = analytics.current();
    let answer = match snapshot.user_answer(&body.sql, format).await {
        Ok(a) => a,
        Err(e) => return Err(ApiError::user_query(e)),
    };
    let truncated = answer.truncated;
    let mut response = match answer.format {
        AnswerFormat::Json => {
            let limits = &snapshot.limits;
            let head = serde_json::json!({
                "truncated": truncated,
                "max_rows": limits.max_rows,
                "max_bytes": limits.max_answer_bytes,
                "snapshot": snapshot.version,
                "count": answer.rows,
            })
            .to_string();
            // The rows come encoded: the envelope is written around them.
            let mut out = Vec::with_capacity(head.len() + answer.body.len() + 10);
            out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
            out.extend_from_slice(b",\"rows\":");
            out.extend_from_slice(&answer.body);
            out.push(b'}');
            ([(header::CONTENT_TYPE, "application/json")], out).into_response()
        }
        AnswerFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"query.csv\"",
                ),
            ],
            answer.body,
        )
            .into_response(),
        AnswerFormat::Arrow => (
            [(header::CONTENT_TYPE, "application/vnd.apache.arrow.stream")],
            answer.body,
        )
            .into_response(),
        AnswerFormat::Xlsx => (
            [
                (header::CONTENT_TYPE, super::params::XLSX),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"query.xlsx\"",
                ),
            ],
            answer.body,
        )
            .into_response(),
        AnswerFormat::Parquet => (
            [
                (header::CONTENT_TYPE, super::params::PARQUET),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"query.parquet\"",
                ),
            ],
            answer.body,
        )
            .into_response(),
    };
    snapshot_header(&mut response, &snapshot);
    if truncated {
        response
            .headers_mut()
            .insert("x-rows-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}
