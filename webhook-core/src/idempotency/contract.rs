//! The store contract as a test suite, written once and run against every store.
//!
//! Each `pub async fn` here is one case, generic over a [`Harness`] that supplies the
//! store, a way to let time pass and a way to run tasks concurrently. A store's test
//! file implements the harness and expands [`idempotency_contract_tests!`], which
//! writes one `#[test]` per case:
//!
//! ```text
//! fn run<Fut: Future<Output = ()>>(case: impl FnOnce(MyHarness) -> Fut) {
//!     my_runtime().block_on(case(MyHarness::start()));
//! }
//! webhook_core::idempotency_contract_tests!(run);
//! ```
//!
//! The memory store runs it with a manual clock and OS threads
//! (`webhook-core/tests/idempotency_contract.rs`), the Redis store against a real
//! `redis-server` with tokio tasks (`webhook-redis/tests/contract.rs`).
//!
//! [`idempotency_contract_tests!`]: crate::idempotency_contract_tests

use std::{
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind},
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use super::{
    Claim, ClaimToken, Completion, DedupKey, DedupPolicy, IdempotencyStore, Namespace, RunOutcome,
    StoreError, run_batch, run_once,
};

/// A boxed task for [`Harness::run_concurrently`].
pub type Task<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the contract suite needs from a store's test setup.
pub trait Harness: Send + Sync {
    /// The store under test.
    type Store: IdempotencyStore + Clone + 'static;

    /// A handle to the store under test.
    fn store(&self) -> Self::Store;

    /// A second, independent instance on the same shared state: another "replica"
    /// (for Redis, a store with its own connection). Stores without independent
    /// instances return a clone.
    fn replica(&self) -> impl Future<Output = Self::Store> + Send;

    /// A lease (and ttl) short enough to wait out in a test, long enough that the
    /// backend measures it reliably.
    fn short_lease(&self) -> Duration;

    /// Lets `duration` of store time pass (advance a manual clock, or sleep).
    fn pass(&self, duration: Duration) -> impl Future<Output = ()> + Send;

    /// Runs the tasks at the same time — on threads or on a multi-threaded runtime,
    /// so that they really race — and returns their results in order.
    fn run_concurrently<T: Send + 'static>(
        &self,
        tasks: Vec<Task<T>>,
    ) -> impl Future<Output = Vec<T>> + Send;
}

/// Expands to one `#[test]` per contract case, each calling `$run` with a closure that
/// takes a freshly built harness and returns the case's future.
///
/// `$run` is a function like
/// `fn run<Fut: Future<Output = ()>>(case: impl FnOnce(MyHarness) -> Fut)` that builds
/// the harness, drives the future to completion, and tears the harness down.
#[macro_export]
macro_rules! idempotency_contract_tests {
    ($run:path) => {
        $crate::idempotency_contract_tests!(@cases $run;
            claim_is_fresh_then_in_progress_then_done,
            release_frees_the_key,
            lease_expiry_frees_a_crashed_claim,
            ttl_expiry_forgets_a_done_event,
            stale_token_cannot_touch_a_takeover,
            replicas_cannot_complete_each_others_claims,
            complete_after_lapsed_lease_without_takeover_records,
            renew_keeps_a_slow_claim,
            renew_refuses_a_lost_lease,
            concurrent_claims_have_one_winner,
            concurrent_run_once_has_one_effect,
            run_once_success_then_duplicate,
            run_once_failure_releases_and_retry_runs_once,
            run_once_panic_releases,
            run_once_cancellation_releases,
            run_once_in_progress_is_retryable,
            claim_many_reports_each_key,
            run_batch_processes_only_fresh_events,
            run_batch_repeated_key_runs_once,
            never_done_unless_processed,
        );
    };
    (@cases $run:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $run(|harness| async move {
                    $crate::idempotency::contract::$case(&harness).await
                });
            }
        )*
    };
}

const LONG_LEASE: Duration = Duration::from_secs(60);
const LONG_TTL: Duration = Duration::from_secs(3600);
const CONCURRENCY: usize = 32;

fn key(name: &str) -> DedupKey {
    Namespace::new("contract")
        .and_then(|ns| ns.event_id(name))
        .unwrap_or_else(|error| panic!("contract key {name:?}: {error}"))
}

fn long_policy() -> DedupPolicy {
    DedupPolicy::new(LONG_LEASE, LONG_TTL)
}

async fn fresh<S: IdempotencyStore>(store: &S, key: &DedupKey, lease: Duration) -> ClaimToken {
    match store.claim(key, lease).await {
        Ok(Claim::Fresh(token)) => token,
        other => panic!("expected a fresh claim of {key}, got {other:?}"),
    }
}

async fn claim_of<S: IdempotencyStore>(store: &S, key: &DedupKey) -> Claim {
    store
        .claim(key, LONG_LEASE)
        .await
        .unwrap_or_else(|error| panic!("claim of {key} failed: {error}"))
}

/// Fresh, then in progress (with the rest of the lease), then done after complete.
pub async fn claim_is_fresh_then_in_progress_then_done<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("states");
    let token = fresh(&store, &k, LONG_LEASE).await;
    match claim_of(&store, &k).await {
        Claim::InProgress { remaining } => {
            if let Some(left) = remaining {
                assert!(left <= LONG_LEASE, "remaining {left:?} exceeds the lease");
                assert!(
                    left > LONG_LEASE / 2,
                    "remaining {left:?} is far below the lease"
                );
            }
        }
        other => panic!("expected in progress, got {other:?}"),
    }
    store.complete(&k, &token, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
    assert_eq!(claim_of(&store, &k).await, Claim::Done, "done stays done");
    // Other keys are unaffected.
    let _ = fresh(&store, &key("states-other"), LONG_LEASE).await;
}

/// A released claim is fresh again at once, and releasing twice is harmless.
pub async fn release_frees_the_key<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("release");
    let token = fresh(&store, &k, LONG_LEASE).await;
    store.release(&k, &token).await.unwrap();
    let second = fresh(&store, &k, LONG_LEASE).await;
    assert_ne!(token, second, "each claim gets its own token");
    store.release(&k, &second).await.unwrap();
    store.release(&k, &second).await.unwrap();
}

/// A holder that crashed (claimed, never completed nor released) blocks the event only
/// until its lease runs out.
pub async fn lease_expiry_frees_a_crashed_claim<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("crash");
    let lease = h.short_lease();
    let _crashed = fresh(&store, &k, lease).await;
    assert!(matches!(
        store.claim(&k, lease).await,
        Ok(Claim::InProgress { .. })
    ));
    h.pass(lease * 2).await;
    let token = fresh(&store, &k, LONG_LEASE).await;
    store.complete(&k, &token, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
}

/// A done event is forgotten after its ttl: the store's memory of it is bounded.
pub async fn ttl_expiry_forgets_a_done_event<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("ttl");
    let ttl = h.short_lease();
    let token = fresh(&store, &k, LONG_LEASE).await;
    store.complete(&k, &token, ttl).await.unwrap();
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
    h.pass(ttl * 2).await;
    let _ = fresh(&store, &k, LONG_LEASE).await;
}

/// After a lease ran out and another delivery claimed the key, the first token can
/// neither complete nor release it; the takeover's claim is untouched.
pub async fn stale_token_cannot_touch_a_takeover<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("takeover");
    let lease = h.short_lease();
    let stale = fresh(&store, &k, lease).await;
    h.pass(lease * 2).await;
    let current = fresh(&store, &k, LONG_LEASE).await;

    assert_eq!(
        store.complete(&k, &stale, LONG_TTL).await,
        Err(StoreError::LeaseLost)
    );
    assert!(
        matches!(claim_of(&store, &k).await, Claim::InProgress { .. }),
        "a stale complete must not mark the takeover's event done"
    );
    assert_eq!(store.release(&k, &stale).await, Err(StoreError::LeaseLost));
    assert!(
        matches!(claim_of(&store, &k).await, Claim::InProgress { .. }),
        "a stale release must not free the takeover's claim"
    );

    store.complete(&k, &current, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
    // A stale token cannot touch a done event either.
    assert_eq!(store.release(&k, &stale).await, Err(StoreError::LeaseLost));
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
}

/// Two replicas (independent store instances on shared state) see each other's claims
/// and cannot complete or release each other's.
pub async fn replicas_cannot_complete_each_others_claims<H: Harness>(h: &H) {
    let one = h.store();
    let two = h.replica().await;
    let lease = h.short_lease();

    let k = key("replicas");
    let first = fresh(&one, &k, lease).await;
    assert!(matches!(claim_of(&two, &k).await, Claim::InProgress { .. }));
    h.pass(lease * 2).await;
    let second = fresh(&two, &k, LONG_LEASE).await;

    assert_eq!(
        one.complete(&k, &first, LONG_TTL).await,
        Err(StoreError::LeaseLost)
    );
    assert_eq!(one.release(&k, &first).await, Err(StoreError::LeaseLost));
    assert!(matches!(claim_of(&one, &k).await, Claim::InProgress { .. }));
    two.complete(&k, &second, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&one, &k).await, Claim::Done);

    // A token is only good for the key it was issued for.
    let a = key("replicas-a");
    let b = key("replicas-b");
    let token_a = fresh(&one, &a, LONG_LEASE).await;
    let _token_b = fresh(&two, &b, LONG_LEASE).await;
    assert_eq!(
        two.complete(&b, &token_a, LONG_TTL).await,
        Err(StoreError::LeaseLost)
    );
    assert!(matches!(claim_of(&one, &b).await, Claim::InProgress { .. }));
}

/// A handler that outlived its lease while nobody else claimed the event still gets
/// it recorded: it did succeed.
pub async fn complete_after_lapsed_lease_without_takeover_records<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("lapsed");
    let lease = h.short_lease();
    let token = fresh(&store, &k, lease).await;
    h.pass(lease * 2).await;
    store.complete(&k, &token, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
}

/// A claim renewed before its lease runs out stays held past the original lease, on
/// every replica, and still completes with its token.
pub async fn renew_keeps_a_slow_claim<H: Harness>(h: &H) {
    let store = h.store();
    let other = h.replica().await;
    let k = key("renew");
    let lease = h.short_lease();
    let token = fresh(&store, &k, lease).await;
    // Two renewals a little over half a lease apart: the claim outlives its first
    // lease by far.
    for _ in 0..2 {
        h.pass(lease * 3 / 5).await;
        store.renew(&k, &token, lease).await.unwrap();
    }
    h.pass(lease * 3 / 5).await;
    match claim_of(&other, &k).await {
        Claim::InProgress { remaining } => {
            if let Some(left) = remaining {
                assert!(
                    left <= lease,
                    "remaining {left:?} exceeds the renewed lease"
                );
            }
        }
        other => panic!("a renewed claim must stay in progress, got {other:?}"),
    }
    store.complete(&k, &token, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&other, &k).await, Claim::Done);
}

/// A lease that ran out, was taken over, released or completed cannot be renewed, and
/// a refused renewal changes nothing.
pub async fn renew_refuses_a_lost_lease<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("renew-lost");
    let lease = h.short_lease();
    let stale = fresh(&store, &k, lease).await;
    h.pass(lease * 2).await;
    // Ran out, nobody else holds it: still lost (another delivery may claim it any
    // moment), and the key stays free.
    assert_eq!(
        store.renew(&k, &stale, LONG_LEASE).await,
        Err(StoreError::LeaseLost)
    );
    let current = fresh(&store, &k, LONG_LEASE).await;
    assert_eq!(
        store.renew(&k, &stale, LONG_LEASE).await,
        Err(StoreError::LeaseLost)
    );
    // The takeover's claim is untouched, and its own renewal works.
    store.renew(&k, &current, LONG_LEASE).await.unwrap();
    store.release(&k, &current).await.unwrap();
    assert_eq!(
        store.renew(&k, &current, LONG_LEASE).await,
        Err(StoreError::LeaseLost),
        "a released claim cannot be renewed"
    );
    let last = fresh(&store, &k, LONG_LEASE).await;
    store.complete(&k, &last, LONG_TTL).await.unwrap();
    assert_eq!(
        store.renew(&k, &last, LONG_LEASE).await,
        Err(StoreError::LeaseLost),
        "a completed claim cannot be renewed"
    );
    assert_eq!(claim_of(&store, &k).await, Claim::Done);
}

/// 32 concurrent claims of one key: exactly one is fresh.
pub async fn concurrent_claims_have_one_winner<H: Harness>(h: &H) {
    let k = key("race-claim");
    let mut tasks: Vec<Task<Claim>> = Vec::new();
    for i in 0..CONCURRENCY {
        // Half the tasks use a second replica, where the store has one.
        let store = if i % 2 == 0 {
            h.store()
        } else {
            h.replica().await
        };
        let k = k.clone();
        tasks.push(Box::pin(async move {
            store
                .claim(&k, LONG_LEASE)
                .await
                .expect("claim during the race")
        }));
    }
    let claims = h.run_concurrently(tasks).await;
    let fresh = claims
        .iter()
        .filter(|c| matches!(c, Claim::Fresh(_)))
        .count();
    assert_eq!(
        fresh, 1,
        "exactly one of {CONCURRENCY} claims wins: {claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Claim::Fresh(_) | Claim::InProgress { .. }))
    );
}

/// 32 concurrent deliveries of one event through `run_once`: the effect happens once.
pub async fn concurrent_run_once_has_one_effect<H: Harness>(h: &H) {
    let k = key("race-run");
    let effects = Arc::new(AtomicUsize::new(0));
    let mut tasks: Vec<Task<RunOutcome<usize, ()>>> = Vec::new();
    for _ in 0..CONCURRENCY {
        let store = h.store();
        let k = k.clone();
        let effects = Arc::clone(&effects);
        tasks.push(Box::pin(async move {
            run_once(&store, &k, &long_policy(), || async {
                Ok(effects.fetch_add(1, Ordering::SeqCst))
            })
            .await
        }));
    }
    let outcomes = h.run_concurrently(tasks).await;
    assert_eq!(effects.load(Ordering::SeqCst), 1, "{outcomes:?}");
    let processed = outcomes
        .iter()
        .filter(|o| matches!(o, RunOutcome::Processed { .. }))
        .count();
    assert_eq!(processed, 1);
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                RunOutcome::Processed {
                    completion: Completion::Recorded,
                    ..
                } | RunOutcome::Duplicate
                    | RunOutcome::InProgress { .. }
            ),
            "{outcome:?}"
        );
    }
    assert_eq!(claim_of(&h.store(), &k).await, Claim::Done);
}

/// The first delivery runs and is recorded; a retry is a duplicate answered 200.
pub async fn run_once_success_then_duplicate<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("once");
    let effects = AtomicUsize::new(0);
    let policy = long_policy();
    let deliver = || {
        run_once(&store, &k, &policy, || async {
            effects.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>("done")
        })
    };
    let first = deliver().await;
    assert!(
        matches!(
            first,
            RunOutcome::Processed {
                value: "done",
                completion: Completion::Recorded
            }
        ),
        "{first:?}"
    );
    assert_eq!(first.answer().status(), 200);
    let retry = deliver().await;
    assert!(matches!(retry, RunOutcome::Duplicate), "{retry:?}");
    assert_eq!(retry.answer().status(), 200);
    assert_eq!(effects.load(Ordering::SeqCst), 1);
}

/// A failing handler releases its claim: the sender's retry runs it again, once.
pub async fn run_once_failure_releases_and_retry_runs_once<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("failure");
    let attempts = AtomicUsize::new(0);
    let successes = AtomicUsize::new(0);
    let policy = long_policy();
    let (attempts, successes) = (&attempts, &successes);
    let deliver = |fail: bool| {
        run_once(&store, &k, &policy, move || async move {
            attempts.fetch_add(1, Ordering::SeqCst);
            if fail {
                return Err("database down");
            }
            successes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    };
    let failed = deliver(true).await;
    assert!(matches!(failed, RunOutcome::Failed("database down")));
    assert_eq!(failed.answer().status(), 500);
    assert!(matches!(deliver(false).await, RunOutcome::Processed { .. }));
    assert!(matches!(deliver(false).await, RunOutcome::Duplicate));
    assert!(matches!(deliver(true).await, RunOutcome::Duplicate));
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert_eq!(successes.load(Ordering::SeqCst), 1);
}

/// A panicking handler releases its claim (through the drop guard): the retry runs.
pub async fn run_once_panic_releases<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("panic");
    let panicked = CatchUnwind::new(run_once(&store, &k, &long_policy(), || async {
        if true {
            panic!("handler panic, expected by the idempotency contract test");
        }
        Ok::<(), ()>(())
    }))
    .await;
    assert!(panicked.is_err(), "the panic propagates to the caller");
    let retry = run_settled(h, &store, &k, &long_policy()).await;
    assert!(matches!(retry, RunOutcome::Processed { .. }), "{retry:?}");
}

/// A delivery whose future is dropped mid-handler (client gone, timeout) releases its
/// claim: the retry runs.
pub async fn run_once_cancellation_releases<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("cancel");
    start_then_drop(&store, &k).await;
    let retry = run_settled(h, &store, &k, &long_policy()).await;
    assert!(matches!(retry, RunOutcome::Processed { .. }), "{retry:?}");
}

/// While another delivery holds the claim, `run_once` does not run the handler and
/// answers 409 with the holder's remaining lease.
pub async fn run_once_in_progress_is_retryable<H: Harness>(h: &H) {
    let store = h.store();
    let k = key("busy");
    let holder = fresh(&store, &k, LONG_LEASE).await;
    let ran = AtomicBool::new(false);
    let outcome = run_once(&store, &k, &long_policy(), || async {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .await;
    assert!(!ran.load(Ordering::SeqCst));
    let RunOutcome::InProgress { retry_after } = outcome else {
        panic!("expected in progress, got {outcome:?}");
    };
    if let Some(after) = retry_after {
        assert!(after <= LONG_LEASE);
    }
    let answer = RunOutcome::<(), ()>::InProgress { retry_after }.answer();
    assert_eq!(answer.status(), 409);
    store.release(&k, &holder).await.unwrap();
    assert!(matches!(
        run_once(&store, &k, &long_policy(), || async { Ok::<_, ()>(()) }).await,
        RunOutcome::Processed { .. }
    ));
}

/// `claim_many` answers per key: done, in progress and fresh side by side; a key
/// repeated in one call is claimed once.
pub async fn claim_many_reports_each_key<H: Harness>(h: &H) {
    let store = h.store();
    let (done, busy, new) = (key("many-done"), key("many-busy"), key("many-new"));
    let token = fresh(&store, &done, LONG_LEASE).await;
    store.complete(&done, &token, LONG_TTL).await.unwrap();
    let _holder = fresh(&store, &busy, LONG_LEASE).await;

    let keys = [done.clone(), busy.clone(), new.clone(), new.clone()];
    let claims = store.claim_many(&keys, LONG_LEASE).await.unwrap();
    assert_eq!(claims.len(), 4);
    assert_eq!(claims[0], Claim::Done);
    assert!(matches!(claims[1], Claim::InProgress { .. }));
    let Claim::Fresh(new_token) = &claims[2] else {
        panic!("expected fresh, got {:?}", claims[2]);
    };
    assert!(
        matches!(claims[3], Claim::InProgress { .. }),
        "a repeated key is claimed once"
    );
    store.complete(&new, new_token, LONG_TTL).await.unwrap();
    assert_eq!(claim_of(&store, &new).await, Claim::Done);
    assert_eq!(store.claim_many(&[], LONG_LEASE).await.unwrap(), vec![]);
}

/// A batch where nine events were processed before and one is new runs only the new
/// one and answers 200; one held elsewhere makes the answer 409 until it is free.
pub async fn run_batch_processes_only_fresh_events<H: Harness>(h: &H) {
    let store = h.store();
    let policy = long_policy();
    let k = |n: usize| key(&format!("batch-{n}"));
    for n in 1..10 {
        let outcome = run_once(&store, &k(n), &policy, || async { Ok::<_, ()>(()) }).await;
        assert!(matches!(outcome, RunOutcome::Processed { .. }));
    }

    let ran = std::sync::Mutex::new(Vec::new());
    let report = run_batch(&store, &policy, (0..10).map(|n| (k(n), n)), |n| {
        ran.lock().unwrap().push(n);
        async move { Ok::<_, ()>(n * 10) }
    })
    .await;
    assert_eq!(*ran.lock().unwrap(), vec![0]);
    assert_eq!((report.processed(), report.duplicates()), (1, 9));
    assert!(matches!(
        report.outcomes()[0],
        RunOutcome::Processed {
            value: 0,
            completion: Completion::Recorded
        }
    ));
    assert_eq!(report.answer().status(), 200);

    // Event 11 is being processed by another delivery; 10 and 12 are new, 12 fails.
    let holder = fresh(&store, &k(11), LONG_LEASE).await;
    let items = [(k(10), 10), (k(11), 11), (k(12), 12), (k(0), 0)];
    let report = run_batch(&store, &policy, items.clone(), |n| async move {
        if n == 12 { Err("boom") } else { Ok(n) }
    })
    .await;
    assert_eq!(
        (
            report.processed(),
            report.in_progress(),
            report.failed(),
            report.duplicates()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(report.answer().status(), 500, "a failure dominates");

    // The sender retries: 10 and 0 are duplicates, 12 runs again, 11 is still held.
    let report = run_batch(&store, &policy, items.clone(), |n| async move {
        assert_eq!(n, 12, "only the failed event runs again");
        Ok::<_, ()>(n)
    })
    .await;
    assert_eq!((report.processed(), report.in_progress()), (1, 1));
    let answer = report.answer();
    assert_eq!(answer.status(), 409);
    if let Some(after) = answer.retry_after() {
        assert!(after <= LONG_LEASE);
    }

    // The holder fails and releases: the next retry finishes the batch.
    store.release(&k(11), &holder).await.unwrap();
    let report = run_batch(&store, &policy, items, |n| async move {
        assert_eq!(n, 11);
        Ok::<_, ()>(n)
    })
    .await;
    assert_eq!((report.processed(), report.duplicates()), (1, 3));
    assert_eq!(report.answer().status(), 200);
}

/// The same event twice in one batch (a Stalwart batch can hold identical events)
/// runs once.
pub async fn run_batch_repeated_key_runs_once<H: Harness>(h: &H) {
    let store = h.store();
    let runs = AtomicUsize::new(0);
    let items = [(key("twice"), ()), (key("other"), ()), (key("twice"), ())];
    let report = run_batch(&store, &long_policy(), items, |()| async {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!((report.processed(), report.duplicates()), (2, 1));
    assert!(matches!(report.outcomes()[2], RunOutcome::Duplicate));
    assert_eq!(report.answer().status(), 200);
}

/// A random mix of deliveries that succeed, fail, panic and are cancelled, over many
/// events: an event is reported done only after its handler succeeded, and each
/// succeeds exactly once.
pub async fn never_done_unless_processed<H: Harness>(h: &H) {
    const EVENTS: usize = 12;
    const DELIVERIES: usize = 150;
    let store = h.store();
    let policy = long_policy();
    let keys: Vec<DedupKey> = (0..EVENTS).map(|n| key(&format!("mix-{n}"))).collect();
    let successes: Vec<AtomicUsize> = (0..EVENTS).map(|_| AtomicUsize::new(0)).collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64: deterministic, so a failure reproduces.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };

    for _ in 0..DELIVERIES {
        let event = (next() % EVENTS as u64) as usize;
        let k = &keys[event];
        let counter = &successes[event];
        match next() % 4 {
            0 => {
                let outcome = run_once(&store, k, &policy, || async { Err::<(), _>(()) }).await;
                assert_duplicate_only_if_processed(&outcome, counter);
            }
            1 => {
                let panicked = CatchUnwind::new(run_once(&store, k, &policy, || async {
                    if true {
                        panic!("handler panic, expected by the idempotency contract test");
                    }
                    Ok::<(), ()>(())
                }))
                .await;
                if let Ok(outcome) = panicked {
                    assert_duplicate_only_if_processed(&outcome, counter);
                }
            }
            2 => start_then_drop(&store, k).await,
            _ => {
                let outcome = run_settled_counting(h, &store, k, &policy, counter).await;
                assert_duplicate_only_if_processed(&outcome, counter);
            }
        }
        assert!(
            counter.load(Ordering::SeqCst) <= 1,
            "event {event} ran twice"
        );
    }
    for (event, k) in keys.iter().enumerate() {
        let counter = &successes[event];
        let _ = run_settled_counting(h, &store, k, &policy, counter).await;
        assert_eq!(claim_of(&store, k).await, Claim::Done);
        assert_eq!(counter.load(Ordering::SeqCst), 1, "event {event}");
    }
}

fn assert_duplicate_only_if_processed<T, E>(outcome: &RunOutcome<T, E>, successes: &AtomicUsize) {
    if matches!(outcome, RunOutcome::Duplicate) {
        assert_eq!(
            successes.load(Ordering::SeqCst),
            1,
            "reported done, but the handler never succeeded"
        );
    }
}

/// Delivers until the answer is not "in progress": a release done on drop may land a
/// moment later (the Redis store spawns it).
async fn run_settled<H: Harness, S: IdempotencyStore>(
    h: &H,
    store: &S,
    k: &DedupKey,
    policy: &DedupPolicy,
) -> RunOutcome<(), ()> {
    run_settled_counting(h, store, k, policy, &AtomicUsize::new(0)).await
}

async fn run_settled_counting<H: Harness, S: IdempotencyStore>(
    h: &H,
    store: &S,
    k: &DedupKey,
    policy: &DedupPolicy,
    successes: &AtomicUsize,
) -> RunOutcome<(), ()> {
    for _ in 0..200 {
        let outcome = run_once(store, k, policy, || async {
            successes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await;
        if !matches!(outcome, RunOutcome::InProgress { .. }) {
            return outcome;
        }
        h.pass(Duration::from_millis(10)).await;
    }
    panic!("{k} stayed in progress: a dropped claim was never released");
}

/// Starts a delivery, waits until its handler is running, then drops the future.
async fn start_then_drop<S: IdempotencyStore>(store: &S, k: &DedupKey) {
    let started = AtomicBool::new(false);
    let policy = long_policy();
    let mut delivery = pin!(run_once(store, k, &policy, || async {
        started.store(true, Ordering::SeqCst);
        std::future::pending::<Result<(), ()>>().await
    }));
    poll_fn(|cx| {
        if let Poll::Ready(outcome) = delivery.as_mut().poll(cx) {
            // Already processed (or held): nothing to cancel.
            let _ = outcome;
            return Poll::Ready(());
        }
        if started.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Catches a panic raised while polling the inner future, then drops the future, as a
/// runtime does with a task that panicked.
struct CatchUnwind<F> {
    inner: Option<Pin<Box<F>>>,
}

impl<F> CatchUnwind<F> {
    fn new(future: F) -> Self {
        Self {
            inner: Some(Box::pin(future)),
        }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Err(()));
        };
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => {
                self.inner = None;
                Poll::Ready(Err(()))
            }
        }
    }
}
