//! Memory store throughput: claim + complete pairs per second, one thread and two.
//!
//! Every pair uses a new key (every event is new), against a store kept at its cap, so
//! each claim also evicts the oldest completed entry: the steady state of a
//! long-running receiver. Two caps: 10 000 entries (the store fits in the CPU caches)
//! and 100 000 (the default; about 12 MB, so most accesses miss the caches). Keys are
//! built outside the timed section, in chunks that stay in cache, as a request handler
//! has its key at hand.
//!
//! The baseline, measured in the same run, is the least a bounded store must do: a
//! `HashMap` behind one `Mutex` plus a FIFO of keys, inserting on claim, updating on
//! complete and evicting the oldest key at the cap — no expiry, no lease, no
//! protection of claims in progress. Run with
//! `cargo bench -p webhook-core --bench idempotency`.
//!
//! `RATIOS=1 cargo bench -p webhook-core --bench idempotency` measures instead what the
//! store's digest-keyed entries (`memory/digest_key.rs`) pay, against the plain version
//! (entries keep the key itself), interleaved (`benches/support/interleave.rs`): a
//! Mailtrap request (HMAC verify of a one-event body, the event's key, claim + complete
//! through a `Deduplicator`) and the store's part alone, at caps of 10 000 and 100 000;
//! then the resident memory per entry of each, each store in a child process of its own.

use std::{
    collections::{HashMap, VecDeque},
    hint::black_box,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group};
use http::{HeaderMap, HeaderValue};
use webhook_core::{
    Scheme, Secret, Verifier,
    idempotency::{
        Claim, DedupKey, DedupPolicy, Deduplicator, IdempotencyStore, MemoryStore, RunOutcome,
        run_once,
    },
    senders::mailtrap,
};

#[path = "../../benches/support/interleave.rs"]
mod interleave;

const CAP: usize = 100_000;
const CHUNK: u64 = 4096;
const LEASE: Duration = Duration::from_secs(30);
const TTL: Duration = Duration::from_secs(3600);

/// Distinct keys across all benches and threads.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn keys(n: u64) -> Vec<DedupKey> {
    let start = NEXT.fetch_add(n, Ordering::Relaxed);
    (start..start + n)
        .map(|i| {
            let mut fp = [0u8; 32];
            fp[..8].copy_from_slice(&i.to_le_bytes());
            DedupKey::fingerprint(Scheme::Stalwart, &fp)
        })
        .collect()
}

/// Polls a future that is ready at once (the memory store's, and `run_once` over it
/// with a ready handler) without an executor, so only the store's work is timed.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("the memory store never waits"),
    }
}

trait Pairs: Sync {
    fn pair(&self, key: &DedupKey);
}

impl Pairs for MemoryStore {
    fn pair(&self, key: &DedupKey) {
        let claim = ready(self.claim(key, LEASE));
        if let Ok(Claim::Fresh(token)) = claim {
            let _ = black_box(ready(self.complete(key, &token, TTL)));
        }
    }
}

/// Entries (state, done) and their insertion order.
type Fifo = (HashMap<DedupKey, (u64, bool)>, VecDeque<DedupKey>);

/// The baseline: one lock, one map, FIFO eviction, no expiry.
struct Baseline {
    cap: usize,
    inner: Mutex<Fifo>,
}

impl Baseline {
    fn new(cap: usize) -> Self {
        let baseline = Self {
            cap,
            inner: Mutex::new((HashMap::with_capacity(cap), VecDeque::with_capacity(cap))),
        };
        for key in keys(cap as u64) {
            baseline.pair(&key);
        }
        baseline
    }
}

impl Pairs for Baseline {
    fn pair(&self, key: &DedupKey) {
        {
            let mut guard = self.inner.lock().unwrap();
            let (map, order) = &mut *guard;
            if map.len() >= self.cap
                && let Some(oldest) = order.pop_front()
            {
                map.remove(&oldest);
            }
            map.insert(key.clone(), (1, false));
        }
        let mut guard = self.inner.lock().unwrap();
        let (map, order) = &mut *guard;
        if let Some(entry) = map.get_mut(key) {
            *entry = (2, true);
            order.push_back(key.clone());
        }
    }
}

/// Times `iters` pairs spread over `threads` threads; keys are built untimed.
fn timed(store: &impl Pairs, iters: u64, threads: u64) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let times: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut total = Duration::ZERO;
                    let mut done = 0;
                    while done < per_thread {
                        let batch = keys(CHUNK.min(per_thread - done));
                        let started = Instant::now();
                        for key in &batch {
                            store.pair(key);
                        }
                        total += started.elapsed();
                        done += batch.len() as u64;
                    }
                    total
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    // Threads ran side by side: the wall time is the slowest one's.
    times.into_iter().max().unwrap_or_default()
}

fn full_store(cap: usize) -> MemoryStore {
    let store = MemoryStore::builder().capacity(cap).build().unwrap();
    for key in keys(cap as u64) {
        store.pair(&key);
    }
    store
}

fn claim_complete(c: &mut Criterion) {
    let mut group = c.benchmark_group("claim_complete");
    group.throughput(Throughput::Elements(1));
    for cap in [10_000, 100_000] {
        for threads in [1, 2] {
            let store = full_store(cap);
            group.bench_function(format!("memory_store/cap_{cap}/{threads}_thread"), |b| {
                b.iter_custom(|iters| timed(&store, iters, threads))
            });
            let baseline = Baseline::new(cap);
            group.bench_function(format!("baseline/cap_{cap}/{threads}_thread"), |b| {
                b.iter_custom(|iters| timed(&baseline, iters, threads))
            });
        }
    }
    group.finish();
}

fn helpers(c: &mut Criterion) {
    let mut group = c.benchmark_group("helpers");
    group.throughput(Throughput::Elements(1));
    let store = full_store(CAP);
    let policy = DedupPolicy::for_scheme(Scheme::Stalwart);
    group.bench_function("run_once/memory_store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let batch = keys(CHUNK.min(iters - done));
                let started = Instant::now();
                for key in &batch {
                    let outcome =
                        ready(run_once(&store, key, &policy, || async { Ok::<_, ()>(()) }));
                    let _ = black_box(outcome);
                }
                total += started.elapsed();
                done += batch.len() as u64;
            }
            total
        })
    });
    group.bench_function("dedup_key/fingerprint", |b| {
        let fp = [7u8; 32];
        b.iter(|| DedupKey::fingerprint(Scheme::Stalwart, black_box(&fp)))
    });
    group.bench_function("dedup_key/event_id_uuid", |b| {
        b.iter(|| {
            DedupKey::event_id(
                Scheme::Mailtrap,
                black_box("bede7236-2284-43d6-a953-1fdcafd0fdbc"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, claim_complete, helpers);

fn main() {
    interleave::main(benches, ratios);
}

/// A Mailtrap body of one event (the spec's example with its optional fields), 357
/// bytes. Every request sends these bytes and a new `event_id` in its key: the HMAC
/// costs the same whatever the id.
const MAILTRAP_BODY: &str = concat!(
    r#"{"events":[{"event":"delivery","sending_stream":"transactional","#,
    r#""sending_domain_name":"example.com","category":"welcome","#,
    r#""custom_variables":{"user_id":"4242","plan":"pro","campaign":"onboarding-3"},"#,
    r#""message_id":"a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f","email":"recipient@example.com","#,
    r#""event_id":"f1e2d3c4-b5a6-7890-1234-567890abcdef","timestamp":1716070000}]}"#,
);
const MAILTRAP_SECRET: &str = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
/// Set in the child processes that measure memory: `<digest|plain>:<mailtrap|stalwart>`.
const MEMORY_CHILD: &str = "IDEMPOTENCY_MEMORY_CHILD";

/// A distinct Mailtrap event id (a UUID's shape and length) for each `n`.
fn mailtrap_id(n: u64) -> [u8; 36] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut id = *b"00000000-0000-4000-8000-000000000000";
    let positions = (0..8).chain(9..13).chain(24..28);
    for (i, at) in positions.enumerate() {
        id[at] = DIGITS[((n >> (60 - 4 * i)) & 0xf) as usize];
    }
    id
}

fn mailtrap_key(n: u64) -> DedupKey {
    DedupKey::event_id(Scheme::Mailtrap, mailtrap_id(n)).expect("valid id")
}

/// One receiver's request: verify the body, build the event's key, run the (empty)
/// handler under the deduplicator.
struct Request {
    verifier: Verifier,
    headers: HeaderMap,
}

impl Request {
    fn new() -> Self {
        let secret = || Secret::new(MAILTRAP_SECRET);
        let signature = mailtrap::sign(&secret(), MAILTRAP_BODY.as_bytes());
        let mut headers = HeaderMap::new();
        headers.insert(
            "mailtrap-signature",
            HeaderValue::from_str(&signature).expect("hex"),
        );
        let verifier = Verifier::builder(Scheme::Mailtrap)
            .secret(secret())
            .build()
            .expect("verifier");
        Self { verifier, headers }
    }

    fn serve<S: IdempotencyStore>(&self, dedup: &Deduplicator<S>, n: u64, verify: bool) {
        if verify {
            let verified = self.verifier.verify(
                black_box(&self.headers),
                black_box(MAILTRAP_BODY.as_bytes()),
            );
            assert!(verified.is_ok(), "the bench's request must verify");
        }
        let key = mailtrap_key(n);
        let outcome = ready(dedup.run_once(&key, || async { Ok::<_, ()>(()) }));
        assert!(
            matches!(outcome, RunOutcome::Processed { .. }),
            "every event is new"
        );
    }
}

/// A deduplicator over `store`, filled to `cap` with Mailtrap events; a retry of the
/// last one is a duplicate.
fn filled<S: IdempotencyStore>(store: S, cap: usize, request: &Request) -> Deduplicator<S> {
    let dedup = Deduplicator::for_scheme(store, Scheme::Mailtrap);
    let first = NEXT.fetch_add(cap as u64, Ordering::Relaxed);
    for n in first..first + cap as u64 {
        request.serve(&dedup, n, false);
    }
    let retry = mailtrap_key(first + cap as u64 - 1);
    let outcome = ready(dedup.run_once(&retry, || async { Ok::<_, ()>(()) }));
    assert!(matches!(outcome, RunOutcome::Duplicate), "{outcome:?}");
    dedup
}

/// New events served by `dedup`, one per iteration.
fn case<'a, S: IdempotencyStore>(
    name: &str,
    request: &'a Request,
    dedup: &'a Deduplicator<S>,
    verify: bool,
) -> interleave::Case<'a> {
    interleave::Case::new(name, move || {
        request.serve(dedup, NEXT.fetch_add(1, Ordering::Relaxed), verify)
    })
}

/// The digest-keyed store against the plain one, interleaved, then their memory.
fn ratios() {
    if let Ok(which) = std::env::var(MEMORY_CHILD) {
        memory_child(&which);
        return;
    }
    let request = Request::new();
    for cap in [10_000, CAP] {
        let builder = || MemoryStore::builder().capacity(cap);
        let digest = filled(builder().build().expect("store"), cap, &request);
        let plain = filled(
            builder().build_with_plain_keys().expect("store"),
            cap,
            &request,
        );
        for (what, verify) in [("request", true), ("store only", false)] {
            interleave::run(
                &format!("mailtrap {what}, cap {cap}"),
                Duration::from_millis(20),
                &mut [
                    case("digest keys (MemoryStore)", &request, &digest, verify),
                    case("plain keys", &request, &plain, verify),
                ],
            );
        }
    }
    println!(
        "\nresident memory per entry, cap {CAP}, after {} events",
        2 * CAP
    );
    println!("{:<10} {:>14} {:>14}", "key", "digest keys", "plain keys");
    for kind in ["mailtrap", "stalwart"] {
        let [digest, plain] = ["digest", "plain"].map(|variant| memory_of(variant, kind));
        println!("{kind:<10} {digest:>12} B {plain:>12} B");
    }
}

/// Runs this bench again as a child that fills one store and prints its resident
/// bytes per entry. Allocations of 64 KiB and more are mapped on their own, so the
/// tables a growing map leaves behind are given back and only live memory counts.
fn memory_of(variant: &str, kind: &str) -> usize {
    let exe = std::env::current_exe().expect("this bench's path");
    let output = std::process::Command::new(exe)
        .env("RATIOS", "1")
        .env(MEMORY_CHILD, format!("{variant}:{kind}"))
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
        .output()
        .expect("the child runs");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("bytes per entry")
}

fn memory_child(which: &str) {
    let (variant, kind) = which.split_once(':').expect("<variant>:<key kind>");
    let key = |n: u64| match kind {
        "mailtrap" => mailtrap_key(n),
        _ => {
            let mut fp = [0u8; 32];
            fp[..8].copy_from_slice(&n.to_le_bytes());
            DedupKey::fingerprint(Scheme::Stalwart, &fp)
        }
    };
    let before = resident_bytes();
    let builder = MemoryStore::builder().capacity(CAP);
    let grown = match variant {
        "digest" => fill(&builder.build().expect("store"), key, before),
        _ => fill(
            &builder.build_with_plain_keys().expect("store"),
            key,
            before,
        ),
    };
    println!("{}", grown / CAP);
}

/// Resident bytes grown since `before` once `store` has seen twice its cap of events.
fn fill(store: &impl IdempotencyStore, key: impl Fn(u64) -> DedupKey, before: usize) -> usize {
    for n in 0..2 * CAP as u64 {
        let key = key(n);
        if let Ok(Claim::Fresh(token)) = ready(store.claim(&key, LEASE)) {
            ready(store.complete(&key, &token, TTL)).expect("complete");
        }
    }
    resident_bytes() - before
}

/// This process's resident memory (`VmRSS`).
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}
