//! A WildDuck body stored as its one event, and read back.

use super::WildDuckPayload;
use crate::{
    MediaType, Scheme,
    events::{BorrowedPayload, ParseContext, ParseError, Payload},
    idempotency::Namespace,
    senders::stalwart::StalwartKey,
    stored::{SplitEvent, StoredPayload},
};

pub(crate) fn split(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    stalwart: StalwartKey,
) -> Result<Vec<SplitEvent>, ParseError> {
    let event = WildDuckPayload::parse_borrowed(body, context)?;
    let keys = super::event_keys(body, context, namespace, stalwart)?;
    Ok(keys
        .into_iter()
        .map(|key| {
            SplitEvent::new(
                0..body.len(),
                MediaType::Json,
                Some(event.event_type.as_str()),
                key,
            )
        })
        .collect())
}

/// The whole body.
impl StoredPayload for WildDuckPayload<'static> {
    const SCHEME: Scheme = Scheme::WildDuck;

    fn from_stored(bytes: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        Self::parse(bytes, context)
    }
}
