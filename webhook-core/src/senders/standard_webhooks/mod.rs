//! Standard Webhooks (Svix, Resend and others): everything hookwise knows about their
//! webhooks.
//!
//! | | |
//! |---|---|
//! | signature | `webhook-id`, `webhook-timestamp`, `webhook-signature` (or Svix's `svix-*`): a space-separated list of `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, keyed with the base64 after `whsec_` ([`sign`], [`Secret::standard_webhooks`](crate::Secret::standard_webhooks)) |
//! | signed timestamp | the `webhook-timestamp` header, always checked ([`DEFAULT_TOLERANCE`] unless a replay window is set) |
//! | body | up to each sender ([`StandardWebhook<T>`]; [`StandardEvent`] for the common shape) |
//! | dedup key | the `webhook-id` header, the same on every retry |
//! | retries | Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.5 h), plus manual resends |
//! | idempotency | lease 30 s, ttl 72 h (covers the 27.5 h retry horizon and resends) |
//! | body limit | 1 MiB ([`MAX_BODY_BYTES`]): one message per request, of any sender's making |
//!
//! A Standard Webhooks message carries its identity in the *headers*, not the body:
//! `webhook-id` (the same on every retry: the idempotency key) and
//! `webhook-timestamp` (signed, so it can be trusted). [`StandardWebhook<T>`] pairs
//! those verified values with the body parsed as `T`, so a handler never has to read
//! headers again or trust an unsigned field of the body for deduplication.
//!
//! The body's shape is up to each sender. `T` defaults to [`serde_json::Value`]; use
//! your own `Deserialize` type, or [`StandardEvent`] for the shape most senders use:
//!
//! ```
//! use webhook_core::{MediaType, ParseContext, parse_unverified};
//! use webhook_core::senders::standard_webhooks::{StandardEvent, StandardWebhook};
//!
//! let body = br#"{"type":"email.delivered","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"56761188"}}"#;
//! let context = ParseContext {
//!     media_type: MediaType::Json,
//!     message_id: Some("msg_2Lh9KRb0pzN4LePd3XiA4xAkM8J"),
//!     signed_at: Some(1_708_645_272),
//! };
//! let webhook: StandardWebhook<StandardEvent<'static>> = parse_unverified(body, context)?;
//! assert_eq!(webhook.message_id, "msg_2Lh9KRb0pzN4LePd3XiA4xAkM8J");
//! assert_eq!(webhook.timestamp.timestamp(), 1_708_645_272);
//! assert_eq!(webhook.payload.event_type, "email.delivered");
//! assert_eq!(webhook.payload.data.get(), r#"{"email_id":"56761188"}"#);
//! # Ok::<(), webhook_core::ParseError>(())
//! ```
//!
//! In a live receiver the context comes from
//! [`Verified::parse`](crate::Verified::parse), which only exists after the signature,
//! and with it the id and timestamp, passed verification.
//!

mod dispatch;
mod event;
mod signature;
mod stored;

use std::time::Duration;

pub use event::{StandardEvent, StandardWebhook};
pub use signature::{
    DEFAULT_TOLERANCE, ID_HEADER, SIGNATURE_HEADER, SVIX_ID_HEADER, SVIX_SIGNATURE_HEADER,
    SVIX_TIMESTAMP_HEADER, TIMESTAMP_HEADER, sign,
};

use crate::{
    MediaType,
    events::{ParseContext, ParseError},
    idempotency::{DedupKey, Namespace, id_key},
    senders::{
        rules::{Replay, SenderRules},
        stalwart::StalwartKey,
    },
};

/// The default body limit for Standard Webhooks: 1 MiB.
///
/// One message per request, whose body each sender defines (Svix relays whatever its
/// customers publish, Resend sends one email event of a few KB). No cap is part of the
/// specification; 1 MiB, as before, holds any event-sized JSON document with a wide
/// margin.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Standard Webhooks' rules (see the module docs).
pub(crate) static STANDARD_WEBHOOKS: SenderRules = SenderRules {
    id: "standard-webhooks",
    aliases: &["standard", "standardwebhooks", "svix", "resend"],
    name: "Standard Webhooks",
    summary: "Standard Webhooks (Svix, Resend): `webhook-id/-timestamp/-signature`.",
    signature: Some(&signature::RULES),
    // It sets the `webhook-timestamp` tolerance.
    replay: Replay::Header,
    max_body_bytes: MAX_BODY_BYTES,
    media_types: &[MediaType::Json],
    lease: Duration::from_secs(30),
    ttl: Duration::from_secs(72 * 3600),
    // Svix's schedule: 5 s … 10 h, about 27.5 h in all.
    retry_horizon: Duration::from_secs(27 * 3600 + 35 * 60),
    event_keys,
    retain_events: None,
    split: stored::split,
    key_order: None,
};

/// One message per request, keyed by its signed `webhook-id` header.
fn event_keys(
    _body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    _stalwart: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let message_id = context
        .message_id
        .ok_or(ParseError::MissingContext { header: ID_HEADER })?;
    Ok(vec![id_key(namespace, "webhook-id", message_id)?])
}
