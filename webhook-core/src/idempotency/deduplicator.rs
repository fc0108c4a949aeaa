//! [`Deduplicator`]: a store and its policy in one value, what a web framework adapter
//! keeps in its shared state.

use std::future::Future;

use crate::senders::stalwart::StalwartKey;

use super::{
    BatchReport, DedupKey, DedupObserver, DedupPolicy, IdempotencyStore, LeaseTimer, Namespace,
    RunOutcome, batch::run_batch_renewing, observe::Observer, run::run_once_renewing,
};

/// A store plus the [`DedupPolicy`] for one sender: call [`run_once`](Self::run_once) per
/// event or [`run_batch`](Self::run_batch) per request. Clone it into each handler
/// (cheap when the store is, like [`MemoryStore`](super::MemoryStore) or an `Arc`).
///
/// ```
/// use webhook_core::{Scheme, idempotency::{DedupKey, Deduplicator, MemoryStore, RunOutcome}};
///
/// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::StandardWebhooks);
/// let key = DedupKey::event_id(Scheme::StandardWebhooks, "msg_2Lh9KrjYl1sU3dDcbFAvvDq4Rxq")?;
///
/// let outcome = futures::executor::block_on(dedup.run_once(&key, || async {
///     Ok::<_, std::io::Error>(())
/// }));
/// let answer = outcome.answer();
/// assert_eq!(answer.status(), 200);
/// assert_eq!(answer.retry_after_secs(), None);
/// # Ok::<(), webhook_core::idempotency::KeyError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Deduplicator<S> {
    store: S,
    policy: DedupPolicy,
    namespace: Option<Namespace>,
    stalwart_key: StalwartKey,
    timer: Option<LeaseTimer>,
    observer: Observer,
}

impl<S: IdempotencyStore> Deduplicator<S> {
    /// A deduplicator with an explicit policy.
    pub fn new(store: S, policy: DedupPolicy) -> Self {
        Self {
            store,
            policy,
            namespace: None,
            stalwart_key: StalwartKey::default(),
            timer: None,
            observer: Observer::default(),
        }
    }

    /// Renews the leases of a running handler's claims with this timer (every third of
    /// the lease, see the [module docs](super)), so a handler slower
    /// than the lease is not run twice. The axum and actix-web adapters set their
    /// runtime's timer when none is set.
    pub fn with_lease_timer(mut self, timer: LeaseTimer) -> Self {
        self.timer = Some(timer);
        self
    }

    /// The timer lease renewals wait on, if set.
    pub fn lease_timer(&self) -> Option<&LeaseTimer> {
        self.timer.as_ref()
    }

    /// Reports what happens to every request and event this deduplicator handles to `observer`
    /// (a closure, or [`DedupCounters`](super::DedupCounters)): duplicates skipped,
    /// runs, failures, lease losses, cancellations. See [`DedupOutcome`](super::DedupOutcome).
    pub fn with_observer(mut self, observer: impl DedupObserver) -> Self {
        self.observer = Observer::new(observer);
        self
    }

    pub(crate) fn observer(&self) -> &Observer {
        &self.observer
    }

    /// Keys events in `namespace` instead of the scheme's own, for a receiver that takes
    /// webhooks from several instances of one sender (two Stalwart clusters, two Mailtrap
    /// accounts) whose ids could collide.
    pub fn with_namespace(mut self, namespace: Namespace) -> Self {
        self.namespace = Some(namespace);
        self
    }

    /// How Stalwart events are keyed (default: the content
    /// fingerprint).
    pub fn with_stalwart_key(mut self, key: StalwartKey) -> Self {
        self.stalwart_key = key;
        self
    }

    pub(crate) fn namespace_for(&self, scheme: crate::Scheme) -> Namespace {
        self.namespace
            .clone()
            .unwrap_or_else(|| Namespace::of(scheme))
    }

    pub(crate) fn stalwart_key(&self) -> StalwartKey {
        self.stalwart_key
    }

    /// A deduplicator with the sender's default policy ([`DedupPolicy::for_scheme`]).
    pub fn for_scheme(store: S, scheme: crate::Scheme) -> Self {
        Self::new(store, DedupPolicy::for_scheme(scheme))
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The policy.
    pub fn policy(&self) -> &DedupPolicy {
        &self.policy
    }

    /// [`run_once`](super::run_once) with this store and policy; with a
    /// [`LeaseTimer`], the claim is renewed while the handler runs, and the outcome goes
    /// to the observer.
    pub async fn run_once<F, Fut, T, E>(&self, key: &DedupKey, handler: F) -> RunOutcome<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let outcome =
            run_once_renewing(&self.store, key, &self.policy, self.timer.as_ref(), handler).await;
        self.observer
            .report(outcome.dedup_outcome(), std::slice::from_ref(key));
        outcome
    }

    /// [`run_batch`](super::run_batch) with this store and policy; with a
    /// [`LeaseTimer`], the claims still held (the running event's and those of the
    /// events after it) are renewed while each handler runs.
    pub fn run_batch<I, F, Fut, T, E>(
        &self,
        items: impl IntoIterator<Item = (DedupKey, I)>,
        handler: F,
    ) -> impl Future<Output = BatchReport<T, E>>
    where
        F: FnMut(I) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        run_batch_renewing(
            &self.store,
            &self.policy,
            self.timer.as_ref(),
            items,
            handler,
        )
    }
}
