//! Benchmark: the coverage maps over HTTP (issue "Coverage maps", "Done when"; `docs/benchmarks.md`
//! explains it and keeps the results).
//!
//! Run with `cargo bench --workspace --bench maps` (release build). It:
//! 1. starts the real `welfare-hub` binary with `demo` (a fresh SQLite store in a temporary
//!    directory, ~6,000 funds, `BENCH_MONTHS` months of reports) on a free loopback port;
//! 2. times **uncached** whole-country tambon maps (`subdistrict.geojson`, no `within`) at zoom 4 and
//!    at the page's default zoom 9, with `Accept-Encoding: gzip` and without: one warm-up request per
//!    zoom (it builds the geometry and simplifies it for that zoom), then `BENCH_REPS` requests each
//!    for a different month (walking back from the latest), so every one is a cache miss; wall time
//!    measured on the client, from sending the request to the last byte of the answer;
//! 3. fills the cache with the whole-country province map (zoom 5) and one province's district map
//!    (`within=50&zoom=8`), gzip, saves each answer's exact body bytes to a file and serves them with
//!    nginx (its own configuration in the temporary directory, `Content-Encoding: gzip`, sendfile,
//!    keep-alive);
//! 4. runs `wrk --latency` against the hub and against nginx for the same bytes and prints requests
//!    per second, latency p50/p99, transfer per second and the hub/nginx ratio;
//! 5. the crowd (issue 11, `crowd/mod.rs`): `wrk` with 1,000 connections × 30 s on the cached
//!    `/indicators?level=province` (brotli), on the cached province map and on uncached tambon maps
//!    (a Lua script makes every request another month × indicator × zoom × policy and counts the
//!    statuses, 503 apart), with the hub's peak memory and `/healthz` latency measured during each
//!    run; then the cached `/indicators` answer beside nginx serving the same bytes;
//! 6. prints a summary and writes it as JSON to `<target dir>/maps-bench/results.json`.
//!
//! `wrk` and `nginx` must be installed (`apt-get install wrk nginx`). `wrk`, the hub and nginx share
//! the machine's cores, so the requests per second are for this machine with the load generator on
//! it, not a server's capacity.
//!
//! Environment: `WELFARE_HUB_GEOGRAPHY` (default `../shared/data/thailand` beside the repository),
//! `BENCH_MONTHS` (120), `BENCH_REPS` (10), `BENCH_WRK_SECONDS` (10), `BENCH_WRK_THREADS` (2),
//! `BENCH_WRK_CONNECTIONS` (64), `BENCH_NGINX_WORKERS` (the number of cores), `BENCH_START_TIMEOUT`
//! (seconds to wait for the demo to serve, 900), `BENCH_PHASES` (`all`, or some of `uncached`,
//! `sizes`, `cached`, `crowd`), `BENCH_CROWD_CONNECTIONS` (1000), `BENCH_CROWD_SECONDS` (30),
//! `BENCH_CROWD_TIMEOUT` (wrk's `--timeout` in the crowd, 30 s), `BENCH_HEALTHZ_INTERVAL_MS` (50),
//! `BENCH_CROWD_SETTLE` (seconds of pause before each crowd run, 5), `BENCH_QUIET_FOR` (process
//! names to wait for before each measured run, `rustc`; empty: none), `BENCH_QUIET_MAX_WAIT`
//! (seconds, 1200).

mod common;
mod crowd;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value as Json, json};

const TARGET_UNCACHED_MS: f64 = 300.0;
const TARGET_RATIO: f64 = 0.5;
/// Indicators, used after the months run out so that every timed request is still a cache miss.
const INDICATORS: [&str; 4] = [
    "coverage",
    "shortfall_per_resident",
    "high_risk_funds",
    "reporting_rate",
];

/// The phases `BENCH_PHASES` selects (comma-separated: `uncached`, `sizes`, `cached`, `crowd`;
/// default `all`).
#[derive(Debug, Clone, Copy)]
struct Phases {
    uncached: bool,
    sizes: bool,
    cached: bool,
    crowd: bool,
}

impl Phases {
    fn from_env() -> anyhow::Result<Phases> {
        let text = std::env::var("BENCH_PHASES").unwrap_or_else(|_| "all".into());
        let mut p = Phases {
            uncached: false,
            sizes: false,
            cached: false,
            crowd: false,
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "all" => {
                    p = Phases {
                        uncached: true,
                        sizes: true,
                        cached: true,
                        crowd: true,
                    }
                }
                "uncached" => p.uncached = true,
                "sizes" => p.sizes = true,
                "cached" => p.cached = true,
                "crowd" => p.crowd = true,
                other => bail!(
                    "BENCH_PHASES: {other:?} is not one of all, uncached, sizes, cached, crowd"
                ),
            }
        }
        Ok(p)
    }

    fn names(self) -> Vec<&'static str> {
        [
            ("uncached", self.uncached),
            ("sizes", self.sizes),
            ("cached", self.cached),
            ("crowd", self.crowd),
        ]
        .into_iter()
        .filter_map(|(n, on)| on.then_some(n))
        .collect()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A child process killed (and reaped) when dropped, on every path out of `main`.
#[derive(Debug)]
struct Killed {
    name: &'static str,
    child: Child,
}

impl Killed {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SIGTERM first: nginx's master then stops its workers; the hub shuts down cleanly.
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!(
                "{} did not stop within 10 s of SIGTERM; killing it",
                self.name
            );
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The directory holding `name` on `PATH` (or in the usual system directories nginx lives in).
fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn kb(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

/// A month as `(year, month)`, stepped back `back` months from `latest` ("YYYY-MM").
fn month_back(latest: (i32, u32), back: u32) -> String {
    let index = latest.0 * 12 + latest.1 as i32 - 1 - back as i32;
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (y, m) = text.trim().split_once('-')?;
    let m: u32 = m.get(..2).unwrap_or(m).parse().ok()?;
    Some((y.parse().ok()?, m)).filter(|_| (1..=12).contains(&m))
}

fn months_between(first: (i32, u32), latest: (i32, u32)) -> u32 {
    ((latest.0 - first.0) * 12 + latest.1 as i32 - first.1 as i32 + 1).max(1) as u32
}

/// One answer as the client saw it.
#[derive(Debug)]
struct Fetched {
    encoding: Option<String>,
    body: Vec<u8>,
    elapsed: Duration,
}

async fn fetch(client: &reqwest::Client, url: &str, gzip: bool) -> anyhow::Result<Fetched> {
    let started = Instant::now();
    let mut request = client.get(url);
    if gzip {
        request = request.header("accept-encoding", "gzip");
    }
    let response = request.send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let encoding = response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.bytes().await?.to_vec();
    let elapsed = started.elapsed();
    if status != 200 {
        bail!(
            "GET {url}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
    }
    Ok(Fetched {
        encoding,
        body,
        elapsed,
    })
}

#[derive(Debug)]
struct Timings {
    label: String,
    zoom: u8,
    gzip: bool,
    ms: Vec<f64>,
    bytes: usize,
}

impl Timings {
    fn median(&self) -> f64 {
        let n = self.ms.len();
        if n % 2 == 1 {
            self.ms[n / 2]
        } else {
            (self.ms[n / 2 - 1] + self.ms[n / 2]) / 2.0
        }
    }
    fn json(&self) -> Json {
        json!({
            "zoom": self.zoom,
            "accept_encoding": if self.gzip { "gzip" } else { "identity" },
            "requests": self.ms.len(),
            "median_ms": self.median(),
            "min_ms": self.ms.first(),
            "max_ms": self.ms.last(),
            "response_bytes": self.bytes,
            "target_ms": TARGET_UNCACHED_MS,
            "meets_target": self.median() <= TARGET_UNCACHED_MS,
        })
    }
}

/// What `wrk --latency` printed, parsed.
#[derive(Debug, Default)]
struct Wrk {
    requests_per_sec: f64,
    transfer_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: String,
}

/// "1.23ms", "456.00us", "1.02s" → ms.
fn wrk_ms(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, factor) = if let Some(n) = t.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (t, 1.0)
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// "123.45MB" → bytes.
fn wrk_bytes(text: &str) -> Option<f64> {
    let t = text.trim();
    for (suffix, factor) in [
        ("TB", 1024f64.powi(4)),
        ("GB", 1024f64.powi(3)),
        ("MB", 1024f64.powi(2)),
        ("KB", 1024.0),
        ("B", 1.0),
    ] {
        if let Some(n) = t.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    t.parse().ok()
}

fn parse_wrk(output: &str) -> anyhow::Result<Wrk> {
    let mut w = Wrk::default();
    let mut in_distribution = false;
    for line in output.lines() {
        let t = line.trim();
        if t.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            match t.split_whitespace().collect::<Vec<_>>()[..] {
                ["50%", v] => w.p50_ms = wrk_ms(v).unwrap_or(f64::NAN),
                ["99%", v] => w.p99_ms = wrk_ms(v).unwrap_or(f64::NAN),
                [p, _] if p.ends_with('%') => {}
                _ => in_distribution = false,
            }
        }
        if let Some(v) = t.strip_prefix("Requests/sec:") {
            w.requests_per_sec = v.trim().parse().context("Requests/sec")?;
        } else if let Some(v) = t.strip_prefix("Transfer/sec:") {
            w.transfer_per_sec = wrk_bytes(v).unwrap_or(f64::NAN);
        } else if let Some(v) = t.strip_prefix("Non-2xx or 3xx responses:") {
            w.non_2xx = v.trim().parse().unwrap_or(0);
        } else if t.starts_with("Socket errors:") {
            w.socket_errors = t.to_string();
        } else if t.contains(" requests in ") {
            w.requests = t
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
    }
    if w.requests_per_sec <= 0.0 {
        bail!("wrk printed no Requests/sec:\n{output}");
    }
    Ok(w)
}

#[derive(Debug)]
struct WrkSettings {
    wrk: PathBuf,
    threads: u32,
    connections: u32,
    seconds: u32,
    /// Process names to wait for before each run (`BENCH_QUIET_FOR`).
    quiet: Vec<String>,
}

/// One wrk run: `-t{threads} -c{connections} -d{seconds}s --latency -H 'Accept-Encoding: …'`, with a
/// Lua script and a `--timeout` when given.
#[derive(Debug)]
struct WrkRun<'a> {
    connections: u32,
    seconds: u32,
    encoding: &'a str,
    script: Option<&'a Path>,
    timeout_s: Option<u32>,
    /// Wait first until none of `WrkSettings::quiet` runs.
    wait_quiet: bool,
}

/// Runs wrk and returns what it printed.
fn wrk_output(s: &WrkSettings, run: &WrkRun, url: &str) -> anyhow::Result<String> {
    if run.wait_quiet {
        crowd::wait_quiet(&s.quiet);
    }
    let mut command = Command::new(&s.wrk);
    command.args([
        format!("-t{}", s.threads),
        format!("-c{}", run.connections),
        format!("-d{}s", run.seconds),
        "--latency".into(),
        "-H".into(),
        format!("Accept-Encoding: {}", run.encoding),
    ]);
    if let Some(t) = run.timeout_s {
        command.arg("--timeout").arg(format!("{t}s"));
    }
    if let Some(script) = run.script {
        command.arg("-s").arg(script);
    }
    let ticks = crowd::process_ticks();
    let output = command
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("running wrk")?;
    let (other, top) = crowd::foreign_cpu(&ticks, &crowd::process_ticks());
    if other >= 1.0 {
        println!(
            "  NOTE: other processes used {} during this wrk run",
            crowd::describe_cpu(other, &top)
        );
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed ({}):\n{text}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let busy = crowd::running(&s.quiet);
    if !busy.is_empty() {
        println!(
            "  NOTE: {} running at the end of this wrk run",
            busy.iter()
                .map(|(pid, name)| format!("{name} ({pid})"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(text)
}

fn run_wrk(s: &WrkSettings, url: &str) -> anyhow::Result<Wrk> {
    let run = WrkRun {
        connections: s.connections,
        seconds: s.seconds,
        encoding: "gzip",
        script: None,
        timeout_s: None,
        wait_quiet: true,
    };
    parse_wrk(&wrk_output(s, &run, url)?)
}

/// Starts nginx serving the files under `root` on a free port: with `Content-Encoding: gzip` and
/// `Content-Type: application/geo+json`, those under `br/` with `br` and `application/json`.
fn start_nginx(
    nginx: &Path,
    dir: &Path,
    root: &Path,
    workers: usize,
) -> anyhow::Result<(Killed, u16)> {
    let port = free_port()?;
    let conf = dir.join("nginx.conf");
    let log = dir.join("nginx-error.log");
    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp)?;
    let d = |p: &Path| p.display().to_string();
    std::fs::write(
        &conf,
        format!(
            r"daemon off;
master_process on;
worker_processes {workers};
pid {pid};
error_log {log} warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ }}
    default_type application/geo+json;
    gzip off;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            add_header Content-Encoding gzip;
        }}
        location /br/ {{
            default_type application/json;
            add_header Content-Encoding br;
        }}
    }}
}}
",
            pid = d(&dir.join("nginx.pid")),
            log = d(&log),
            temp = d(&temp),
            root = d(root),
        ),
    )?;
    let child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(&log)
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .spawn()
        .context("starting nginx")?;
    let mut guard = Killed {
        name: "nginx",
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((guard, port));
        }
        if let Ok(Some(status)) = guard.child.try_wait() {
            bail!(
                "nginx exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "nginx did not listen on port {port} within 10 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `welfare-hub demo` and waits for its URL; returns the guard, the base URL, the
/// "Demo loaded" line and how long it took. The hub's standard error (its log) goes to `log`: under
/// the crowd it can be tens of thousands of lines.
fn start_hub(
    dir: &Path,
    geography: &str,
    months: u32,
    log: &Path,
) -> anyhow::Result<(Killed, String, String, Duration)> {
    let config = dir.join("hub.toml");
    // Nightly runs would start by themselves at 02:00 Bangkok: schedule them away.
    std::fs::write(&config, "[scheduler]\ndefault_schedule = \"0 0 1 1 *\"\n")?;
    let database = format!("sqlite://{}", dir.join("demo.db").display());
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_welfare-hub"))
        .arg("demo")
        .arg("--config")
        .arg(&config)
        .args(["--bind", "127.0.0.1:0", "--database-url", &database])
        .args(["--geography", geography, "--months", &months.to_string()])
        .env("WELFARE_HUB_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).context("the hub's log file")?)
        .spawn()
        .context("starting welfare-hub demo")?;
    let stdout = child.stdout.take().context("the hub's stdout")?;
    let guard = Killed {
        name: "the hub",
        child,
    };
    let (tx, rx) = mpsc::channel();
    // Reads the hub's standard output to the end, so it never blocks writing.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // Once the hub serves nobody listens any more: keep draining.
            let _ = tx.send(line);
        }
    });
    let timeout = Duration::from_secs(env_or("BENCH_START_TIMEOUT", 900));
    let mut summary = String::new();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(url) = line.strip_prefix("Welfare Hub listening on ") {
                    return Ok((guard, url.trim().to_string(), summary, started.elapsed()));
                }
                if line.starts_with("Demo loaded") {
                    summary.clone_from(&line);
                }
                println!("  hub: {line}");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                bail!(
                    "the hub did not announce its URL within {timeout:?}; its log ends:\n{}",
                    log_tail(log)
                )
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                bail!(
                    "the hub exited before serving; its log ends:\n{}",
                    log_tail(log)
                )
            }
        }
    }
}

/// The last lines of a log file.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The first and latest months of the demo's reports, from "… monthly summaries 2016-11–2026-10; …".
fn summary_months(summary: &str) -> Option<((i32, u32), (i32, u32))> {
    let rest = summary.split("monthly summaries ").nth(1)?;
    let span = rest.split(';').next()?;
    let (first, latest) = span.split_once('–')?;
    Some((parse_month(first)?, parse_month(latest)?))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (Some(wrk), Some(nginx)) = (find_tool("wrk"), find_tool("nginx")) else {
        eprintln!(
            "the maps benchmark needs `wrk` and `nginx` on PATH (wrk: {}, nginx: {}).\n\
             On Debian or Ubuntu: sudo apt-get install -y wrk nginx",
            find_tool("wrk").map_or("missing".into(), |p| p.display().to_string()),
            find_tool("nginx").map_or("missing".into(), |p| p.display().to_string()),
        );
        std::process::exit(2);
    };
    let geography = common::geography_dir();
    let months: u32 = env_or("BENCH_MONTHS", 120);
    let reps: usize = env_or("BENCH_REPS", 10usize).max(1);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let settings = WrkSettings {
        wrk,
        threads: env_or("BENCH_WRK_THREADS", 2),
        connections: env_or("BENCH_WRK_CONNECTIONS", 64),
        seconds: env_or("BENCH_WRK_SECONDS", 10),
        quiet: crowd::quiet_names(),
    };
    let phases = Phases::from_env()?;
    let crowd_settings = crowd::CrowdSettings::from_env(&settings);
    let nginx_workers: usize = env_or("BENCH_NGINX_WORKERS", cores);
    // Inside the target directory that built this benchmark (`CARGO_TARGET_DIR` or `target/`).
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("maps-bench");
    std::fs::create_dir_all(&out)?;
    let dir = tempfile::tempdir()?;

    println!(
        "maps benchmark: the hub's map answers over HTTP on loopback ({cores} cores; phases: {})",
        phases.names().join(", ")
    );
    println!("  starting welfare-hub demo ({months} months of reports)…");
    let hub_log = out.join("hub-stderr.log");
    let (hub, base, summary, load) = start_hub(dir.path(), &geography, months, &hub_log)?;
    println!(
        "  hub serving at {base} after {:.1} s (pid {})",
        load.as_secs_f64(),
        hub.pid()
    );
    let (first, latest) = summary_months(&summary)
        .with_context(|| format!("no months in the demo summary {summary:?}"))?;
    let span = months_between(first, latest);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let maps = format!("{base}/api/v1/maps");

    // ---- Uncached whole-country tambon maps.
    // Every request gets its own (month, indicator), so none is answered from the cache.
    let mut next_key = 0u32;
    let key = |next: &mut u32| {
        let k = *next;
        *next += 1;
        let indicator = INDICATORS[(k / span) as usize % INDICATORS.len()];
        (month_back(latest, k % span), indicator)
    };
    let mut uncached = Vec::new();
    let mut warmups = Vec::new();
    let uncached_zooms: &[u8] = if phases.uncached {
        crowd::wait_quiet(&settings.quiet);
        &[4, 9]
    } else {
        &[]
    };
    for &zoom in uncached_zooms {
        let (period, indicator) = key(&mut next_key);
        let warm = fetch(
            &client,
            &format!(
                "{maps}/subdistrict.geojson?zoom={zoom}&period={period}&indicator={indicator}"
            ),
            true,
        )
        .await?;
        println!(
            "  warm-up, tambons at zoom {zoom} (geometry for the zoom): {:.0} ms",
            warm.elapsed.as_secs_f64() * 1000.0
        );
        warmups.push(json!({"zoom": zoom, "ms": warm.elapsed.as_secs_f64() * 1000.0}));
        for gzip in [true, false] {
            let mut t = Timings {
                label: format!(
                    "tambons, zoom {zoom}{}, {}",
                    if zoom == 9 { " (default)" } else { "" },
                    if gzip { "gzip" } else { "identity" }
                ),
                zoom,
                gzip,
                ms: Vec::new(),
                bytes: 0,
            };
            for _ in 0..reps {
                let (period, indicator) = key(&mut next_key);
                // Zoom 9 is the page's default: ask without `zoom`, as the page's first load does.
                let zoom_arg = if zoom == 9 {
                    String::new()
                } else {
                    format!("&zoom={zoom}")
                };
                let f = fetch(
                    &client,
                    &format!(
                        "{maps}/subdistrict.geojson?period={period}&indicator={indicator}{zoom_arg}"
                    ),
                    gzip,
                )
                .await?;
                if gzip && f.encoding.as_deref() != Some("gzip") {
                    bail!("asked for gzip, got {:?}", f.encoding);
                }
                t.ms.push(f.elapsed.as_secs_f64() * 1000.0);
                t.bytes = f.body.len();
            }
            if next_key > span * INDICATORS.len() as u32 {
                println!(
                    "  (only {span} months × {} indicators: some requests were cache hits)",
                    INDICATORS.len()
                );
            }
            t.ms.sort_by(f64::total_cmp);
            uncached.push(t);
        }
    }

    // ---- Sizes: the whole-country layers at their default zooms and at the tambon zooms.
    let mut sizes = Vec::new();
    let sized = [
        ("provinces, zoom 5 (default)", "province.geojson?zoom=5"),
        ("provinces, zoom 4", "province.geojson?zoom=4"),
        ("districts, zoom 7 (default)", "district.geojson?zoom=7"),
        ("tambons, zoom 4", "subdistrict.geojson?zoom=4"),
        ("tambons, zoom 9 (default)", "subdistrict.geojson?zoom=9"),
        (
            "districts of province 50, zoom 8",
            "district.geojson?within=50&zoom=8",
        ),
    ];
    for (label, query) in sized.into_iter().filter(|_| phases.sizes) {
        let raw = fetch(&client, &format!("{maps}/{query}"), false).await?;
        let zipped = fetch(&client, &format!("{maps}/{query}"), true).await?;
        let features = serde_json::from_slice::<Json>(&raw.body)
            .ok()
            .and_then(|j| j["features"].as_array().map(Vec::len))
            .unwrap_or(0);
        sizes.push((label, query, raw.body.len(), zipped.body.len(), features));
    }

    // ---- Cached answers: the hub against nginx serving the same bytes.
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root)?;
    // nginx started as root runs its workers as `nobody`: they must be able to read the files
    // (a temporary directory is private to its owner).
    for d in [dir.path(), root.as_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    let mut cached = Vec::new();
    let cached_maps = [
        ("provinces.geojson", "province.geojson?zoom=5"),
        ("districts-50.geojson", "district.geojson?within=50&zoom=8"),
    ];
    for (name, query) in cached_maps.into_iter().filter(|_| phases.cached) {
        let url = format!("{maps}/{query}");
        let f = fetch(&client, &url, true).await?;
        if f.encoding.as_deref() != Some("gzip") {
            bail!("{url}: asked for gzip, got {:?}", f.encoding);
        }
        std::fs::write(root.join(name), &f.body)?;
        cached.push((name, query, url, f.body));
    }
    let nginx_guard = if phases.cached || phases.crowd {
        Some(start_nginx(&nginx, dir.path(), &root, nginx_workers)?)
    } else {
        None
    };
    let nginx_port = nginx_guard.as_ref().map_or(0, |(_, port)| *port);
    let mut rps = Vec::new();
    for (name, query, hub_url, body) in &cached {
        let nginx_url = format!("http://127.0.0.1:{nginx_port}/{name}");
        let check = fetch(&client, &nginx_url, true).await?;
        if check.body != *body || check.encoding.as_deref() != Some("gzip") {
            bail!("nginx does not serve the hub's bytes for {name}");
        }
        println!("  wrk against the hub: {query}");
        let hub_run = run_wrk(&settings, hub_url)?;
        println!("  wrk against nginx:   /{name}");
        let nginx_run = run_wrk(&settings, &nginx_url)?;
        for (who, w) in [("hub", &hub_run), ("nginx", &nginx_run)] {
            if w.non_2xx > 0 || !w.socket_errors.is_empty() {
                println!(
                    "  WARNING {who}: {} non-2xx answers; {}",
                    w.non_2xx, w.socket_errors
                );
            }
        }
        rps.push((*name, *query, body.len(), hub_run, nginx_run));
    }
    // The hub's peak so far (the crowd phase resets the kernel's peak before each of its runs).
    let hub_rss = common::peak_rss_mb(&hub.pid().to_string());

    // ---- The crowd: 1,000 connections on cached and uncached answers (issue 11).
    let crowd = if phases.crowd {
        Some(
            crowd::run(crowd::Setup {
                client: &client,
                base: &base,
                hub_pid: hub.pid(),
                wrk: &settings,
                settings: &crowd_settings,
                nginx: &nginx,
                nginx_port,
                root: &root,
                dir: dir.path(),
                hub_log: &hub_log,
                latest,
                span,
            })
            .await?,
        )
    } else {
        None
    };
    drop(nginx_guard);
    drop(hub);

    // ---- Report.
    println!();
    println!("maps benchmark: summary");
    println!("  {summary}");
    println!("  demo start to serving     {:.1} s", load.as_secs_f64());
    println!("  hub peak memory           {hub_rss:.0} MB (before the crowd phase)");
    if phases.uncached {
        println!();
        println!(
            "  uncached whole-country tambon map (no `within`), {reps} requests each, each a different \
         month/indicator (a cache miss), client wall time (target ≤ {TARGET_UNCACHED_MS:.0} ms):"
        );
        println!(
            "  {:<36} {:>9} {:>9} {:>9} {:>11}",
            "request", "median ms", "min ms", "max ms", "answer"
        );
        for t in &uncached {
            println!(
                "  {:<36} {:>9.1} {:>9.1} {:>9.1} {:>11}{}",
                t.label,
                t.median(),
                t.ms[0],
                t.ms[t.ms.len() - 1],
                kb(t.bytes),
                if t.median() <= TARGET_UNCACHED_MS {
                    ""
                } else {
                    "  OVER TARGET"
                }
            );
        }
    }
    if phases.sizes {
        println!();
        println!("  map sizes (whole country unless `within`):");
        println!(
            "  {:<34} {:>9} {:>11} {:>11} {:>7}",
            "map", "features", "raw", "gzip", "ratio"
        );
        for (label, _, raw, zipped, features) in &sizes {
            println!(
                "  {label:<34} {features:>9} {:>11} {:>11} {:>6.1}×",
                kb(*raw),
                kb(*zipped),
                *raw as f64 / *zipped as f64
            );
        }
    }
    if phases.cached {
        println!();
        println!(
            "  cached answers, wrk -t{} -c{} -d{}s --latency -H 'Accept-Encoding: gzip' (wrk, the hub and \
         nginx share the {cores} cores; nginx: {nginx_workers} workers, sendfile, the same gzip bytes from disk):",
            settings.threads, settings.connections, settings.seconds
        );
        println!(
            "  {:<36} {:<6} {:>10} {:>9} {:>9} {:>12} {:>7}",
            "map (gzip body)", "server", "req/s", "p50 ms", "p99 ms", "transfer/s", "hub/ng"
        );
        for (_, query, bytes, hub_run, nginx_run) in &rps {
            let ratio = hub_run.requests_per_sec / nginx_run.requests_per_sec;
            for (who, w) in [("hub", hub_run), ("nginx", nginx_run)] {
                println!(
                    "  {:<36} {who:<6} {:>10.0} {:>9.2} {:>9.2} {:>10.1}MB {:>7}",
                    if who == "hub" {
                        format!("{query} ({})", kb(*bytes))
                    } else {
                        String::new()
                    },
                    w.requests_per_sec,
                    w.p50_ms,
                    w.p99_ms,
                    w.transfer_per_sec / f64::from(1 << 20),
                    if who == "hub" {
                        format!(
                            "{ratio:.2}{}",
                            if ratio >= TARGET_RATIO { "" } else { " LOW" }
                        )
                    } else {
                        String::new()
                    },
                );
            }
        }
        println!("  (target: hub/nginx ≥ {TARGET_RATIO})");
    }
    if let Some(c) = &crowd {
        c.print();
    }

    let results = json!({
        "phases": phases.names(),
        "cores": cores,
        "months": months,
        "demo_summary": summary,
        "demo_start_s": load.as_secs_f64(),
        "hub_peak_rss_mb": hub_rss,
        "crowd": crowd.as_ref().map(crowd::Crowd::json),
        "uncached_tambon_maps": {
            "warmups": warmups,
            "runs": uncached.iter().map(Timings::json).collect::<Vec<_>>(),
        },
        "sizes": sizes.iter().map(|(label, query, raw, zipped, features)| json!({
            "map": label, "query": query, "features": features,
            "raw_bytes": raw, "gzip_bytes": zipped,
        })).collect::<Vec<_>>(),
        "cached_rps": {
            "wrk": {
                "threads": settings.threads,
                "connections": settings.connections,
                "seconds": settings.seconds,
                "accept_encoding": "gzip",
            },
            "nginx_workers": nginx_workers,
            "target_ratio": TARGET_RATIO,
            "maps": rps.iter().map(|(name, query, bytes, hub_run, nginx_run)| {
                let w = |w: &Wrk| json!({
                    "requests_per_sec": w.requests_per_sec,
                    "p50_ms": w.p50_ms,
                    "p99_ms": w.p99_ms,
                    "transfer_bytes_per_sec": w.transfer_per_sec,
                    "requests": w.requests,
                    "non_2xx": w.non_2xx,
                    "socket_errors": w.socket_errors,
                });
                json!({
                    "file": name,
                    "query": query,
                    "body_bytes": bytes,
                    "hub": w(hub_run),
                    "nginx": w(nginx_run),
                    "ratio": hub_run.requests_per_sec / nginx_run.requests_per_sec,
                })
            }).collect::<Vec<_>>(),
        },
    });
    let path = out.join("results.json");
    std::fs::write(&path, serde_json::to_string_pretty(&results)?)?;
    println!();
    println!(
        "  results written to <target dir>/maps-bench/results.json; the hub's log to \
         <target dir>/maps-bench/hub-stderr.log"
    );
    Ok(())
}
