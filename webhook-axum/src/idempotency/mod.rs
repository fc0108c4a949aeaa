//! Exactly-once handler effects:
//! [`VerifyWebhookLayer::idempotent`](crate::VerifyWebhookLayer::idempotent) answers a
//! redelivered event without calling the handler again. The core's idempotency types
//! ([`Deduplicator`], [`MemoryStore`], [`DedupKey`], …) are re-exported here, so one
//! `use webhook_axum::idempotency::…` reaches all of them.
//!
//! Every seed sender delivers at least once. Deduplication reads the verified body, so
//! it must run after verification; `VerifyWebhookLayer::new(verifier).idempotent(dedup)`
//! is one layer that composes both in that order, and the only way to add it, so the
//! two cannot be stacked the wrong way round. Each request goes through
//! [`Deduplicator::run_verified`], whose [`Handled`] answer the layer sends:
//!
//! - every event already processed → 200 `{"status":"duplicate"}`, handler not called;
//! - an event being processed by another delivery → 409 with `Retry-After`, never a
//!   second concurrent run;
//! - the store unreachable → 503 with `Retry-After` (fail closed, the default), or the
//!   handler runs unguarded (fail open);
//! - otherwise the handler runs on the new events only (a retried Stalwart batch reaches
//!   it without the events it already handled), and its answer settles the claims: a
//!   2xx completes them, anything else (or a panic) releases them so the sender's retry
//!   is processed.
//!
//! While the handler runs, its claims' lease is renewed every third of the lease on
//! tokio's timer (the runtime needs its time driver, as `#[tokio::main]` builds it; or
//! give the deduplicator your own [`LeaseTimer`]), so a handler slower than the lease is not run again by a redelivery
//! (which gets 409). The handler runs in its own tokio task: if the sender gives up and
//! the request is dropped, the handler still finishes once and its claims are settled
//! (the sender's retries get 409, then a duplicate's 200), and the cancellation is
//! logged at `warn` and reported as [`DedupOutcome::Cancelled`]. Every request's outcome
//! goes to the deduplicator's observer ([`Deduplicator::with_observer`], e.g.
//! [`DedupCounters`]); lost leases and completions the store did not record are logged
//! at `warn` with the event keys.
//!
//! Put the layer on the route (`post(hook).layer(…)`) or on the routes of a router with
//! `Router::route_layer`; `Router::layer` would also wrap the router's fallback, so an
//! unknown path would be answered 401 instead of 404.
//!
//! ```
//! use axum::{Router, routing::post};
//! use webhook_axum::{VerifyWebhookLayer, Webhook};
//! use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier};
//! use webhook_axum::idempotency::{Deduplicator, MemoryStore};
//!
//! async fn hook(Webhook(events): Webhook<StalwartEvents>) {
//!     // Runs once per event, however often Stalwart retries.
//! }
//!
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//! let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
//! let app: Router = Router::new().route(
//!     "/hooks/stalwart",
//!     // Verification, then deduplication, then the handler.
//!     post(hook).layer(VerifyWebhookLayer::new(verifier).idempotent(dedup)),
//! );
//! # Ok::<(), webhook_axum::BuildError>(())
//! ```

mod service;

pub use service::Idempotent;
pub(crate) use service::{spawn, with_tokio_timer};
#[doc(inline)]
pub use webhook_core::idempotency::*;
