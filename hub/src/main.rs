//! The `welfare-hub` command line: `serve`, `demo`, `pull`, `quarantine list`, `geography import`
//! (each in `cli/`).

mod cli;

/// Threads for blocking work at once: renders, computations and compression of answers. tokio's
/// default (512) lets a crowd start hundreds, each with its stack and malloc arena, for work that
/// two cores do no faster; beyond this many, such work queues.
const MAX_BLOCKING_THREADS: usize = 32;

fn main() -> anyhow::Result<()> {
    let cli = <cli::Cli as clap::Parser>::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()?
        .block_on(cli::run(cli))
}
