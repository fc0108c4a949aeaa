//! The events of a verified body, by their deduplication keys, and the body reduced to
//! some of them.
//!
//! One key per event, in order; each sender's folder says what the key is:
//!
//! | sender | key | why |
//! |---|---|---|
//! | Stalwart | the content [`Fingerprint`](crate::senders::stalwart::Fingerprint) (default) or the `id` | a retried event gets a new `id` (v0.16.11+) |
//! | email-API | `id` | stable across retries |
//! | Mailtrap | `event_id`; an audit-log event (no id) by a hash of its content | "use event_id to prevent duplicate processing" |
//! | WildDuck | `id` (`<ObjectId>:<n>`) | stable across retries of one delivery |
//! | Standard Webhooks | the `webhook-id` header | the same on every retry |
//!
//! `retain_events` rewrites a batch (Stalwart, Mailtrap JSON or JSON Lines) to the
//! events still to process, for [`Deduplicator::run_verified`](super::Deduplicator::run_verified).
//! Each kept event is parsed from the verified bytes and written back by the sender's
//! model, which keeps its fields, their order, unknown fields and raw values (for the
//! senders' compact bodies the result is byte-identical to the events as sent; the
//! idempotency tests check it), so the handler sees the sender's events, minus those
//! already processed.

use super::{DedupKey, KeyError, Namespace};
use crate::{ParseError, Verified, senders::stalwart::StalwartKey};

/// The deduplication key of each event of a verified body, in order.
///
/// ```
/// use webhook_core::{Scheme, Secret, Verifier, senders::{email_api, stalwart::StalwartKey}};
/// use webhook_core::idempotency::{Namespace, event_keys};
///
/// let body = br#"{"id":"evt_1","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"a@x","to":"b@y"}}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-webhook-signature", email_api::sign(&Secret::new("k"), body).parse()?);
/// let verified = Verifier::builder(Scheme::EmailApi).secret(Secret::new("k")).build()?.verify(&headers, &body[..])?;
///
/// let keys = event_keys(&verified, &Namespace::of(Scheme::EmailApi), StalwartKey::default())?;
/// assert_eq!(keys.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn event_keys<B: AsRef<[u8]>>(
    verified: &Verified<B>,
    namespace: &Namespace,
    stalwart: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let verification = verified.verification();
    (verification.scheme().rules().event_keys)(
        verified.body().as_ref(),
        verification.parse_context(),
        namespace,
        stalwart,
    )
}

/// The body reduced to the events flagged `true` in `keep` (one flag per event, in the
/// order of [`event_keys`]), still [`Verified`] (see [`Verified::reduced_to`] for why
/// that is sound). `Ok(None)` when every event is kept (use the body as it is).
pub(crate) fn retain_events<B: AsRef<[u8]>>(
    verified: &Verified<B>,
    keep: &[bool],
) -> Result<Option<Verified<Vec<u8>>>, ParseError> {
    if keep.iter().all(|&k| k) {
        return Ok(None);
    }
    let verification = verified.verification();
    // One event per request: a body with nothing to keep is never handed on.
    let Some(retain) = verification.scheme().rules().retain_events else {
        return Ok(None);
    };
    let reduced = retain(verified.body().as_ref(), verification.parse_context(), keep)?;
    Ok(Some(verified.reduced_to(reduced)))
}

/// The key of an event id found at `path` in the body, or why it cannot be one.
pub(crate) fn id_key(namespace: &Namespace, path: &str, id: &str) -> Result<DedupKey, ParseError> {
    namespace
        .event_id(id)
        .map_err(|err: KeyError| ParseError::UnexpectedShape {
            path: path.to_owned(),
            line: 0,
            column: 0,
            detail: format!("the event id cannot serve as a deduplication key: {err}"),
        })
}

/// A reduced batch that could not be written (never happens for a parsed batch).
pub(crate) fn unwritable(err: serde_json::Error) -> ParseError {
    ParseError::UnexpectedShape {
        path: ".".into(),
        line: 0,
        column: 0,
        detail: format!("the reduced batch could not be written: {err}"),
    }
}
