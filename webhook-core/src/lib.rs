//! # webhook-core
//!
//! The sans-IO core of [hookwise](https://github.com/hookwise/hookwise): everything
//! needed to decide whether a webhook request really came from its sender, with no web
//! framework and no async runtime.
//!
//! - [`Secret`] / [`SecretSource`]: key material that cannot be printed, zeroized on drop,
//!   loaded from a value, an environment variable or a file (Stalwart's
//!   `SecretKeyOptional`).
//! - [`Verifier`]: one sender's [`Scheme`], one or more secrets (key rotation),
//!   optional [`Credentials`] / [`UrlToken`], a body limit and a replay window.
//!   Verification runs on the raw bytes, before any parsing, and compares MACs and
//!   credentials in constant time.
//! - [`Verified<B>`]: a body that passed, with what proved it. Only the verifier builds one.
//! - [`VerifyError`]: one enum of everything that can be wrong with a request, each with
//!   an HTTP status and a stable code; [`Problem`] is the JSON answer built from it.
//! - [`senders`]: one module per sender holding all of its rules: signature format
//!   and `sign` function, signed timestamp, payload types, event keys, default limits
//!   and policies, diagnosis hints; and [how to add a sender](senders#adding-a-sender).
//! - [`dispatch`]: events one at a time: an [`EventRouter`](dispatch::EventRouter) by
//!   event type and family prefix for every sender, and per-event idempotency
//!   ([`Deduplicator::run_events`](idempotency::Deduplicator::run_events)): a retried
//!   batch re-runs only the events that failed.
//!
//! ```
//! use webhook_core::{Scheme, Secret, Verifier, senders::stalwart};
//!
//! let verifier = Verifier::builder(Scheme::Stalwart)
//!     .secret(Secret::new("new-key"))   // rotation: both keys pass while senders move
//!     .secret(Secret::new("old-key"))
//!     .build()?;
//!
//! let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-signature", stalwart::sign(&Secret::new("old-key"), body).parse()?);
//!
//! let verified = verifier.verify(&headers, &body[..])?;
//! assert_eq!(verified.verification().matched_key().unwrap().index(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
pub mod capacity;
pub mod diagnose;
pub mod dispatch;
mod error;
pub mod events;
pub mod filter;
pub mod idempotency;
mod media_type;
mod problem;
mod rejection;
mod replay;
mod request;
mod secret;
pub mod senders;
pub mod stored;
mod tag;
mod timestamp;
mod verified;
mod verifier;

pub use auth::{Credentials, UrlToken};
pub use error::{BuildError, MalformedReason, VerifyError};
pub use events::{
    BorrowedPayload, FromVerified, ParseContext, ParseError, Payload, parse_unverified,
};
pub use media_type::MediaType;
pub use problem::Problem;
pub use rejection::Rejection;
pub use request::{HeaderLookup, RequestView};
pub use secret::{STANDARD_WEBHOOKS_SECRET_PREFIX, Secret, SecretError, SecretSource, SecretText};
pub use senders::scheme::{Scheme, UnknownScheme};
pub use verified::{MatchedKey, Verification, Verified};
pub use verifier::{DEFAULT_MAX_BODY_BYTES, Verifier, VerifierBuilder};

/// A Stalwart batch that owns its data: what framework extractors hand to handlers.
pub type StalwartEvents = senders::stalwart::WebhookEvents<'static>;
/// An email-API event that owns its data.
pub type EmailApiEvent = senders::email_api::EmailApiPayload<'static>;
/// A Mailtrap batch (JSON, JSON Lines or form data) that owns its data.
pub type MailtrapEvents = senders::mailtrap::MailtrapBatch<'static>;
/// A WildDuck event that owns its data.
pub type WildDuckEvent = senders::wildduck::WildDuckPayload<'static>;
