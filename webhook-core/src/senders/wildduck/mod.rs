//! WildDuck: everything hookwise knows about its webhooks.
//!
//! | | |
//! |---|---|
//! | signature | none: authenticate with Basic credentials in the subscription URL or a URL token ([`Credentials`](crate::Credentials), [`UrlToken`](crate::UrlToken)) |
//! | signed timestamp | none: a replay window cannot be configured |
//! | body | one compact JSON event per request, `{"id","time","ev",…event keys}` ([`WildDuckPayload`], owned: [`WildDuckEvent`](crate::WildDuckEvent)) |
//! | dedup key | `id` (`<ObjectId>:<n>`), stable across retries of one delivery |
//! | retries | 5 attempts, waits of 2, 4, 8 and 16 s (about 30 s in all); no request timeout |
//! | idempotency | lease 10 s (a crashed holder must not outlast the five attempts), ttl 1 h |
//! | body limit | 64 KiB ([`MAX_BODY_BYTES`]): one event per request |
//!
//! WildDuck does not sign its webhooks; a receiver authenticates them by what the
//! subscription URL carries (Basic credentials or a token), which the verifier checks
//! before any of this runs.
//!
//! ```
//! use webhook_core::{MediaType, ParseContext, parse_unverified};
//! use webhook_core::senders::wildduck::{WildDuckEventType, WildDuckPayload};
//!
//! let body = br#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"mailbox.created","user":"6561f0c2a1b2c3d4e5f60719","mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive/2024"}"#;
//! let event: WildDuckPayload<'static> = parse_unverified(body, ParseContext::new(MediaType::Json))?;
//! assert_eq!(event.event_type, WildDuckEventType::MailboxCreated);
//! assert_eq!(event.path.as_deref(), Some("Archive/2024"));
//! assert_eq!(event.time.timestamp(), 1_700_000_000);
//! // `id` is the deduplication key: `<event ObjectId>:<subscription n>`.
//! assert_eq!(event.source_event_id(), Some("6561f0c2a1b2c3d4e5f60718"));
//! assert_eq!(event.delivery_index(), Some(1));
//! // Parsed events serialize back byte for byte.
//! assert_eq!(serde_json::to_vec(&event).unwrap(), body);
//! # Ok::<(), webhook_core::ParseError>(())
//! ```
//!
//! The model is one struct with every key any event type carries, as typed optional
//! fields (each documents which events carry it), rather than one struct per type:
//! the keys are shared across types (`user`, `mailbox`, …), and a handler matches on
//! [`WildDuckPayload::event_type`] and reads the fields it needs. Keys this version does
//! not know are kept in [`WildDuckPayload::unknown`].
//!
//! Choices where WildDuck's documentation is silent:
//! - `id`, `time` and `ev` are required; `user` is optional (server-wide events
//!   lack it).
//! - `id` is kept as sent and not validated; [`WildDuckPayload::source_event_id`] and
//!   [`WildDuckPayload::delivery_index`] split it.
//! - `message` is an IMAP UID (`u32`); `date` is written back the way JavaScript's
//!   `toISOString` writes it (`2024-01-15T10:30:05.000Z`).
//! - `credential` is an object on `mfa.webauthn.registered` and an id string on
//!   `mfa.webauthn.removed` ([`Credential`]).
//! - Old events are not refused: WildDuck queues events in Redis and may deliver them
//!   very late.
//!

mod dispatch;
mod event;
mod stored;

use std::time::Duration;

pub use event::{
    Credential, ForwardType, MailAddress, WebAuthnCredential, WildDuckEventType, WildDuckPayload,
};

use crate::{
    MediaType,
    events::{BorrowedPayload, ParseContext, ParseError},
    idempotency::{DedupKey, Namespace, id_key},
    senders::{
        rules::{KeyOrder, Replay, SenderRules},
        stalwart::StalwartKey,
    },
};

/// The default body limit for WildDuck: 64 KiB.
///
/// One event per request. The largest is `marked.spam`/`marked.ham`: sender, `to`,
/// `cc` and `bcc` lists, `messageId` and subject, a few KB at most; the others are a
/// few ids (100–300 bytes). 64 KiB leaves room for long recipient lists and keeps what
/// an unauthenticated request can make the receiver read small (WildDuck does not
/// sign: credentials or a URL token are checked first).
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// WildDuck's rules (see the module docs).
pub(crate) static WILDDUCK: SenderRules = SenderRules {
    id: "wildduck",
    aliases: &[],
    name: "WildDuck",
    summary: "WildDuck: unsigned; Basic credentials or a URL token.",
    signature: None,
    // The body carries no timestamp the verifier can rely on.
    replay: Replay::Unsupported,
    max_body_bytes: MAX_BODY_BYTES,
    media_types: &[MediaType::Json],
    // All five attempts happen within about 30 s: a crashed holder must not block them.
    lease: Duration::from_secs(10),
    ttl: Duration::from_secs(3600),
    // Five attempts within about 30 s; failed jobs may be re-queued by hand.
    retry_horizon: Duration::from_secs(30),
    event_keys,
    retain_events: None,
    split: stored::split,
    key_order: Some(KeyOrder {
        batch: None,
        keys: &["id", "time", "ev"],
    }),
};

/// One event per request, keyed by its `id`.
fn event_keys(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    _stalwart: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let event = WildDuckPayload::parse_borrowed(body, context)?;
    Ok(vec![id_key(namespace, "id", &event.id)?])
}
