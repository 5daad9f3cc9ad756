//! The `welfare-hub` command line: `serve`, `demo`, `pull`, `quarantine list`, `geography import`
//! (each in `cli/`).

mod cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cli::run(<cli::Cli as clap::Parser>::parse()).await
}
