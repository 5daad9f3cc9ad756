//! The `http_json` connector against the simulator's fund APIs on loopback: pagination, cursors,
//! credentials, throttling, hanging and slow servers, and the compliance test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::json;
use welfare_connectors::batch::from_batch;
use welfare_connectors::compliance::{self, Fixture};
use welfare_connectors::config::SourceConfig;
use welfare_connectors::http_json::*;
use welfare_connectors::pipeline::DIGEST_PREFIX;
use welfare_connectors::{Connector, ConnectorError, Cursor, Pull, Secret};
use welfare_model::{FundId, Money, Period, Summary};
use welfare_simulator::api::{
    ApiHandle, Fault, FaultKind, FundApi, all_funds_config, fund_config, start,
};

const TOKEN: &str = "s3cret-token-4711";

const PASSWORD: &str = "pa55-word-0815";

/// Secrets by variable name, as the environment would hold them.
fn secret(name: &str) -> Result<Secret, ConnectorError> {
    match name {
        "TEST_TOKEN" => Ok(Secret::new(TOKEN)),
        "TEST_PASSWORD" => Ok(Secret::new(PASSWORD)),
        "WRONG_TOKEN" => Ok(Secret::new("wrong-token-0000")),
        other => Secret::from_env(other),
    }
}

fn connect(config: &HttpJsonConfig) -> HttpJsonConnector {
    config
        .build_with_secrets("connector:test".into(), &secret)
        .expect("the configuration builds")
}

/// `months` months for each fund, with satang, zeros and unreported fields.
fn rows(funds: &[&str], months: i32) -> Vec<Summary> {
    let mut out = Vec::new();
    for (f, fund) in funds.iter().enumerate() {
        for m in 0..months {
            let period = Period::new(2024, 1).unwrap().add_months(m);
            let mut s = Summary::new(FundId::parse(fund).unwrap(), period);
            s.members_total = Some(100 + 10 * f as i64 + i64::from(m));
            s.members_joined = Some(i64::from(m % 3));
            s.contrib_members =
                Some(Money::parse(&format!("{}.{:02}", 3_041 + m, (m * 7) % 100)).unwrap());
            s.grant_state = Some(Money::ZERO);
            s.benefits_death = (m % 4 == 0).then(|| Money::from_baht(5_000));
            s.fund_balance = Some(
                Money::parse(&format!("{}.{:02}", 1_234_567 + 1_000 * m, 89 - m % 50)).unwrap(),
            );
            s.reported_at = Some(
                Utc.with_ymd_and_hms(2024, 2, 10, 3, 0, 0).unwrap()
                    + chrono::Duration::days(31 * i64::from(m))
                    + chrono::Duration::minutes(f as i64),
            );
            s.source = Some("connector:test".into());
            out.push(s);
        }
    }
    out
}

/// Every row of a pull, checking that none came twice.
fn pulled(pull: &Pull) -> Vec<Summary> {
    let mut out: Vec<Summary> = pull
        .batches
        .iter()
        .flat_map(|b| from_batch(&b.rows).unwrap())
        .collect();
    out.sort_by(|a, b| (&a.fund_id, a.period).cmp(&(&b.fund_id, b.period)));
    let before = out.len();
    out.dedup_by(|a, b| (&a.fund_id, a.period) == (&b.fund_id, b.period));
    assert_eq!(before, out.len(), "a row was delivered twice");
    out
}

async fn serve(api: &FundApi) -> (SocketAddr, ApiHandle) {
    start(api.clone()).await.expect("the simulator starts")
}

fn paged(mut config: HttpJsonConfig, size: u32) -> HttpJsonConfig {
    config.pagination = Pagination::Page {
        param: "page".into(),
        size_param: "per_page".into(),
        size,
        first: 1,
    };
    config
}

#[derive(Default)]
struct ApiFixture {
    api: Option<FundApi>,
    servers: Vec<ApiHandle>,
}

#[async_trait]
impl Fixture for ApiFixture {
    async fn source(&mut self, good: &[Summary], bad: usize) -> SourceConfig {
        let api = FundApi::from_rows(good);
        for i in 0..bad {
            let record = if i % 2 == 0 {
                json!({"fund_code": "F100101", "month": "2568-08", "members": "many",
                       "contrib": "100.00", "updated_at": "2025-10-01T10:00:00+07:00"})
            } else {
                json!({"fund_code": "F500101", "month": "13/2568", "members": 12,
                       "updated_at": "2025-10-02T10:00:00+07:00"})
            };
            api.append_record(if i % 2 == 0 { "F100101" } else { "F500101" }, record);
        }
        let (addr, handle) = serve(&api).await;
        self.api = Some(api);
        self.servers.push(handle);
        // Four rows a page: the eleven rows take three pages.
        SourceConfig::HttpJson(paged(all_funds_config(addr), 4))
    }

    async fn append(&mut self, rows: &[Summary]) {
        self.api.as_ref().expect("a source was made").append(rows);
    }

    async fn empty(&mut self) -> SourceConfig {
        let (addr, handle) = serve(&FundApi::default()).await;
        self.servers.push(handle);
        SourceConfig::HttpJson(all_funds_config(addr))
    }

    async fn unreachable(&mut self) -> SourceConfig {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        SourceConfig::HttpJson(all_funds_config(SocketAddr::from(([127, 0, 0, 1], port))))
    }
}

#[tokio::test]
async fn compliance() {
    compliance::check(&mut ApiFixture::default()).await;
}

#[tokio::test]
async fn rejected_rows_say_where_and_why() {
    let mut fixture = ApiFixture::default();
    let config = fixture.source(&rows(&["F1"], 3), 2).await;
    let pull = config.build("x").unwrap().pull(None).await.unwrap();
    assert_eq!(pull.row_count(), 3);
    let mut rejected = pull.rejected.clone();
    rejected.sort_by(|a, b| a.location.cmp(&b.location));
    assert_eq!(
        rejected[0].location,
        "page 1 record 4 (fund_code=F100101, month=2568-08)"
    );
    assert!(rejected[0].reason.contains("members_total"), "{rejected:?}");
    assert!(rejected[0].reason.contains("many"), "{rejected:?}");
    assert_eq!(rejected[0].raw["contrib"], "100.00");
    assert_eq!(
        rejected[1].location,
        "page 2 record 1 (fund_code=F500101, month=13/2568)"
    );
    assert!(rejected[1].reason.contains("period"), "{rejected:?}");
    let b = &pull.batches[0];
    assert_eq!(
        b.locations[0],
        "page 1 record 1 (fund_code=F1, month=2567-01)"
    );
}

#[tokio::test]
async fn page_offset_and_cursor_pagination_deliver_every_row_once() {
    let want = rows(&["F1", "F2", "F3"], 8);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    let layouts = [
        // 24 rows, 5 a page: 5 pages.
        (paged(all_funds_config(addr), 5), 5),
        (
            HttpJsonConfig {
                pagination: Pagination::Offset {
                    param: "offset".into(),
                    limit_param: "limit".into(),
                    limit: 7,
                },
                ..all_funds_config(addr)
            },
            4,
        ),
        (
            HttpJsonConfig {
                pagination: Pagination::Cursor {
                    param: "cursor".into(),
                    next_field: "next_cursor".into(),
                    size_param: Some("per_page".into()),
                    size: Some(6),
                },
                ..all_funds_config(addr)
            },
            4,
        ),
        // Exactly full pages: one more, empty, page ends the listing.
        (paged(all_funds_config(addr), 8), 4),
    ];
    for (config, requests) in layouts {
        let before = api.request_count();
        let pull = connect(&config).pull(None).await.unwrap();
        assert_eq!(pulled(&pull), want, "{:?}", config.pagination);
        assert!(pull.rejected.is_empty());
        assert_eq!(
            api.request_count() - before,
            requests,
            "{:?}",
            config.pagination
        );
        assert_eq!(
            pull.cursor.unwrap().0,
            "2024-09-14T10:02:00+07:00",
            "the newest updated_at"
        );
    }
}

#[tokio::test]
async fn cursor_pagination_by_next_page_number_and_links() {
    let want = rows(&["F1"], 7);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    // `next_page` is a number: sent back as `page`.
    let config = HttpJsonConfig {
        pagination: Pagination::Cursor {
            param: "page".into(),
            next_field: "next_page".into(),
            size_param: Some("per_page".into()),
            size: Some(3),
        },
        ..fund_config(addr, "F1")
    };
    let connector = connect(&config);
    assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    assert_eq!(api.request_count(), 3);
}

#[tokio::test]
async fn one_fund_without_paging_and_exact_money() {
    let want = rows(&["F100101", "F2"], 3);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    let config = HttpJsonConfig {
        pagination: Pagination::None,
        ..fund_config(addr, "F100101")
    };
    let got = pulled(&connect(&config).pull(None).await.unwrap());
    assert_eq!(got, want[..3]);
    // The balance travels as a JSON number and stays exact.
    assert_eq!(got[2].fund_balance.unwrap().to_string(), "1236567.87");
    assert_eq!(got[1].contrib_members.unwrap().to_string(), "3042.07");
    assert_eq!(got[1].benefits_death, None, "unreported stays unreported");
    assert_eq!(got[0].grant_state, Some(Money::ZERO));
}

#[tokio::test]
async fn since_cursor_resumes() {
    let all = rows(&["F1"], 6);
    let api = FundApi::from_rows(&all[..4]);
    let (addr, _server) = serve(&api).await;
    let connector = connect(&fund_config(addr, "F1"));
    let first = connector.pull(None).await.unwrap();
    assert_eq!(pulled(&first), all[..4]);
    let cursor = first.cursor.unwrap();
    assert_eq!(cursor.0, "2024-05-13T10:00:00+07:00");
    let again = connector.pull(Some(&cursor)).await.unwrap();
    assert_eq!(again.row_count(), 0);
    assert_eq!(
        again.cursor.as_ref(),
        Some(&cursor),
        "nothing new keeps the cursor"
    );
    api.append(&all[4..]);
    let later = connector.pull(Some(&cursor)).await.unwrap();
    assert_eq!(pulled(&later), all[4..]);
    assert_eq!(later.cursor.unwrap().0, "2024-07-14T10:00:00+07:00");
    // A digest cursor from an earlier configuration is ignored: everything comes again.
    let stale = Cursor(format!("{DIGEST_PREFIX}00"));
    assert_eq!(connector.pull(Some(&stale)).await.unwrap().row_count(), 6);
}

#[tokio::test]
async fn cursor_field_without_since_param_filters_here() {
    let all = rows(&["F1"], 5);
    let api = FundApi::from_rows(&all[..3]);
    let (addr, _server) = serve(&api).await;
    let config = HttpJsonConfig {
        since_param: None,
        ..fund_config(addr, "F1")
    };
    let connector = connect(&config);
    let first = connector.pull(None).await.unwrap();
    assert_eq!(first.row_count(), 3);
    let cursor = first.cursor.unwrap();
    assert_eq!(connector.pull(Some(&cursor)).await.unwrap().row_count(), 0);
    api.append(&all[3..]);
    let later = connector.pull(Some(&cursor)).await.unwrap();
    assert_eq!(pulled(&later), all[3..]);
}

#[tokio::test]
async fn without_a_cursor_field_an_unchanged_source_gives_nothing() {
    let all = rows(&["F1"], 5);
    let api = FundApi::from_rows(&all[..3]);
    let (addr, _server) = serve(&api).await;
    let config = HttpJsonConfig {
        since_param: None,
        cursor_field: None,
        ..fund_config(addr, "F1")
    };
    let connector = connect(&config);
    let first = connector.pull(None).await.unwrap();
    assert_eq!(first.row_count(), 3);
    let digest = first.cursor.unwrap();
    assert!(digest.0.starts_with("sha256:"), "{digest}");
    let same = connector.pull(Some(&digest)).await.unwrap();
    assert_eq!((same.row_count(), same.cursor.as_ref()), (0, Some(&digest)));
    api.append(&all[3..]);
    let changed = connector.pull(Some(&digest)).await.unwrap();
    assert_eq!(pulled(&changed), all, "a changed source comes whole");
    assert_ne!(changed.cursor.unwrap(), digest);
}

#[tokio::test]
async fn server_error_is_transient_and_the_next_pull_succeeds() {
    let want = rows(&["F1"], 4);
    let api = FundApi::from_rows(&want);
    api.inject(Fault::new(FaultKind::ServerError, 1).for_fund("F1"));
    let (addr, _server) = serve(&api).await;
    let connector = connect(&fund_config(addr, "F1"));
    let err = connector.pull(None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Http { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert!(
        err.to_string().contains("SQLSTATE"),
        "the body says why: {err}"
    );
    assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
}

#[tokio::test]
async fn refused_credentials_are_permanent_and_never_printed() {
    let want = rows(&["F1"], 2);
    let api = FundApi::from_rows(&want).with_bearer(TOKEN);
    let (addr, _server) = serve(&api).await;
    let with = |env: Option<&str>| HttpJsonConfig {
        auth: env.map(|e| HttpAuth::Bearer {
            token_env: e.into(),
        }),
        ..fund_config(addr, "F1")
    };
    let right = connect(&with(Some("TEST_TOKEN")));
    assert!(!format!("{right:?}").contains(TOKEN), "{right:?}");
    assert!(format!("{right:?}").contains("TEST_TOKEN"));
    right.check().await.unwrap();
    assert_eq!(pulled(&right.pull(None).await.unwrap()), want);

    let wrong = connect(&with(Some("WRONG_TOKEN")));
    for err in [
        wrong.pull(None).await.unwrap_err(),
        wrong.check().await.unwrap_err(),
    ] {
        assert!(matches!(err, ConnectorError::Auth(_)), "{err}");
        assert!(!err.is_transient());
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("wrong-token-0000") && !text.contains(TOKEN),
            "{text}"
        );
        assert!(
            text.contains("401") && text.contains("WRONG_TOKEN"),
            "{text}"
        );
    }
    let none = connect(&with(None)).pull(None).await.unwrap_err();
    assert!(matches!(none, ConnectorError::Auth(_)), "{none}");

    // A missing variable is a configuration error naming it.
    let missing = with(Some("WELFARE_TEST_SURELY_UNSET_TOKEN"))
        .build("x".into())
        .unwrap_err();
    assert!(matches!(missing, ConnectorError::Config(_)), "{missing}");
    assert!(
        missing
            .to_string()
            .contains("WELFARE_TEST_SURELY_UNSET_TOKEN")
    );
}

#[tokio::test]
async fn basic_auth() {
    let want = rows(&["F1"], 2);
    let api = FundApi::from_rows(&want).with_basic("somchai", PASSWORD);
    let (addr, _server) = serve(&api).await;
    let with = |password_env: &str| HttpJsonConfig {
        auth: Some(HttpAuth::Basic {
            username: "somchai".into(),
            password_env: password_env.into(),
        }),
        ..fund_config(addr, "F1")
    };
    assert_eq!(
        pulled(&connect(&with("TEST_PASSWORD")).pull(None).await.unwrap()),
        want
    );
    let err = connect(&with("WRONG_TOKEN")).pull(None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth(_)), "{err}");
    assert!(err.to_string().contains("somchai"), "{err}");
    assert!(!err.to_string().contains("wrong-token-0000"), "{err}");
}

#[tokio::test]
async fn throttling_honours_retry_after_then_gives_up() {
    let want = rows(&["F1"], 3);
    let api = FundApi::from_rows(&want);
    api.inject(Fault::new(
        FaultKind::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    ));
    let (addr, _server) = serve(&api).await;
    let connector = connect(&fund_config(addr, "F1"));
    let started = Instant::now();
    let pull = connector.pull(None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(pulled(&pull), want);
    assert_eq!(api.request_count(), 2, "one 429, then the page");

    // Throttled past the retries: a transient 429 after 1 + 3 requests.
    api.inject(Fault::always(FaultKind::TooManyRequests {
        retry_after_secs: 0,
    }));
    let err = connector.pull(None).await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Http { status: 429, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert_eq!(api.request_count(), 2 + 4);
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let api = FundApi::from_rows(&rows(&["F1"], 2));
    api.inject(Fault::always(FaultKind::Hang));
    let (addr, _server) = serve(&api).await;
    let connector = connect(&HttpJsonConfig {
        request_timeout_secs: 1,
        ..fund_config(addr, "F1")
    });
    let started = Instant::now();
    let err = connector.pull(None).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
    assert!(err.is_transient());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let err = connector.check().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
}

#[tokio::test]
async fn a_slow_body_arrives_whole_or_times_out() {
    let want = rows(&["F1"], 2);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    let connector = connect(&HttpJsonConfig {
        request_timeout_secs: 1,
        ..fund_config(addr, "F1")
    });
    // About 1.4 kB in 256-byte pieces 20 ms apart: slow, but within the second.
    api.inject(Fault::new(
        FaultKind::SlowBody {
            chunk_bytes: 256,
            delay: Duration::from_millis(20),
        },
        1,
    ));
    assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    // Ten bytes every 100 ms would take many seconds.
    api.inject(Fault::new(
        FaultKind::SlowBody {
            chunk_bytes: 10,
            delay: Duration::from_millis(100),
        },
        1,
    ));
    let started = Instant::now();
    let err = connector.pull(None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Timeout(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn truncated_json_is_transient() {
    let want = rows(&["F1"], 3);
    let api = FundApi::from_rows(&want);
    api.inject(Fault::new(FaultKind::TruncatedJson, 1));
    let (addr, _server) = serve(&api).await;
    let connector = connect(&fund_config(addr, "F1"));
    let err = connector.pull(None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unreachable(_)), "{err}");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("cut short"), "{err}");
    assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
}

#[tokio::test]
async fn pages_that_shift_while_paging_are_inconsistent() {
    let want = rows(&["F1", "F2"], 5);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    for config in [
        paged(all_funds_config(addr), 3),
        HttpJsonConfig {
            pagination: Pagination::Offset {
                param: "offset".into(),
                limit_param: "limit".into(),
                limit: 4,
            },
            ..all_funds_config(addr)
        },
    ] {
        api.inject(Fault::new(FaultKind::ShiftPages, 1));
        let connector = connect(&config);
        let err = connector.pull(None).await.unwrap_err();
        assert!(matches!(err, ConnectorError::Inconsistent(_)), "{err}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("page 1"), "{err}");
        assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    }
}

#[tokio::test]
async fn rate_limit_spaces_requests() {
    let want = rows(&["F1"], 10);
    let api = FundApi::from_rows(&want);
    let (addr, _server) = serve(&api).await;
    // Ten rows, two a page: six requests (the last one empty), at most 20 a second.
    let connector = connect(&HttpJsonConfig {
        requests_per_second: Some(20.0),
        ..paged(fund_config(addr, "F1"), 2)
    });
    let started = Instant::now();
    assert_eq!(pulled(&connector.pull(None).await.unwrap()), want);
    assert_eq!(api.request_count(), 6);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "six requests 50 ms apart: {:?}",
        started.elapsed()
    );
    // The limit holds across pulls of the same connector.
    let started = Instant::now();
    for _ in 0..2 {
        connector.check().await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(50));
}
