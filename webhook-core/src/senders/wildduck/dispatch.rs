//! A WildDuck body is one event, routed on `ev` (hierarchical: `user.delete.started`).

use super::WildDuckPayload;
use crate::{
    dispatch::Event,
    events::{ParseContext, ParseError, Payload},
};

impl Event for WildDuckPayload<'static> {
    fn event_type(&self) -> &str {
        self.event_type.as_str()
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(vec![Self::parse(body, context)?])
    }
}
