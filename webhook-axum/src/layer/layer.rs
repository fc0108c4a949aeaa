//! The layer: configuration only.

use tower_layer::Layer;
use webhook_core::{
    Verifier,
    idempotency::{Deduplicator, IdempotencyStore},
};

use super::VerifyWebhookService;
use crate::Idempotent;

/// Wraps services in [`VerifyWebhookService`]; with [`idempotent`](Self::idempotent), in
/// [`VerifyWebhookService`] around [`Idempotent`], so verification always runs before
/// deduplication.
///
/// `D` is `()` for verification alone, or the [`Deduplicator`] given to
/// [`idempotent`](Self::idempotent).
#[derive(Debug, Clone)]
pub struct VerifyWebhookLayer<D = ()> {
    verifier: Verifier,
    dedup: D,
}

impl VerifyWebhookLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            dedup: (),
        }
    }

    /// Adds exactly-once handling with `dedup` (its store and policy), inside the
    /// verification: a redelivered event is answered without calling the handler again
    /// (see [`idempotency`](crate::idempotency)). This is the only way to put the
    /// deduplication on a route, so it cannot end up outside the verification it reads.
    ///
    /// Unless `dedup` already has a
    /// [`LeaseTimer`](crate::idempotency::LeaseTimer), it gets tokio's, so the leases of
    /// a running handler's claims are renewed.
    ///
    /// There is no deduplication layer of its own, which could be stacked outside the
    /// verification (every request would then fail) or mixed up with it in
    /// `post(h).layer(…).layer(…)`:
    ///
    /// ```compile_fail
    /// use webhook_axum::idempotency::{Deduplicator, IdempotencyLayer, MemoryStore};
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), webhook_axum::Scheme::Stalwart);
    /// let layer = IdempotencyLayer::new(dedup);
    /// ```
    pub fn idempotent<S: IdempotencyStore>(
        self,
        dedup: Deduplicator<S>,
    ) -> VerifyWebhookLayer<Deduplicator<S>> {
        VerifyWebhookLayer {
            verifier: self.verifier,
            dedup,
        }
    }
}

impl<D> VerifyWebhookLayer<D> {
    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl<I> Layer<I> for VerifyWebhookLayer {
    type Service = VerifyWebhookService<I>;

    fn layer(&self, inner: I) -> Self::Service {
        VerifyWebhookService::new(inner, self.verifier.clone())
    }
}

impl<I, S: IdempotencyStore + Clone> Layer<I> for VerifyWebhookLayer<Deduplicator<S>> {
    type Service = VerifyWebhookService<Idempotent<I, S>>;

    fn layer(&self, inner: I) -> Self::Service {
        VerifyWebhookService::new(
            Idempotent::new(inner, self.dedup.clone()),
            self.verifier.clone(),
        )
    }
}
