//! Stalwart mail server: everything hookwise knows about its webhooks.
//!
//! | | |
//! |---|---|
//! | signature | `X-Signature`: base64 (standard, padded) HMAC-SHA256 of the body, keyed with the secret's text ([`sign`]) |
//! | signed timestamp | each event's `createdAt`, in the body; a batch is judged by its newest event ([`MIN_REPLAY_WINDOW`]) |
//! | body | `{"events":[{"id","createdAt","type","data"}]}`, all pending events in one POST ([`WebhookEvents`], owned: [`StalwartEvents`](crate::StalwartEvents)) |
//! | dedup key | the content [`Fingerprint`] of each event (a retried event gets a new `id`), or the `id` ([`StalwartKey`]) |
//! | retries | the whole batch re-queued until its events are `discardAfter` old (5 min), 30 s timeout, 1 s throttle |
//! | idempotency | lease 30 s (the request timeout), ttl 10 min (covers the 331 s retry horizon) |
//! | body limit | 48 MiB ([`MAX_BODY_BYTES`]): the batch after a 5-minute outage of a busy server |
//!
//! The payload types:
//!
//! - [`WebhookEvents`] is a batch (never empty) and [`WebhookEvent`] one event;
//!   `WebhookEvents<'a>` borrows from the body, `WebhookEvents<'static>`
//!   ([`StalwartEvents`](crate::StalwartEvents)) owns its data.
//! - [`EventType`] names every event type Stalwart has (and had), with a fallback for
//!   names newer than this crate.
//! - [`Data`] keeps each event's data as sent; [`DataMap`] reads it with typed
//!   accessors; [`Value`] is Stalwart's value model, nested events included.
//! - [`Fingerprint`] is the content hash to deduplicate on, because a retried event gets
//!   a new id.
//!
//! Parsing then serializing gives back the bytes received, unknown keys included:
//!
//! ```
//! use webhook_core::{MediaType, ParseContext, events::parse_unverified_borrowed, senders::stalwart::WebhookEvents};
//!
//! let body = br#"{"events":[{"id":"17557849615421","createdAt":"2025-08-21T14:02:41Z","type":"smtp.dkim-fail","data":{"spanId":312846120370880513,"strict":false,"remoteIp":"2001:db8::25"}}]}"#;
//! let batch: WebhookEvents<'_> = parse_unverified_borrowed(body, ParseContext::new(MediaType::Json))?;
//! let event = &batch.events[0];
//! assert_eq!(event.event_type().as_str(), "smtp.dkim-fail");
//! let data = event.fields()?;
//! assert_eq!(data.span_id(), Some(312846120370880513)); // exact above 2^53
//! assert_eq!(data.remote_ip(), Some("2001:db8::25".parse()?));
//! assert_eq!(serde_json::to_vec(&batch)?, body);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!

mod batch;
mod data;
mod dedup;
mod dispatch;
mod event;
mod event_type;
mod field;
mod fingerprint;
mod key;
mod replay;
mod signature;
mod stored;
mod value;

use std::time::Duration;

pub use batch::WebhookEvents;
pub use data::{Data, DataMap};
pub use dedup::StalwartKey;
pub use event::WebhookEvent;
pub use event_type::*;
pub use field::FieldValue;
pub use fingerprint::Fingerprint;
pub use key::{Key, UnknownKey};
pub use replay::MIN_REPLAY_WINDOW;
pub use signature::{SIGNATURE_HEADER, sign};
pub use value::{NestedEvent, Value};

use crate::{
    MediaType,
    senders::rules::{KeyOrder, Replay, SenderRules},
};

/// The default body limit for Stalwart: 48 MiB, its batch after an outage.
///
/// Stalwart sends every pending event in **one POST with no size cap**, and keeps
/// retrying a failed batch, merged with newer events, until each event is
/// `discardAfter` old (5 min). So the largest body a receiver must take is what a
/// server emits in 5 minutes while the receiver (or the application's database) is
/// down. With the default subscription (every event type), a server taking 10 SMTP
/// connections a second emits about 300 events a second (a connection logs about 30:
/// connection start and end, EHLO, MAIL FROM, RCPT TO, SPF, DKIM, DMARC, queueing,
/// delivery), and an event with its span keys is 250–450 bytes (the specification's
/// examples average 345):
///
/// 300 s × 300 events/s × 450 B ≈ 40.5 MB → **48 MiB** (over 100 000 events).
///
/// A busier server, or one whose operator raised `discardAfter`, needs a larger limit
/// ([`VerifierBuilder::max_body_bytes`](crate::VerifierBuilder::max_body_bytes)); a
/// limit that is too small is worse than useless here, since Stalwart re-sends the same
/// batch, larger each time, until its events are dropped. The body is read whole
/// before it is verified, so such bodies also count against the in-flight
/// [`BodyBudget`](crate::capacity::BodyBudget) (64 MiB by default: one such body at a
/// time beside smaller ones).
pub const MAX_BODY_BYTES: usize = 48 << 20;

/// Stalwart's rules (see the module docs).
pub(crate) static STALWART: SenderRules = SenderRules {
    id: "stalwart",
    aliases: &[],
    name: "Stalwart",
    summary: "Stalwart mail server: `X-Signature`, base64 HMAC-SHA256.",
    signature: Some(&signature::RULES),
    replay: Replay::Body(replay::check),
    max_body_bytes: MAX_BODY_BYTES,
    media_types: &[MediaType::Json],
    // The request timeout: a slower handler is retried by Stalwart anyway.
    lease: Duration::from_secs(30),
    ttl: Duration::from_secs(10 * 60),
    // Until events are `discardAfter` old, plus the last attempt's timeout and throttle.
    retry_horizon: MIN_REPLAY_WINDOW,
    event_keys: dedup::event_keys,
    retain_events: Some(dedup::retain_events),
    split: stored::split,
    key_order: Some(KeyOrder {
        batch: Some("events"),
        keys: &["id", "createdAt", "type", "data"],
    }),
};
