//! Memory store throughput: claim + complete pairs per second, one thread and two.
//!
//! Every pair uses a new key (every event is new), against a store kept at its cap, so
//! each claim also evicts the oldest completed entry: the steady state of a
//! long-running receiver. Two caps: 10 000 entries (the store fits in the CPU caches)
//! and 100 000 (the default; about 25 MB, so most accesses miss the caches). Keys are
//! built outside the timed section, in chunks that stay in cache, as a request handler
//! has its key at hand.
//!
//! The baseline, measured in the same run, is the least a bounded store must do: a
//! `HashMap` behind one `Mutex` plus a FIFO of keys, inserting on claim, updating on
//! complete and evicting the oldest key at the cap — no expiry, no lease, no
//! protection of claims in progress. Run with
//! `cargo bench -p webhook-core --bench idempotency`.

use std::{
    collections::{HashMap, VecDeque},
    hint::black_box,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use webhook_core::{
    Scheme,
    idempotency::{Claim, DedupKey, DedupPolicy, IdempotencyStore, MemoryStore, run_once},
};

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
criterion_main!(benches);
