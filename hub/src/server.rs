//! Serving: bind, announce the URL, serve until SIGTERM or Ctrl-C, then drain in-flight requests.

use std::net::SocketAddr;

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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop.send(true);
    for task in schedules.into_iter().chain(refresher).chain(warm_maps) {
        task.abort();
    }
    tracing::info!("shut down; closing the store");
    store.close().await;
    Ok(())
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
