//! # webhook-sender
//!
//! The reference webhook sender of [hookwise](https://github.com/hookwise/hookwise): it
//! produces byte-exact, signed requests the way each real sender does, and delivers them
//! with that sender's batching and retry behaviour. hookwise's round-trip tests, its CLI
//! and its demo use it; so can any Rust program that must *send* these webhooks (a mail
//! system, a test harness for a receiver).
//!
//! Send one signed Stalwart batch:
//!
//! ```no_run
//! use webhook_core::{Scheme, Secret, senders::stalwart::{DataMap, Key, Value}};
//! use webhook_sender::{Endpoint, Sender, StalwartEvent};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::new(Scheme::Stalwart, "https://app.example/hooks/stalwart")?
//!     .secret(Secret::new("my-secret-key"))?;
//! let sender = Sender::stalwart(endpoint).build()?;
//! let mut data = DataMap::new();
//! data.push(Key::AccountName, Value::from("jdoe@example.org"));
//! sender.send(StalwartEvent::from_map("auth.success", &data))?;
//! let stats = sender.close().await; // waits for delivery, retries included
//! assert_eq!(stats.delivered, 1);
//! # Ok(()) }
//! ```
//!
//! The other senders have their own constructors: [`Sender::email_api`],
//! [`Sender::mailtrap`], [`Sender::wildduck`] (and [`Sender::messages`] for raw bodies):
//!
//! ```no_run
//! use webhook_core::{Scheme, Secret, senders::mailtrap::EventKind};
//! use webhook_sender::{Endpoint, MailtrapEncoding, MailtrapItem, Sender};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::new(Scheme::Mailtrap, "https://app.example/hooks/mailtrap")?
//!     .secret(Secret::new("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"))?;
//! let sender = Sender::mailtrap(endpoint, MailtrapEncoding::JsonLines).build()?;
//! sender.send(MailtrapItem::new(EventKind::Delivery, "a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f", "to@example.com"))?;
//! assert_eq!(sender.close().await.delivered, 1);
//! # Ok(()) }
//! ```
//!
//! What goes on the wire, without a network ([`Endpoint::request`] is sans-IO):
//!
//! ```
//! use chrono::DateTime;
//! use webhook_core::{Scheme, Secret, Verifier, senders::stalwart::{DataMap, Key, Value}};
//! use webhook_sender::{Body, Endpoint, IdGenerator, IdStyle, StalwartEvent, render_batch};
//!
//! let mut data = DataMap::new();
//! data.push(Key::AccountName, Value::from("jdoe@example.org"));
//! let event = StalwartEvent::from_map("auth.success", &data)
//!     .created_at(DateTime::from_timestamp(1_755_784_900, 0).unwrap())
//!     .with_type_id(37);
//! let body = render_batch(&[&event], &IdGenerator::new(IdStyle::Counter))?;
//! assert_eq!(body, br#"{"events":[{"id":"1755784900037","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#);
//!
//! let endpoint = Endpoint::new(Scheme::Stalwart, "http://127.0.0.1:8080/hook")?
//!     .secret(Secret::new("my-secret-key"))?;
//! let request = endpoint.request(&Body::json(body), None, std::time::SystemTime::now())?;
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("my-secret-key")).build()?;
//! assert!(verifier.verify(request.headers(), request.body()).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Parts
//!
//! - [`Endpoint`]: URL, [`Scheme`](webhook_core::Scheme), secret, `Authorization`, custom
//!   headers; builds each request with headers in Stalwart's order (a custom header may
//!   replace `Content-Type`, never the credentials or the signature). The signing
//!   headers are webhook-core's ([`Scheme::sign`](webhook_core::Scheme::sign)), so
//!   sender and verifier cannot drift apart.
//! - [`Format`]: what an item is, whether the endpoint wants it, and how a request's
//!   items become a [`Body`], once per attempt. [`StalwartFormat`] batches
//!   [`StalwartEvent`]s with fresh ids on every serialization, filtered by Stalwart's
//!   `events`/`eventsPolicy`; [`EmailApiFormat`] sends one [`EmailApiItem`] per request;
//!   [`MailtrapFormat`] batches up to 500 [`MailtrapItem`]s as JSON or JSON Lines, or
//!   sends one as form data; [`WildDuckFormat`] sends one [`WildDuckItem`] per request
//!   to one subscription, skipping events it does not match; [`MessageFormat`] sends
//!   caller-made [`Message`]s (any scheme, any media type) one per request. The typed
//!   formats serialize webhook-core's event models and filter with its matcher
//!   ([`webhook_core::filter`]). Events a filter refuses end in
//!   [`DeliveryOutcome::Filtered`], counted in [`Stats::filtered`].
//! - [`DeliveryPolicy`]: pacing, batching, retries, success rule and timeout as data, with a
//!   preset per sender ([`DeliveryPolicy::for_scheme`]).
//!
//! Each sender's preset and typed format live in one file named as in
//! [`webhook_core::senders`] (`src/senders/stalwart.rs`, `email_api.rs`, `mailtrap.rs`,
//! `standard_webhooks.rs`, `wildduck.rs`); `src/senders/mod.rs` is the one place that
//! branches on the sender.
//! - [`Sender`]: runs the delivery engine on tokio; every item ends in a [`DeliveryOutcome`]
//!   (callbacks, [`Sender::subscribe`]) and every attempt is in the [`DeliveryLog`].
//! - [`Transport`]: [`HttpTransport`] (reqwest, rustls, no redirects) or
//!   [`testing::ScriptedTransport`] for virtual-time tests; [`WallClock`] likewise.
//!
//! ## Delivery semantics by preset
//!
//! | preset | batching | in flight | retries | success | timeout |
//! |---|---|---|---|---|---|
//! | [`DeliveryPolicy::stalwart`] | all pending events per POST, one POST per 1 s throttle (first after idle at once) | 1 | whole batch re-queued, no backoff; events ≥ 5 min old dropped and reported when re-queued; lossy mode optional | 2xx | 30 s |
//! | [`DeliveryPolicy::email_api`] | one event per request | 8 | waits 1, 5, 30 min (4 attempts) | 2xx | 30 s |
//! | [`DeliveryPolicy::mailtrap`] | up to 500 events per request with [`MailtrapFormat`] (1 with form data) | 8 | 10 attempts, first wait 1 min, ×2.31 (last at 23 h 49 min) | 200 only | 30 s |
//! | [`DeliveryPolicy::mailtrap_current`] | same | 8 | 40 retries every 5 min | 200 only | 30 s |
//! | [`DeliveryPolicy::wildduck`] | one event per request | 1 | waits 2, 4, 8, 16 s (5 attempts) | 2xx | none |
//! | [`DeliveryPolicy::standard_webhooks`] | one message per request | 8 | Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h | 2xx | 15 s |
//!
//! Delivery is at least once: a receiver that processed a request but answered late or
//! with an error gets it again. Stalwart events then carry new ids (v0.16.11+), so
//! receivers deduplicate on the content fingerprint; Standard Webhooks keeps its
//! `webhook-id`.
//!
//! ## Memory
//!
//! Submitting never blocks. Items wait in memory until delivered: under Stalwart's
//! policy a dead receiver keeps up to `discard_after` (5 min) of events, each holding its
//! `data` JSON; lossy mode ([`DeliveryPolicy::with_lossy`], Stalwart's cap is
//! [`STALWART_LOSSY_CAP`]) bounds the backlog in count and counts every drop exactly in
//! [`Stats::dropped`]. The log keeps finished records up to a retention limit.
//!
//! ## TLS
//!
//! See [`transport`](crate::HttpTransport): reqwest's `rustls` feature with aws-lc-rs, as
//! Stalwart uses; it builds with a C compiler and no cmake.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod clock;
mod endpoint;
mod engine;
mod error;
mod format;
mod key_order;
mod log;
mod message;
mod outcome;
mod policy;
mod problem;
mod sender;
mod senders;
mod shared;
pub mod testing;
mod transport;

pub use body::{APPLICATION_JSON, Body};
pub use clock::{SystemClock, TokioClock, WallClock};
pub use endpoint::{Endpoint, HeaderNames};
pub use error::{ConfigError, RenderError, SendError};
pub use format::{Format, Rendered};
pub use log::{Attempt, DEFAULT_LOG_RETENTION, DeliveryLog, Record, Stats, Status, Ticket};
pub use message::{Message, MessageFormat};
pub use outcome::{DeliveryOutcome, Outcomes};
pub use policy::{DeliveryPolicy, Jitter, Retry, RetryOn, Schedule, Success};
pub use problem::ReceiverProblem;
pub use sender::{SendHandle, Sender, SenderBuilder};
pub use senders::email_api::{EMAIL_DATA_KEY_ORDER, EmailApiFormat, EmailApiItem, new_event_id};
pub use senders::mailtrap::{
    APPLICATION_FORM, APPLICATION_JSONL, MAILTRAP_KEY_ORDER, MAILTRAP_MAX_BATCH, MailtrapEncoding,
    MailtrapFormat, MailtrapItem, new_event_uuid,
};
pub use senders::stalwart::{
    IdGenerator, IdStyle, STALWART_LOSSY_CAP, StalwartEvent, StalwartFormat, UNKNOWN_TYPE_ID,
    WEBHOOK_ERROR_EVENT, render_batch,
};
pub use senders::standard_webhooks::new_message_id;
pub use senders::wildduck::{WILDDUCK_KEY_ORDER, WildDuckFormat, WildDuckItem, new_object_id};
pub use transport::{
    HttpTransport, RESPONSE_EXCERPT_BYTES, Transport, TransportError, TransportFuture,
};
