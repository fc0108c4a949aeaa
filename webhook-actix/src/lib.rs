//! # webhook-actix
//!
//! [hookwise](https://github.com/hookwise/hookwise) for actix-web 4: verified, typed
//! webhooks in one line.
//!
//! ```
//! use actix_web::{App, web};
//! use webhook_actix::{Webhook, WebhookConfig};
//! use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier};
//!
//! async fn hook(Webhook(events): Webhook<StalwartEvents>) -> &'static str {
//!     for event in &events {
//!         println!("{} at {}", event.event_type(), event.created_at());
//!     }
//!     "ok"
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder(Scheme::Stalwart)
//!     .secret(Secret::new("my-secret-key"))
//!     .build()?;
//! let app = App::new()
//!     .app_data(WebhookConfig::new(verifier))
//!     .route("/hooks/stalwart", web::post().to(hook));
//! # Ok(()) }
//! ```
//!
//! - [`Webhook<T>`]: the extractor (`FromRequest`). Reads the payload up to the
//!   verifier's limit, verifies the raw bytes, parses them into `T`.
//! - [`VerifyWebhook`]: the same verification as middleware for a resource (or scope);
//!   the verified bytes are put back as the payload and the
//!   [`Verified<Bytes>`](crate::Verified) goes into the request extensions, where
//!   [`Webhook<T>`] takes it without a [`WebhookConfig`]. Wrap resources, not the `App`,
//!   so that unknown paths keep their 404.
//! - [`VerifyWebhook::idempotent`]: opt-in exactly-once handling inside the
//!   verification, in one middleware: a redelivered event is answered 200 without
//!   calling the handler again, a concurrent duplicate gets 409.
//! - [`handle_events`]: a request's events handled one by one, each with its own
//!   idempotency claim, so a retried batch re-runs only the events that failed; with
//!   the core's [`EventRouter`](crate::dispatch::EventRouter), handlers are chosen by
//!   event type and family prefix.
//! - [`WebhookRejection`]: a `ResponseError` answering 401/400/413/415 with the JSON
//!   problem `{"error": "…", "code": "…"}`, identical to the axum adapter's.
//! - [`apply_limits`]: the `HttpServer` settings (`client_request_timeout`,
//!   `keep_alive`, `max_connections`, …) for a receiver on the public internet, from
//!   the same [`ServeLimits`](crate::capacity::ServeLimits) as
//!   `webhook_axum::serve`; registered as app data, the limits also give the extractor
//!   and the middleware their body deadline (408 `body_timeout`) and their
//!   [`BodyBudget`](crate::capacity::BodyBudget) (503 `receiver_busy` with
//!   `Retry-After`).
#![cfg_attr(
    feature = "inbox",
    doc = "- [`inbox`] (feature `inbox`): the durable inbox. [`inbox::accept`] is a route that answers the sender once the verified delivery is committed to disk (503 with `Retry-After` when it cannot be), and the inbox's workers run the application's handler later, with retries; [`inbox::run_with_workers`] shuts both down gracefully."
)]
#![cfg_attr(
    not(feature = "inbox"),
    doc = "- `inbox` (feature `inbox`, not enabled in this build): the durable inbox. `inbox::accept` is a route that answers the sender once the verified delivery is committed to disk (503 with `Retry-After` when it cannot be), and the inbox's workers run the application's handler later, with retries; `inbox::run_with_workers` shuts both down gracefully."
)]
//!
//! actix-web 4 uses `http` 0.2 types while the core uses `http` 1.x: this crate reads
//! headers through their names, so neither adapter pays for the other and no version
//! clash reaches the core's API. It holds no verification or parsing logic of its own.
//!
//! # One dependency
//!
//! Everything an actix-web receiver needs is reachable from this crate: the core's
//! items ([`Verifier`], [`Scheme`], [`Secret`], the typed payloads such as
//! [`StalwartEvents`], and the modules [`senders`], [`capacity`], [`diagnose`],
//! [`dispatch`], [`events`], [`filter`]) are re-exported here under the same names, and
//! [`idempotency`] holds the core's idempotency types. A receiver depends on
//! `webhook-actix` alone and imports from `webhook_actix::…`.

#[doc(inline)]
pub use webhook_core::*;
/// The Redis idempotency store (feature `redis`): one store shared by every replica.
#[cfg(feature = "redis")]
#[doc(inline)]
pub use webhook_redis as redis;

mod body;
mod config;
mod extract;
pub mod idempotency;
#[cfg(feature = "inbox")]
#[cfg_attr(docsrs, doc(cfg(feature = "inbox")))]
pub mod inbox;
mod middleware;
mod per_event;
mod rejection;
mod request;
mod server;

pub use config::WebhookConfig;
pub use extract::Webhook;
pub use idempotency::IdempotencyMiddleware;
pub use middleware::{VerifyWebhook, VerifyWebhookMiddleware};
pub use per_event::{EventsAnswer, handle_events};
pub use rejection::WebhookRejection;
pub use server::{DISCONNECT_TIMEOUT, apply_limits};
