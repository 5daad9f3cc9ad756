//! Serving: bind, announce the URL, serve until SIGTERM or Ctrl-C, then drain in-flight requests.
//!
//! The HTTP/1 server is hyper's, set up here rather than through `axum::serve` for the limits that
//! one does not expose: how long a client may take to send a request head (which also closes idle
//! keep-alive connections: slowloris), and how large a head may grow before hyper refuses it itself.
//! Heads within hyper's limits but over the hub's are refused by `api::hygiene` with a JSON answer.

use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::api::{AppState, router};

/// Binds `addr` (port 0 picks a free port) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves the API on `listener` and runs the scheduler (if the state has one) until a shutdown
/// signal; then stops scheduling, finishes in-flight requests and closes the store. A run cut short by
/// the shutdown commits nothing and is marked failed at the next start.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let schedules = state
        .scheduler
        .as_ref()
        .map(|s| s.start(shutdown.clone()))
        .unwrap_or_default();
    let refresher = state
        .analytics
        .as_ref()
        .map(|a| a.spawn_refresher(shutdown.clone()));
    // Map geometry takes seconds to build: start now rather than on the first map request.
    let warm_maps = state.maps.clone().map(|maps| {
        tokio::spawn(async move {
            if let Err(e) = maps.geometry().await {
                tracing::error!(error = %e, "map geometry failed; maps answer 500 until fixed");
            }
        })
    });
    // The URL goes to standard output (people and test harnesses read it there); logs go to stderr.
    println!("Welfare Hub listening on http://{addr}");
    tracing::info!(%addr, connectors = state.connectors.len(), "listening");
    let store = state.store.clone();
    serve_http(listener, router(state), shutdown_signal()).await;
    let _ = stop.send(true);
    for task in schedules.into_iter().chain(refresher).chain(warm_maps) {
        task.abort();
    }
    tracing::info!("shut down; closing the store");
    store.close().await;
    Ok(())
}

/// How long a client may take to send a whole request head, and how long an idle keep-alive
/// connection stays open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests get to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// hyper's own ceiling on a request head: above it hyper answers an empty 431 and closes. It is
/// well over the hub's limits (`api::hygiene::MAX_URI_BYTES` + `MAX_HEADER_BYTES`), so that those answer
/// in JSON, and small enough that 1,000 connections cannot hold much memory with their heads.
const MAX_HEAD_BUFFER: usize = 128 * 1024;
/// hyper's own ceiling on header lines (above it, an empty 431); the hub's is `api::hygiene::MAX_HEADERS`.
const MAX_HEADER_LINES: usize = 2 * crate::api::hygiene::MAX_HEADERS;

/// Serves `app` on `listener` over HTTP/1.1 until `shutdown` completes, then stops accepting and
/// gives in-flight requests `DRAIN_TIMEOUT` to finish.
pub async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BUFFER)
        .max_headers(MAX_HEADER_LINES)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {DRAIN_TIMEOUT:?} after the shutdown signal were cut"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
