//! [`StandardWebhook<T>`]: a verified Standard Webhooks message, and [`StandardEvent`], the
//! body shape most of its senders use.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};

use crate::events::{
    BorrowedPayload, ParseContext, ParseError, Payload, RawJson, expect_json, json,
};

use crate::events::fields::{Plain, Rfc3339, json_object};

/// A verified Standard Webhooks message: the signed id and timestamp from the
/// headers, and the body parsed as `T`.
///
/// Parsing fails with [`ParseError::MissingContext`] when the parse context lacks the
/// verified header values, which happens only when the body was not verified with the
/// Standard Webhooks scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardWebhook<T = serde_json::Value> {
    /// The `webhook-id` header: unique per message, the same on every retry. Use it
    /// as the idempotency key.
    pub message_id: String,
    /// The signed `webhook-timestamp` header.
    pub timestamp: DateTime<Utc>,
    /// The body.
    pub payload: T,
}

impl<T> StandardWebhook<T> {
    /// The header half of the envelope, checked before the body is parsed.
    fn headers(context: &ParseContext<'_>) -> Result<(String, DateTime<Utc>), ParseError> {
        expect_json(context.media_type)?;
        let message_id = context.message_id.ok_or(ParseError::MissingContext {
            header: "webhook-id",
        })?;
        let signed_at = context.signed_at.ok_or(ParseError::MissingContext {
            header: "webhook-timestamp",
        })?;
        let timestamp =
            DateTime::from_timestamp(signed_at, 0).ok_or_else(|| ParseError::UnexpectedShape {
                path: "webhook-timestamp".into(),
                line: 0,
                column: 0,
                detail: "the signed timestamp is out of chrono's range".into(),
            })?;
        Ok((message_id.to_owned(), timestamp))
    }

    /// Maps the body, keeping the envelope.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> StandardWebhook<U> {
        StandardWebhook {
            message_id: self.message_id,
            timestamp: self.timestamp,
            payload: f(self.payload),
        }
    }
}

impl<T: DeserializeOwned + 'static> Payload for StandardWebhook<T> {
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        let (message_id, timestamp) = Self::headers(&context)?;
        Ok(Self {
            message_id,
            timestamp,
            payload: json::parse(body)?,
        })
    }
}

/// Borrows where `T`'s `Deserialize` impl does (`&'a str`, `#[serde(borrow)]`
/// fields). [`StandardEvent`]'s impl copies, so `StandardEvent<'static>` can be used
/// with [`Payload`].
impl<'a, T: Deserialize<'a>> BorrowedPayload<'a> for StandardWebhook<T> {
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError> {
        let (message_id, timestamp) = Self::headers(&context)?;
        Ok(Self {
            message_id,
            timestamp,
            payload: json::parse(body)?,
        })
    }
}

/// Writes the body only (the id and timestamp travel in headers).
impl<T: Serialize> Serialize for StandardWebhook<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.payload.serialize(serializer)
    }
}

json_object! {
    /// The body shape most Standard Webhooks senders use: an event type, a time
    /// (`timestamp` for Svix, `created_at` for Resend; both optional, RFC 3339) and
    /// the event's `data`, kept raw for the handler to parse into its own type.
    ///
    /// Unknown keys are kept in [`unknown`](Self::unknown). Serializing writes the
    /// keys back in the order received; times are written in RFC 3339 with `Z` and
    /// the fractional digits they need.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use webhook_core::senders::standard_webhooks::StandardEvent;
    ///
    /// #[derive(Deserialize)]
    /// struct Delivered<'a> {
    ///     email_id: &'a str,
    /// }
    ///
    /// let body = r#"{"type":"email.delivered","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"56761188"}}"#;
    /// let event: StandardEvent<'static> = serde_json::from_str(body)?;
    /// assert_eq!(event.time().unwrap().timestamp_subsec_millis(), 126);
    /// let data: Delivered<'_> = event.data_as()?;
    /// assert_eq!(data.email_id, "56761188");
    /// assert_eq!(serde_json::to_string(&event)?, body);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub struct StandardEvent<'a> (STANDARD_EVENT_FIELDS, StandardEventBuilder, "a Standard Webhooks event object") {
        required {
            /// The event type, e.g. `email.delivered` or `invoice.paid`.
            event_type: Cow<'a, str> as Plain = "type",
            /// The event's data, raw.
            data: RawJson<'a> as Plain = "data",
        }
        optional {
            /// `timestamp` (Svix style).
            timestamp: DateTime<Utc> as Rfc3339 = "timestamp",
            /// `created_at` (Resend style).
            created_at: DateTime<Utc> as Rfc3339 = "created_at",
        }
    }
}

impl StandardEvent<'_> {
    /// When the event happened: `timestamp`, else `created_at`. The signed
    /// [`StandardWebhook::timestamp`] is when the message was *sent* (it changes on
    /// retries); this one is part of the body.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.timestamp.or(self.created_at)
    }

    /// Deserializes [`data`](Self::data) into `D`.
    pub fn data_as<'s, D: Deserialize<'s>>(&'s self) -> Result<D, serde_json::Error> {
        self.data.parse()
    }
}
