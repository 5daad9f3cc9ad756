//! The crowd phase of the maps benchmark (issue 11, "Done when"): 1,000 connections × 30 s of `wrk`
//! on the cached `/indicators?level=province`, on the cached whole-country province map and on
//! uncached tambon maps, with the hub's peak memory and `/healthz` latency measured during each run,
//! and the cached `/indicators` answer beside nginx serving the same bytes. `docs/benchmarks.md`
//! explains it and keeps the results.
//!
//! Each scenario runs `wrk` with a Lua script (written here) that counts every status per thread
//! and prints the counts, wrk's socket errors and its latency percentiles in `done`, so that 503
//! `busy` answers (the admission control's, with `Retry-After`) are told apart from every other
//! failure. During each run one thread samples the hub's `VmRSS` every 100 ms (and looks for
//! processes named in `BENCH_QUIET_FOR`, rustc by default, once a second), and two threads ask
//! `GET /healthz` every `BENCH_HEALTHZ_INTERVAL_MS` (50) over a plain `TcpStream`: one on a fresh
//! connection each time (what a load balancer's probe does), one on a kept-alive connection (the hub
//! answers a probe on its accepting thread and closes that connection, saying so: the prober then
//! reconnects, as an HTTP client must). The
//! kernel's peak (`VmHWM`) is reset before each scenario (`/proc/<pid>/clear_refs`, 5) and read
//! after it.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value as Json, json};

use super::{INDICATORS, WrkRun, WrkSettings, env_or, month_back, parse_wrk, wrk_output};

/// Targets of issue 11.
pub const TARGET_RSS_MB: f64 = 1536.0;
pub const TARGET_HEALTHZ_P99_MS: f64 = 50.0;
pub const TARGET_RATIO: f64 = 0.5;
/// The `Accept-Encoding` of the `/indicators` scenario and its nginx comparison (a browser's).
pub const INDICATORS_ENCODING: &str = "gzip, br";
pub const INDICATORS_QUERY: &str = "/api/v1/indicators?level=province";
/// The whole-country province map, as the cached-answer phase asks it.
pub const PROVINCE_MAP_QUERY: &str = "/api/v1/maps/province.geojson?zoom=5";
/// The map policies the uncached scenario walks over (the demo's built-in ones).
const POLICIES: [&str; 2] = ["codi-1-1", "act-1-1-1"];

#[derive(Debug, Clone)]
pub struct CrowdSettings {
    pub connections: u32,
    pub seconds: u32,
    pub timeout_s: u32,
    pub healthz_every: Duration,
    pub settle: Duration,
    /// Connection counts of the nginx comparison.
    pub compare: Vec<u32>,
}

impl CrowdSettings {
    pub fn from_env(wrk: &WrkSettings) -> Self {
        let connections = env_or("BENCH_CROWD_CONNECTIONS", 1000u32);
        let seconds = env_or("BENCH_CROWD_SECONDS", 30u32);
        let mut compare = vec![connections];
        if wrk.connections != connections {
            compare.push(wrk.connections);
        }
        CrowdSettings {
            connections,
            seconds,
            timeout_s: env_or("BENCH_CROWD_TIMEOUT", 30u32),
            healthz_every: Duration::from_millis(env_or("BENCH_HEALTHZ_INTERVAL_MS", 50u64)),
            settle: Duration::from_secs(env_or("BENCH_CROWD_SETTLE", 5u64)),
            compare,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The machine: processes that would share the cores, memory of the hub, file descriptors.

/// Processes whose command name (`/proc/<pid>/comm`) is one of `names`.
pub fn running(names: &[String]) -> Vec<(u32, String)> {
    if names.is_empty() {
        return Vec::new();
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            let comm = comm.trim();
            names
                .iter()
                .any(|n| n == comm)
                .then(|| (pid, comm.to_string()))
        })
        .collect()
}

/// Process names to wait for before a measured run (`BENCH_QUIET_FOR`, comma-separated; default
/// `rustc`: a compile on the same cores; empty: do not wait).
pub fn quiet_names() -> Vec<String> {
    std::env::var("BENCH_QUIET_FOR")
        .unwrap_or_else(|_| "rustc".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// CPU ticks (user + system) and parent of every process, by pid, with its command name.
pub type Ticks = HashMap<u32, (String, u64, u32)>;

pub fn process_ticks() -> Ticks {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid … utime stime: fields 4, 14 and 15, counted after the name.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.insert(pid, (name, n(11) + n(12), n(1) as u32));
    }
    out
}

/// CPU seconds that processes other than this benchmark and its children (the hub, nginx, wrk)
/// used between two readings, and the three largest users by name.
pub fn foreign_cpu(before: &Ticks, after: &Ticks) -> (f64, Vec<(String, f64)>) {
    let me = std::process::id();
    let ours = |mut pid: u32| {
        for _ in 0..64 {
            if pid == me {
                return true;
            }
            match after.get(&pid).or_else(|| before.get(&pid)) {
                Some((_, _, parent)) if *parent != 0 => pid = *parent,
                _ => return false,
            }
        }
        false
    };
    let mut by_name: HashMap<String, u64> = HashMap::new();
    for (pid, (name, ticks, _)) in after {
        if ours(*pid) {
            continue;
        }
        let used = ticks.saturating_sub(before.get(pid).map_or(0, |b| b.1));
        if used > 0 {
            *by_name.entry(name.clone()).or_default() += used;
        }
    }
    // USER_HZ is 100 on Linux.
    let total = by_name.values().sum::<u64>() as f64 / 100.0;
    let mut top: Vec<(String, f64)> = by_name
        .into_iter()
        .map(|(n, t)| (n, t as f64 / 100.0))
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top.truncate(3);
    (total, top)
}

pub fn describe_cpu(seconds: f64, top: &[(String, f64)]) -> String {
    let top: Vec<String> = top.iter().map(|(n, s)| format!("{n} {s:.1} s")).collect();
    format!("{seconds:.1} CPU-s ({})", top.join(", "))
}

/// Waits until the machine is quiet: none of `names` runs and other processes used under
/// `BENCH_QUIET_CPU` % of one core (10) over 5 s; polls up to `BENCH_QUIET_MAX_WAIT` s (1200).
/// Returns the seconds waited and whether the machine was quiet at the end.
pub fn wait_quiet(names: &[String]) -> (f64, bool) {
    let started = Instant::now();
    let max = Duration::from_secs(env_or("BENCH_QUIET_MAX_WAIT", 1200u64));
    let limit = env_or("BENCH_QUIET_CPU", 10.0f64) / 100.0 * 5.0;
    let mut said = false;
    loop {
        let before = process_ticks();
        std::thread::sleep(Duration::from_secs(5));
        let (foreign, top) = foreign_cpu(&before, &process_ticks());
        let busy = running(names);
        if busy.is_empty() && (names.is_empty() || foreign < limit) {
            return (started.elapsed().as_secs_f64(), true);
        }
        let what = if busy.is_empty() {
            format!("other processes ({} in 5 s)", describe_cpu(foreign, &top))
        } else {
            describe(&busy)
        };
        if started.elapsed() >= max {
            println!(
                "  still busy after {:.0} s: {what}; measuring anyway",
                started.elapsed().as_secs_f64()
            );
            return (started.elapsed().as_secs_f64(), false);
        }
        if !said {
            println!("  waiting for a quiet machine: {what}…");
            said = true;
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

fn describe(processes: &[(u32, String)]) -> String {
    processes
        .iter()
        .map(|(pid, name)| format!("{name} ({pid})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A field of `/proc/<pid>/status` in MB (`VmRSS`, `VmHWM`).
fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// Resets the kernel's peak resident size of `pid` to its current size.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// This process's soft limit on open files (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn first_line_of(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn tool_version(tool: &Path, arg: &str) -> String {
    std::process::Command::new(tool)
        .arg(arg)
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text.lines().next().unwrap_or("").trim().to_string()
        })
        .unwrap_or_default()
}

/// The kernel's `TcpExt` counters `ListenOverflows` and `ListenDrops` (a full accept queue: the
/// client's SYN or final ACK is dropped and retried a second later).
fn listen_drops() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut tcp = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return (0, 0);
    };
    let field = |name: &str| {
        names
            .split_whitespace()
            .position(|n| n == name)
            .and_then(|i| values.split_whitespace().nth(i))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("ListenOverflows"), field("ListenDrops"))
}

/// Jiffies of the whole machine from `/proc/stat`: (busy, steal, total).
fn cpu_jiffies() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let total: u64 = (0..8).map(get).sum();
    let idle = get(3) + get(4);
    (total - idle - get(7), get(7), total)
}

/// Busy and stolen shares of the machine's CPU time between two readings, in %.
fn cpu_shares(before: (u64, u64, u64), after: (u64, u64, u64)) -> (f64, f64) {
    let total = after.2.saturating_sub(before.2).max(1) as f64;
    (
        100.0 * after.0.saturating_sub(before.0) as f64 / total,
        100.0 * after.1.saturating_sub(before.1) as f64 / total,
    )
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map_or(0, |m| m.len())
}

/// Lines written to `log` after byte `from`, and how many are tower-http's "response failed".
fn log_since(log: &Path, from: u64) -> (usize, usize) {
    let Ok(text) = std::fs::read(log) else {
        return (0, 0);
    };
    let added = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
    let lines = added.lines().count();
    let failed = added
        .lines()
        .filter(|l| l.contains("response failed"))
        .count();
    (lines, failed)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Samplers running beside wrk.

/// What the memory sampler saw during one run.
#[derive(Debug, Default)]
struct Sampled {
    max_rss_mb: f64,
    samples: usize,
    /// Processes named in `BENCH_QUIET_FOR` seen during the run.
    intruders: Vec<(u32, String)>,
}

fn sample_memory(pid: u32, quiet: Vec<String>, stop: Arc<AtomicBool>) -> JoinHandle<Sampled> {
    std::thread::spawn(move || {
        let mut s = Sampled::default();
        let mut last_scan = Instant::now() - Duration::from_secs(10);
        while !stop.load(Ordering::Relaxed) {
            if let Some(rss) = status_mb(pid, "VmRSS:") {
                s.max_rss_mb = s.max_rss_mb.max(rss);
                s.samples += 1;
            }
            if last_scan.elapsed() >= Duration::from_secs(1) {
                last_scan = Instant::now();
                for p in running(&quiet) {
                    if !s.intruders.contains(&p) {
                        s.intruders.push(p);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    })
}

/// `/healthz` latencies seen by one prober.
#[derive(Debug, Default)]
pub struct Probed {
    pub ms: Vec<f64>,
    /// Of a fresh connection's probes: the time `connect` took (the kernel's handshake and the
    /// listener's backlog), sorted.
    pub connect_ms: Vec<f64>,
    pub failures: usize,
    pub first_failure: Option<String>,
}

impl Probed {
    fn percentile(&self, p: f64) -> f64 {
        percentile(&self.ms, p)
    }
    fn max(&self) -> f64 {
        self.ms.last().copied().unwrap_or(f64::NAN)
    }
    fn json(&self) -> Json {
        json!({
            "probes": self.ms.len() + self.failures,
            "failures": self.failures,
            "first_failure": self.first_failure,
            "p50_ms": self.percentile(50.0),
            "p99_ms": self.percentile(99.0),
            "max_ms": self.max(),
            "connect_p99_ms": (!self.connect_ms.is_empty()).then(|| percentile(&self.connect_ms, 99.0)),
            "connect_max_ms": self.connect_ms.last(),
            "target_p99_ms": TARGET_HEALTHZ_P99_MS,
            "meets_target": self.meets_target(),
        })
    }
    fn meets_target(&self) -> bool {
        self.failures == 0 && self.percentile(99.0) < TARGET_HEALTHZ_P99_MS
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One `GET /healthz` on `stream`: the status line, the headers and a `Content-Length` body.
/// Returns whether the connection may be used again (the hub closes a probe's connection after
/// answering it, and says so with `Connection: close`, as HTTP/1.1 lets a server do).
fn healthz_once(stream: &mut BufReader<TcpStream>, keep_alive: bool) -> anyhow::Result<bool> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    stream.get_mut().write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {connection}\r\n\r\n")
            .as_bytes(),
    )?;
    let mut line = String::new();
    if stream.read_line(&mut line)? == 0 {
        bail!("connection closed before the status line");
    }
    let status = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut length = 0usize;
    let mut reusable = keep_alive;
    loop {
        line.clear();
        if stream.read_line(&mut line)? == 0 {
            bail!("connection closed in the headers");
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("connection")
            && value.trim().eq_ignore_ascii_case("close")
        {
            reusable = false;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    if status != "200" {
        bail!("status {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(reusable)
}

/// Asks `/healthz` every `every` until `stop`, on a fresh connection each time or on one kept alive
/// (reopened after a failure). Each probe is timed from connecting (fresh) or writing (kept alive)
/// to the last byte of the answer.
fn probe_healthz(
    addr: SocketAddr,
    keep_alive: bool,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Probed> {
    std::thread::spawn(move || {
        let mut out = Probed::default();
        let mut conn: Option<BufReader<TcpStream>> = None;
        let mut next = Instant::now();
        let timeout = Duration::from_secs(10);
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let result = (|| -> anyhow::Result<bool> {
                if conn.is_none() {
                    let s = TcpStream::connect_timeout(&addr, timeout)?;
                    if !keep_alive {
                        out.connect_ms
                            .push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    s.set_read_timeout(Some(timeout))?;
                    s.set_write_timeout(Some(timeout))?;
                    s.set_nodelay(true)?;
                    conn = Some(BufReader::new(s));
                }
                healthz_once(conn.as_mut().expect("connected"), keep_alive)
            })();
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            match result {
                Ok(reusable) => {
                    out.ms.push(elapsed);
                    if !reusable {
                        conn = None;
                    }
                }
                Err(e) => {
                    out.failures += 1;
                    out.first_failure
                        .get_or_insert_with(|| format!("after {elapsed:.0} ms: {e:#}"));
                    conn = None;
                }
            }
            if !keep_alive {
                conn = None;
            }
            next += every;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else {
                next = now;
            }
        }
        out.ms.sort_by(f64::total_cmp);
        out.connect_ms.sort_by(f64::total_cmp);
        out
    })
}

// ---------------------------------------------------------------------------------------------
// wrk with a status-counting script.

/// What a scenario's wrk script reported.
#[derive(Debug, Default)]
struct Counted {
    statuses: BTreeMap<u16, u64>,
    busy_with_retry_after: u64,
    connect: u64,
    read: u64,
    write: u64,
    timeout: u64,
    requests: u64,
    duration_s: f64,
    bytes: u64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Distinct request keys the script walks over (uncached scenario), requests issued by it.
    keys: Option<u64>,
    issued: Option<u64>,
    /// Distinct body lengths among the 200 answers of the uncached scenario: about the number of
    /// different maps served (two maps of one length count once).
    distinct_bodies: Option<u64>,
}

impl Counted {
    fn ok(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s) || **s == 304)
            .map(|(_, n)| n)
            .sum()
    }
    fn busy(&self) -> u64 {
        self.statuses.get(&503).copied().unwrap_or(0)
    }
    /// Every answer neither 2xx/304 nor 503, and every socket error (connect, read, write, timeout).
    fn other_errors(&self) -> u64 {
        let statuses: u64 = self
            .statuses
            .iter()
            .filter(|(s, _)| !((200..300).contains(*s) || **s == 304 || **s == 503))
            .map(|(_, n)| n)
            .sum();
        statuses + self.connect + self.read + self.write + self.timeout
    }
    fn requests_per_sec(&self) -> f64 {
        self.requests as f64 / self.duration_s
    }
}

fn parse_counted(text: &str) -> anyhow::Result<Counted> {
    let mut c = Counted::default();
    let mut seen = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("CROWD ") else {
            continue;
        };
        seen = true;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        match f.first().copied() {
            Some("status") => {
                c.statuses.insert(n(1) as u16, n(2) as u64);
            }
            Some("busy_with_retry_after") => c.busy_with_retry_after = n(1) as u64,
            Some("errors") => {
                (c.connect, c.read, c.write, c.timeout) =
                    (n(1) as u64, n(2) as u64, n(3) as u64, n(5) as u64);
            }
            Some("summary") => {
                c.requests = n(1) as u64;
                c.duration_s = n(2) / 1e6;
                c.bytes = n(3) as u64;
            }
            Some("latency_us") => {
                (c.p50_ms, c.p90_ms, c.p99_ms, c.max_ms) =
                    (n(1) / 1e3, n(2) / 1e3, n(3) / 1e3, n(4) / 1e3);
            }
            Some("keys") => {
                c.keys = Some(n(1) as u64);
                c.issued = Some(n(2) as u64);
                c.distinct_bodies = Some(n(3) as u64);
            }
            _ => {}
        }
    }
    if !seen || c.duration_s <= 0.0 {
        bail!("wrk's script printed no counts:\n{text}");
    }
    Ok(c)
}

/// An uncached scenario's requests: every request the next key of areas × months × indicators ×
/// zooms × policies (the area varying fastest; each thread takes every `threads`-th key), so no key
/// repeats before all have been asked. An area `""` is the whole country (no `within`).
struct Walk {
    withins: Vec<String>,
    months: Vec<String>,
    zooms: Vec<u8>,
}

impl Walk {
    fn keys(&self) -> u64 {
        (self.withins.len()
            * self.months.len()
            * INDICATORS.len()
            * self.zooms.len()
            * POLICIES.len()) as u64
    }
}

fn lua_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Lua script: status counts per thread (503 with `Retry-After` apart), printed with wrk's
/// errors and latency percentiles in `done`; with `walk`, a different map request every time.
fn lua_script(threads: u32, walk: Option<&Walk>) -> String {
    let mut s = String::from(
        r#"-- Written by hub/benches/crowd: counts every status per thread, prints them in done().
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  busy_retry = 0
  issued = 0
  bodies = {}
  n = id
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if keys and status == 200 then
    bodies[#body] = true
  end
  if status == 503 and (headers["retry-after"] or headers["Retry-After"]) then
    busy_retry = busy_retry + 1
  end
end
function done(summary, latency, requests)
  local all = {}
  local retry = 0
  local sent = 0
  local lengths = {}
  for _, t in ipairs(threads) do
    for length, _ in pairs(t:get("bodies")) do
      lengths[length] = true
    end
    for code, count in pairs(t:get("statuses")) do
      all[code] = (all[code] or 0) + count
    end
    retry = retry + t:get("busy_retry")
    sent = sent + t:get("issued")
  end
  for code, count in pairs(all) do
    io.write(string.format("CROWD status %d %d\n", code, count))
  end
  io.write(string.format("CROWD busy_with_retry_after %d\n", retry))
  local e = summary.errors
  io.write(string.format("CROWD errors %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format("CROWD summary %d %d %d\n", summary.requests, summary.duration, summary.bytes))
  io.write(string.format("CROWD latency_us %.0f %.0f %.0f %.0f\n", latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
  if keys then
    local distinct = 0
    for _, _ in pairs(lengths) do
      distinct = distinct + 1
    end
    io.write(string.format("CROWD keys %d %d %d\n", keys, sent, distinct))
  end
end
"#,
    );
    if let Some(w) = walk {
        s.push_str(&format!(
            r#"
withins = {{ {withins} }}
months = {{ {months} }}
indicators = {{ {indicators} }}
zooms = {{ {zooms} }}
policies = {{ {policies} }}
keys = {keys}
function request()
  local k = n % keys
  n = n + {threads}
  issued = issued + 1
  local a = k % #withins
  k = math.floor(k / #withins)
  local m = k % #months
  k = math.floor(k / #months)
  local i = k % #indicators
  k = math.floor(k / #indicators)
  local z = k % #zooms
  local p = math.floor(k / #zooms) % #policies
  local path = "/api/v1/maps/subdistrict.geojson?period=" .. months[m + 1] .. "&indicator=" ..
    indicators[i + 1] .. "&zoom=" .. zooms[z + 1] .. "&policy=" .. policies[p + 1]
  if withins[a + 1] ~= "" then
    path = path .. "&within=" .. withins[a + 1]
  end
  return wrk.format(nil, path)
end
"#,
            withins = lua_list(&w.withins),
            months = lua_list(&w.months),
            indicators = lua_list(INDICATORS),
            zooms = w
                .zooms
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            policies = lua_list(POLICIES),
            keys = w.keys(),
        ));
    }
    s
}

/// One scenario's figures.
#[derive(Debug)]
struct Scenario {
    name: &'static str,
    label: String,
    path: String,
    encoding: &'static str,
    counted: Counted,
    rss_before_mb: f64,
    hwm_mb: f64,
    hwm_reset: bool,
    sampled: Sampled,
    fresh: Probed,
    kept: Probed,
    healthz_every_ms: u64,
    waited_s: f64,
    quiet_before: bool,
    load_before: String,
    load_after: String,
    /// Lines the hub logged during the run, and how many of them were tower-http's "response
    /// failed" (one per 5xx answer).
    log_lines: usize,
    log_failed: usize,
    rss_after_mb: f64,
    /// `ListenOverflows`, `ListenDrops` during the run (the whole machine's).
    listen: (u64, u64),
    /// The machine's CPU busy and stolen shares during the run, %.
    cpu: (f64, f64),
    /// CPU seconds other processes used during the run, the largest users.
    foreign: (f64, Vec<(String, f64)>),
}

impl Scenario {
    fn peak_mb(&self) -> f64 {
        self.hwm_mb.max(self.sampled.max_rss_mb)
    }
    fn json(&self) -> Json {
        let c = &self.counted;
        json!({
            "scenario": self.name,
            "label": self.label,
            "path": self.path,
            "accept_encoding": self.encoding,
            "requests": c.requests,
            "duration_s": c.duration_s,
            "requests_per_sec": c.requests_per_sec(),
            "bytes": c.bytes,
            "p50_ms": c.p50_ms,
            "p90_ms": c.p90_ms,
            "p99_ms": c.p99_ms,
            "max_ms": c.max_ms,
            "statuses": c.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "ok_2xx_304": c.ok(),
            "busy_503": c.busy(),
            "busy_503_with_retry_after": c.busy_with_retry_after,
            "socket_errors": {"connect": c.connect, "read": c.read, "write": c.write, "timeout": c.timeout},
            "other_errors": c.other_errors(),
            "target_other_errors": 0,
            "meets_errors_target": c.other_errors() == 0,
            "distinct_keys": c.keys,
            "keyed_requests_issued": c.issued,
            "distinct_200_body_lengths": c.distinct_bodies,
            "hub_rss_before_mb": self.rss_before_mb,
            "hub_peak_rss_mb": {
                "vm_hwm_mb": self.hwm_mb,
                "vm_hwm_reset_before": self.hwm_reset,
                "sampled_max_vm_rss_mb": self.sampled.max_rss_mb,
                "samples": self.sampled.samples,
                "target_mb": TARGET_RSS_MB,
                "meets_target": self.peak_mb() < TARGET_RSS_MB,
            },
            "healthz": {
                "interval_ms": self.healthz_every_ms,
                "fresh_connection": self.fresh.json(),
                "kept_alive": self.kept.json(),
            },
            "machine": {
                "waited_for_quiet_s": self.waited_s,
                "quiet_before": self.quiet_before,
                "quiet_processes_seen_during": self.sampled.intruders.iter().map(|(p, n)| format!("{n} ({p})")).collect::<Vec<_>>(),
                "load_average_before": self.load_before,
                "load_average_after": self.load_after,
            },
            "hub_rss_after_mb": self.rss_after_mb,
            "listen_overflows": self.listen.0,
            "listen_drops": self.listen.1,
            "cpu_busy_percent": self.cpu.0,
            "cpu_steal_percent": self.cpu.1,
            "other_processes_cpu_s": self.foreign.0,
            "other_processes_top": self.foreign.1.iter().map(|(n, s)| json!({"name": n, "cpu_s": s})).collect::<Vec<_>>(),
            "hub_log_lines": self.log_lines,
            "hub_log_response_failed_lines": self.log_failed,
        })
    }
}

/// A wrk run of the nginx comparison.
#[derive(Debug)]
struct Compared {
    connections: u32,
    hub: super::Wrk,
    nginx: super::Wrk,
    quiet: bool,
    intruders: Vec<(u32, String)>,
    /// CPU seconds other processes used during the hub's and nginx's runs.
    foreign: Vec<f64>,
}

impl Compared {
    fn ratio(&self) -> f64 {
        self.hub.requests_per_sec / self.nginx.requests_per_sec
    }
}

/// Everything the crowd phase needs from the rest of the benchmark.
pub struct Setup<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub hub_pid: u32,
    pub wrk: &'a WrkSettings,
    pub settings: &'a CrowdSettings,
    pub nginx: &'a Path,
    pub nginx_port: u16,
    /// nginx's document root; `br/` in it is served with `Content-Encoding: br`.
    pub root: &'a Path,
    pub dir: &'a Path,
    /// The hub's standard error (its log).
    pub hub_log: &'a Path,
    pub latest: (i32, u32),
    pub span: u32,
}

/// What the crowd phase measured, for the summary and the JSON.
pub struct Crowd {
    /// The hub's RSS at the end of the phase.
    rss_end_mb: f64,
    settings: CrowdSettings,
    threads: u32,
    machine: Json,
    open_files: Option<u64>,
    scenarios: Vec<Scenario>,
    compared: Vec<Compared>,
    indicators_bytes: usize,
    hwm_before_mb: f64,
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    encoding: &str,
) -> anyhow::Result<(u16, Option<String>, Vec<u8>)> {
    let response = client
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    let coding = response
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((status, coding, response.bytes().await?.to_vec()))
}

pub async fn run(cx: Setup<'_>) -> anyhow::Result<Crowd> {
    let s = cx.settings;
    let quiet = quiet_names();
    let hub_addr: SocketAddr = cx
        .base
        .trim_start_matches("http://")
        .parse()
        .with_context(|| format!("the hub's address in {}", cx.base))?;
    let open_files = open_files_limit();
    let needed = u64::from(s.connections) * 2 + 1024;
    if open_files.is_some_and(|n| n < needed) {
        println!(
            "  WARNING: the open-files limit is {} (the hub, wrk and nginx each need over {} for {} \
             connections); run under `ulimit -n 65536`",
            open_files.unwrap_or(0),
            s.connections,
            s.connections
        );
    }
    let machine = json!({
        "cores": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu": first_line_of("/proc/cpuinfo", "model name"),
        "memory": first_line_of("/proc/meminfo", "MemTotal"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "wrk": tool_version(&cx.wrk.wrk, "-v"),
        "nginx": tool_version(cx.nginx, "-v"),
        "open_files_limit": open_files,
        "note": "wrk, the hub and nginx run on the same machine and share its cores",
    });

    // ---- The answers, cached, and their bytes for nginx.
    let indicators_url = format!("{}{INDICATORS_QUERY}", cx.base);
    let (status, coding, body) = get(cx.client, &indicators_url, INDICATORS_ENCODING).await?;
    if status != 200 || coding.as_deref() != Some("br") {
        bail!("{indicators_url}: {status}, Content-Encoding {coding:?} (wanted 200 and br)");
    }
    // Twice: the second comes from the answer cache (and checks the bytes are stable).
    let (_, _, again) = get(cx.client, &indicators_url, INDICATORS_ENCODING).await?;
    if again != body {
        bail!("{indicators_url}: two answers differ");
    }
    let br = cx.root.join("br");
    std::fs::create_dir_all(&br)?;
    std::fs::set_permissions(&br, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(br.join("indicators-province.json"), &body)?;
    let nginx_url = format!(
        "http://127.0.0.1:{}/br/indicators-province.json",
        cx.nginx_port
    );
    let (status, coding, served) = get(cx.client, &nginx_url, INDICATORS_ENCODING).await?;
    if status != 200 || coding.as_deref() != Some("br") || served != body {
        bail!("nginx does not serve the hub's /indicators bytes ({status}, {coding:?})");
    }
    let map_url = format!("{}{PROVINCE_MAP_QUERY}", cx.base);
    let (status, coding, _) = get(cx.client, &map_url, "gzip").await?;
    if status != 200 || coding.as_deref() != Some("gzip") {
        bail!("{map_url}: {status}, {coding:?}");
    }
    let months: Vec<String> = (0..cx.span).map(|b| month_back(cx.latest, b)).collect();
    // Build every zoom's tambon geometry first (seconds each, once per process), with a key
    // neither walk reaches in a run: within a province, the first month, the last indicator, the
    // second policy.
    let zooms: Vec<u8> = (4..=12).collect();
    for z in &zooms {
        let url = format!(
            "{}/api/v1/maps/subdistrict.geojson?within=50&zoom={z}&period={}&indicator={}&policy={}",
            cx.base,
            months.last().expect("a month"),
            INDICATORS[INDICATORS.len() - 1],
            POLICIES[1],
        );
        let (status, _, _) = get(cx.client, &url, "gzip").await?;
        if status != 200 {
            bail!("{url}: {status}");
        }
    }
    // The provinces and districts, for tambon maps within each.
    let mut withins = Vec::new();
    for level in ["province", "district"] {
        let url = format!("{}/api/v1/areas?level={level}", cx.base);
        let listing: Json = cx.client.get(&url).send().await?.json().await?;
        let codes = listing["areas"]
            .as_array()
            .with_context(|| format!("{url}: no areas"))?
            .iter()
            .filter_map(|a| a["code"].as_str().map(str::to_string));
        withins.extend(codes);
    }
    let country = Walk {
        withins: vec![String::new()],
        months: months.clone(),
        zooms: zooms.clone(),
    };
    let within = Walk {
        withins,
        months,
        zooms,
    };

    let threads = cx.wrk.threads;
    let hwm_before_mb = status_mb(cx.hub_pid, "VmHWM:").unwrap_or(f64::NAN);
    let mut scenarios = Vec::new();
    let plan: [(&'static str, String, String, &'static str, Option<&Walk>); 4] = [
        (
            "indicators",
            "/indicators?level=province (cached)".into(),
            INDICATORS_QUERY.into(),
            INDICATORS_ENCODING,
            None,
        ),
        (
            "province_map",
            "province map, zoom 5 (cached)".into(),
            PROVINCE_MAP_QUERY.into(),
            "gzip",
            None,
        ),
        (
            "uncached_tambon_maps",
            "whole-country tambon maps (uncached)".into(),
            "/api/v1/maps/subdistrict.geojson?period=…&indicator=…&zoom=…&policy=…".into(),
            "gzip",
            Some(&country),
        ),
        (
            "uncached_tambon_maps_within",
            "tambon maps within a province/district (uncached)".into(),
            "/api/v1/maps/subdistrict.geojson?period=…&indicator=…&zoom=…&policy=…&within=…".into(),
            "gzip",
            Some(&within),
        ),
    ];
    for (name, label, path, encoding, walk) in plan {
        let script = cx.dir.join(format!("crowd-{name}.lua"));
        std::fs::write(&script, lua_script(threads, walk))?;
        let url = if walk.is_some() {
            format!("{}/api/v1/maps/subdistrict.geojson", cx.base)
        } else {
            format!("{}{path}", cx.base)
        };
        std::thread::sleep(s.settle);
        let (waited_s, quiet_before) = wait_quiet(&quiet);
        println!(
            "  crowd: {label}: wrk -t{threads} -c{} -d{}s, {encoding}",
            s.connections, s.seconds
        );
        let rss_before_mb = status_mb(cx.hub_pid, "VmRSS:").unwrap_or(f64::NAN);
        let log_from = log_len(cx.hub_log);
        let listen_before = listen_drops();
        let cpu_before = cpu_jiffies();
        let ticks_before = process_ticks();
        let hwm_reset = reset_peak(cx.hub_pid);
        let load_before = load_average();
        let stop = Arc::new(AtomicBool::new(false));
        let memory = sample_memory(cx.hub_pid, quiet.clone(), stop.clone());
        let fresh = probe_healthz(hub_addr, false, s.healthz_every, stop.clone());
        let kept = probe_healthz(hub_addr, true, s.healthz_every, stop.clone());
        let output = wrk_output(
            cx.wrk,
            &WrkRun {
                connections: s.connections,
                seconds: s.seconds,
                encoding,
                script: Some(&script),
                timeout_s: Some(s.timeout_s),
                wait_quiet: false,
            },
            &url,
        );
        stop.store(true, Ordering::Relaxed);
        let sampled = memory.join().expect("memory sampler");
        let fresh = fresh.join().expect("healthz prober");
        let kept = kept.join().expect("healthz prober");
        let hwm_mb = status_mb(cx.hub_pid, "VmHWM:").unwrap_or(f64::NAN);
        let rss_after_mb = status_mb(cx.hub_pid, "VmRSS:").unwrap_or(f64::NAN);
        let cpu = cpu_shares(cpu_before, cpu_jiffies());
        let foreign = foreign_cpu(&ticks_before, &process_ticks());
        let listen_after = listen_drops();
        let listen = (
            listen_after.0.saturating_sub(listen_before.0),
            listen_after.1.saturating_sub(listen_before.1),
        );
        let load_after = load_average();
        let (log_lines, log_failed) = log_since(cx.hub_log, log_from);
        let counted = parse_counted(&output?)?;
        let scenario = Scenario {
            name,
            label,
            path,
            encoding,
            counted,
            rss_before_mb,
            hwm_mb,
            hwm_reset,
            sampled,
            fresh,
            kept,
            healthz_every_ms: s.healthz_every.as_millis() as u64,
            waited_s,
            quiet_before,
            load_before,
            load_after,
            log_lines,
            log_failed,
            rss_after_mb,
            listen,
            cpu,
            foreign,
        };
        print_scenario(&scenario);
        scenarios.push(scenario);
    }

    // ---- Cached /indicators beside nginx serving the same bytes.
    let mut compared = Vec::new();
    for &connections in &s.compare {
        let run = WrkRun {
            connections,
            seconds: s.seconds,
            encoding: INDICATORS_ENCODING,
            script: None,
            timeout_s: Some(s.timeout_s),
            wait_quiet: false,
        };
        let mut quiet_before = true;
        let mut intruders = Vec::new();
        let mut foreign = Vec::new();
        let mut measure = |who: &str, url: &str| -> anyhow::Result<super::Wrk> {
            std::thread::sleep(s.settle);
            quiet_before &= wait_quiet(&quiet).1;
            println!("  crowd: /indicators, {who}, wrk -c{connections}");
            let stop = Arc::new(AtomicBool::new(false));
            let watch = sample_memory(cx.hub_pid, quiet.clone(), stop.clone());
            let ticks = process_ticks();
            let w = wrk_output(cx.wrk, &run, url);
            let (other, top) = foreign_cpu(&ticks, &process_ticks());
            println!("    other processes: {}", describe_cpu(other, &top));
            foreign.push(other);
            stop.store(true, Ordering::Relaxed);
            for p in watch.join().expect("sampler").intruders {
                if !intruders.contains(&p) {
                    intruders.push(p);
                }
            }
            parse_wrk(&w?)
        };
        let hub = measure("hub", &indicators_url)?;
        let nginx = measure("nginx", &nginx_url)?;
        let c = Compared {
            connections,
            hub,
            nginx,
            quiet: quiet_before,
            intruders,
            foreign,
        };
        println!(
            "    hub {:.0} req/s, nginx {:.0} req/s: {:.2}",
            c.hub.requests_per_sec,
            c.nginx.requests_per_sec,
            c.ratio()
        );
        compared.push(c);
    }

    let rss_end_mb = status_mb(cx.hub_pid, "VmRSS:").unwrap_or(f64::NAN);
    Ok(Crowd {
        rss_end_mb,
        settings: s.clone(),
        threads,
        machine,
        open_files,
        scenarios,
        compared,
        indicators_bytes: body.len(),
        hwm_before_mb,
    })
}

fn print_scenario(sc: &Scenario) {
    let c = &sc.counted;
    println!(
        "    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.0} ms; 2xx/304 {}, 503 {} ({} with \
         Retry-After), other {} (statuses {:?}; connect {} read {} write {} timeout {})",
        c.requests_per_sec(),
        c.p50_ms,
        c.p99_ms,
        c.max_ms,
        c.ok(),
        c.busy(),
        c.busy_with_retry_after,
        c.other_errors(),
        c.statuses,
        c.connect,
        c.read,
        c.write,
        c.timeout
    );
    println!(
        "    hub RSS {:.0} MB before, peak {:.0} MB (VmHWM{}) / {:.0} MB (VmRSS sampled); /healthz \
         fresh p50 {:.2} p99 {:.2} max {:.1} ms ({} failed; connect p99 {:.2} max {:.1} ms), kept-alive p50 {:.2} p99 {:.2} max {:.1} ms \
         ({} failed)",
        sc.rss_before_mb,
        sc.hwm_mb,
        if sc.hwm_reset { "" } else { " since start" },
        sc.sampled.max_rss_mb,
        sc.fresh.percentile(50.0),
        sc.fresh.percentile(99.0),
        sc.fresh.max(),
        sc.fresh.failures,
        percentile(&sc.fresh.connect_ms, 99.0),
        sc.fresh.connect_ms.last().copied().unwrap_or(f64::NAN),
        sc.kept.percentile(50.0),
        sc.kept.percentile(99.0),
        sc.kept.max(),
        sc.kept.failures,
    );
    if let (Some(keys), Some(issued)) = (c.keys, c.issued) {
        println!(
            "    {issued} map requests over {keys} distinct keys, {} distinct body lengths among \
             the 200s{}",
            c.distinct_bodies.unwrap_or(0),
            if issued > keys {
                " (keys repeated: a repeat of a rendered map still cached is a hit)"
            } else {
                " (none repeated)"
            }
        );
    }
    println!(
        "    hub RSS after the run {:.0} MB; listen queue overflows {} (drops {}); machine CPU busy \
         {:.0}%, stolen {:.1}%; other processes {}",
        sc.rss_after_mb,
        sc.listen.0,
        sc.listen.1,
        sc.cpu.0,
        sc.cpu.1,
        describe_cpu(sc.foreign.0, &sc.foreign.1)
    );
    if sc.log_lines > 0 {
        println!(
            "    the hub logged {} lines during the run ({} of them \"response failed\", one per 5xx)",
            sc.log_lines, sc.log_failed
        );
    }
    if !sc.sampled.intruders.is_empty() {
        println!(
            "    NOTE: ran during the measurement: {}",
            describe(&sc.sampled.intruders)
        );
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

impl Crowd {
    pub fn print(&self) {
        let s = &self.settings;
        println!();
        println!(
            "  crowd: wrk -t{} -c{} -d{}s --latency --timeout {}s per scenario (wrk, the hub and nginx \
             share the machine's cores); /healthz every {} ms on a fresh and on a kept-alive \
             connection; hub peak RSS = max(VmHWM reset before the run, VmRSS sampled every 100 ms)",
            self.threads,
            s.connections,
            s.seconds,
            s.timeout_s,
            s.healthz_every.as_millis()
        );
        if let Some(n) = self.open_files {
            println!(
                "  open-files limit {n}; hub VmHWM before the crowd phase {:.0} MB, RSS at its end \
                 {:.0} MB",
                self.hwm_before_mb, self.rss_end_mb
            );
        }
        println!(
            "  {:<50} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>8} {:>17} {:>17}",
            "scenario",
            "req/s",
            "p50 ms",
            "p99 ms",
            "2xx/304",
            "503",
            "other",
            "peak MB",
            "healthz fresh",
            "healthz kept"
        );
        for sc in &self.scenarios {
            let c = &sc.counted;
            let h = |p: &Probed| {
                format!(
                    "{:.1}/{:.1}/{:.0}",
                    p.percentile(50.0),
                    p.percentile(99.0),
                    p.max()
                )
            };
            println!(
                "  {:<50} {:>9.0} {:>8.2} {:>8.2} {:>9} {:>9} {:>6} {:>8.0} {:>17} {:>17}",
                sc.label,
                c.requests_per_sec(),
                c.p50_ms,
                c.p99_ms,
                c.ok(),
                c.busy(),
                c.other_errors(),
                sc.peak_mb(),
                h(&sc.fresh),
                h(&sc.kept)
            );
        }
        println!("  (healthz: p50/p99/max ms)");
        let errors = self
            .scenarios
            .iter()
            .all(|sc| sc.counted.other_errors() == 0);
        let rss = self.scenarios.iter().all(|sc| sc.peak_mb() < TARGET_RSS_MB);
        let healthz = self
            .scenarios
            .iter()
            .all(|sc| sc.fresh.meets_target() && sc.kept.meets_target());
        println!("  non-503 errors = 0: {}", met(errors));
        println!("  hub peak RSS < {TARGET_RSS_MB:.0} MB: {}", met(rss));
        println!(
            "  /healthz p99 < {TARGET_HEALTHZ_P99_MS:.0} ms: {}",
            met(healthz)
        );
        println!();
        println!(
            "  cached /indicators?level=province ({} bytes, br) beside nginx serving the same bytes \
             (wrk -d{}s -H 'Accept-Encoding: {INDICATORS_ENCODING}'):",
            self.indicators_bytes, s.seconds
        );
        println!(
            "  {:>11} {:<6} {:>10} {:>8} {:>8} {:>9} {:>7}",
            "connections", "server", "req/s", "p50 ms", "p99 ms", "errors", "hub/ng"
        );
        for c in &self.compared {
            for (who, w) in [("hub", &c.hub), ("nginx", &c.nginx)] {
                let errors = w.non_2xx.to_string()
                    + if w.socket_errors.is_empty() {
                        ""
                    } else {
                        "+sock"
                    };
                println!(
                    "  {:>11} {who:<6} {:>10.0} {:>8.2} {:>8.2} {:>9} {:>7}",
                    if who == "hub" {
                        c.connections.to_string()
                    } else {
                        String::new()
                    },
                    w.requests_per_sec,
                    w.p50_ms,
                    w.p99_ms,
                    errors,
                    if who == "hub" {
                        format!("{:.2}", c.ratio())
                    } else {
                        String::new()
                    }
                );
            }
            for (who, w) in [("hub", &c.hub), ("nginx", &c.nginx)] {
                if !w.socket_errors.is_empty() {
                    println!("    {who}: {}", w.socket_errors);
                }
            }
            if !c.intruders.is_empty() {
                println!(
                    "    NOTE: ran during these runs: {}",
                    describe(&c.intruders)
                );
            }
        }
        println!(
            "  hub/nginx ≥ {TARGET_RATIO}: {}",
            met(self.compared.iter().all(|c| c.ratio() >= TARGET_RATIO))
        );
    }

    pub fn json(&self) -> Json {
        let s = &self.settings;
        let scenarios: Vec<Json> = self.scenarios.iter().map(Scenario::json).collect();
        let wrk = |w: &super::Wrk| {
            json!({
                "requests_per_sec": w.requests_per_sec,
                "p50_ms": w.p50_ms,
                "p99_ms": w.p99_ms,
                "transfer_bytes_per_sec": w.transfer_per_sec,
                "requests": w.requests,
                "non_2xx_3xx": w.non_2xx,
                "socket_errors": w.socket_errors,
            })
        };
        json!({
            "machine": self.machine,
            "wrk": {
                "threads": self.threads,
                "connections": s.connections,
                "seconds": s.seconds,
                "timeout_s": s.timeout_s,
            },
            "hub_vm_hwm_before_mb": self.hwm_before_mb,
            "hub_rss_at_end_mb": self.rss_end_mb,
            "scenarios": scenarios,
            "targets": {
                "other_errors": 0,
                "peak_rss_mb_below": TARGET_RSS_MB,
                "healthz_p99_ms_below": TARGET_HEALTHZ_P99_MS,
                "hub_over_nginx_at_least": TARGET_RATIO,
            },
            "indicators_vs_nginx": {
                "query": INDICATORS_QUERY,
                "accept_encoding": INDICATORS_ENCODING,
                "content_encoding": "br",
                "body_bytes": self.indicators_bytes,
                "runs": self.compared.iter().map(|c| json!({
                    "connections": c.connections,
                    "seconds": s.seconds,
                    "hub": wrk(&c.hub),
                    "nginx": wrk(&c.nginx),
                    "ratio": c.ratio(),
                    "meets_target": c.ratio() >= TARGET_RATIO,
                    "quiet_before": c.quiet,
                    "other_processes_cpu_s": c.foreign,
                    "quiet_processes_seen": c.intruders.iter().map(|(p, n)| format!("{n} ({p})")).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            },
        })
    }
}
