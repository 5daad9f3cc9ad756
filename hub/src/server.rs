//! Serving: bind, announce the URL, serve until SIGTERM or Ctrl-C, then drain in-flight requests.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::api::{AppState, router};
use crate::store::Store;

/// Binds `addr` (port 0 picks a free port) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves the API on `listener` until a shutdown signal, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, store: Store) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    // The URL goes to standard output (people and test harnesses read it there); logs go to stderr.
    println!("Welfare Hub listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let app = router(AppState {
        store: store.clone(),
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
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
