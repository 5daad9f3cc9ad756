//! Answers computed once per snapshot and served to a crowd: the cache behind the maps and the
//! analytics tables (`/indicators`, `/matching`, `/timeseries`, `/funds`).
//!
//! - An answer is keyed by its normalised request and the snapshot version it was computed from; a
//!   newer snapshot empties the cache. The `ETag` is made of the same two, so a client that holds
//!   the answer is told 304 without anything being computed or even looked up.
//! - Concurrent misses for one answer share one computation (a slot the first caller fills).
//! - Computations are admitted a few at a time ([`Admission`]): beyond the running ones a short queue
//!   waits briefly, and everyone else is told 503 with `Retry-After` at once. So a thousand clients
//!   asking a thousand different uncached answers cost a few computations' memory, never a thousand.
//! - The cache holds at most [`AnswerCache::budget`] bytes (bodies and their compressed forms); the
//!   oldest answers go first.
//! - Bodies are compressed (gzip, brotli) on first demand, off the async threads, and kept.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// A computed answer: its bytes as served without compression, and how to label them.
#[derive(Debug)]
pub struct Encoded {
    pub body: Bytes,
    pub content_type: &'static str,
    /// `Content-Disposition`, for downloads (a CSV for Excel).
    pub disposition: Option<String>,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

/// A content coding the hub answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The best coding an `Accept-Encoding` header allows: brotli, then gzip (q=0 refuses).
    pub fn negotiate(accept: Option<&str>) -> Coding {
        let Some(accept) = accept else {
            return Coding::Identity;
        };
        let allows = |name: &str| {
            accept.split(',').any(|part| {
                let mut it = part.split(';');
                let coding = it.next().unwrap_or("").trim();
                let refused = it.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                coding.eq_ignore_ascii_case(name) && !refused
            })
        };
        if allows("br") {
            Coding::Brotli
        } else if allows("gzip") {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    pub fn of_request(headers: &HeaderMap) -> Coding {
        Coding::negotiate(
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        )
    }

    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// Below this size an answer is sent as it is: compressing would save less than a packet.
const COMPRESS_FROM: usize = 1024;

impl Encoded {
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Self {
        Encoded {
            body: body.into(),
            content_type,
            disposition: None,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    pub fn json(body: impl Into<Bytes>) -> Self {
        Encoded::new(body, "application/json")
    }

    pub fn with_disposition(mut self, disposition: String) -> Self {
        self.disposition = Some(disposition);
        self
    }

    /// The coding this answer goes out in, for a client that accepts `wanted`.
    pub fn coding_for(&self, wanted: Coding) -> Coding {
        if self.body.len() < COMPRESS_FROM {
            Coding::Identity
        } else {
            wanted
        }
    }

    /// The body in `coding`; compressing is CPU work, so call it off the async threads (see
    /// [`Encoded::is_ready`]).
    pub fn body(&self, coding: Coding) -> Bytes {
        match coding {
            Coding::Identity => self.body.clone(),
            Coding::Gzip => self
                .gzip
                .get_or_init(|| {
                    let mut e = flate2::write::GzEncoder::new(
                        Vec::with_capacity(self.body.len() / 4),
                        flate2::Compression::new(6),
                    );
                    e.write_all(&self.body).expect("writing to memory");
                    e.finish().expect("writing to memory").into()
                })
                .clone(),
            Coding::Brotli => self
                .brotli
                .get_or_init(|| {
                    let mut out = Vec::with_capacity(self.body.len() / 5);
                    {
                        // Quality 5: close to gzip's speed, clearly smaller.
                        let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, 5, 22);
                        w.write_all(&self.body).expect("writing to memory");
                    }
                    out.into()
                })
                .clone(),
        }
    }

    /// Whether the body in `coding` is already made (so no compression work is left).
    pub fn is_ready(&self, coding: Coding) -> bool {
        match coding {
            Coding::Identity => true,
            Coding::Gzip => self.gzip.get().is_some(),
            Coding::Brotli => self.brotli.get().is_some(),
        }
    }

    /// The body in `coding`, compressed on a blocking thread when it is not made yet.
    pub async fn body_async(self: &Arc<Self>, coding: Coding) -> Bytes {
        if self.is_ready(coding) {
            return self.body(coding);
        }
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.body(coding)).await {
            Ok(body) => body,
            // The compressing thread panicked (it cannot, short of memory): the plain body is
            // still right.
            Err(_) => self.body(Coding::Identity),
        }
    }

    /// Bytes held: the body and the compressed forms made so far.
    fn size(&self) -> usize {
        self.body.len()
            + self.gzip.get().map_or(0, Bytes::len)
            + self.brotli.get().map_or(0, Bytes::len)
    }
}

/// Too many computations are running and waiting: the client should come back in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub is busy computing other answers; retry in {retry_after} s")]
pub struct Overloaded {
    /// Seconds, for `Retry-After`.
    pub retry_after: u64,
}

/// Lets a few computations run at once, a short queue wait briefly, and refuses the rest at once.
#[derive(Debug)]
pub struct Admission {
    running: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    wait: Duration,
}

/// Leaves the queue however the wait ends (admitted, timed out, or the caller gone).
struct Queued<'a>(&'a AtomicUsize);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub fn new(running: usize, max_waiting: usize, wait: Duration) -> Self {
        Admission {
            running: Semaphore::new(running.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait,
        }
    }

    /// Waits for a turn, briefly; `Err` when the queue is full or the wait is over.
    pub async fn admit(&self) -> Result<SemaphorePermit<'_>, Overloaded> {
        self.admit_by(tokio::time::Instant::now() + self.wait).await
    }

    /// The latest a request arriving now may be admitted.
    pub fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.wait
    }

    /// Waits for a turn until `deadline` at the latest; `Err` when the queue is full or the deadline
    /// has passed. A request that has to try more than once (it joined a computation that was then
    /// refused) keeps its first deadline, so no caller waits longer than one wait in all.
    pub async fn admit_by(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<SemaphorePermit<'_>, Overloaded> {
        let busy = Overloaded {
            retry_after: self.wait.as_secs().max(1),
        };
        if let Ok(permit) = self.running.try_acquire() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let _queued = Queued(&self.waiting);
        match tokio::time::timeout_at(deadline, self.running.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // Timed out, or the semaphore closed (never: it is not closed).
            _ => Err(busy),
        }
    }
}

/// An answer being computed, or computed.
type Slot = OnceCell<Arc<Encoded>>;

#[derive(Debug)]
struct Entries<K> {
    version: u64,
    slots: HashMap<K, Arc<Slot>>,
    /// Keys of filled slots in the order they were filled, for eviction.
    order: VecDeque<K>,
}

impl<K> Default for Entries<K> {
    fn default() -> Self {
        Entries {
            version: 0,
            slots: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

/// Answers of the current snapshot by normalised request.
#[derive(Debug)]
pub struct AnswerCache<K> {
    entries: Mutex<Entries<K>>,
    budget: usize,
    admission: Admission,
}

impl<K: Hash + Eq + Clone + Debug> AnswerCache<K> {
    /// A cache holding at most `budget` bytes, computing through `admission`.
    pub fn new(budget: usize, admission: Admission) -> Self {
        AnswerCache {
            entries: Mutex::new(Entries::default()),
            budget,
            admission,
        }
    }

    /// The most bytes the cache holds.
    pub fn budget(&self) -> usize {
        self.budget
    }

    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The answer to `key` of snapshot `version`: cached, being computed by another caller (then
    /// shared), or computed now by `compute` once admitted.
    ///
    /// A caller that joins a computation which is then refused admission tries once itself, within
    /// what is left of its own wait; a refused or failed computation leaves nothing in the cache (a
    /// crowd asking a million different answers holds a slot per request in flight, not per answer).
    pub async fn get_or_compute<E, F, Fut>(
        &self,
        version: u64,
        key: &K,
        compute: F,
    ) -> Result<Arc<Encoded>, E>
    where
        E: From<Overloaded>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Encoded, E>>,
    {
        let deadline = self.admission.deadline();
        let slot = self.slot(version, key);
        let computed = std::sync::atomic::AtomicBool::new(false);
        let answer = slot
            .get_or_try_init(|| async {
                let _turn = self.admission.admit_by(deadline).await?;
                computed.store(true, Ordering::Relaxed);
                compute().await.map(Arc::new)
            })
            .await;
        match answer {
            Ok(answer) => {
                if computed.load(Ordering::Relaxed) {
                    self.keep(version, key, &slot);
                }
                Ok(answer.clone())
            }
            Err(e) => {
                self.forget(version, key, &slot);
                Err(e)
            }
        }
    }

    /// The slot of `key` in `version`. A newer snapshot empties the cache; a request still holding
    /// an older snapshot gets a slot of its own that is not kept.
    fn slot(&self, version: u64, key: &K) -> Arc<Slot> {
        let mut entries = self.entries.lock().expect("answer cache lock");
        if version > entries.version {
            entries.slots.clear();
            entries.order.clear();
            entries.version = version;
        } else if version < entries.version {
            return Arc::default();
        }
        if let Some(slot) = entries.slots.get(key) {
            return slot.clone();
        }
        // Into `order` once filled (`keep`): the eviction order holds answers, not requests.
        let slot = Arc::<Slot>::default();
        entries.slots.insert(key.clone(), slot.clone());
        slot
    }

    /// Puts a slot just filled back in the cache if a refusal took it out meanwhile, then trims the
    /// cache to its budget.
    fn keep(&self, version: u64, key: &K, slot: &Arc<Slot>) {
        {
            let mut entries = self.entries.lock().expect("answer cache lock");
            if entries.version == version {
                if !entries.slots.contains_key(key) {
                    entries.slots.insert(key.clone(), slot.clone());
                }
                entries.order.push_back(key.clone());
            }
        }
        self.fit(version);
    }

    /// Takes a slot whose computation was refused or failed out of the cache, unless it was filled
    /// meanwhile or is no longer the key's slot.
    fn forget(&self, version: u64, key: &K, slot: &Arc<Slot>) {
        let mut entries = self.entries.lock().expect("answer cache lock");
        if entries.version != version {
            return;
        }
        let ours = entries
            .slots
            .get(key)
            .is_some_and(|s| Arc::ptr_eq(s, slot) && s.get().is_none());
        if ours {
            entries.slots.remove(key);
        }
    }

    /// Drops the oldest answers until the cache is within its budget (slots still being computed
    /// are kept: they hold nothing yet).
    fn fit(&self, version: u64) {
        let mut entries = self.entries.lock().expect("answer cache lock");
        if entries.version != version {
            return;
        }
        let held = |e: &Entries<K>| -> usize {
            e.slots
                .values()
                .filter_map(|s| s.get())
                .map(|a| a.size())
                .sum()
        };
        let mut total = held(&entries);
        let mut scanned = entries.order.len();
        while total > self.budget && scanned > 0 {
            scanned -= 1;
            let Some(key) = entries.order.pop_front() else {
                break;
            };
            match entries.slots.get(&key).map(|s| s.get().map(|a| a.size())) {
                Some(Some(size)) => {
                    entries.slots.remove(&key);
                    total -= size;
                }
                // Still computing: keep it, look at it again later.
                Some(None) => entries.order.push_back(key),
                None => {}
            }
        }
    }

    /// How many answers are held (for tests).
    pub fn len(&self) -> usize {
        let entries = self.entries.lock().expect("answer cache lock");
        entries.slots.values().filter(|s| s.get().is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A weak validator for the answer to `key` of snapshot `version`: the same for every content
/// coding of one answer, and stable across restarts (FNV-1a, not the std hasher's random keys).
pub fn etag_of(version: u64, key: &impl Hash) -> String {
    use std::hash::Hasher;
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    key.hash(&mut h);
    format!("W/\"{version}-{:016x}\"", h.finish())
}

/// Whether the client's `If-None-Match` already names `etag` (weak comparison, `*` matches).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || weak(t) == weak(etag))
}

/// Figures change after a nightly pull: a short freshness, then revalidation by ETag.
pub const REVALIDATE: &str = "public, max-age=300, must-revalidate";

/// The headers every cached answer and its 304 carry.
fn validators(response: &mut Response, etag: &str, version: u64) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        h.insert("x-snapshot-version", v);
    }
}

/// A 304 for a client that already holds the answer.
pub fn not_modified_response(etag: &str, version: u64) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    validators(&mut r, etag, version);
    r
}

/// The answer in the best coding the client accepts, with its validators.
pub async fn answer_response(
    answer: &Arc<Encoded>,
    headers: &HeaderMap,
    etag: &str,
    version: u64,
) -> Response {
    let coding = answer.coding_for(Coding::of_request(headers));
    let body = answer.body_async(coding).await;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if let Some(c) = coding.header() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(c));
    }
    if let Some(d) = answer
        .disposition
        .as_deref()
        .and_then(|d| HeaderValue::from_str(d).ok())
    {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    validators(&mut r, etag, version);
    r
}

/// The whole exchange for a cacheable answer: 304 when the client holds it, else the cached or newly
/// computed answer.
pub async fn respond<K, E, F, Fut>(
    cache: &AnswerCache<K>,
    headers: &HeaderMap,
    version: u64,
    key: &K,
    compute: F,
) -> Result<Response, E>
where
    K: Hash + Eq + Clone + Debug,
    E: From<Overloaded>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Encoded, E>>,
{
    let etag = etag_of(version, key);
    if not_modified(headers, &etag) {
        return Ok(not_modified_response(&etag, version));
    }
    let answer = cache.get_or_compute(version, key, compute).await?;
    Ok(answer_response(&answer, headers, &etag, version).await)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    fn cache(budget: usize, running: usize, waiting: usize) -> AnswerCache<String> {
        AnswerCache::new(
            budget,
            Admission::new(running, waiting, Duration::from_millis(200)),
        )
    }

    #[tokio::test]
    async fn an_answer_is_computed_once_per_snapshot() {
        let c = cache(1 << 20, 2, 4);
        let calls = AtomicU32::new(0);
        let compute = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Overloaded>(Encoded::json("[1]"))
        };
        let key = "indicators level=province".to_string();
        let a = c.get_or_compute(1, &key, compute).await.unwrap();
        let b = c.get_or_compute(1, &key, compute).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(a.body, b.body);
        // A newer snapshot computes again and empties the cache of the old one.
        c.get_or_compute(2, &key, compute).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(c.len(), 1);
        // A request still holding snapshot 1 is answered but not kept.
        c.get_or_compute(1, &key, compute).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(c.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_computation() {
        let c = Arc::new(cache(1 << 20, 1, 0));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_compute(7, &"same".to_string(), || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(&t.await.unwrap().unwrap().body[..], b"{}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_running_and_the_queue_callers_are_told_to_retry() {
        // One running, one waiting: of four different answers asked at once, two are refused.
        let c = Arc::new(AnswerCache::<String>::new(
            1 << 20,
            Admission::new(1, 1, Duration::from_secs(5)),
        ));
        let mut tasks = Vec::new();
        for i in 0..4 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                c.get_or_compute(1, &format!("map {i}"), || async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await
                .map(|_| ())
            }));
            // Let each task reach the admission in order.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        assert_eq!(
            outcomes,
            vec![
                Ok(()),
                Ok(()),
                Err(Overloaded { retry_after: 5 }),
                Err(Overloaded { retry_after: 5 })
            ]
        );
        // A refused answer is not cached as a failure: asked again when calm, it is computed.
        let again = c
            .get_or_compute(1, &"map 3".to_string(), || async {
                Ok::<_, Overloaded>(Encoded::json("{\"ok\":1}"))
            })
            .await
            .unwrap();
        assert_eq!(&again.body[..], b"{\"ok\":1}");
    }

    #[tokio::test(start_paused = true)]
    async fn refused_requests_leave_nothing_behind() {
        let c = Arc::new(cache(1 << 20, 1, 0));
        let busy = {
            let c = c.clone();
            tokio::spawn(async move {
                c.get_or_compute(1, &"slow".to_string(), || async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await
                .map(|_| ())
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        for i in 0..1000 {
            let refused = c
                .get_or_compute(1, &format!("map {i}"), || async {
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await;
            assert_eq!(refused.unwrap_err(), Overloaded { retry_after: 1 });
        }
        {
            let entries = c.entries.lock().unwrap();
            assert_eq!(entries.slots.len(), 1, "only the computation in flight");
            assert!(entries.order.is_empty());
        }
        busy.await.unwrap().unwrap();
        let entries = c.entries.lock().unwrap();
        assert_eq!(entries.slots.len(), 1);
        assert_eq!(entries.order.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_that_joins_a_refused_computation_waits_no_longer_than_one_wait() {
        // One running (busy for 5 s), a queue of four, waits of 200 ms.
        let c = Arc::new(cache(1 << 20, 1, 4));
        let _busy = {
            let c = c.clone();
            tokio::spawn(async move {
                c.get_or_compute(1, &"busy".to_string(), || async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await
                .map(|_| ())
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let ask = |c: Arc<AnswerCache<String>>| async move {
            let started = tokio::time::Instant::now();
            let outcome = c
                .get_or_compute(1, &"x".to_string(), || async {
                    Ok::<_, Overloaded>(Encoded::json("{}"))
                })
                .await
                .map(|_| ());
            (outcome, started.elapsed())
        };
        // The first asks at 0 ms and queues; the second joins its slot at 100 ms. The first is
        // refused at 200 ms; the second then queues itself only until its own 200 ms are over.
        let first = tokio::spawn(ask(c.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = tokio::spawn(ask(c.clone()));
        let (first, first_waited) = first.await.unwrap();
        let (second, second_waited) = second.await.unwrap();
        assert_eq!(first, Err(Overloaded { retry_after: 1 }));
        assert_eq!(second, Err(Overloaded { retry_after: 1 }));
        // (Paused time is exact to the timer's millisecond.)
        let one_wait = Duration::from_millis(200)..Duration::from_millis(202);
        assert!(one_wait.contains(&first_waited), "{first_waited:?}");
        assert!(one_wait.contains(&second_waited), "{second_waited:?}");
        assert_eq!(c.entries.lock().unwrap().slots.len(), 1);
    }

    #[tokio::test]
    async fn a_wait_longer_than_allowed_is_refused() {
        let admission = Admission::new(1, 10, Duration::from_millis(50));
        let held = admission.admit().await.unwrap();
        assert_eq!(
            admission.admit().await.unwrap_err(),
            Overloaded { retry_after: 1 }
        );
        drop(held);
        assert!(admission.admit().await.is_ok());
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_budget_dropping_the_oldest() {
        let c = cache(2500, 2, 2);
        for i in 0..5 {
            c.get_or_compute(1, &format!("k{i}"), || async {
                Ok::<_, Overloaded>(Encoded::json(vec![b'x'; 1000]))
            })
            .await
            .unwrap();
        }
        assert_eq!(c.len(), 2);
        let entries = c.entries.lock().unwrap();
        assert!(entries.slots.contains_key("k4") && entries.slots.contains_key("k3"));
        assert!(!entries.slots.contains_key("k0"));
    }

    #[tokio::test]
    async fn a_failed_computation_is_not_kept() {
        #[derive(Debug, PartialEq)]
        enum E {
            Busy,
            Broken,
        }
        impl From<Overloaded> for E {
            fn from(_: Overloaded) -> Self {
                E::Busy
            }
        }
        let c = cache(1 << 20, 1, 1);
        let key = "k".to_string();
        let first = c
            .get_or_compute(1, &key, || async { Err::<Encoded, _>(E::Broken) })
            .await;
        assert_eq!(first.unwrap_err(), E::Broken);
        let second = c
            .get_or_compute(1, &key, || async { Ok::<_, E>(Encoded::json("1")) })
            .await
            .unwrap();
        assert_eq!(&second.body[..], b"1");
    }

    #[test]
    fn etags_differ_by_request_and_version_and_match_weakly() {
        let a = etag_of(1, &"level=province");
        assert_eq!(a, etag_of(1, &"level=province"));
        assert_ne!(a, etag_of(2, &"level=province"));
        assert_ne!(a, etag_of(1, &"level=district"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {}", a.trim_start_matches("W/"))).unwrap(),
        );
        assert!(not_modified(&headers, &a));
        assert!(!not_modified(&headers, &etag_of(2, &"level=province")));
    }

    #[test]
    fn accept_encoding_prefers_brotli_and_honours_refusals() {
        assert_eq!(Coding::negotiate(None), Coding::Identity);
        assert_eq!(Coding::negotiate(Some("gzip, br")), Coding::Brotli);
        assert_eq!(Coding::negotiate(Some("gzip, br;q=0")), Coding::Gzip);
        assert_eq!(Coding::negotiate(Some("GZIP")), Coding::Gzip);
        assert_eq!(Coding::negotiate(Some("identity")), Coding::Identity);
        assert_eq!(
            Coding::negotiate(Some("br;q=0, gzip;q=0")),
            Coding::Identity
        );
    }

    #[test]
    fn compressed_forms_decode_to_the_body_and_small_answers_stay_plain() {
        use std::io::Read as _;
        let text = "สวัสดิการชุมชน ".repeat(500);
        let answer = Encoded::json(text.clone());
        assert_eq!(answer.coding_for(Coding::Brotli), Coding::Brotli);
        let mut gz = String::new();
        flate2::read::GzDecoder::new(&answer.body(Coding::Gzip)[..])
            .read_to_string(&mut gz)
            .unwrap();
        assert_eq!(gz, text);
        let mut br = String::new();
        brotli::Decompressor::new(&answer.body(Coding::Brotli)[..], 4096)
            .read_to_string(&mut br)
            .unwrap();
        assert_eq!(br, text);
        assert!(answer.size() > text.len());
        assert_eq!(
            Encoded::json("{}").coding_for(Coding::Brotli),
            Coding::Identity
        );
    }
}
