//! The memory store's own promises (the memory bound, the eviction order, refusing
//! claims when full) and the helpers' failure policies, driven by a store that fails
//! on demand. The store-independent contract is in `idempotency_contract.rs`.

use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use futures::executor::block_on;
use webhook_core::{
    Scheme,
    idempotency::{
        Claim, ClaimToken, Completion, DedupKey, DedupPolicy, EntryState, FailurePolicy,
        IdempotencyStore, ManualClock, MemoryConfigError, MemoryStore, Namespace, RunOutcome,
        StoreError, run_batch, run_once,
    },
};

const LEASE: Duration = Duration::from_secs(30);
const TTL: Duration = Duration::from_secs(3600);

fn fp(n: u64) -> DedupKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    DedupKey::fingerprint(Scheme::Stalwart, &bytes)
}

fn id(name: &str) -> DedupKey {
    Namespace::new("memory-test")
        .and_then(|ns| ns.event_id(name))
        .expect("valid key")
}

fn manual_store(capacity: usize) -> (MemoryStore<ManualClock>, ManualClock) {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .capacity(capacity)
        .clock(clock.clone())
        .build()
        .expect("valid configuration");
    (store, clock)
}

fn claim<S: IdempotencyStore>(store: &S, key: &DedupKey) -> Result<Claim, StoreError> {
    block_on(store.claim(key, LEASE))
}

fn process<S: IdempotencyStore>(store: &S, key: &DedupKey, ttl: Duration) {
    match claim(store, key) {
        Ok(Claim::Fresh(token)) => block_on(store.complete(key, &token, ttl)).expect("complete"),
        other => panic!("expected a fresh claim of {key}, got {other:?}"),
    }
}

/// Polls a memory-store future, which is ready at once, without an executor: the
/// million-key test stays fast in debug builds.
fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the memory store never waits"),
    }
}

/// One million distinct events through a store capped at 100 000: the cap holds at
/// every step, the survivors are the most recently completed events, and an entry
/// costs a bounded number of bytes.
#[test]
fn memory_bound_holds_with_a_million_keys() {
    const CAP: usize = 100_000;
    const EVENTS: u64 = 1_000_000;
    // Short binary ids keep key building cheap in debug builds; the bytes-per-entry
    // estimate below is for these 13-byte keys.
    let namespace = Namespace::new("m").expect("valid namespace");
    let event = |n: u64| namespace.event_id(n.to_be_bytes()).expect("valid id");
    let (store, _clock) = manual_store(CAP);
    let started = Instant::now();
    for n in 0..EVENTS {
        let key = event(n);
        let Ok(Claim::Fresh(token)) = ready(store.claim(&key, LEASE)) else {
            panic!("event {n} is new")
        };
        ready(store.complete(&key, &token, TTL)).expect("complete");
        if n % 100_000 == 99_999 {
            assert!(store.len() <= CAP, "{} entries after {n}", store.len());
        }
    }
    let stats = store.stats();
    assert!(stats.entries <= CAP, "{stats:?}");
    // Every shard filled up: the store uses its cap, not a fraction of it.
    assert!(stats.entries > CAP * 99 / 100, "{stats:?}");
    assert_eq!(stats.done, stats.entries);
    assert_eq!(stats.in_progress, 0);

    // Eviction removes the oldest completed first: the newest events are all still
    // known, the oldest half are gone (each shard keeps its newest entries; the old
    // half is checked at every 7th event to keep the test fast in debug builds).
    for n in EVENTS - 50_000..EVENTS {
        assert!(
            matches!(store.peek(&event(n)), Some(EntryState::Done { .. })),
            "recent event {n} was evicted"
        );
    }
    for n in (0..EVENTS / 2).step_by(7) {
        assert_eq!(store.peek(&event(n)), None, "old event {n} survived");
    }

    let per_entry = stats.approx_bytes / stats.entries;
    println!(
        "memory store: {} entries in {} shards, ~{} bytes ({per_entry} per entry with \
         {}-byte keys), {:?}",
        stats.entries,
        stats.shards,
        stats.approx_bytes,
        event(0).as_bytes().len(),
        started.elapsed()
    );
    assert!(per_entry < 150, "{per_entry} bytes per entry");
}

/// What an entry costs with a Stalwart fingerprint key (76 bytes), the longest key
/// in common use.
#[test]
fn bytes_per_entry_with_fingerprint_keys() {
    let (store, _clock) = manual_store(20_000);
    for n in 0..20_000 {
        process(&store, &fp(n), TTL);
    }
    let stats = store.stats();
    let per_entry = stats.approx_bytes / stats.entries;
    println!("memory store: {per_entry} bytes per entry with 76-byte fingerprint keys");
    assert!(per_entry < 150, "{per_entry} bytes per entry");
}

/// At the cap, expired entries go first (even if newer), then the oldest completed.
#[test]
fn eviction_takes_expired_then_oldest_completed() {
    let (store, clock) = manual_store(64); // one shard of 64
    assert_eq!(store.stats().shards, 1);
    for n in 0..32 {
        process(&store, &id(&format!("old-{n}")), TTL);
    }
    clock.advance(Duration::from_millis(1));
    for n in 0..32 {
        process(&store, &id(&format!("short-{n}")), Duration::from_secs(1));
    }
    assert_eq!(store.len(), 64);
    clock.advance(Duration::from_secs(2));

    for n in 0..32 {
        process(&store, &id(&format!("new-{n}")), TTL);
    }
    for n in 0..32 {
        assert_eq!(store.peek(&id(&format!("short-{n}"))), None);
        assert!(store.peek(&id(&format!("old-{n}"))).is_some(), "old-{n}");
    }

    // No expired entry left: the oldest completed entry makes room.
    process(&store, &id("newest"), TTL);
    assert_eq!(store.peek(&id("old-0")), None);
    assert!(store.peek(&id("old-1")).is_some());
    assert!(store.peek(&id("newest")).is_some());
    assert_eq!(store.len(), 64);
}

/// More distinct durations than a shard orders exactly: expired entries are still
/// never answered as present, and their keys can be claimed again.
#[test]
fn many_distinct_durations_stay_correct() {
    let (store, clock) = manual_store(64);
    // 20 ttls from 20 s down to 1 s: later entries expire first.
    for n in 0..20u64 {
        process(
            &store,
            &id(&format!("ttl-{n}")),
            Duration::from_secs(20 - n),
        );
    }
    // 20 leases from 20 s down to 1 s, never completed (crashed holders).
    for n in 0..20u64 {
        let key = id(&format!("lease-{n}"));
        assert!(matches!(
            block_on(store.claim(&key, Duration::from_secs(20 - n))),
            Ok(Claim::Fresh(_))
        ));
    }
    clock.advance(Duration::from_millis(10_500));
    for n in 0..20u64 {
        let expired = 20 - n <= 10;
        for prefix in ["ttl", "lease"] {
            let key = id(&format!("{prefix}-{n}"));
            assert_eq!(store.peek(&key).is_none(), expired, "{key}");
            let claim = claim(&store, &key);
            if expired {
                assert!(matches!(claim, Ok(Claim::Fresh(_))), "{key}: {claim:?}");
            } else {
                assert!(!matches!(claim, Ok(Claim::Fresh(_))), "{key}: {claim:?}");
            }
        }
    }
    clock.advance(Duration::from_secs(60));
    for n in 0..100 {
        process(&store, &id(&format!("after-{n}")), TTL);
    }
    assert!(store.len() <= 64);
}

/// A store full of claims in progress refuses new claims (never evicts one); callers
/// answer 503 (fail closed) and the sender retries.
#[test]
fn full_of_in_progress_claims_refuses_new_claims() {
    let (store, clock) = manual_store(64);
    let mut tokens = Vec::new();
    for n in 0..64 {
        let key = id(&format!("busy-{n}"));
        match claim(&store, &key) {
            Ok(Claim::Fresh(token)) => tokens.push((key, token)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        claim(&store, &id("one-too-many")),
        Err(StoreError::Full { capacity: 64 })
    );
    // The refused claim leaves nothing behind, and the count of claims is exact.
    assert_eq!(store.peek(&id("one-too-many")), None);
    let stats = store.stats();
    assert_eq!((stats.entries, stats.in_progress), (64, 64));
    for (key, _) in &tokens {
        assert!(matches!(
            store.peek(key),
            Some(EntryState::InProgress { .. })
        ));
    }

    let ran = AtomicBool::new(false);
    let outcome = block_on(run_once(
        &store,
        &id("one-too-many"),
        &DedupPolicy::default(),
        || async {
            ran.store(true, Ordering::SeqCst);
            Ok::<_, ()>(())
        },
    ));
    assert!(!ran.load(Ordering::SeqCst));
    assert!(matches!(
        outcome,
        RunOutcome::Unavailable {
            error: StoreError::Full { .. },
            ..
        }
    ));
    assert_eq!(outcome.answer().status(), 503);

    // One completes: its entry is the one evicted for the next claim.
    let (key, token) = tokens.pop().expect("a claim");
    block_on(store.complete(&key, &token, TTL)).expect("complete");
    assert!(matches!(claim(&store, &id("fits")), Ok(Claim::Fresh(_))));
    assert_eq!(store.peek(&key), None);

    // Leases run out: room again.
    clock.advance(LEASE + Duration::from_secs(1));
    assert!(matches!(claim(&store, &id("later")), Ok(Claim::Fresh(_))));
    assert_eq!(store.stats().in_progress, 1);
}

#[test]
fn configuration_is_checked_and_shards_fit_the_cap() {
    assert_eq!(
        MemoryStore::builder().capacity(0).build().err(),
        Some(MemoryConfigError::ZeroCapacity)
    );
    let shards = |capacity, shards| {
        MemoryStore::builder()
            .capacity(capacity)
            .shards(shards)
            .build()
            .expect("valid")
            .stats()
            .shards
    };
    assert_eq!(shards(100_000, 64), 64);
    assert_eq!(shards(100, 64), 1);
    assert_eq!(shards(1_000, 64), 8);
    assert_eq!(shards(1_000_000, 0), 1);
    assert_eq!(shards(10_000_000, 5000), 1024);
    assert_eq!(shards(10_000_000, 100), 128);
    assert_eq!(MemoryStore::new().stats().capacity, 100_000);
}

#[test]
fn tokens_from_another_store_are_refused() {
    let a = MemoryStore::new();
    let b = MemoryStore::new();
    let key = id("shared-key");
    let Ok(Claim::Fresh(token_a)) = claim(&a, &key) else {
        panic!("fresh")
    };
    let Ok(Claim::Fresh(_)) = claim(&b, &key) else {
        panic!("fresh")
    };
    assert_eq!(
        block_on(b.complete(&key, &token_a, TTL)),
        Err(StoreError::LeaseLost)
    );
    assert!(matches!(claim(&b, &key), Ok(Claim::InProgress { .. })));
}

/// A store wrapper that fails chosen operations, to drive the failure paths.
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
    complete_fails: AtomicBool,
    /// Claims that succeed before claims start failing (`usize::MAX`: never fail).
    claims_left: AtomicUsize,
}

impl Flaky {
    fn new() -> Self {
        Self {
            claims_left: AtomicUsize::new(usize::MAX),
            ..Self::default()
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("connection refused"));
        }
        Ok(())
    }
}

impl IdempotencyStore for Flaky {
    async fn claim(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        self.check()?;
        let left = self.claims_left.load(Ordering::SeqCst);
        if left == 0 {
            return Err(StoreError::unavailable("timed out"));
        }
        if left != usize::MAX {
            self.claims_left.store(left - 1, Ordering::SeqCst);
        }
        self.inner.claim(key, lease).await
    }

    async fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.check()?;
        if self.complete_fails.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable("timed out"));
        }
        self.inner.complete(key, token, ttl).await
    }

    async fn release(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.check()?;
        self.inner.release(key, token).await
    }

    async fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.check()?;
        self.inner.renew(key, token, lease).await
    }
}

#[test]
fn fail_closed_does_not_run_the_handler() {
    let store = Flaky::new();
    store.down.store(true, Ordering::SeqCst);
    let ran = AtomicUsize::new(0);
    let policy = DedupPolicy::default().with_unavailable_retry_after(Duration::from_secs(7));
    let outcome = block_on(run_once(&store, &id("e"), &policy, || async {
        ran.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(())
    }));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(matches!(
        outcome,
        RunOutcome::Unavailable {
            error: StoreError::Unavailable { .. },
            ..
        }
    ));
    let answer = outcome.answer();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.retry_after_secs(), Some(7));

    let report = block_on(run_batch(
        &store,
        &policy,
        [(id("a"), ()), (id("b"), ())],
        |()| async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        },
    ));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(report.answer().status(), 503);
}

#[test]
fn fail_open_runs_the_handler_unguarded() {
    let store = Flaky::new();
    store.down.store(true, Ordering::SeqCst);
    let ran = AtomicUsize::new(0);
    let policy = DedupPolicy::default().with_failure_policy(FailurePolicy::FailOpen);
    for _ in 0..2 {
        let outcome = block_on(run_once(&store, &id("e"), &policy, || async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        }));
        assert!(matches!(
            outcome,
            RunOutcome::Processed {
                completion: Completion::Unguarded(StoreError::Unavailable { .. }),
                ..
            }
        ));
        assert_eq!(outcome.answer().status(), 200);
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2,
        "the documented risk: duplicates"
    );

    let report = block_on(run_batch(
        &store,
        &policy,
        [(id("a"), ()), (id("b"), ()), (id("a"), ())],
        |()| async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        },
    ));
    assert_eq!(
        ran.load(Ordering::SeqCst),
        4,
        "a repeated key still runs once"
    );
    assert_eq!((report.processed(), report.duplicates()), (2, 1));
    assert_eq!(report.answer().status(), 200);
}

/// The handler succeeded but recording failed: the outcome says processed (answer
/// 200), and the event is never marked done — it stays claimed until the lease runs
/// out, then a retry is processed again rather than skipped.
#[test]
fn failed_complete_never_marks_done() {
    let store = Flaky::new();
    store.complete_fails.store(true, Ordering::SeqCst);
    let key = id("complete-fails");
    let outcome = block_on(run_once(&store, &key, &DedupPolicy::default(), || async {
        Ok::<_, ()>(())
    }));
    assert!(matches!(
        outcome,
        RunOutcome::Processed {
            completion: Completion::NotRecorded(StoreError::Unavailable { .. }),
            ..
        }
    ));
    assert_eq!(outcome.answer().status(), 200);
    assert!(matches!(
        store.inner.peek(&key),
        Some(EntryState::InProgress { .. })
    ));
}

/// The default `claim_many` gives back what it claimed when a later claim fails.
#[test]
fn claim_many_releases_its_claims_when_one_fails() {
    let store = Flaky::new();
    store.claims_left.store(2, Ordering::SeqCst);
    let keys = [id("m-1"), id("m-2"), id("m-3")];
    assert!(matches!(
        block_on(store.claim_many(&keys, LEASE)),
        Err(StoreError::Unavailable { .. })
    ));
    for key in &keys {
        assert_eq!(store.inner.peek(key), None, "{key} still held");
    }
}

/// A Stalwart retry re-sends a batch (new ids, same content) merged with newer events:
/// only the newer events run.
#[test]
fn stalwart_retry_runs_only_new_events() {
    let store = MemoryStore::new();
    let policy = DedupPolicy::for_scheme(Scheme::Stalwart);
    let runs = AtomicUsize::new(0);
    let deliver = |events: std::ops::Range<u64>| {
        block_on(run_batch(
            &store,
            &policy,
            events.map(|n| (fp(n), n)),
            |_| async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(())
            },
        ))
    };
    assert_eq!(deliver(0..10).processed(), 10);
    let retry = deliver(5..15);
    assert_eq!((retry.processed(), retry.duplicates()), (5, 5));
    assert_eq!(runs.load(Ordering::SeqCst), 15);
}
