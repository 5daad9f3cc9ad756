//! Shared by the benchmark binaries (`mod common;` in each).

/// Peak resident memory of a process (`"self"` or a pid), in MB; NaN where `/proc` does not say.
pub fn peak_rss_mb(process: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{process}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The geography bundle: `WELFARE_HUB_GEOGRAPHY`, or `../shared/data/thailand` beside the repository.
pub fn geography_dir() -> String {
    std::env::var("WELFARE_HUB_GEOGRAPHY").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/thailand").into()
    })
}
