//! Stalwart's webhook events: `{"events":[{"id","createdAt","type","data"}]}` batches.
//!
//! - [`WebhookEvents`] is a batch (never empty) and [`WebhookEvent`] one event;
//!   `WebhookEvents<'a>` borrows from the body, `WebhookEvents<'static>`
//!   ([`StalwartEvents`](crate::StalwartEvents)) owns its data.
//! - [`EventType`] names every event type Stalwart has (and had), with a fallback for
//!   names newer than this crate.
//! - [`Data`] keeps each event's data as sent; [`DataMap`] reads it with typed
//!   accessors; [`Value`] is Stalwart's value model, nested events included.
//! - [`Fingerprint`] is the content hash to deduplicate on, because a retried event gets
//!   a new id.
//!
//! Parsing then serializing gives back the bytes received, unknown keys included:
//!
//! ```
//! use webhook_core::{MediaType, ParseContext, events::{parse_unverified_borrowed, stalwart::WebhookEvents}};
//!
//! let body = br#"{"events":[{"id":"17557849615421","createdAt":"2025-08-21T14:02:41Z","type":"smtp.dkim-fail","data":{"spanId":312846120370880513,"strict":false,"remoteIp":"2001:db8::25"}}]}"#;
//! let batch: WebhookEvents<'_> = parse_unverified_borrowed(body, ParseContext::new(MediaType::Json))?;
//! let event = &batch.events[0];
//! assert_eq!(event.event_type().as_str(), "smtp.dkim-fail");
//! let data = event.fields()?;
//! assert_eq!(data.span_id(), Some(312846120370880513)); // exact above 2^53
//! assert_eq!(data.remote_ip(), Some("2001:db8::25".parse()?));
//! assert_eq!(serde_json::to_vec(&batch)?, body);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod data;
mod event;
mod event_type;
mod fingerprint;
mod key;
mod value;

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::value::RawValue;

pub use data::{Data, DataMap};
pub use event::WebhookEvent;
pub use event_type::*;
pub use fingerprint::Fingerprint;
pub use key::{Key, UnknownKey};
pub use value::{NestedEvent, Value};

use crate::events::{
    BorrowedPayload, ParseContext, ParseError, Payload, RawJson,
    cow::{BorrowRaw, CowStr, own_str},
    expect_json, json,
};

/// A Stalwart webhook body: a batch of one or more events.
#[derive(Clone, PartialEq)]
pub struct WebhookEvents<'a> {
    /// The events, in the order sent (collection order; across retries order is not
    /// guaranteed, so sort by `created_at` if it matters).
    pub events: Vec<WebhookEvent<'a>>,
    extra: Vec<(Cow<'a, str>, RawJson<'a>)>,
    /// How many of `extra` came before `events` in the body (serializing puts them back).
    extra_before_events: usize,
}

impl<'a> WebhookEvents<'a> {
    /// A batch of `events`, as the reference sender builds it.
    pub fn new(events: Vec<WebhookEvent<'a>>) -> Self {
        Self {
            events,
            extra: Vec::new(),
            extra_before_events: 0,
        }
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the batch is empty (a parsed batch never is).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events.
    pub fn iter(&self) -> std::slice::Iter<'_, WebhookEvent<'a>> {
        self.events.iter()
    }

    /// Top-level keys besides `events`, in order, values raw.
    pub fn extra(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.extra.iter().map(|(k, v)| (&**k, v.as_raw()))
    }

    /// Copies every borrowed string so the batch outlives the body.
    pub fn into_owned(self) -> WebhookEvents<'static> {
        WebhookEvents {
            events: self
                .events
                .into_iter()
                .map(WebhookEvent::into_owned)
                .collect(),
            extra: self
                .extra
                .into_iter()
                .map(|(k, v)| (own_str(k), v.into_owned()))
                .collect(),
            extra_before_events: self.extra_before_events,
        }
    }
}

impl<'a> IntoIterator for WebhookEvents<'a> {
    type Item = WebhookEvent<'a>;
    type IntoIter = std::vec::IntoIter<WebhookEvent<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

impl<'b, 'a> IntoIterator for &'b WebhookEvents<'a> {
    type Item = &'b WebhookEvent<'a>;
    type IntoIter = std::slice::Iter<'b, WebhookEvent<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.iter()
    }
}

impl fmt::Debug for WebhookEvents<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEvents")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl<'a> BorrowedPayload<'a> for WebhookEvents<'a> {
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError> {
        expect_json(context.media_type)?;
        let batch: Self = json::parse(body)?;
        if batch.events.is_empty() {
            return Err(ParseError::EmptyBatch);
        }
        Ok(batch)
    }
}

impl Payload for WebhookEvents<'static> {
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        WebhookEvents::parse_borrowed(body, context).map(WebhookEvents::into_owned)
    }
}

impl Serialize for WebhookEvents<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.extra.len()))?;
        let (before, after) = self.extra.split_at(self.extra_before_events);
        for (key, value) in before {
            map.serialize_entry(&**key, value)?;
        }
        map.serialize_entry("events", &self.events)?;
        for (key, value) in after {
            map.serialize_entry(&**key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WebhookEvents<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BatchVisitor;
        impl<'de> Visitor<'de> for BatchVisitor {
            type Value = WebhookEvents<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a Stalwart batch {"events":[…]}"#)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut events = None;
                let mut extra = Vec::new();
                let mut extra_before_events = 0;
                while let Some(CowStr(key)) = map.next_key()? {
                    if key == "events" {
                        event::set(&mut events, "events", map.next_value()?)?;
                        extra_before_events = extra.len();
                    } else {
                        let BorrowRaw(value) = map.next_value()?;
                        extra.push((key, value));
                    }
                }
                Ok(WebhookEvents {
                    events: events.ok_or_else(|| de::Error::missing_field("events"))?,
                    extra,
                    extra_before_events,
                })
            }
        }
        deserializer.deserialize_map(BatchVisitor)
    }
}
