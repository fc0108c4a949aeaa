//! How a Mailtrap body splits into events, and what each event's deduplication key is.
//!
//! Mailtrap's docs: "use event_id to prevent duplicate processing". Audit-log events
//! carry no `event_id`; they are keyed by a hash of their content. A batch reduced to
//! the events still to process keeps its format: JSON Lines stays JSON Lines, a JSON
//! batch stays `{"events":[…]}`.

use sha2::{Digest as _, Sha256};

use super::{BodyFormat, MailtrapBatch, MailtrapEvent};
use crate::{
    events::{BorrowedPayload, ParseContext, ParseError},
    idempotency::{DedupKey, Namespace, id_key, unwritable},
    senders::stalwart::StalwartKey,
};

pub(crate) fn event_keys(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    _stalwart: StalwartKey,
) -> Result<Vec<DedupKey>, ParseError> {
    let batch = MailtrapBatch::parse_borrowed(body, context)?;
    batch
        .iter()
        .enumerate()
        .map(|(i, event)| event_key(i, event, namespace))
        .collect()
}

/// The key of the `i`-th event of a batch.
pub(super) fn event_key(
    i: usize,
    event: &MailtrapEvent<'_>,
    namespace: &Namespace,
) -> Result<DedupKey, ParseError> {
    match event.event_id() {
        Some(event_id) => id_key(namespace, &format!("events[{i}].event_id"), event_id),
        None => Ok(content_key(namespace, event)),
    }
}

/// A key for an event without an id of its own: a hash of its serialized content.
fn content_key(namespace: &Namespace, event: &MailtrapEvent<'_>) -> DedupKey {
    let bytes = serde_json::to_vec(event).unwrap_or_default();
    namespace.fingerprint(&Sha256::digest(&bytes).into())
}

pub(crate) fn retain_events(
    body: &[u8],
    context: ParseContext<'_>,
    keep: &[bool],
) -> Result<Vec<u8>, ParseError> {
    let batch = MailtrapBatch::parse_borrowed(body, context)?;
    let format = batch.format;
    let kept: Vec<_> = batch
        .into_iter()
        .zip(keep)
        .filter_map(|(event, &k)| k.then_some(event))
        .collect();
    let reduced = MailtrapBatch::new(kept);
    match format {
        BodyFormat::JsonLines => reduced.to_json_lines().map(String::into_bytes),
        _ => serde_json::to_vec(&reduced),
    }
    .map_err(unwritable)
}
