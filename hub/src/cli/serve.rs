//! `welfare-hub serve`: the API, the maps and the page, with the scheduler pulling connectors.

use std::net::SocketAddr;

use anyhow::Context;
use welfare_hub::app::Hub;
use welfare_hub::config::Config;
use welfare_hub::server;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (HOST:PORT; port 0 picks a free one).
    #[arg(long, value_name = "HOST:PORT")]
    bind: Option<SocketAddr>,
    /// sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

pub async fn run(mut config: Config, args: Args) -> anyhow::Result<()> {
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    if let Some(url) = args.database_url {
        config.database_url = url;
    }
    let store = super::open_store(&config.database_url).await?;
    let hub = Hub::open(&config, store, Vec::new()).await?;
    listen(&config, &hub).await
}

/// Serves `hub` on the configured address until a shutdown signal.
pub async fn listen(config: &Config, hub: &Hub) -> anyhow::Result<()> {
    let (listener, _) = server::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    server::serve(listener, hub.state()).await?;
    Ok(())
}
