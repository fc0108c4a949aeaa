//! An email-API body is one event, routed on `type`.

use super::EmailApiPayload;
use crate::{
    dispatch::Event,
    events::{ParseContext, ParseError, Payload},
};

impl Event for EmailApiPayload<'static> {
    fn event_type(&self) -> &str {
        self.event_type.as_str()
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(vec![Self::parse(body, context)?])
    }
}
