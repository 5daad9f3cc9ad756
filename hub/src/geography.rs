//! `welfare-hub geography import DIR`: check a bundle, then load it in one transaction.

use std::path::Path;

use welfare_geo::Bundle;

use crate::store::{GeographyImport, Store};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Bundle(#[from] welfare_geo::BundleError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("loading the bundle failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Reads and checks the bundle in `dir` (off the async threads: it parses ~8 MB of GeoJSON).
pub async fn load_bundle(dir: &Path) -> Result<Bundle, ImportError> {
    let dir = dir.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || Bundle::load(dir)).await??)
}

/// Checks and imports the bundle in `dir`. A bundle with any problem changes nothing.
pub async fn import(
    store: &Store,
    dir: &Path,
    actor: &str,
) -> Result<(Bundle, GeographyImport), ImportError> {
    let bundle = load_bundle(dir).await?;
    let report = store.import_geography(&bundle, actor).await?;
    Ok((bundle, report))
}
