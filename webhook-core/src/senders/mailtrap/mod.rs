//! Mailtrap: everything hookwise knows about its webhooks.
//!
//! | | |
//! |---|---|
//! | signature | `Mailtrap-Signature` (or the older `X-Mailtrap-Signature`): hex HMAC-SHA256 of the body, keyed with the signing secret's text ([`sign`]) |
//! | signed timestamp | none: a replay window cannot be configured |
//! | body | JSON `{"events":[…]}` (up to 500), JSON Lines or form data ([`MailtrapBatch`], owned: [`MailtrapEvents`](crate::MailtrapEvents)) |
//! | dedup key | each event's `event_id`; an audit-log event by a hash of its content |
//! | retries | 10 attempts over 24 h (older docs) or 40 every 5 min (current); only `200` counts as delivered |
//! | idempotency | lease 30 s (the request timeout), ttl 25 h (covers the 24 h retry horizon) |
//! | body limit | 2 MiB ([`MAX_BODY_BYTES`]): 500 events of up to 4 KiB |
//!
//! Its three body formats:
//!
//! | format | `Content-Type` | body |
//! |---|---|---|
//! | JSON | `application/json` | `{"events":[…]}`, up to 500 events; a bare event object is accepted too |
//! | JSON Lines | `application/jsonl` (and the other JSON Lines types) | one compact event per line |
//! | form data | `application/x-www-form-urlencoded` | one event, `event=delivery&email=…` |
//!
//! [`MailtrapBatch`] reads each body in the one format its signed bytes allow, never
//! by the unsigned `Content-Type` alone: a body that is JSON is never read as form
//! data, one JSON value is JSON, several are JSON Lines, and only a body that is not
//! JSON at all is form data. A `Content-Type` that disagrees with the bytes is
//! refused (415 `media_type_mismatch`, or the JSON error for form data declared as
//! JSON), never followed; a missing one lets the bytes decide; any other media type is
//! refused with 415. A receiver pins its webhook's one format with
//! [`VerifierBuilder::media_type`](crate::VerifierBuilder::media_type). A body with no
//! event is [`ParseError::EmptyBatch`](crate::ParseError::EmptyBatch).
//!
//! ```
//! use webhook_core::{MediaType, ParseContext};
//! use webhook_core::events::parse_unverified_borrowed;
//! use webhook_core::senders::mailtrap::{EventKind, MailtrapBatch, MailtrapEvent};
//!
//! let body = br#"{"events":[{"event":"bounce","timestamp":1728669700,"sending_stream":"transactional","message_id":"1df37d17-0286-4d8b-8edf-bc4ec5be86e6","email":"receiver@example.com","event_id":"bede7236-2284-43d6-a953-1fdcafd0fdbc","response":"[CS01] Message rejected due to local policy","response_code":555,"bounce_category":"spam","sending_domain_name":"examplesender.com"}]}"#;
//! let events: MailtrapBatch<'_> =
//!     parse_unverified_borrowed(body, ParseContext::new(MediaType::Json))?;
//! for event in &events {
//!     if let MailtrapEvent::Sending(sent) = event {
//!         assert_eq!(sent.kind, EventKind::Bounce);
//!         assert_eq!(sent.response_code, Some(555));
//!         // `event_id` is the deduplication key.
//!         assert_eq!(sent.event_id, "bede7236-2284-43d6-a953-1fdcafd0fdbc");
//!     }
//! }
//! // Parsed bodies serialize back byte for byte.
//! assert_eq!(serde_json::to_vec(&events).unwrap(), body);
//! # Ok::<(), webhook_core::ParseError>(())
//! ```
//!
//! Choices where Mailtrap's documentation is silent:
//! - `event`, `timestamp`, `event_id`, `message_id` and `email` are required on
//!   sending events (documented as always present); `sending_stream` and
//!   `sending_domain_name` are optional (absent from older payloads).
//! - An `event` string this version does not know is kept: see [`MailtrapEvent`].
//! - In form data, `custom_variables` (whose form spelling is not documented) and
//!   unknown keys are kept as strings in [`SendingEvent::unknown`]; audit-log events
//!   are refused there (Mailtrap sends them as JSON only).
//! - Serializing writes JSON: the `{"events":[…]}` wrapper, or the bare event for a
//!   body that was one; [`MailtrapBatch::to_json_lines`] writes JSON Lines.

//!

mod batch;
mod dedup;
mod dispatch;
mod event;
mod form;
mod format;
mod json_lines;
mod signature;
mod stored;

use std::time::Duration;

pub use batch::{BodyFormat, MailtrapBatch};
pub use event::{
    AUDIT_LOG_PREFIX, AuditEvent, AuditId, AuditParty, EventKind, MailtrapEvent, SendingEvent,
    SendingStream, UnknownEvent,
};
pub use signature::{LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, sign};

use crate::{
    MediaType,
    senders::rules::{KeyOrder, Replay, SenderRules},
};

/// The default body limit for Mailtrap: 2 MiB.
///
/// Mailtrap batches **up to 500 events** per request (collected every 30 s). An event
/// with the documented fields is about 350 bytes; `custom_variables`, a click's URL and
/// user agent, or a bounce's SMTP response make one larger. Allowing 4 KiB for the
/// largest event:
///
/// 500 events × 4 KiB = **2 MiB** (the documented 150–500 KB for a full batch, four
/// times over).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Mailtrap's rules (see the module docs).
pub(crate) static MAILTRAP: SenderRules = SenderRules {
    id: "mailtrap",
    aliases: &[],
    name: "Mailtrap",
    summary: "Mailtrap: `Mailtrap-Signature`, hex HMAC-SHA256.",
    signature: Some(&signature::RULES),
    // The body carries no timestamp the verifier can rely on.
    replay: Replay::Unsupported,
    max_body_bytes: MAX_BODY_BYTES,
    media_types: &[
        MediaType::Json,
        MediaType::JsonLines,
        MediaType::FormUrlEncoded,
    ],
    // Mailtrap's 30 s request timeout.
    lease: Duration::from_secs(30),
    ttl: Duration::from_secs(25 * 3600),
    // 10 attempts over 24 h (older docs); 40 × 5 min ≈ 3 h 20 (current docs).
    retry_horizon: Duration::from_secs(24 * 3600),
    event_keys: dedup::event_keys,
    retain_events: Some(dedup::retain_events),
    split: stored::split,
    key_order: Some(KeyOrder {
        batch: Some("events"),
        // The keys every documented example writes, in their order.
        keys: &["event", "timestamp", "message_id", "email", "event_id"],
    }),
};
