//! Writes the ingestion acceptance corpus to `tests/corpus/` (or the directory given):
//! `cargo run --bin make-corpus [DIR]`.

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(welfare_tests::corpus::corpus_dir);
    let manifest = welfare_tests::corpus::write(&dir)?;
    println!(
        "{} files, {} funds → {}",
        manifest.cases.len(),
        manifest.funds.len(),
        dir.display()
    );
    Ok(())
}
