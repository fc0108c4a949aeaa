//! A Stalwart batch splits into its events, routed on `type`.

use super::{WebhookEvent, WebhookEvents};
use crate::{
    dispatch::Event,
    events::{ParseContext, ParseError, Payload},
};

impl Event for WebhookEvent<'static> {
    fn event_type(&self) -> &str {
        WebhookEvent::event_type(self).as_str()
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(WebhookEvents::parse(body, context)?.events)
    }
}
