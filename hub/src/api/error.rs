//! The one error of the HTTP API: a status, a stable machine-readable code and a message for people,
//! answered as `{"error": code, "message": text}`. Every conversion from a lower layer's error (the
//! store, the analytics, the maps) is here, so a given failure answers the same on every route.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use welfare_queries::QueryError;

use crate::answers::Overloaded;
use crate::maps::MapsError;
use crate::store::StoreError;

/// An API failure: a status, a stable machine-readable code and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to send as `Retry-After` (a busy user-query pool, answers being computed).
    pub retry_after: Option<u64>,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// A stable machine-readable code (`invalid_parameter`, `not_found`, `busy`, …).
    #[schema(example = "invalid_parameter")]
    pub error: String,
    /// What went wrong, for people (input is quoted at most 200 characters).
    #[schema(example = "level: unknown level \"county\"; or all")]
    pub message: String,
}

/// What a 500 tells the caller; the details go to the log.
const INTERNAL: &str = "internal error; the hub's log has the details";

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 400 naming the query parameter at fault.
    pub fn invalid(parameter: &str, problem: impl std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{parameter}: {problem}"),
        )
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// A 403: the caller's token does not reach this (its role or its provinces).
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// A 409: the request contradicts what is stored (a fund registered twice).
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A 400 for a request body that is well formed but not acceptable.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    }

    /// A 503: the store, or a part of the hub this one does not run.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 503 with `Retry-After`: the hub is busy, the request will pass in a moment.
    pub fn busy(retry_after: u64, message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
        }
    }

    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", INTERNAL)
    }

    /// A refused or failed user query (`POST /api/v1/query`): 503 with `Retry-After` when every slot
    /// stayed busy, 413 for an answer past the byte cap, 400 for the statement's own faults and
    /// limits; anything else as any other analytics failure.
    pub fn user_query(e: QueryError) -> Self {
        match &e {
            QueryError::Busy {
                retry_after_secs, ..
            } => ApiError::busy(*retry_after_secs, e.to_string()),
            QueryError::AnswerTooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "answer_too_large",
                e.to_string(),
            ),
            QueryError::TooLong { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_too_long", e.to_string())
            }
            QueryError::TooDeep { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_too_deep", e.to_string())
            }
            _ => ApiError::from(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            tracing::warn!(error = %e, "store unavailable");
            ApiError::unavailable("the store is unavailable; try again shortly")
        } else {
            tracing::error!(error = %e, "store error");
            ApiError::internal()
        }
    }
}

impl From<crate::registry::RegistryRefusal> for ApiError {
    fn from(e: crate::registry::RegistryRefusal) -> Self {
        match e {
            crate::registry::RegistryRefusal::Invalid(e) => ApiError::unprocessable(e.to_string()),
            crate::registry::RegistryRefusal::Store(e) => e.into(),
        }
    }
}

impl From<crate::access::TokenRefusal> for ApiError {
    fn from(e: crate::access::TokenRefusal) -> Self {
        match e {
            crate::access::TokenRefusal::Invalid(m) => ApiError::unprocessable(m),
            crate::access::TokenRefusal::Store(e) => e.into(),
        }
    }
}

impl From<crate::live::ChangeRefused> for ApiError {
    fn from(e: crate::live::ChangeRefused) -> Self {
        use crate::live::ChangeRefused;
        match e {
            ChangeRefused::Invalid(m) => ApiError::unprocessable(m),
            ChangeRefused::Conflict(m) => ApiError::conflict(m),
            ChangeRefused::NotFound(id) => ApiError::not_found(format!("no connector {id}")),
            ChangeRefused::Store(e) => e.into(),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match &e {
            QueryError::Timeout(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_timeout", e.to_string())
            }
            QueryError::ResourcesExhausted(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "query_memory", e.to_string())
            }
            _ if e.is_client_error() => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string())
            }
            _ => {
                tracing::error!(error = %e, "analytics failed");
                ApiError::internal()
            }
        }
    }
}

impl From<MapsError> for ApiError {
    fn from(e: MapsError) -> Self {
        match e {
            MapsError::Query(q) => q.into(),
            MapsError::Busy(busy) => busy.into(),
            other => {
                tracing::error!(error = %other, "map failed");
                ApiError::internal()
            }
        }
    }
}

impl From<Overloaded> for ApiError {
    fn from(e: Overloaded) -> Self {
        ApiError::busy(e.retry_after, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        let h = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_query_carries_retry_after_and_unauthorized_a_challenge() {
        let busy = ApiError::user_query(QueryError::Busy {
            running: 2,
            waited_ms: 10,
            retry_after_secs: 3,
        })
        .into_response();
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.headers()[header::RETRY_AFTER], "3");
        let denied = ApiError::unauthorized("no").into_response();
        assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(denied.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert!(!denied.headers().contains_key(header::RETRY_AFTER));
    }
}
