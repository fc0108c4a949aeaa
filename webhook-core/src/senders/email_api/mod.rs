//! Email-API style senders: everything hookwise knows about their webhooks.
//!
//! | | |
//! |---|---|
//! | signature | `X-Webhook-Signature` (or GitHub's `X-Hub-Signature-256`): `sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret's text ([`sign`]) |
//! | signed timestamp | the body's `created_at` ([`MIN_REPLAY_WINDOW`]) |
//! | body | one event per request, `{"id","type","created_at","data"}` ([`EmailApiPayload`], owned: [`EmailApiEvent`](crate::EmailApiEvent)) |
//! | dedup key | `id`, stable across retries |
//! | retries | 1, 5 and 30 minutes after the first attempt fails (about 36 min in all) |
//! | idempotency | lease 30 s, ttl 1 h (covers the 36 min retry horizon) |
//! | body limit | 64 KiB ([`MAX_BODY_BYTES`]): one event per request |
//!
//! ```
//! use webhook_core::{MediaType, ParseContext, parse_unverified};
//! use webhook_core::senders::email_api::{BounceType, EmailApiEventType, EmailApiPayload};
//!
//! let body = br#"{"id":"evt_xyz789","type":"bounced","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_abc123","from":"sender@yourdomain.com","to":"invalid@example.com","bounce_type":"hard","bounce_code":"550","bounce_message":"User unknown"}}"#;
//! let event: EmailApiPayload<'static> = parse_unverified(body, ParseContext::new(MediaType::Json))?;
//! match event.event_type {
//!     EmailApiEventType::Bounced if event.data.bounce_type == Some(BounceType::Hard) => {
//!         let code = event.data.bounce_code.as_ref().and_then(|code| code.smtp_code());
//!         assert_eq!(code, Some(550));
//!         assert_eq!(event.data.to.iter().collect::<Vec<_>>(), ["invalid@example.com"]);
//!     }
//!     other => panic!("unexpected {other}"),
//! }
//! # Ok::<(), webhook_core::ParseError>(())
//! ```
//!
//! Choices where the sender's documentation is silent (all documented on the types):
//! - `id` is the deduplication key: stable across the sender's retries.
//! - `data.email_id`, `data.from` and `data.to` are required: every documented type
//!   carries them. An event of a type this version does not know is kept
//!   ([`EmailApiEventType::Unknown`]) as long as its `data` has that shape.
//! - `data.to` is a string; an array of strings is accepted too ([`Recipients`]).
//! - `data.bounce_code` is a string (`"550"`); a number is accepted too
//!   ([`BounceCode`]).
//! - `opened` and `clicked` have no documented extra fields; whatever they carry is in
//!   [`EmailData::unknown`].
//! - Serializing writes the keys in the order received; times are written in RFC 3339
//!   with `Z` (`2024-01-15T10:30:05Z`, fractional digits only when present), which is
//!   how the sender writes them.
//!

mod dispatch;
mod event;
mod replay;
mod signature;
mod stored;

use std::time::Duration;

pub use event::{
    BounceCode, BounceType, EmailApiEventType, EmailApiPayload, EmailData, Recipients,
};
pub use replay::MIN_REPLAY_WINDOW;
pub use signature::{GITHUB_SIGNATURE_HEADER, PREFIX, SIGNATURE_HEADER, sign};

use crate::{
    MediaType,
    events::{BorrowedPayload, ParseContext, ParseError},
    idempotency::{DedupKey, Namespace, id_key},
    senders::{
        rules::{KeyOrder, Replay, SenderRules},
        stalwart::StalwartKey,
    },
};

/// The default body limit for email-API senders: 64 KiB.
///
/// One event per request: an id, a type, a time and the email's ids, addresses,
/// subject and bounce text, about 300–600 bytes. 64 KiB is a hundred times the
/// largest documented event, room for long subjects and many recipients, and keeps
/// what one unauthenticated request can make the receiver hash small.
pub const MAX_BODY_BYTES: usize = 64 << 10;

/// The email-API senders' rules (see the module docs).
pub(crate) static EMAIL_API: SenderRules = SenderRules {
    id: "email-api",
    aliases: &["emailapi", "email_api", "github"],
    name: "email-API",
    summary: "Email-API senders: `X-Webhook-Signature: sha256=<hex>`.",
    signature: Some(&signature::RULES),
    replay: Replay::Body(replay::check),
    max_body_bytes: MAX_BODY_BYTES,
    media_types: &[MediaType::Json],
    lease: Duration::from_secs(30),
    ttl: Duration::from_secs(3600),
    // Waits of 1, 5 and 30 min after failed attempts.
    retry_horizon: Duration::from_secs(36 * 60),
    event_keys,
    retain_events: None,
    split: stored::split,
    key_order: Some(KeyOrder {
        batch: None,
        keys: &["id", "type", "created_at", "data"],
    }),
};

/// One event per request, keyed by its `id`.
fn event_keys(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    _stalwart: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let event = EmailApiPayload::parse_borrowed(body, context)?;
    Ok(vec![id_key(namespace, "id", &event.id)?])
}
