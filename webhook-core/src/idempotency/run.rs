//! Running a handler at most once per event, without losing events: [`run_once`].
//!
//! The sequence is claim → handler → complete (on success) or release (on error). A
//! [`ReleaseGuard`] holds the claim while the handler runs: if the handler panics or
//! the whole future is dropped (the client disconnected, a timeout layer fired), the
//! guard's `Drop` hands the claim back through
//! [`IdempotencyStore::release_on_drop`] so the sender's retry is processed. The guard
//! stays armed until `complete` or `release` has returned, so a cancellation during
//! either still releases; at worst that makes a processed event run again on retry,
//! never marks an unprocessed one done.

use std::{
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use super::{
    Claim, ClaimToken, Completion, DedupKey, DedupPolicy, FailurePolicy, IdempotencyStore,
    LeaseTimer, RunOutcome, StoreError,
    heartbeat::{Held, renewing},
};

/// Runs `handler` for the event `key` unless a delivery of it was already processed
/// or is being processed.
///
/// - The store answers [`Claim::Fresh`]: the handler runs. `Ok` → the event is recorded
///   as done for the policy's ttl ([`RunOutcome::Processed`]); `Err` → the claim is
///   released so the retry is processed ([`RunOutcome::Failed`]). A panic or a dropped
///   future releases the claim too (and the panic goes on unwinding).
/// - [`Claim::Done`]: [`RunOutcome::Duplicate`], the handler does not run: answer 200.
/// - [`Claim::InProgress`]: [`RunOutcome::InProgress`] with the holder's remaining lease:
///   answer 409 and let the sender retry.
/// - The store fails: with [`FailurePolicy::FailClosed`] the handler does not run
///   ([`RunOutcome::Unavailable`], answer 503); with [`FailurePolicy::FailOpen`] it runs
///   unguarded ([`Completion::Unguarded`]).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use webhook_core::{Scheme, idempotency::{DedupKey, MemoryStore, RunOutcome, DedupPolicy, run_once}};
///
/// let store = MemoryStore::new();
/// let policy = DedupPolicy::for_scheme(Scheme::Mailtrap);
/// let key = DedupKey::event_id(Scheme::Mailtrap, "bede7236-2284-43d6-a953-1fdcafd0fdbc")?;
/// let sent = AtomicUsize::new(0);
///
/// let deliver = || run_once(&store, &key, &policy, || async {
///     sent.fetch_add(1, Ordering::SeqCst); // the side effect: e.g. a row, an e-mail
///     Ok::<_, std::io::Error>("stored")
/// });
///
/// // Any executor works; the store and the helper never block or spawn.
/// let first = futures::executor::block_on(deliver());
/// assert!(matches!(first, RunOutcome::Processed { value: "stored", .. }));
/// assert_eq!(first.answer().status(), 200);
///
/// let retry = futures::executor::block_on(deliver()); // the sender retried
/// assert!(matches!(retry, RunOutcome::Duplicate));
/// assert_eq!(retry.answer().status(), 200);
/// assert_eq!(sent.load(Ordering::SeqCst), 1);
/// # Ok::<(), webhook_core::idempotency::KeyError>(())
/// ```
pub async fn run_once<S, F, Fut, T, E>(
    store: &S,
    key: &DedupKey,
    policy: &DedupPolicy,
    handler: F,
) -> RunOutcome<T, E>
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    run_once_renewing(store, key, policy, None, handler).await
}

/// [`run_once`], renewing the claim while the handler runs when there is a timer.
pub(crate) async fn run_once_renewing<S, F, Fut, T, E>(
    store: &S,
    key: &DedupKey,
    policy: &DedupPolicy,
    timer: Option<&LeaseTimer>,
    handler: F,
) -> RunOutcome<T, E>
where
    S: IdempotencyStore,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let token = match store.claim(key, policy.lease()).await {
        Ok(Claim::Fresh(token)) => token,
        Ok(Claim::Done) => return RunOutcome::Duplicate,
        Ok(Claim::InProgress { remaining }) => {
            return RunOutcome::InProgress {
                retry_after: remaining,
            };
        }
        Err(error) => return on_store_error(policy, error, handler).await,
    };
    let tokens = [token.clone()];
    let lost = [AtomicBool::new(false)];
    let mut guard = ReleaseGuard::new(store, key, token);
    let held = Held {
        store,
        keys: std::slice::from_ref(key),
        tokens: &tokens,
        lost: &lost,
        lease: policy.lease(),
    };
    match renewing(held, timer, handler()).await {
        Ok(value) => {
            let mut completion = finish(store, key, &mut guard, policy.ttl()).await;
            if lost[0].load(Ordering::Relaxed) && completion.is_recorded() {
                tracing::warn!(
                    event_key = %key,
                    "the handler finished after losing its idempotency lease: another \
                     delivery may have processed this event too"
                );
                completion = Completion::LeaseLost;
            }
            RunOutcome::Processed { value, completion }
        }
        Err(error) => {
            // A failed release leaves the claim to its lease: the retry is answered
            // 409 until then, and processed after.
            if let Err(release) = store.release(key, guard.token()).await {
                tracing::warn!(
                    event_key = %key,
                    error = %release,
                    "could not release the idempotency claim of a failed handler: the \
                     sender's retry waits for the lease to run out"
                );
            }
            guard.disarm();
            RunOutcome::Failed(error)
        }
    }
}

/// The claim could not be made: fail closed (no handler) or open (handler, unguarded).
pub(crate) async fn on_store_error<F, Fut, T, E>(
    policy: &DedupPolicy,
    error: StoreError,
    handler: F,
) -> RunOutcome<T, E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    match policy.on_store_error() {
        FailurePolicy::FailClosed => RunOutcome::Unavailable {
            error,
            retry_after: policy.unavailable_retry_after(),
        },
        FailurePolicy::FailOpen => match handler().await {
            Ok(value) => RunOutcome::Processed {
                value,
                completion: Completion::Unguarded(error),
            },
            Err(error) => RunOutcome::Failed(error),
        },
    }
}

/// Records a successful handler's claim as done, keeping the guard armed until the
/// store has answered.
pub(crate) async fn finish<S: IdempotencyStore>(
    store: &S,
    key: &DedupKey,
    guard: &mut ReleaseGuard<'_, S>,
    ttl: Duration,
) -> Completion {
    let result = store.complete(key, guard.token(), ttl).await;
    // Whatever the answer, the claim must not be released now: the event was
    // processed, and releasing would invite an immediate duplicate.
    guard.disarm();
    match result {
        Ok(()) => Completion::Recorded,
        Err(StoreError::LeaseLost) => Completion::LeaseLost,
        Err(error) => Completion::NotRecorded(error),
    }
}

/// Holds a fresh claim; releases it (best effort, synchronously) if dropped armed.
pub(crate) struct ReleaseGuard<'a, S: IdempotencyStore> {
    store: &'a S,
    key: &'a DedupKey,
    token: ClaimToken,
    armed: bool,
}

impl<'a, S: IdempotencyStore> ReleaseGuard<'a, S> {
    pub(crate) fn new(store: &'a S, key: &'a DedupKey, token: ClaimToken) -> Self {
        Self {
            store,
            key,
            token,
            armed: true,
        }
    }

    pub(crate) fn token(&self) -> &ClaimToken {
        &self.token
    }

    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl<S: IdempotencyStore> Drop for ReleaseGuard<'_, S> {
    fn drop(&mut self) {
        if self.armed {
            self.store.release_on_drop(self.key, &self.token);
        }
    }
}
