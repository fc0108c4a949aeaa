//! [`WebhookEvents`]: a Stalwart webhook body, `{"events":[…]}`, one or more events.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::value::RawValue;

use super::{WebhookEvent, event};
use crate::events::{
    BorrowedPayload, ParseContext, ParseError, Payload, UnknownFields, expect_json,
    fields::Borrowing, json,
};

/// A Stalwart webhook body: a batch of one or more events.
#[derive(Clone, PartialEq)]
pub struct WebhookEvents<'a> {
    /// The events, in the order sent (collection order; across retries order is not
    /// guaranteed, so sort by `created_at` if it matters).
    pub events: Vec<WebhookEvent<'a>>,
    /// The other top-level keys, where they stood (serializing puts them back).
    extra: UnknownFields<'a>,
}

impl<'a> WebhookEvents<'a> {
    /// A batch of `events`, as the reference sender builds it.
    pub fn new(events: Vec<WebhookEvent<'a>>) -> Self {
        Self {
            events,
            extra: UnknownFields::default(),
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
        self.extra.iter().map(|(k, v)| (k, v.as_raw()))
    }

    /// Copies every borrowed string so the batch outlives the body.
    pub fn into_owned(self) -> WebhookEvents<'static> {
        WebhookEvents {
            events: self
                .events
                .into_iter()
                .map(WebhookEvent::into_owned)
                .collect(),
            extra: self.extra.into_owned(),
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
        self.extra
            .write_around(&mut map, |map| map.serialize_entry("events", &self.events))?;
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
                let mut extra = UnknownFields::default();
                while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
                    if key == "events" {
                        event::set(&mut events, "events", map.next_value()?)?;
                    } else {
                        let Borrowing(value) = map.next_value()?;
                        let ordinal = usize::from(events.is_some()) + extra.len();
                        extra.push_at(key, value, ordinal);
                    }
                }
                Ok(WebhookEvents {
                    events: events.ok_or_else(|| de::Error::missing_field("events"))?,
                    extra,
                })
            }
        }
        deserializer.deserialize_map(BatchVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_keys_keep_their_places_around_events() {
        let event =
            r#"{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}"#;
        for text in [
            format!(r#"{{"events":[{event}]}}"#),
            format!(r#"{{"a":1,"b":"x","events":[{event}]}}"#),
            format!(r#"{{"events":[{event}],"a":1,"b":[2]}}"#),
            format!(r#"{{"a":null,"events":[{event}],"b":{{"c":3}},"a":4}}"#),
        ] {
            let batch: WebhookEvents<'_> = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&batch).unwrap(), text);
            let owned = batch.clone().into_owned();
            assert_eq!(owned, batch);
            assert_eq!(serde_json::to_string(&owned).unwrap(), text);
        }
        let text = format!(r#"{{"v":2,"events":[{event}],"w":3}}"#);
        let batch: WebhookEvents<'_> = serde_json::from_str(&text).unwrap();
        let extra: Vec<_> = batch.extra().map(|(k, v)| (k, v.get())).collect();
        assert_eq!(extra, [("v", "2"), ("w", "3")]);
        assert!(
            serde_json::from_str::<WebhookEvents<'_>>(&format!(
                r#"{{"events":[{event}],"events":[{event}]}}"#
            ))
            .is_err()
        );
    }
}
