//! A Stalwart batch split into its events for storage, and one stored event read back.
//!
//! Each event's bytes are its element of `{"events":[…]}`, exactly as sent; its key is
//! the one [`dedup`](super::dedup) gives (the content fingerprint by default).

use super::{WebhookEvent, WebhookEvents, dedup};
use crate::{
    MediaType, Scheme,
    events::{BorrowedPayload, ParseContext, ParseError, expect_json, json},
    idempotency::Namespace,
    senders::stalwart::StalwartKey,
    stored::{SplitEvent, StoredPayload, events_array, paired},
};

pub(crate) fn split(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    key: StalwartKey,
) -> Result<Vec<SplitEvent>, ParseError> {
    let batch = WebhookEvents::parse_borrowed(body, context)?;
    paired(batch.iter(), events_array(body)?)?
        .map(|(i, event, range)| {
            let key = dedup::event_key(i, event, namespace, key)?;
            Ok(SplitEvent::new(
                range,
                MediaType::Json,
                Some(event.event_type().as_str()),
                key,
            ))
        })
        .collect()
}

/// One event of a batch, as its element of `events` was sent.
impl StoredPayload for WebhookEvent<'static> {
    const SCHEME: Scheme = Scheme::Stalwart;

    fn from_stored(bytes: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        expect_json(context.media_type)?;
        json::parse::<WebhookEvent<'_>>(bytes).map(WebhookEvent::into_owned)
    }
}
