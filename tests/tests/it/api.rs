//! The API through the router (no socket): statuses, JSON shapes and figures.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use welfare_hub::api::{AppState, router};
use welfare_model::fund::Fund;
use welfare_model::{AreaCode, FundId, FundKind};
use welfare_tests::{TestBackend, TestDb};

async fn call(db: &TestDb, method: &str, uri: &str) -> (StatusCode, serde_json::Value) {
    let app = router(AppState::read_only(db.store.clone()));
    let response = app
        .oneshot(
            Request::builder()
                .method(method)
                .uri(uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(content_type.as_deref(), Some("application/json"), "{uri}");
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn with_funds() -> anyhow::Result<TestDb> {
    let db = TestDb::sqlite_with_geography().await?;
    let funds: Vec<Fund> = [
        ("F500101", "500101"),
        ("F500101M", "500101"),
        ("F100101", "100101"),
    ]
    .into_iter()
    .map(|(id, tambon)| Fund {
        id: FundId::parse(id).unwrap(),
        name_th: "กองทุน".into(),
        name_en: None,
        kind: FundKind::CommunityWelfare,
        area: AreaCode::parse(tambon).unwrap(),
        municipality: id.ends_with('M').then(|| "เทศบาลตำบลศรีภูมิ".to_string()),
        registered_on: None,
        closed_on: None,
    })
    .collect();
    db.store.upsert_funds(&funds, "test").await?;
    Ok(db)
}

#[tokio::test]
async fn health_and_readiness() -> anyhow::Result<()> {
    let empty = TestDb::new(TestBackend::Sqlite).await?;
    let (status, body) = call(&empty, "GET", "/healthz").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = call(&empty, "GET", "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "not_ready");
    assert!(body["message"].as_str().unwrap().contains("geography"));

    let db = with_funds().await?;
    let (status, body) = call(&db, "GET", "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["funds"], 3);
    assert_eq!(body["areas"]["subdistrict"], 7436);
    Ok(())
}

#[tokio::test]
async fn provinces_add_up_to_the_nation() -> anyhow::Result<()> {
    let db = with_funds().await?;
    let (status, body) = call(&db, "GET", "/api/v1/areas?level=province").await;
    assert_eq!(status, StatusCode::OK);
    let areas = body["areas"].as_array().unwrap();
    assert_eq!(areas.len(), 77);
    assert_eq!(body["count"], 77);
    let population: i64 = areas
        .iter()
        .map(|a| a["population"].as_i64().unwrap())
        .sum();
    assert_eq!(population, 66_171_439);
    assert_eq!(body["total_population"], 66_171_439);
    let funds: i64 = areas.iter().map(|a| a["funds"].as_i64().unwrap()).sum();
    assert_eq!(funds, 3);
    let chiang_mai = areas.iter().find(|a| a["code"] == "50").unwrap();
    assert_eq!(chiang_mai["name_th"], "เชียงใหม่");
    assert_eq!(chiang_mai["name_en"], "Chiang Mai");
    assert_eq!(chiang_mai["level"], "province");
    assert_eq!(chiang_mai["region"], "north");
    assert_eq!(chiang_mai["funds"], 2);
    assert_eq!(chiang_mai["population_year"], 2021);
    // The default level is province.
    let (_, default) = call(&db, "GET", "/api/v1/areas").await;
    assert_eq!(default["count"], 77);
    Ok(())
}

#[tokio::test]
async fn within_narrows_the_listing() -> anyhow::Result<()> {
    let db = with_funds().await?;
    let (_, body) = call(&db, "GET", "/api/v1/areas?level=district&within=50").await;
    assert_eq!(body["count"], 25);
    assert_eq!(body["within"], "50");
    let (_, body) = call(&db, "GET", "/api/v1/areas?level=subdistrict&within=5001").await;
    assert_eq!(body["count"], 16);
    let sri_phum = body["areas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "500101")
        .unwrap();
    assert_eq!(sri_phum["funds"], 2);
    assert_eq!(sri_phum["parent"], "5001");
    let (_, body) = call(&db, "GET", "/api/v1/areas?level=province&within=north").await;
    assert_eq!(body["count"], 17);
    let (_, body) = call(&db, "GET", "/api/v1/areas?level=tambon&within=๕๐๐๑").await;
    assert_eq!(
        body["count"], 16,
        "Thai digits and the word tambon are understood"
    );
    Ok(())
}

#[tokio::test]
async fn mistakes_are_400s_that_say_what() -> anyhow::Result<()> {
    let db = with_funds().await?;
    for (uri, code, words) in [
        ("/api/v1/areas?levl=province", "unknown_parameter", "levl"),
        ("/api/v1/areas?level=village", "invalid_parameter", "level"),
        ("/api/v1/areas?level=region", "invalid_parameter", "level"),
        (
            "/api/v1/areas?level=district&within=5x",
            "invalid_parameter",
            "within",
        ),
        (
            "/api/v1/areas?level=district&within=123",
            "invalid_parameter",
            "123",
        ),
        (
            "/api/v1/areas?level=district&within=99",
            "invalid_parameter",
            "no area has code 99",
        ),
        (
            "/api/v1/areas?level=province&within=50",
            "invalid_parameter",
            "holds no province",
        ),
    ] {
        let (status, body) = call(&db, "GET", uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"], code, "{uri}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(words), "{uri}: {message}");
    }
    let (status, body) = call(&db, "GET", "/api/v1/nothing").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = call(&db, "POST", "/api/v1/areas").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"], "method_not_allowed");
    Ok(())
}
