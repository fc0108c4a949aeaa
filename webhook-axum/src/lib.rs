//! # webhook-axum
//!
//! [hookwise](https://github.com/hookwise/hookwise) for axum 0.8: verified, typed
//! webhooks in one line.
//!
//! ```
//! use axum::{Router, routing::post};
//! use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier, Webhook};
//!
//! async fn hook(Webhook(events): Webhook<StalwartEvents>) {
//!     for event in &events {
//!         println!("{} at {}", event.event_type(), event.created_at());
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder(Scheme::Stalwart)
//!     .secret(Secret::new("my-secret-key"))
//!     .build()?;
//! let app: Router = Router::new().route("/hooks/stalwart", post(hook)).with_state(verifier);
//! # Ok(()) }
//! ```
//!
//! - [`Webhook<T>`]: the extractor. Reads the body up to the verifier's limit (streaming:
//!   an oversized body is refused without being buffered), verifies the raw bytes with
//!   the [`Verifier`] from the router state, parses them into
//!   `T`. Nothing reaches the handler unverified. `Webhook<Verified<T>>` also says which
//!   key matched.
//! - [`VerifyWebhookLayer`]: the same verification as a tower layer, for a route, the
//!   routes of a router (`Router::route_layer`) or any tower service; the verified body
//!   travels on as a request extension, where [`Webhook<T>`] (then without router
//!   state) and [`VerifiedWebhook<T>`] read it.
//! - [`VerifyWebhookLayer::idempotent`]: opt-in exactly-once handling inside the
//!   verification, in one layer: a redelivered event is answered 200 without calling
//!   the handler again, a concurrent duplicate gets 409.
//! - [`handle_events`]: a request's events handled one by one, each with its own
//!   idempotency claim, so a retried batch re-runs only the events that failed; with
//!   the core's [`EventRouter`](crate::dispatch::EventRouter), handlers are chosen by
//!   event type and family prefix.
//! - [`WebhookRejection`]: what the sender gets instead: 401/400/413/415 with a small JSON
//!   problem `{"error": "…", "code": "signature_mismatch"}` that never contains a
//!   secret or a MAC, logged with `tracing` at warn level.
//! - [`serve`]: serves a router on the public internet (instead of `axum::serve`):
//!   deadlines for the request head, the body and idle keep-alive connections, a
//!   connection cap below the descriptor limit that makes room by closing the
//!   connection that has waited longest for its head, and one
//!   [`BodyBudget`](crate::capacity::BodyBudget) for the bodies being read (503
//!   `receiver_busy` with `Retry-After` beyond it). Feature `serve`, on by default.
#![cfg_attr(
    feature = "inbox",
    doc = "- [`inbox`] (feature `inbox`): the durable inbox. [`inbox::accept`] is a route handler that answers the sender once the verified delivery is committed to disk (503 with `Retry-After` when it cannot be), and the inbox's workers run the application's handler later, with retries; [`inbox::serve_with_workers`] shuts both down gracefully."
)]
#![cfg_attr(
    not(feature = "inbox"),
    doc = "- `inbox` (feature `inbox`, not enabled in this build): the durable inbox. `inbox::accept` is a route handler that answers the sender once the verified delivery is committed to disk (503 with `Retry-After` when it cannot be), and the inbox's workers run the application's handler later, with retries; `inbox::serve_with_workers` shuts both down gracefully."
)]
//!
//! # Verification and deduplication on a route
//!
//! ```
//! use axum::{Router, routing::post};
//! use webhook_axum::idempotency::{Deduplicator, MemoryStore};
//! use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier, VerifyWebhookLayer, Webhook};
//!
//! async fn hook(Webhook(events): Webhook<StalwartEvents>) {}
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//! let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
//! let hooks = Router::new()
//!     .route("/hooks/stalwart", post(hook))
//!     // `route_layer`, not `layer`: only the routes above are verified, so a request
//!     // for an unknown path still gets the fallback's 404 instead of a 401.
//!     .route_layer(VerifyWebhookLayer::new(verifier).idempotent(dedup));
//! let app: Router = Router::new().merge(hooks); // no `.with_state(…)`: the layer verifies
//! # Ok(()) }
//! ```
//!
//! One layer composes both, verification first: deduplication reads the verified body,
//! and there is no separate deduplication layer that could be stacked outside it.
//!
//! This crate holds no verification or parsing logic of its own: it moves bytes from
//! axum to [`webhook_core`] and answers with what the core decides.
//!
//! # One dependency
//!
//! Everything an axum receiver needs is reachable from this crate: the core's items
//! ([`Verifier`], [`Scheme`], [`Secret`], the typed payloads such as
//! [`StalwartEvents`], and the modules [`senders`], [`capacity`], [`diagnose`],
//! [`dispatch`], [`events`], [`filter`]) are re-exported here under the same names, and
//! [`idempotency`] holds the core's idempotency types. A
//! receiver depends on `webhook-axum` alone and imports from `webhook_axum::…`.

#[doc(inline)]
pub use webhook_core::*;
/// The Redis idempotency store (feature `redis`): one store shared by every replica.
#[cfg(feature = "redis")]
#[doc(inline)]
pub use webhook_redis as redis;

mod body;
mod extract;
pub mod idempotency;
#[cfg(feature = "inbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "inbox")))]
pub mod inbox;
pub mod layer;
mod per_event;
mod rejection;
#[cfg(feature = "serve")]
mod serve;
mod state;

pub use body::read_body;
pub use extract::{VerifiedWebhook, Webhook};
pub use idempotency::Idempotent;
pub use layer::{VerifyWebhookLayer, VerifyWebhookService};
pub use per_event::{EventsAnswer, handle_events};
pub use rejection::WebhookRejection;
#[cfg(feature = "serve")]
pub use serve::{Serve, serve};
pub use state::WebhookState;
