//! Raw messages: caller-provided bytes, one per request, signed per scheme.
//!
//! A [`Message`] is a finished body (JSON, JSON Lines, form data, anything) plus, for
//! Standard Webhooks, its message id. [`MessageFormat`] sends each one alone and
//! byte-identical on every attempt. This is what a sender with one event per request
//! (email-API, WildDuck, Svix) does. For email-API, Mailtrap and WildDuck events, the
//! typed formats ([`EmailApiFormat`](crate::EmailApiFormat),
//! [`MailtrapFormat`](crate::MailtrapFormat), [`WildDuckFormat`](crate::WildDuckFormat))
//! build the body from webhook-core's models instead.

use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use webhook_core::Scheme;

use crate::{Body, Format, RenderError, Rendered, new_message_id};

/// One finished request body.
///
/// ```
/// use webhook_sender::Message;
///
/// let message = Message::json(r#"{"id":"evt_1","type":"delivered"}"#).with_id("msg_1");
/// assert_eq!(message.id(), Some("msg_1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    body: Body,
    id: Option<String>,
    created_at: Option<SystemTime>,
    label: Option<String>,
}

impl Message {
    /// A message with this body.
    pub fn new(body: Body) -> Self {
        Self {
            body,
            id: None,
            created_at: None,
            label: None,
        }
    }

    /// A JSON message (`Content-Type: application/json`).
    pub fn json(bytes: impl Into<Bytes>) -> Self {
        Self::new(Body::json(bytes))
    }

    /// A message of any media type.
    pub fn with_content_type(bytes: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        Self::new(Body::new(bytes, content_type))
    }

    /// Sets the message id: the Standard Webhooks `webhook-id`, the same on every retry.
    /// Without one, a Standard Webhooks sender makes `msg_` + 27 random letters and
    /// digits (Svix's shape) when the message is submitted.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets when the message was created (for discard-after under a requeue policy).
    pub fn created_at(mut self, at: SystemTime) -> Self {
        self.created_at = Some(at);
        self
    }

    /// Sets the label shown in the delivery log (default: the message id, if any).
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The message id, if set.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// Raw messages as a sender body format: one message per request, the same bytes on
/// every attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageFormat;

impl Format for MessageFormat {
    type Item = Message;

    fn max_batch(&self) -> usize {
        1
    }

    fn prepare(&self, message: &mut Message, now: SystemTime, scheme: Scheme) {
        if message.created_at.is_none() {
            message.created_at = Some(now);
        }
        if message.id.is_none() && scheme.stamps_message_id() {
            message.id = Some(new_message_id());
        }
    }

    fn created_at(&self, message: &Message) -> Option<SystemTime> {
        message.created_at
    }

    fn label(&self, message: &Message) -> String {
        message
            .label
            .clone()
            .or_else(|| message.id.clone())
            .unwrap_or_else(|| format!("{} bytes", message.body.len()))
    }

    fn render(&self, messages: &[&Message]) -> Result<Rendered, RenderError> {
        // The engine never hands this format more than `max_batch` (1) items.
        let [message] = messages else {
            return Err(RenderError::Request(format!(
                "a raw message travels alone, got {} in one request",
                messages.len()
            )));
        };
        Ok(Rendered {
            body: message.body.clone(),
            message_id: message.id.clone(),
            wire_ids: message.id.iter().cloned().collect(),
        })
    }
}
