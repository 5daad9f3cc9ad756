//! The maps API through the router over the real geography and the analytics fixture: GeoJSON
//! shape (RFC 7946, MapLibre-friendly properties), values equal to the indicators API, the three
//! no-value states, ETag revalidation, gzip and brotli, the legend, and refusals.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;

use serde_json::Value;
use welfare_hub::api::AppState;
use welfare_hub::maps::Maps;
use welfare_queries::RiskThresholds;

use crate::analytics::{get, hub, send_with};

async fn get_with(
    state: &AppState,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let r = send_with(state, "GET", uri, headers, None).await;
    (r.status.as_u16(), r.headers, r.body)
}

/// Twice the signed area of a ring (positive when counter-clockwise).
fn signed_area(ring: &[Value]) -> f64 {
    ring.windows(2)
        .map(|w| {
            let (a, b) = (&w[0], &w[1]);
            a[0].as_f64().unwrap() * b[1].as_f64().unwrap()
                - b[0].as_f64().unwrap() * a[1].as_f64().unwrap()
        })
        .sum()
}

fn polygons(geometry: &Value) -> Vec<&Vec<Value>> {
    match geometry["type"].as_str().unwrap() {
        "Polygon" => vec![geometry["coordinates"].as_array().unwrap()],
        "MultiPolygon" => geometry["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_array().unwrap())
            .collect(),
        other => panic!("geometry type {other}"),
    }
}

fn by_code(rows: &Value) -> HashMap<String, Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[tokio::test]
async fn maps_serve_rfc7946_with_the_indicators_values() -> anyhow::Result<()> {
    let (db, _analytics, mut state) = hub().await?;
    state.maps = Some(Arc::new(Maps::new(
        db.store.clone(),
        RiskThresholds::default(),
    )));

    // Provinces, the whole country.
    let r = get(&state, "/api/v1/maps/province.geojson?period=2025-03").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/geo+json");
    let map = r.json();
    assert_eq!(map["type"], "FeatureCollection");
    assert_eq!(map["indicator"], "coverage");
    assert_eq!(map["period"], "2025-03");
    let bbox: Vec<f64> = serde_json::from_value(map["bbox"].clone())?;
    assert!(
        bbox[0] > 97.0 && bbox[1] > 5.0 && bbox[2] < 106.0 && bbox[3] < 21.0,
        "{bbox:?}"
    );
    let features = map["features"].as_array().unwrap();
    assert_eq!(features.len(), 77);
    let mut ids = std::collections::HashSet::new();
    for f in features {
        assert!(f["id"].is_u64(), "integer feature id: {}", f["id"]);
        assert!(ids.insert(f["id"].as_u64().unwrap()));
        let p = &f["properties"];
        assert_eq!(p["level"], "province");
        for key in ["code", "name_th", "name_en", "state", "population", "funds"] {
            assert!(!p[key].is_null(), "{key} in {p}");
        }
        // No nulls anywhere: a missing value is explained by `state`.
        for (k, v) in p.as_object().unwrap() {
            assert!(!v.is_null(), "{k} is null in {p}");
        }
        match p["state"].as_str().unwrap() {
            "value" => assert!(p["value"].is_number() && p["class"].is_u64(), "{p}"),
            "no_fund" | "no_report" => assert!(p.get("value").is_none(), "{p}"),
            other => panic!("state {other}"),
        }
        // Right-hand rule: exterior rings counter-clockwise, holes clockwise; rings closed.
        for polygon in polygons(&f["geometry"]) {
            for (i, ring) in polygon.iter().enumerate() {
                let ring = ring.as_array().unwrap();
                assert!(ring.len() >= 4);
                assert_eq!(ring.first(), ring.last());
                let area = signed_area(ring);
                assert!(
                    if i == 0 { area > 0.0 } else { area < 0.0 },
                    "winding of {}",
                    p["code"]
                );
            }
        }
    }
    let provinces: HashMap<String, &Value> = features
        .iter()
        .map(|f| {
            (
                f["properties"]["code"].as_str().unwrap().to_string(),
                &f["properties"],
            )
        })
        .collect();
    let table = get(&state, "/api/v1/indicators?level=province&period=2025-03")
        .await
        .json();
    let rows = by_code(&table["rows"]);
    for (code, p) in &provinces {
        let row = &rows[code];
        assert_eq!(p["state"], row["state"], "{code}");
        assert_eq!(p["population"], row["population"], "{code}");
        assert_eq!(p["funds"], row["funds"], "{code}");
        if row["state"] == "value" {
            assert_eq!(p["members"], row["members"], "{code}");
            assert_eq!(p["coverage"].as_f64(), row["coverage"].as_f64(), "{code}");
            assert_eq!(p["value"].as_f64(), row["coverage"].as_f64(), "{code}");
        }
    }
    // Chiang Mai has the fixture's reporting funds; Bangkok's fund did not report; Phuket has none.
    assert_eq!(provinces["50"]["state"], "value");
    assert_eq!(provinces["50"]["members"], 150);
    assert_eq!(provinces["50"]["class"], 0);
    assert_eq!(provinces["10"]["state"], "no_report");
    assert_eq!(provinces["83"]["state"], "no_fund");

    // Tambons of one district equal the indicators API row by row.
    let r = get(
        &state,
        "/api/v1/maps/subdistrict.geojson?within=5001&period=2025-03&zoom=10",
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let map = r.json();
    let table = get(
        &state,
        "/api/v1/indicators?level=subdistrict&within=5001&period=2025-03",
    )
    .await
    .json();
    let rows = by_code(&table["rows"]);
    let features = map["features"].as_array().unwrap();
    assert_eq!(features.len(), rows.len());
    for f in features {
        let p = &f["properties"];
        let row = &rows[p["code"].as_str().unwrap()];
        assert_eq!(p["district_code"], "5001");
        assert_eq!(p["province_code"], "50");
        assert_eq!(p["state"], row["state"]);
        assert_eq!(p["coverage"].as_f64(), row["coverage"].as_f64());
    }
    let si_phum = features
        .iter()
        .find(|f| f["properties"]["code"] == "500101")
        .unwrap();
    assert_eq!(si_phum["properties"]["funds"], 2);

    // Matching shortfall per resident: the table's shortfall over its population.
    let r = get(
        &state,
        "/api/v1/maps/subdistrict.geojson?within=5001&period=2025-03&indicator=shortfall_per_resident",
    )
    .await;
    let map = r.json();
    let si_phum = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == "500101")
        .unwrap();
    let row = &rows["500101"];
    let shortfall: rust_decimal::Decimal = row["shortfall"].as_str().unwrap().parse()?;
    assert_eq!(shortfall, "2562.50".parse()?);
    let per_resident =
        (shortfall / rust_decimal::Decimal::from(row["population"].as_i64().unwrap())).round_dp(2);
    assert!(per_resident > rust_decimal::Decimal::ZERO);
    assert_eq!(
        si_phum["properties"]["value"].as_f64(),
        Some(rust_decimal::prelude::ToPrimitive::to_f64(&per_resident).unwrap())
    );
    assert_eq!(si_phum["properties"]["shortfall"], "2562.50");
    Ok(())
}

#[tokio::test]
async fn maps_revalidate_compress_and_refuse_clearly() -> anyhow::Result<()> {
    let (db, _analytics, mut state) = hub().await?;
    state.maps = Some(Arc::new(Maps::new(
        db.store.clone(),
        RiskThresholds::default(),
    )));
    let uri = "/api/v1/maps/district.geojson?within=50&period=2025-03";
    let (status, headers, plain) = get_with(&state, uri, &[]).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str()?.to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert!(headers["cache-control"].to_str()?.contains("max-age"));
    assert!(headers["vary"].to_str()?.contains("accept-encoding"));
    let districts: Value = serde_json::from_slice(&plain)?;
    assert_eq!(
        districts["features"].as_array().unwrap().len(),
        25,
        "Chiang Mai's districts"
    );

    let (status, headers, body) = get_with(&state, uri, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(headers["etag"].to_str()?, etag);

    let (status, headers, gz) = get_with(&state, uri, &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut unzipped)?;
    assert_eq!(unzipped, plain);
    assert!(gz.len() * 3 < plain.len());

    let (status, headers, br) = get_with(&state, uri, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "br");
    let mut unbrotli = Vec::new();
    brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut unbrotli)?;
    assert_eq!(unbrotli, plain);

    // The legend: fixed coverage classes and distinct no-value colours.
    let legend = get(&state, "/api/v1/legend?indicator=coverage")
        .await
        .json();
    let mins: Vec<f64> = legend["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["min"].as_f64().unwrap())
        .collect();
    assert_eq!(mins, [0.0, 20.0, 40.0, 60.0, 80.0]);
    assert_ne!(
        legend["states"]["no_fund"]["colour"],
        legend["states"]["no_report"]["colour"]
    );
    assert_eq!(legend["states"]["no_fund"]["label_th"], "ไม่มีกองทุน");

    // Refusals name the parameter.
    for (uri, status, needle) in [
        ("/api/v1/maps/region.geojson", 404, "province.geojson"),
        (
            "/api/v1/maps/province.geojson?indicator=wealth",
            400,
            "indicator",
        ),
        ("/api/v1/maps/province.geojson?zoom=far", 400, "zoom"),
        ("/api/v1/maps/province.geojson?within=5001", 400, "within"),
        ("/api/v1/maps/district.geojson?within=99", 400, "within"),
        ("/api/v1/maps/province.geojson?policy=nope", 400, "policy"),
        ("/api/v1/maps/province.geojson?colour=red", 400, "colour"),
        ("/api/v1/legend?indicator=wealth", 400, "indicator"),
    ] {
        let r = get(&state, uri).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{uri}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            String::from_utf8_lossy(&r.body).contains(needle),
            "{uri}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    Ok(())
}
