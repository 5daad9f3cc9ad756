//! People and rights through the router: tokens with roles and provinces, deny by default, 401
//! without a token, 403 beyond a token's role or provinces, and every change in the audit with the
//! token's name, role and the values before and after.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use welfare_connectors::Secret;
use welfare_hub::access::Role;
use welfare_hub::api::openapi::ROUTE_ROLES;
use welfare_hub::api::{AppState, openapi_document};
use welfare_hub::ingest::ConnectorEntry;
use welfare_hub::live::ConnectorSet;
use welfare_tests::{TestBackend, TestDb};

use crate::analytics::{Reply, send_with};

const ADMIN: &str = "national-admin-secret-2569";

async fn hub(backend: TestBackend) -> anyhow::Result<(TestDb, AppState)> {
    let db = TestDb::with_geography(backend).await?;
    // A national connector, and one each serving Phayao (56) and Songkhla (90).
    let mut entries = Vec::new();
    for (id, provinces) in [
        ("file-1", vec![]),
        ("file-56", vec!["56"]),
        ("file-90", vec!["90"]),
    ] {
        let entry: ConnectorEntry = serde_json::from_value(serde_json::json!({
            "id": id, "kind": "file", "location": "/tmp/none.csv", "provinces": provinces
        }))?;
        entries.push(entry);
    }
    let records: Vec<_> = entries.iter().map(ConnectorEntry::record).collect();
    db.store.sync_connectors(&records).await?;
    let state = AppState {
        connectors: ConnectorSet::from_entries(entries).map_err(anyhow::Error::msg)?,
        token: Some(Secret::new(ADMIN)),
        ..AppState::read_only(db.store.clone())
    };
    Ok((db, state))
}

/// A JSON request through the router, with a bearer token when given.
pub(crate) async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(b) = bearer.as_deref() {
        headers.push(("authorization", b));
    }
    let body = body.map(|b| b.to_string());
    send_with(state, method, uri, &headers, body.as_deref()).await
}

/// Makes a token as an admin would over the API; returns its secret.
async fn token(state: &AppState, body: serde_json::Value) -> String {
    let made = call(state, "POST", "/api/v1/tokens", Some(ADMIN), Some(body)).await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    made.json()["secret"].as_str().unwrap().to_string()
}

fn fund(id: &str, area: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "name_th": format!("กองทุนสวัสดิการชุมชน {id}"), "area": area})
}

on_both_backends!(an_editor_token_manages_its_province_and_nothing_else);
async fn an_editor_token_manages_its_province_and_nothing_else(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let (db, state) = hub(backend).await?;
    let editor = token(
        &state,
        serde_json::json!({"name": "phayao-editor", "role": "province-editor", "provinces": ["56"]}),
    )
    .await;
    assert!(editor.starts_with("whub_"));

    // Without a token, every write is refused.
    for (method, uri, body) in [
        ("POST", "/api/v1/funds", fund("F-560101-01", "560101")),
        (
            "PATCH",
            "/api/v1/funds/F-560101-01",
            serde_json::json!({"closed_on": null}),
        ),
        (
            "POST",
            "/api/v1/tokens",
            serde_json::json!({"name": "x", "role": "admin"}),
        ),
    ] {
        let refused = call(&state, method, uri, None, Some(body)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        assert_eq!(refused.json()["error"], "unauthorized");
    }

    // In Phayao the editor registers a fund; in Songkhla (90) it may not.
    let made = call(
        &state,
        "POST",
        "/api/v1/funds",
        Some(&editor),
        Some(fund("F-560101-01", "560101")),
    )
    .await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    assert_eq!(made.json()["area"], "560101");
    assert_eq!(made.json()["kind"], "community_welfare");
    let outside = call(
        &state,
        "POST",
        "/api/v1/funds",
        Some(&editor),
        Some(fund("F-900101-01", "900101")),
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    assert_eq!(outside.json()["error"], "forbidden");
    assert!(db.store.fund_registration("F-900101-01").await?.is_none());
    // The admin registers Songkhla's fund; the editor can neither read nor change it.
    let songkhla = call(
        &state,
        "POST",
        "/api/v1/funds",
        Some(ADMIN),
        Some(fund("F-900101-01", "900101")),
    )
    .await;
    assert_eq!(songkhla.status, StatusCode::CREATED);
    for (method, uri, body) in [
        (
            "PATCH",
            "/api/v1/funds/F-900101-01",
            Some(serde_json::json!({"name_th": "x"})),
        ),
        ("GET", "/api/v1/funds/F-900101-01", None),
        ("GET", "/api/v1/funds?within=90", None),
        ("GET", "/api/v1/funds?within=900101", None),
        ("GET", "/api/v1/tokens", None),
        (
            "POST",
            "/api/v1/tokens",
            Some(serde_json::json!({"name": "y", "role": "admin"})),
        ),
        ("GET", "/api/v1/quarantine?connector=file-90", None),
        ("GET", "/api/v1/connectors/file-90/runs", None),
        ("GET", "/api/v1/connectors/file-90", None),
        ("GET", "/api/v1/connectors/file-1/runs", None),
        ("POST", "/api/v1/connectors/file-90/run", None),
        ("POST", "/api/v1/connectors/file-90/check", None),
        (
            "PATCH",
            "/api/v1/connectors/file-90",
            Some(serde_json::json!({"enabled": false})),
        ),
        ("DELETE", "/api/v1/connectors/file-90", None),
        (
            "POST",
            "/api/v1/connectors",
            Some(serde_json::json!({
                "id": "songkhla-sheet", "kind": "file", "location": "/tmp/x.csv", "provinces": ["90"]
            })),
        ),
        (
            "POST",
            "/api/v1/connectors",
            Some(serde_json::json!({
                "id": "everywhere", "kind": "file", "location": "/tmp/x.csv", "provinces": []
            })),
        ),
    ] {
        let refused = call(&state, method, uri, Some(&editor), body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {uri}");
    }
    assert_eq!(
        db.store
            .fund_registration("F-900101-01")
            .await?
            .unwrap()
            .name_th,
        "กองทุนสวัสดิการชุมชน F-900101-01"
    );
    // Nor move its own fund out of its provinces.
    let moved = call(
        &state,
        "PATCH",
        "/api/v1/funds/F-560101-01",
        Some(&editor),
        Some(serde_json::json!({"area": "900102"})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::FORBIDDEN);
    assert_eq!(
        db.store
            .fund_registration("F-560101-01")
            .await?
            .unwrap()
            .area
            .as_str(),
        "560101"
    );

    // Bad requests say which field; a second registration is a conflict.
    let twice = call(
        &state,
        "POST",
        "/api/v1/funds",
        Some(&editor),
        Some(fund("F-560101-01", "560101")),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    for (body, words) in [
        (
            fund("F 1", "560101"),
            "id: fund id \"F 1\" has a space inside",
        ),
        (
            fund("F-5699", "569999"),
            "tambon 569999 is not in the geography",
        ),
        (
            fund("F-56", "56"),
            "a community_welfare is registered to a tambon",
        ),
        (
            serde_json::json!({"id": "F-2", "name_th": "ก", "area": "560102", "kind": "bank"}),
            "kind: \"bank\" is not a fund kind",
        ),
        (
            serde_json::json!({"id": "F-3", "name_th": "ก", "area": "560102", "colour": "red"}),
            "unknown field `colour`",
        ),
    ] {
        let refused = call(&state, "POST", "/api/v1/funds", Some(&editor), Some(body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let message = refused.json()["message"].as_str().unwrap().to_string();
        assert!(message.contains(words), "{message}");
    }

    // The editor closes its fund with a date.
    let closed = call(
        &state,
        "PATCH",
        "/api/v1/funds/F-560101-01",
        Some(&editor),
        Some(serde_json::json!({"closed_on": "2026-09-30", "kind": "กลุ่มสัจจะวันละบาท"})),
    )
    .await;
    assert_eq!(
        closed.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&closed.body)
    );
    let stored = db.store.fund_registration("F-560101-01").await?.unwrap();
    assert_eq!(stored.closed_on.unwrap().to_string(), "2026-09-30");
    assert_eq!(stored.kind, welfare_model::FundKind::OneBahtSavings);

    // Every change is in the audit, with who, role, before and after.
    let trail = call(
        &state,
        "GET",
        "/api/v1/audit?subject=fund:F-560101-01",
        Some(ADMIN),
        None,
    )
    .await
    .json();
    let entries = trail["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{trail}");
    assert_eq!(entries[0]["action"], "fund.register");
    assert_eq!(entries[0]["actor"], "phayao-editor");
    assert_eq!(entries[0]["actor_role"], "province-editor");
    assert_eq!(entries[0]["before"], serde_json::Value::Null);
    assert_eq!(entries[0]["after"]["area"], "560101");
    assert_eq!(entries[1]["action"], "fund.change");
    assert_eq!(entries[1]["before"]["closed_on"], serde_json::Value::Null);
    assert_eq!(entries[1]["before"]["kind"], "community_welfare");
    assert_eq!(entries[1]["after"]["closed_on"], "2026-09-30");
    assert_eq!(entries[1]["after"]["kind"], "one_baht_savings");
    let made_token = call(
        &state,
        "GET",
        "/api/v1/audit?subject=token:phayao-editor",
        Some(ADMIN),
        None,
    )
    .await
    .json();
    assert_eq!(made_token["entries"][0]["actor"], "api token");
    assert_eq!(made_token["entries"][0]["actor_role"], "admin");
    assert_eq!(
        made_token["entries"][0]["after"]["provinces"],
        serde_json::json!(["56"])
    );
    // The editor reads its provinces' audit only: not Songkhla's fund, not tokens.
    let own = call(&state, "GET", "/api/v1/audit", Some(&editor), None)
        .await
        .json();
    let subjects: BTreeSet<String> = own["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects, BTreeSet::from(["fund:F-560101-01".to_string()]));

    // Tokens are listed without secrets, with their last use; a revoked one is refused.
    let listed = call(&state, "GET", "/api/v1/tokens", Some(ADMIN), None).await;
    let text = String::from_utf8_lossy(&listed.body).to_string();
    assert!(!text.contains(&editor) && !text.contains("hash"), "{text}");
    assert!(listed.json()[0]["last_used_at"].is_string(), "{text}");
    let revoked = call(
        &state,
        "DELETE",
        "/api/v1/tokens/phayao-editor",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let after = call(&state, "GET", "/api/v1/audit", Some(&editor), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.json()["message"], "this token has been revoked");
    let past = call(
        &state,
        "POST",
        "/api/v1/tokens",
        Some(ADMIN),
        Some(serde_json::json!({"name": "old", "role": "viewer", "expires": "2020-01-01"})),
    )
    .await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST);
    db.cleanup().await
}

/// A concrete request for a documented route: path parameters filled in, a body for writes.
fn request_for(method: &str, path: &str, fund: &str) -> (String, Option<serde_json::Value>) {
    // The fund's province: its connector is `file-NN`.
    let province = &fund.trim_start_matches("F-")[..2];
    let connector = format!("file-{province}");
    let uri = path
        .replace(
            "{id}",
            if path.contains("/funds/") {
                fund
            } else if path.contains("/connectors/") {
                &connector
            } else {
                "file-1"
            },
        )
        .replace("{file}", "province.geojson")
        .replace("{name}", "nobody");
    let body = match (method, path) {
        ("post", "/api/v1/funds") => Some(fund_body(fund)),
        ("post", "/api/v1/connectors" | "/api/v1/connectors/check") => Some(serde_json::json!({
            "id": format!("new-{province}"), "kind": "file", "location": "/tmp/none.csv",
            "provinces": [province],
        })),
        ("patch", _) => Some(serde_json::json!({"name_th": "ชื่อใหม่"})),
        ("post", "/api/v1/query") => Some(serde_json::json!({"sql": "SELECT 1"})),
        ("post", "/api/v1/funds/{id}/assessments") => Some(serde_json::json!({
            "assessed_on": "2025-06-30", "form_version": "2566", "overall_level": "good",
            "scores": {"ธรรมาภิบาล": 80, "คุณธรรม": "72.5"},
        })),
        ("post", _) => Some(serde_json::json!({})),
        _ => None,
    };
    (uri, body)
}

fn fund_body(id: &str) -> serde_json::Value {
    let area = id
        .trim_start_matches("F-")
        .split('-')
        .next()
        .unwrap()
        .to_string();
    serde_json::json!({"id": format!("{id}-new"), "name_th": "กองทุนใหม่", "area": area})
}

#[tokio::test]
async fn every_route_answers_anonymous_wrong_scope_and_right_scope_callers_as_documented()
-> anyhow::Result<()> {
    let (db, state) = hub(TestBackend::Sqlite).await?;
    // The document and the table of roles name the same routes, each with its role.
    let document = serde_json::to_value(openapi_document())?;
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let role = operation["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} names no role"));
            let listed = ROUTE_ROLES
                .iter()
                .find(|(m, p, _)| m == method && p == path)
                .unwrap_or_else(|| panic!("{method} {path} is not in ROUTE_ROLES"));
            assert_eq!(role, listed.2.as_str(), "{method} {path}");
            if listed.2 != Role::Anonymous {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{"bearer_token": []}]),
                    "{method} {path}"
                );
            }
            documented.insert((method.clone(), path.clone()));
        }
    }
    let listed: BTreeSet<(String, String)> = ROUTE_ROLES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, listed);

    for (id, area) in [("F-560101-01", "560101"), ("F-900101-01", "900101")] {
        let made = call(
            &state,
            "POST",
            "/api/v1/funds",
            Some(ADMIN),
            Some(fund(id, area)),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED);
    }
    let viewer = token(
        &state,
        serde_json::json!({"name": "analyst", "role": "viewer"}),
    )
    .await;
    let editor = token(
        &state,
        serde_json::json!({"name": "phayao", "role": "province-editor", "provinces": ["56"]}),
    )
    .await;
    let clerk = token(
        &state,
        serde_json::json!({"name": "clerk", "role": "fund-clerk", "fund": "F-560101-01"}),
    )
    .await;
    let callers = [
        (Role::Viewer, viewer.as_str()),
        (Role::ProvinceEditor, editor.as_str()),
        (Role::FundClerk, clerk.as_str()),
        (Role::Admin, ADMIN),
    ];
    let denied = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN];
    for (method, path, needed) in ROUTE_ROLES {
        let (uri, body) = request_for(method, path, "F-560101-01");
        let verb = method.to_uppercase();
        let anonymous = call(&state, &verb, &uri, None, body.clone()).await;
        if *needed == Role::Anonymous {
            assert!(
                !denied.contains(&anonymous.status),
                "anonymous {verb} {uri}: {}",
                anonymous.status
            );
        } else {
            assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "anonymous {verb} {uri}"
            );
            assert_eq!(anonymous.json()["error"], "unauthorized");
        }
        for (role, secret) in callers {
            let answer = call(&state, &verb, &uri, Some(secret), body.clone()).await;
            if role.covers(*needed) {
                assert!(
                    !denied.contains(&answer.status),
                    "{role} {verb} {uri}: {} {}",
                    answer.status,
                    String::from_utf8_lossy(&answer.body)
                );
            } else {
                assert_eq!(answer.status, StatusCode::FORBIDDEN, "{role} {verb} {uri}");
                assert_eq!(answer.json()["error"], "forbidden");
            }
        }
        // The editor's provinces: what lies in Songkhla (90) is refused, whatever the route.
        let scoped_body = *method == "post"
            && matches!(
                *path,
                "/api/v1/funds" | "/api/v1/connectors" | "/api/v1/connectors/check"
            );
        if uri.contains("F-560101-01") || uri.contains("file-56") || scoped_body {
            let (wrong, body) = request_for(method, path, "F-900101-01");
            let answer = call(&state, &verb, &wrong, Some(&editor), body).await;
            if Role::ProvinceEditor.covers(*needed) {
                assert_eq!(
                    answer.status,
                    StatusCode::FORBIDDEN,
                    "editor of 56 {verb} {wrong}"
                );
            }
            let admin = call(
                &state,
                &verb,
                &wrong,
                Some(ADMIN),
                request_for(method, path, "F-900101-01").1,
            )
            .await;
            assert!(!denied.contains(&admin.status), "admin {verb} {wrong}");
        }
    }
    let listing = call(
        &state,
        "GET",
        "/api/v1/funds?within=90",
        Some(&editor),
        None,
    )
    .await;
    assert_eq!(listing.status, StatusCode::FORBIDDEN);
    db.cleanup().await
}

#[tokio::test]
async fn token_commands_print_the_secret_once_and_keep_only_its_hash() -> anyhow::Result<()> {
    use welfare_hub::access::{Denied, authenticate, secret_hash};
    let db = TestDb::sqlite_with_geography().await?;
    let run = |args: &[&str]| {
        let mut command =
            tokio::process::Command::new(welfare_tests::hub_binary().expect("binary"));
        command
            .arg("token")
            .args(args)
            .args(["--database-url", &db.url])
            .env("WELFARE_HUB_LOG", "warn");
        command
    };
    let made = run(&[
        "create",
        "--role",
        "province-editor",
        "--province",
        "56",
        "--name",
        "phayao",
    ])
    .output()
    .await?;
    let out = String::from_utf8(made.stdout)?;
    assert_eq!(
        made.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let secret = lines[1];
    assert!(
        secret.starts_with("whub_") && secret.len() == 69,
        "{secret}"
    );
    assert!(lines[0].starts_with("Token phayao (tok-"), "{out}");
    assert!(
        lines[0].ends_with(
            ") for province-editor of provinces 56; expires never. Its secret, shown this once:"
        ),
        "{out}"
    );
    // Only the hash is in the store.
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT secret_hash, id FROM tokens")
        .fetch_all(db.store.pool())
        .await?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, secret_hash(secret));
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT id || name || role || COALESCE(provinces, '') || secret_hash || created_at || created_by FROM tokens",
    )
    .fetch_all(db.store.pool())
    .await?;
    assert!(!dump[0].contains(secret));

    let caller = authenticate(&db.store, None, secret)
        .await?
        .expect("accepted");
    assert_eq!(
        (caller.name.as_str(), caller.role),
        ("phayao", Role::ProvinceEditor)
    );
    assert_eq!(caller.provinces, ["56"]);
    let listed = run(&["list"]).output().await?;
    let listing = String::from_utf8(listed.stdout)?;
    assert!(!listing.contains(secret));
    let row = listing.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with(&format!(
            "phayao\t{}\tprovince-editor\tprovinces 56\tnever\t",
            stored[0].1
        )),
        "{listing}"
    );
    assert!(row.ends_with("\tactive"), "{listing}");
    assert!(
        !row.contains("\tnever\tactive"),
        "its use was recorded: {listing}"
    );

    let revoked = run(&["revoke", "phayao"]).output().await?;
    assert_eq!(revoked.status.code(), Some(0));
    assert!(String::from_utf8(revoked.stdout)?.starts_with("Token phayao (tok-"));
    assert_eq!(
        authenticate(&db.store, None, secret).await?,
        Err(Denied::Revoked)
    );

    for (args, words) in [
        (
            &["create", "--role", "editor", "--name", "x"][..],
            "no token made: \"editor\" is not a role",
        ),
        (
            &["create", "--role", "province-editor", "--name", "x"][..],
            "a province-editor token names its provinces",
        ),
        (
            &["create", "--role", "viewer", "--name", "phayao"][..],
            "a token named \"phayao\" exists already",
        ),
        (
            &[
                "create",
                "--role",
                "fund-clerk",
                "--fund",
                "F-NONE",
                "--name",
                "y",
            ][..],
            "fund \"F-NONE\" is not registered",
        ),
        (
            &[
                "create",
                "--role",
                "province-editor",
                "--province",
                "99",
                "--name",
                "z",
            ][..],
            "province 99 is not in the geography",
        ),
        (&["revoke", "nobody"][..], "no token named \"nobody\""),
    ] {
        let refused = run(args).output().await?;
        let err = String::from_utf8(refused.stderr)?;
        assert_eq!(refused.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
    assert_eq!(db.store.tokens().await?.len(), 1);
    db.cleanup().await
}
