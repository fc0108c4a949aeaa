//! A Mailtrap body (JSON, JSON Lines or form data) splits into its events, routed on
//! `event`.

use super::{MailtrapBatch, MailtrapEvent};
use crate::{
    dispatch::Event,
    events::{ParseContext, ParseError, Payload},
};

impl Event for MailtrapEvent<'static> {
    fn event_type(&self) -> &str {
        self.name()
    }

    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError> {
        Ok(MailtrapBatch::parse(body, context)?.events)
    }
}
