//! Batches: one claim per event, so a retried batch processes only what is new.
//!
//! Stalwart and Mailtrap post many events in one request, and a retry re-sends the
//! whole batch, possibly merged with newer events. [`run_batch`] claims every event's
//! key in one store round trip ([`IdempotencyStore::claim_many`]), runs the handler for
//! the fresh ones only, in order, and completes or releases each. The
//! [`BatchReport`] says what to answer: 200 when every event is processed or a
//! duplicate, a retryable status otherwise, and the retry then skips what was done.

use std::{
    collections::HashMap,
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
};

use http::StatusCode;

use super::{
    Answer, Claim, ClaimToken, Completion, DedupKey, DedupPolicy, FailurePolicy, IdempotencyStore,
    LeaseTimer, RunOutcome, StoreError,
    heartbeat::{Held, renewing},
    run::{ReleaseGuard, finish, on_store_error},
};

/// Runs `handler` once for each item whose key is not already processed or in
/// progress, and reports per item.
///
/// Items run one after another, in order; a failing item does not stop the others
/// (their work is kept and the retry skips them). A key repeated within the batch runs
/// once: its later items are reported [`RunOutcome::Duplicate`]. If the claims cannot be
/// made, the policy decides as in [`run_once`](super::run_once): every item is
/// [`RunOutcome::Unavailable`] (fail closed) or every item runs unguarded (fail open).
///
/// ```
/// use webhook_core::{Scheme, idempotency::{DedupKey, MemoryStore, DedupPolicy, run_batch, run_once}};
///
/// let store = MemoryStore::new();
/// let policy = DedupPolicy::for_scheme(Scheme::Stalwart);
/// let key = |n: u8| DedupKey::fingerprint(Scheme::Stalwart, &[n; 32]);
///
/// // Nine events of this batch were processed by an earlier delivery.
/// for n in 1..10 {
///     let _ = futures::executor::block_on(
///         run_once(&store, &key(n), &policy, || async { Ok::<_, ()>(()) }),
///     );
/// }
///
/// let batch = (0..10).map(|n| (key(n), format!("event {n}")));
/// let report = futures::executor::block_on(run_batch(&store, &policy, batch, |event| async move {
///     assert_eq!(event, "event 0"); // only the new event runs
///     Ok::<_, std::io::Error>(())
/// }));
/// assert_eq!((report.processed(), report.duplicates()), (1, 9));
/// assert_eq!(report.answer().status(), 200);
/// ```
pub async fn run_batch<S, I, F, Fut, T, E>(
    store: &S,
    policy: &DedupPolicy,
    items: impl IntoIterator<Item = (DedupKey, I)>,
    handler: F,
) -> BatchReport<T, E>
where
    S: IdempotencyStore,
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    run_batch_renewing(store, policy, None, items, handler).await
}

/// [`run_batch`], renewing the leases of the claims still held (the running event's
/// and those of the events after it) while each handler runs, when there is a timer.
pub(crate) async fn run_batch_renewing<S, I, F, Fut, T, E>(
    store: &S,
    policy: &DedupPolicy,
    timer: Option<&LeaseTimer>,
    items: impl IntoIterator<Item = (DedupKey, I)>,
    mut handler: F,
) -> BatchReport<T, E>
where
    S: IdempotencyStore,
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let items: Vec<(DedupKey, I)> = items.into_iter().collect();
    let (unique, slots) = index_keys(&items);

    let claims = match store.claim_many(&unique, policy.lease()).await {
        Ok(claims) if claims.len() == unique.len() => claims,
        Ok(claims) => {
            let error = StoreError::Protocol {
                detail: format!("{} answers to {} claims", claims.len(), unique.len()),
            };
            // Hand back what was claimed before deciding like any other store error.
            for (key, claim) in unique.iter().zip(&claims) {
                if let Claim::Fresh(token) = claim {
                    let _ = store.release(key, token).await;
                }
            }
            return unclaimed(policy, error, items, slots, handler).await;
        }
        Err(error) => return unclaimed(policy, error, items, slots, handler).await,
    };

    let mut claims = claims;
    // The fresh claims in the order their handlers run (a key's first item comes in
    // the order of `unique`), for renewal: while the k-th runs, it and those after it
    // are renewed.
    let (fresh_keys, fresh_tokens): (Vec<DedupKey>, Vec<ClaimToken>) = unique
        .iter()
        .zip(&claims)
        .filter_map(|(key, claim)| match claim {
            Claim::Fresh(token) => Some((key.clone(), token.clone())),
            _ => None,
        })
        .unzip();
    let lost: Vec<AtomicBool> = fresh_keys.iter().map(|_| AtomicBool::new(false)).collect();
    let mut next_fresh = 0;
    let mut outcomes = Vec::with_capacity(items.len());
    let mut held = BatchGuard::new(store, &unique, &claims);
    for ((_, item), slot) in items.into_iter().zip(slots) {
        if !slot.first {
            outcomes.push(RunOutcome::Duplicate);
            continue;
        }
        let key = &unique[slot.unique];
        // Each distinct key has exactly one first item, so each claim is taken once.
        let claim = std::mem::replace(&mut claims[slot.unique], Claim::Done);
        let outcome = match claim {
            Claim::Done => RunOutcome::Duplicate,
            Claim::InProgress { remaining } => RunOutcome::InProgress {
                retry_after: remaining,
            },
            Claim::Fresh(token) => {
                // Moves this claim from the batch guard to a single-claim guard, so a
                // panic or a drop from here on is covered by exactly one of them.
                held.forget(slot.unique);
                let mut guard = ReleaseGuard::new(store, key, token);
                let k = next_fresh;
                next_fresh += 1;
                if lost[k].load(Ordering::Relaxed) {
                    // Its lease was lost while earlier events ran: another delivery may
                    // hold it now, so it does not run here (the retry decides).
                    guard.disarm();
                    outcomes.push(RunOutcome::InProgress {
                        retry_after: Some(policy.lease()),
                    });
                    continue;
                }
                let renewal = Held {
                    store,
                    keys: &fresh_keys[k..],
                    tokens: &fresh_tokens[k..],
                    lost: &lost[k..],
                    lease: policy.lease(),
                };
                match renewing(renewal, timer, handler(item)).await {
                    Ok(value) => {
                        let mut completion = finish(store, key, &mut guard, policy.ttl()).await;
                        if lost[k].load(Ordering::Relaxed) && completion.is_recorded() {
                            tracing::warn!(
                                event_key = %key,
                                "the handler finished after losing its idempotency lease: \
                                 another delivery may have processed this event too"
                            );
                            completion = Completion::LeaseLost;
                        }
                        RunOutcome::Processed { value, completion }
                    }
                    Err(error) => {
                        if let Err(release) = store.release(key, guard.token()).await {
                            tracing::warn!(
                                event_key = %key,
                                error = %release,
                                "could not release the idempotency claim of a failed handler: \
                                 the sender's retry waits for the lease to run out"
                            );
                        }
                        guard.disarm();
                        RunOutcome::Failed(error)
                    }
                }
            }
        };
        outcomes.push(outcome);
    }
    BatchReport { outcomes }
}

/// Where an item's key sits among the batch's distinct keys.
struct Slot {
    unique: usize,
    first: bool,
}

fn index_keys<I>(items: &[(DedupKey, I)]) -> (Vec<DedupKey>, Vec<Slot>) {
    let mut position: HashMap<&DedupKey, usize> = HashMap::with_capacity(items.len());
    let mut unique = Vec::with_capacity(items.len());
    let slots = items
        .iter()
        .map(|(key, _)| match position.get(key) {
            Some(&index) => Slot {
                unique: index,
                first: false,
            },
            None => {
                position.insert(key, unique.len());
                unique.push(key.clone());
                Slot {
                    unique: unique.len() - 1,
                    first: true,
                }
            }
        })
        .collect();
    (unique, slots)
}

/// No claims: fail closed (nothing runs) or open (everything runs, unguarded).
async fn unclaimed<I, F, Fut, T, E>(
    policy: &DedupPolicy,
    error: StoreError,
    items: Vec<(DedupKey, I)>,
    slots: Vec<Slot>,
    mut handler: F,
) -> BatchReport<T, E>
where
    F: FnMut(I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut outcomes = Vec::with_capacity(items.len());
    for ((_, item), slot) in items.into_iter().zip(slots) {
        let outcome = if slot.first || policy.on_store_error() == FailurePolicy::FailClosed {
            on_store_error(policy, error.clone(), || handler(item)).await
        } else {
            RunOutcome::Duplicate
        };
        outcomes.push(outcome);
    }
    BatchReport { outcomes }
}

/// Holds the batch's fresh claims that no handler has started on yet.
struct BatchGuard<'a, S: IdempotencyStore> {
    store: &'a S,
    keys: &'a [DedupKey],
    tokens: Vec<Option<ClaimToken>>,
}

impl<'a, S: IdempotencyStore> BatchGuard<'a, S> {
    fn new(store: &'a S, keys: &'a [DedupKey], claims: &[Claim]) -> Self {
        let tokens = claims
            .iter()
            .map(|claim| match claim {
                Claim::Fresh(token) => Some(token.clone()),
                _ => None,
            })
            .collect();
        Self {
            store,
            keys,
            tokens,
        }
    }

    fn forget(&mut self, index: usize) {
        self.tokens[index] = None;
    }
}

impl<S: IdempotencyStore> Drop for BatchGuard<'_, S> {
    fn drop(&mut self) {
        for (key, token) in self.keys.iter().zip(&self.tokens) {
            if let Some(token) = token {
                self.store.release_on_drop(key, token);
            }
        }
    }
}

/// What happened to each event of a batch, in the batch's order.
#[must_use = "the report says what to answer the sender"]
#[derive(Debug)]
pub struct BatchReport<T, E> {
    outcomes: Vec<RunOutcome<T, E>>,
}

impl<T, E> BatchReport<T, E> {
    /// The answer for the whole request: 503 if the store was unavailable, else 500 if
    /// a handler failed, else 409 if an event is in progress elsewhere, else 200. A
    /// Retry-After is the longest one suggested by the items with that status.
    pub fn answer(&self) -> Answer {
        let worst = self
            .outcomes
            .iter()
            .map(RunOutcome::answer)
            .max_by_key(|answer| severity(answer.status()));
        let Some(worst) = worst else {
            return Answer::new(StatusCode::OK, None);
        };
        let retry_after = self
            .outcomes
            .iter()
            .map(RunOutcome::answer)
            .filter(|answer| answer.status() == worst.status())
            .filter_map(|answer| answer.retry_after())
            .max();
        Answer::new(worst.status(), retry_after)
    }

    /// The outcomes, one per item, in order.
    pub fn outcomes(&self) -> &[RunOutcome<T, E>] {
        &self.outcomes
    }

    /// The outcomes, one per item, in order.
    pub fn into_outcomes(self) -> Vec<RunOutcome<T, E>> {
        self.outcomes
    }

    /// How many items ran and succeeded.
    pub fn processed(&self) -> usize {
        self.count(|o| matches!(o, RunOutcome::Processed { .. }))
    }

    /// How many items were duplicates (of earlier deliveries or within the batch).
    pub fn duplicates(&self) -> usize {
        self.count(|o| matches!(o, RunOutcome::Duplicate))
    }

    /// How many items ran and failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, RunOutcome::Failed(_)))
    }

    /// How many items are held by another delivery.
    pub fn in_progress(&self) -> usize {
        self.count(|o| matches!(o, RunOutcome::InProgress { .. }))
    }

    fn count(&self, pred: impl Fn(&RunOutcome<T, E>) -> bool) -> usize {
        self.outcomes.iter().filter(|o| pred(o)).count()
    }
}

/// Which status wins when items disagree: what the sender must retry dominates.
fn severity(status: StatusCode) -> u8 {
    match status {
        StatusCode::SERVICE_UNAVAILABLE => 3,
        StatusCode::INTERNAL_SERVER_ERROR => 2,
        StatusCode::CONFLICT => 1,
        _ => 0,
    }
}
