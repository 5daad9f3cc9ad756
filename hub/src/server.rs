//! Serving: bind, announce the URL, serve until SIGTERM or Ctrl-C, then drain in-flight requests.
//!
//! The HTTP/1 server is hyper's, set up here rather than through `axum::serve` for the limits that
//! one does not expose: how long a client may take to send a request head (which also closes idle
//! keep-alive connections: slowloris), and how large a head may grow before hyper refuses it itself.
//! Heads within hyper's limits but over the hub's are refused by `api::hygiene` with a JSON answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::api::{AppState, router};

/// Connections the kernel queues before the hub accepts them. The std default of 128 makes a crowd
/// arriving at once (1,000 browsers after a brief goes out) wait for SYN retries, seconds each; the
/// kernel caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` (port 0 picks a free port) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's own bind does: a restarted hub can take its port back while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(LISTEN_BACKLOG)?;
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
    // Connectors made, changed or removed in the store by another process (the command line).
    let reconciler = state.scheduler.as_ref().map(|s| {
        state
            .live()
            .spawn_reconciler(s.reconcile_every(), shutdown.clone())
    });
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
    for task in schedules
        .into_iter()
        .chain(reconciler)
        .chain(refresher)
        .chain(warm_maps)
    {
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

/// How long the accepting thread waits for a new connection's first bytes to tell a health probe
/// from everything else; a connection still silent after it is served by the main runtime (whose
/// header-read timeout then applies).
const SNIFF_WAIT: Duration = Duration::from_millis(500);

/// What a health probe's first request starts with; the next byte is a space or `?`.
const HEALTH_PROBE: &[u8] = b"GET /healthz";

/// Serves `app` on `listener` over HTTP/1.1 until `shutdown` completes, then stops accepting and
/// gives in-flight requests `DRAIN_TIMEOUT` to finish.
///
/// Connections are accepted on a thread of their own (the health lane), which also answers a
/// connection whose first request is `GET /healthz` (then closes it); every other connection is
/// handed to the main runtime. A crowd that keeps the main runtime's threads busy therefore never
/// delays accepting, nor the liveness probe an orchestrator restarts the hub by: that thread is idle
/// but for those, so the kernel runs it as soon as a probe arrives.
pub async fn serve_http(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (closed_tx, closed) = tokio::sync::oneshot::channel::<()>();
    let lane = match listener.into_std() {
        Ok(listener) => {
            let main = tokio::runtime::Handle::current();
            let graceful = graceful.clone();
            std::thread::Builder::new()
                .name("hub-accept".into())
                .spawn(move || health_lane(listener, app, main, graceful, stopped, closed_tx))
        }
        Err(e) => Err(e),
    };
    let lane = match lane {
        Ok(lane) => lane,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the accepting thread; not serving");
            return;
        }
    };
    // The lane says when its listener is closed; it ends early only if it could not listen.
    let mut closed = closed;
    tokio::select! {
        () = shutdown => {
            let _ = stop.send(true);
            let _ = (&mut closed).await;
        }
        _ = &mut closed => tracing::error!("the accepting thread ended; no longer serving"),
    }
    let _ = tokio::task::spawn_blocking(move || lane.join()).await;
    let Ok(graceful) = Arc::try_unwrap(graceful) else {
        tracing::warn!("connections still being handed over at shutdown were cut");
        return;
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running {DRAIN_TIMEOUT:?} after the shutdown signal were cut"
        );
    }
}

/// hyper's HTTP/1 settings for every connection.
fn http1(keep_alive: bool) -> hyper::server::conn::http1::Builder {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BUFFER)
        .max_headers(MAX_HEADER_LINES)
        .keep_alive(keep_alive);
    http
}

/// The accepting thread: its own single-threaded runtime, the listener, and health probes.
fn health_lane(
    listener: std::net::TcpListener,
    app: axum::Router,
    main: tokio::runtime::Handle,
    graceful: Arc<GracefulShutdown>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    closed: tokio::sync::oneshot::Sender<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the accepting thread's runtime");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen on the accepting thread");
                return;
            }
        };
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
                _ = stopped.changed() => break,
            };
            let _ = stream.set_nodelay(true);
            let (app, main, watcher) = (app.clone(), main.clone(), graceful.watcher());
            tokio::spawn(async move {
                if asks_for_health(&stream).await {
                    let connection = http1(false)
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(error = %e, "health connection ended with an error");
                    }
                    return;
                }
                // To the main runtime: the stream leaves this thread's reactor for that one's.
                let stream = match stream.into_std() {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::debug!(error = %e, "cannot hand a connection over");
                        return;
                    }
                };
                main.spawn(async move {
                    let stream = match tokio::net::TcpStream::from_std(stream) {
                        Ok(stream) => stream,
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot take a connection over");
                            return;
                        }
                    };
                    let connection = http1(true)
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            });
        }
        drop(listener);
        drop(graceful);
        let _ = closed.send(());
    });
}

/// Whether a connection's first request is `GET /healthz`, from the bytes the client has sent so
/// far (peeked, not consumed). Waits at most [`SNIFF_WAIT`] for enough of them to tell.
async fn asks_for_health(stream: &tokio::net::TcpStream) -> bool {
    let deadline = tokio::time::Instant::now() + SNIFF_WAIT;
    let mut seen = [0u8; HEALTH_PROBE.len() + 1];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut seen)).await {
            Ok(Ok(n)) if n > 0 => n,
            // Closed, failed or silent: hyper on the main runtime deals with it.
            _ => return false,
        };
        if n == seen.len() {
            return seen.starts_with(HEALTH_PROBE) && matches!(seen[n - 1], b' ' | b'?');
        }
        if !HEALTH_PROBE.starts_with(&seen[..n]) {
            return false;
        }
        // The start of a probe, the rest still on its way.
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
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

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::time::Instant;

    use axum::routing::get;

    use super::*;

    /// Sends `request` in `parts` (a pause between them) and reads until the server closes or the
    /// answer to a request with a body of `{...}` is complete.
    fn exchange(addr: SocketAddr, parts: &[&str]) -> (String, Instant) {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(60));
            }
            s.write_all(part.as_bytes()).unwrap();
        }
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if answer.ends_with(b"}") {
                break;
            }
        }
        (
            String::from_utf8_lossy(&answer).into_owned(),
            Instant::now(),
        )
    }

    fn app() -> axum::Router {
        axum::Router::new()
            .route("/healthz", get(|| async { "{\"status\":\"ok\"}" }))
            .route("/other", get(|| async { "{\"other\":true}" }))
            // Holds its runtime thread, as a crowd's CPU work does.
            .route(
                "/hog",
                get(|| async {
                    std::thread::sleep(Duration::from_millis(1500));
                    "{\"hog\":true}"
                }),
            )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn health_probes_are_answered_while_the_main_runtime_is_held() {
        let (listener, addr) = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_http(listener, app(), async {
            let _ = stopped.await;
        }));
        let (hog, health, split, plain) = tokio::task::spawn_blocking(move || {
            let hog = std::thread::spawn(move || {
                exchange(addr, &["GET /hog HTTP/1.1\r\nHost: t\r\n\r\n"])
            });
            // The only main-runtime thread is now held by /hog.
            std::thread::sleep(Duration::from_millis(300));
            let health = exchange(addr, &["GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"]);
            // A probe whose first line arrives in pieces is still told apart.
            let split = exchange(
                addr,
                &["GET /hea", "lthz?verbose HTTP/1.1\r\nHost: t\r\n\r\n"],
            );
            let hog = hog.join().unwrap();
            // Anything else goes to the main runtime, kept alive.
            let plain = exchange(addr, &["GET /other HTTP/1.1\r\nHost: t\r\n\r\n"]);
            (hog, health, split, plain)
        })
        .await
        .unwrap();
        assert!(health.0.starts_with("HTTP/1.1 200"), "{}", health.0);
        assert!(health.0.ends_with("{\"status\":\"ok\"}"), "{}", health.0);
        assert!(
            health.0.to_ascii_lowercase().contains("connection: close"),
            "{}",
            health.0
        );
        assert!(health.1 < hog.1, "the probe waited for the held runtime");
        assert!(split.0.starts_with("HTTP/1.1 200"), "{}", split.0);
        assert!(
            split.1 < hog.1,
            "the split probe waited for the held runtime"
        );
        assert!(hog.0.ends_with("{\"hog\":true}"), "{}", hog.0);
        assert!(plain.0.starts_with("HTTP/1.1 200"), "{}", plain.0);
        assert!(plain.0.ends_with("{\"other\":true}"), "{}", plain.0);
        assert!(
            !plain.0.to_ascii_lowercase().contains("connection: close"),
            "{}",
            plain.0
        );
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(20), server)
            .await
            .expect("the server stops after the signal")
            .unwrap();
        // The port is closed once serving ended.
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
