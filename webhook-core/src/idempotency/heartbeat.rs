//! Keeping claims alive while a handler runs: a [`LeaseTimer`] and the renewal loop.
//!
//! A claim's lease bounds how long a crashed holder blocks an event; a live handler
//! slower than the lease would lose its claim and a redelivery would run the handler a
//! second time. So while a handler runs, its claims are renewed
//! ([`IdempotencyStore::renew`]) every third of the lease: two renewals can fail (a
//! store hiccup) before the lease runs out. The core has no runtime, so the waiting is
//! done by a [`LeaseTimer`] the caller provides; the adapters give the tokio timer.

use std::{
    fmt,
    future::{Future, poll_fn},
    pin::{Pin, pin},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::Poll,
    time::Duration,
};

use super::{ClaimToken, DedupKey, IdempotencyStore, StoreError};

/// The shortest interval between renewals, whatever the lease.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

type SleepFn = dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;

/// How a running handler's claims wait between lease renewals: a function from a
/// duration to a future that completes after it (the runtime's sleep).
///
/// ```
/// use webhook_core::{Scheme, idempotency::{Deduplicator, LeaseTimer, MemoryStore}};
///
/// // With tokio: `LeaseTimer::new(|d| Box::pin(tokio::time::sleep(d)))`. Any runtime's
/// // sleep works; this one uses a thread per wait, for the example only.
/// let timer = LeaseTimer::new(|delay| {
///     let (done, wait) = futures::channel::oneshot::channel::<()>();
///     std::thread::spawn(move || {
///         std::thread::sleep(delay);
///         let _ = done.send(());
///     });
///     Box::pin(async move {
///         let _ = wait.await;
///     })
/// });
/// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap).with_lease_timer(timer);
/// assert!(dedup.lease_timer().is_some());
/// ```
#[derive(Clone)]
pub struct LeaseTimer(Arc<SleepFn>);

impl LeaseTimer {
    /// A timer from a sleep function.
    pub fn new<F>(sleep: F) -> Self
    where
        F: Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static,
    {
        Self(Arc::new(sleep))
    }

    /// A future that completes after `delay`.
    pub fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        (self.0)(delay)
    }
}

impl fmt::Debug for LeaseTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeaseTimer")
    }
}

/// How often a claim of `lease` is renewed.
pub(crate) fn interval(lease: Duration) -> Duration {
    (lease / 3).max(MIN_INTERVAL)
}

/// The claims a running handler holds, for [`renewing`].
pub(crate) struct Held<'a, S> {
    pub(crate) store: &'a S,
    pub(crate) keys: &'a [DedupKey],
    pub(crate) tokens: &'a [ClaimToken],
    /// Per claim: set when a renewal was refused.
    pub(crate) lost: &'a [AtomicBool],
    pub(crate) lease: Duration,
}

/// Runs `work` while renewing the held claims (when there is a timer).
pub(crate) async fn renewing<S: IdempotencyStore, F: Future>(
    held: Held<'_, S>,
    timer: Option<&LeaseTimer>,
    work: F,
) -> F::Output {
    let Some(timer) = timer else {
        return work.await;
    };
    let beat = renew_claims(
        held.store,
        held.keys,
        held.tokens,
        held.lost,
        held.lease,
        timer,
    );
    let mut work = pin!(work);
    let mut beat = pin!(beat);
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        // The renewal loop never ends: polling it only renews when its timer fired.
        let _ = beat.as_mut().poll(cx);
        Poll::Pending
    })
    .await
}

/// Renews every claim not yet lost, every third of the lease, forever (the caller
/// drops it when the handler finished). A refused renewal marks the claim lost and is
/// logged at warn; a store that cannot answer is logged and retried next time.
async fn renew_claims<S: IdempotencyStore>(
    store: &S,
    keys: &[DedupKey],
    tokens: &[ClaimToken],
    lost: &[AtomicBool],
    lease: Duration,
    timer: &LeaseTimer,
) {
    loop {
        timer.sleep(interval(lease)).await;
        for ((key, token), lost) in keys.iter().zip(tokens).zip(lost) {
            if lost.load(Ordering::Relaxed) {
                continue;
            }
            match store.renew(key, token, lease).await {
                Ok(()) => {}
                Err(StoreError::LeaseLost) => {
                    lost.store(true, Ordering::Relaxed);
                    tracing::warn!(
                        event_key = %key,
                        lease_ms = lease.as_millis() as u64,
                        "idempotency lease lost while the handler runs: another delivery may \
                         run this event too; raise the lease or check the store's latency"
                    );
                }
                Err(error) => tracing::warn!(
                    event_key = %key,
                    %error,
                    "could not renew the idempotency lease; retrying before it runs out"
                ),
            }
        }
    }
}
