//! The events of a verified body, by their deduplication keys, and the body reduced to
//! some of them.
//!
//! One key per event, in order:
//!
//! | sender | key | why |
//! |---|---|---|
//! | Stalwart | the content [`Fingerprint`](crate::events::stalwart::Fingerprint) (default) or the `id` | a retried event gets a new `id` (v0.16.11+) |
//! | email-API | `id` | stable across retries |
//! | Mailtrap | `event_id`; an audit-log event (no id) by a hash of its content | "use event_id to prevent duplicate processing" |
//! | WildDuck | `id` (`<ObjectId>:<n>`) | stable across retries of one delivery |
//! | Standard Webhooks | the `webhook-id` header | the same on every retry |
//!
//! [`retain_events`] rewrites a batch (Stalwart, Mailtrap JSON or JSON Lines) to the
//! events still to process. Each kept event is written back exactly as it arrived (the
//! models' serialization is byte-identical for compact bodies), so the handler sees the
//! sender's events, minus those already processed.

use sha2::{Digest as _, Sha256};

use super::{DedupKey, KeyError, Namespace};
use crate::{
    ParseError, Scheme, Verified,
    events::{
        BorrowedPayload, ParseContext,
        email_api::EmailApiEvent,
        mailtrap::{BodyFormat, MailtrapEvent, MailtrapEvents},
        stalwart::WebhookEvents,
        wildduck::WildDuckEvent,
    },
};

/// How Stalwart events are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StalwartKey {
    /// The content fingerprint (type, `createdAt`, `data` as sent). Right for every
    /// Stalwart version: retries are recognised whatever their id.
    #[default]
    Fingerprint,
    /// The event `id`. Only for Stalwart before v0.16.11, whose ids are stable across
    /// retries, and only if two same-type events never share a second: those versions
    /// give them one id.
    Id,
}

/// The deduplication key of each event of a verified body, in order.
///
/// ```
/// use webhook_core::{Scheme, Secret, Verifier, scheme::email_api};
/// use webhook_core::idempotency::{Namespace, StalwartKey, event_keys};
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
    let body = verified.body().as_ref();
    let context = verified.verification().parse_context();
    let id = |path: &str, id: &str| {
        namespace
            .event_id(id)
            .map_err(|err| unusable_id(path, &err))
    };
    match verified.verification().scheme() {
        Scheme::Stalwart => {
            let batch = WebhookEvents::parse_borrowed(body, context)?;
            batch
                .iter()
                .enumerate()
                .map(|(i, event)| match stalwart {
                    StalwartKey::Fingerprint => {
                        Ok(namespace.fingerprint(event.fingerprint().as_bytes()))
                    }
                    StalwartKey::Id => id(&format!("events[{i}].id"), event.id()),
                })
                .collect()
        }
        Scheme::EmailApi => {
            let event = EmailApiEvent::parse_borrowed(body, context)?;
            Ok(vec![id("id", &event.id)?])
        }
        Scheme::Mailtrap => {
            let batch = MailtrapEvents::parse_borrowed(body, context)?;
            batch
                .iter()
                .enumerate()
                .map(|(i, event)| match event.event_id() {
                    Some(event_id) => id(&format!("events[{i}].event_id"), event_id),
                    None => Ok(content_key(namespace, event)),
                })
                .collect()
        }
        Scheme::WildDuck => {
            let event = WildDuckEvent::parse_borrowed(body, context)?;
            Ok(vec![id("id", &event.id)?])
        }
        _ => {
            let message_id = context.message_id.ok_or(ParseError::MissingContext {
                header: crate::scheme::standard::ID_HEADER,
            })?;
            Ok(vec![id("webhook-id", message_id)?])
        }
    }
}

/// A key for an event without an id of its own: a hash of its serialized content.
fn content_key(namespace: &Namespace, event: &MailtrapEvent<'_>) -> DedupKey {
    let bytes = serde_json::to_vec(event).unwrap_or_default();
    namespace.fingerprint(&Sha256::digest(&bytes).into())
}

fn unusable_id(path: &str, err: &KeyError) -> ParseError {
    ParseError::UnexpectedShape {
        path: path.to_owned(),
        line: 0,
        column: 0,
        detail: format!("the event id cannot serve as a deduplication key: {err}"),
    }
}

/// The body reduced to the events flagged `true` in `keep` (one flag per event, in the
/// order of [`event_keys`]), still [`Verified`]: it holds only bytes the sender signed.
/// `Ok(None)` when every event is kept (use the body as it is).
pub fn retain_events<B: AsRef<[u8]>>(
    verified: &Verified<B>,
    keep: &[bool],
) -> Result<Option<Verified<Vec<u8>>>, ParseError> {
    if keep.iter().all(|&k| k) {
        return Ok(None);
    }
    let body = verified.body().as_ref();
    let context: ParseContext<'_> = verified.verification().parse_context();
    let reduced = match verified.verification().scheme() {
        Scheme::Stalwart => {
            let mut batch = WebhookEvents::parse_borrowed(body, context)?;
            let mut flags = keep.iter();
            batch
                .events
                .retain(|_| flags.next().copied().unwrap_or(false));
            serde_json::to_vec(&batch)
        }
        Scheme::Mailtrap => {
            let batch = MailtrapEvents::parse_borrowed(body, context)?;
            let format = batch.format;
            let kept: Vec<_> = batch
                .into_iter()
                .zip(keep)
                .filter_map(|(event, &k)| k.then_some(event))
                .collect();
            let reduced = MailtrapEvents::new(kept);
            match format {
                BodyFormat::JsonLines => reduced.to_json_lines().map(String::into_bytes),
                _ => serde_json::to_vec(&reduced),
            }
        }
        // One event per request: a body with nothing to keep is never handed on.
        _ => return Ok(None),
    };
    let reduced = reduced.map_err(|err| ParseError::UnexpectedShape {
        path: ".".into(),
        line: 0,
        column: 0,
        detail: format!("the reduced batch could not be written: {err}"),
    })?;
    Ok(Some(Verified::new(
        reduced,
        verified.verification().clone(),
    )))
}
