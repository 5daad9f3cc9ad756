//! The OpenAPI contract served at `/api/v1/openapi.json`: an OpenAPI 3.1 document that lists exactly
//! the routes the router serves (every documented operation reaches its handler, every other method
//! on a documented path is a 405, and no route is registered outside `utoipa_axum::routes!`), says
//! which routes need the token and describes every error in the one shape. Whether the answers
//! match it is schemathesis's part (`.ci/schemathesis`, run by `.ci/run`).

use std::collections::BTreeSet;

use serde_json::Value;
use welfare_connectors::Secret;
use welfare_hub::api::{AppState, openapi_document};
use welfare_tests::{TestBackend, TestDb};

use crate::analytics::{Reply, get, send_with};

const TOKEN: &str = "openapi-test-token";
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
/// What the page's fallback answers for a path no route has.
const NO_ROUTE: &str = "no such endpoint or file";

/// Every operation of the document: (method, path template, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn document() -> Value {
    serde_json::to_value(openapi_document()).unwrap()
}

/// A concrete path for a template: each `{param}` becomes `x`.
fn concrete(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

async fn call(state: &AppState, method: &str, uri: &str, token: Option<&str>) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(b) = &bearer {
        headers.push(("authorization", b));
    }
    let body = (method == "POST").then_some(r#"{"sql": "SELECT 1"}"#);
    send_with(state, method, uri, &headers, body).await
}

async fn hub() -> anyhow::Result<(TestDb, AppState)> {
    let db = TestDb::new(TestBackend::Sqlite).await?;
    let state = AppState {
        token: Some(Secret::new(TOKEN)),
        ..AppState::read_only(db.store.clone())
    };
    Ok((db, state))
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().expect("a $ref is text"));
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_served_as_json_and_self_contained() -> anyhow::Result<()> {
    let (_db, state) = hub().await?;
    let served = get(&state, "/api/v1/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.content_type, "application/json");
    let document = document();
    assert_eq!(
        served.json(),
        document,
        "the served document is the router's"
    );
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "Welfare Hub");
    assert_eq!(
        document["components"]["securitySchemes"]["bearer_token"],
        serde_json::json!({"type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["bearer_token"]["description"]})
    );
    let error = &document["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
    assert_eq!(error["additionalProperties"], false);

    // Every reference resolves inside the document.
    let mut all = Vec::new();
    refs(&document, &mut all);
    assert!(all.len() > 20, "{} references", all.len());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a component schema"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    // A table answer (a `format` parameter) comes as JSON, CSV, XLSX, Arrow or Parquet; a cached GET
    // revalidates.
    let mut tables = 0;
    for (method, path, op) in operations(&document) {
        let has_format = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "format"));
        if !has_format {
            continue;
        }
        tables += 1;
        let content = op["responses"]["200"]["content"].as_object().unwrap();
        let types: BTreeSet<&str> = content.keys().map(String::as_str).collect();
        assert_eq!(
            types,
            BTreeSet::from([
                "application/json",
                "application/vnd.apache.arrow.stream",
                "application/vnd.apache.parquet",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "text/csv; charset=utf-8",
            ]),
            "{method} {path}"
        );
        assert_eq!(
            op["responses"].get("304").is_some(),
            method == "get",
            "{method} {path}"
        );
    }
    assert_eq!(
        tables, 6,
        "indicators, matching, timeseries, funds, a fund, query"
    );
    // Operation ids are unique (clients are generated from them).
    let ids: Vec<String> = operations(&document)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    Ok(())
}

#[tokio::test]
async fn the_document_lists_every_route_the_router_has_and_no_other() -> anyhow::Result<()> {
    let (_db, state) = hub().await?;
    let document = document();
    let operations = operations(&document);
    let listed: BTreeSet<(String, String)> = operations
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    // The routes the product has (the issue's and design's list): a route dropped from the
    // document, or from the router, fails here or below.
    for expected in [
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/api/v1/areas"),
        ("get", "/api/v1/indicators"),
        ("get", "/api/v1/matching"),
        ("get", "/api/v1/timeseries"),
        ("get", "/api/v1/policies"),
        ("get", "/api/v1/funds"),
        ("get", "/api/v1/funds/{id}"),
        ("post", "/api/v1/query"),
        ("get", "/api/v1/maps/{file}"),
        ("get", "/api/v1/legend"),
        ("get", "/api/v1/connectors"),
        ("get", "/api/v1/connectors/{id}"),
        ("get", "/api/v1/connectors/{id}/runs"),
        ("post", "/api/v1/connectors/{id}/run"),
        ("get", "/api/v1/quarantine"),
        ("get", "/api/v1/openapi.json"),
        ("post", "/api/v1/funds"),
        ("patch", "/api/v1/funds/{id}"),
        ("get", "/api/v1/tokens"),
        ("post", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{name}"),
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/networks"),
        ("post", "/api/v1/networks"),
        ("get", "/api/v1/networks/{id}"),
        ("patch", "/api/v1/networks/{id}"),
        ("get", "/api/v1/funds/{id}/assessments"),
        ("post", "/api/v1/funds/{id}/assessments"),
    ] {
        assert!(
            listed.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} is not in the document"
        );
    }

    // Each documented operation reaches a handler: not the page's "no such endpoint", not a 405.
    for (method, path, _) in &operations {
        let uri = concrete(path);
        let answer = call(&state, &method.to_uppercase(), &uri, None).await;
        assert_ne!(answer.status, 405, "{method} {uri}");
        if answer.status == 404 {
            assert_ne!(
                answer.json()["message"],
                NO_ROUTE,
                "{method} {uri} is documented but no route serves it"
            );
        }
    }
    // Every other method on a documented path is refused: the router has no undocumented one.
    let paths: BTreeSet<&String> = operations.iter().map(|(_, p, _)| p).collect();
    for path in paths {
        for method in METHODS {
            if listed.contains(&(method.to_string(), path.clone())) {
                continue;
            }
            let uri = concrete(path);
            let answer = call(&state, &method.to_uppercase(), &uri, None).await;
            assert_eq!(
                answer.status, 405,
                "{method} {uri} is served but not documented"
            );
            assert_eq!(answer.json()["error"], "method_not_allowed");
        }
    }

    // No route is registered besides the documented ones: every resource registers its handlers
    // with `routes!` (one handler each), nothing with `.route(` or `.nest(`, and there are as many
    // `routes!` as operations.
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../hub/src/api");
    let mut registered = 0;
    for entry in std::fs::read_dir(&api)? {
        let path = entry?.path();
        // `page.rs` builds the fallback that serves the page for every path no API route has.
        if path.extension().and_then(|e| e.to_str()) != Some("rs")
            || path.file_name().and_then(|n| n.to_str()) == Some("page.rs")
        {
            continue;
        }
        let source = std::fs::read_to_string(&path)?;
        // (Unit tests build routers of their own.)
        let source = source.split("#[cfg(test)]").next().unwrap_or_default();
        for forbidden in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            assert!(
                !source.contains(forbidden),
                "{} registers a route with {forbidden}: it would be missing from the document",
                path.display()
            );
        }
        for call in source.split("routes!(").skip(1) {
            let handlers = call.split(')').next().unwrap_or_default();
            assert!(
                !handlers.contains(','),
                "{}: routes!({handlers}) — one handler per routes! (utoipa #1372)",
                path.display()
            );
            registered += 1;
        }
    }
    assert_eq!(
        registered,
        operations.len(),
        "routes! registrations vs documented operations"
    );
    Ok(())
}

#[tokio::test]
async fn routes_that_need_the_token_say_so_and_every_error_has_the_one_shape() -> anyhow::Result<()>
{
    let (_db, state) = hub().await?;
    let document = document();
    let error_ref = "#/components/schemas/ErrorBody";
    let mut needing = Vec::new();
    for (method, path, op) in operations(&document) {
        let what = format!("{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what} documents no success"
        );
        for status in ["400", "500", "503", "default"] {
            assert!(responses.contains_key(status), "{what} lacks {status}");
        }
        // (`/readyz` has its own 503, not_ready, which says no time.)
        if path != "/readyz" {
            assert!(
                responses["503"]["headers"].get("Retry-After").is_some(),
                "{what}: 503 says when to retry"
            );
        }
        for (status, response) in responses {
            if status == "default" || status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], error_ref,
                    "{what} {status} is not the one error shape"
                );
            }
        }

        // Without the token: a 401 means the route needs it, and the document must say so.
        let uri = concrete(&path);
        let anonymous = call(&state, &method.to_uppercase(), &uri, None).await;
        let security = op.get("security").cloned().unwrap_or(Value::Null);
        let bearer_only = security == serde_json::json!([{"bearer_token": []}]);
        let optional = security.as_array().is_some_and(|alternatives| {
            alternatives.contains(&serde_json::json!({}))
                && alternatives.contains(&serde_json::json!({"bearer_token": []}))
        });
        if anonymous.status == 401 {
            assert!(bearer_only, "{what} needs the token: {security}");
            assert!(responses.contains_key("401"), "{what} lacks 401");
            needing.push(what.clone());
            // With the token it gets past the check.
            let with = call(&state, &method.to_uppercase(), &uri, Some(TOKEN)).await;
            assert_ne!(with.status, 401, "{what} with the token");
        } else {
            assert!(
                !bearer_only,
                "{what} answers {} without a token but is documented as needing one",
                anonymous.status
            );
        }
        if optional {
            // A wrong token is refused, not read as anonymous.
            let wrong = call(&state, &method.to_uppercase(), &uri, Some("wrong")).await;
            if anonymous.status != 404 {
                assert_eq!(wrong.status, 401, "{what} with a wrong token");
            }
            assert!(responses.contains_key("401"), "{what} lacks 401");
        }
    }
    needing.sort();
    assert_eq!(
        needing,
        [
            "delete /api/v1/connectors/{id}",
            "delete /api/v1/tokens/{name}",
            "get /api/v1/audit",
            "get /api/v1/connectors/{id}/runs",
            "get /api/v1/funds",
            "get /api/v1/funds/{id}",
            "get /api/v1/funds/{id}/assessments",
            "get /api/v1/networks/{id}",
            "get /api/v1/quarantine",
            "get /api/v1/tokens",
            "patch /api/v1/connectors/{id}",
            "patch /api/v1/funds/{id}",
            "patch /api/v1/networks/{id}",
            "post /api/v1/connectors",
            "post /api/v1/connectors/check",
            "post /api/v1/connectors/{id}/check",
            "post /api/v1/connectors/{id}/run",
            "post /api/v1/funds",
            "post /api/v1/funds/{id}/assessments",
            "post /api/v1/networks",
            "post /api/v1/query",
            "post /api/v1/tokens",
        ],
    );
    Ok(())
}
