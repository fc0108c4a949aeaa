//! The layer: configuration only.

use tower_layer::Layer;
use webhook_core::idempotency::{Deduplicator, IdempotencyStore};

use super::Idempotent;

/// Wraps services in [`Idempotent`].
#[derive(Debug, Clone)]
pub struct IdempotencyLayer<S> {
    dedup: Deduplicator<S>,
}

impl<S> IdempotencyLayer<S> {
    /// A layer deduplicating with `dedup` (its store and policy).
    pub fn new(dedup: Deduplicator<S>) -> Self {
        Self { dedup }
    }
}

impl<I, S: IdempotencyStore + Clone> Layer<I> for IdempotencyLayer<S> {
    type Service = Idempotent<I, S>;

    fn layer(&self, inner: I) -> Self::Service {
        Idempotent::new(inner, self.dedup.clone())
    }
}
