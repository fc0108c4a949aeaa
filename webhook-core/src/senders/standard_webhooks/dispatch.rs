//! A Standard Webhooks message is one event, routed on its body's `type`.

use super::{StandardEvent, StandardWebhook};
use crate::{
    dispatch::Event,
    events::{ParseContext, ParseError, Payload},
};

impl Event for StandardWebhook<StandardEvent<'static>> {
    fn event_type(&self) -> &str {
        &self.payload.event_type
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(vec![Self::parse(body, context)?])
    }
}

/// An untyped body routes on its top-level `type` string; a body without one has the
/// empty type (only a `""` route, a `*` or `otherwise` takes it).
impl Event for StandardWebhook<serde_json::Value> {
    fn event_type(&self) -> &str {
        self.payload
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(vec![Self::parse(body, context)?])
    }
}
