//! How a Stalwart batch splits into events, and what each event's deduplication key is.
//!
//! Stalwart (v0.16.11+) re-sends a failed batch with a **new** `id` for every event, so
//! events are keyed by their content [`Fingerprint`](super::Fingerprint) (type,
//! `createdAt`, `data` as sent) unless [`StalwartKey::Id`] is chosen. A batch reduced to
//! the events still to process is written back event by event as it arrived.

use super::{WebhookEvent, WebhookEvents};
use crate::{
    events::{BorrowedPayload, ParseContext, ParseError},
    idempotency::{DedupKey, Namespace, id_key, unwritable},
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

pub(crate) fn event_keys(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    key: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let batch = WebhookEvents::parse_borrowed(body, context)?;
    batch
        .iter()
        .enumerate()
        .map(|(i, event)| event_key(i, event, namespace, key))
        .collect()
}

/// The key of the `i`-th event of a batch.
pub(super) fn event_key(
    i: usize,
    event: &WebhookEvent<'_>,
    namespace: &Namespace,
    key: StalwartKey,
) -> Result<DedupKey, ParseError> {
    match key {
        StalwartKey::Fingerprint => Ok(namespace.fingerprint(event.fingerprint().as_bytes())),
        StalwartKey::Id => id_key(namespace, &format!("events[{i}].id"), event.id()),
    }
}

pub(crate) fn retain_events(
    body: &[u8],
    context: ParseContext<'_>,
    keep: &[bool],
) -> Result<Vec<u8>, ParseError> {
    let mut batch = WebhookEvents::parse_borrowed(body, context)?;
    let mut flags = keep.iter();
    batch
        .events
        .retain(|_| flags.next().copied().unwrap_or(false));
    serde_json::to_vec(&batch).map_err(unwritable)
}
