//! [`MailtrapBatch`]: the events of one Mailtrap request, in any of its three body
//! formats.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{MailtrapEvent, event, form, format, json_lines};
use crate::events::fields::{FromJson, Marker, Mode, Seed, parse_borrowed};
use crate::events::{BorrowedPayload, ParseContext, ParseError, Payload};
use crate::events::{RawJson, UnknownFields};

/// The body formats Mailtrap sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BodyFormat {
    /// `{"events":[…]}`.
    Batch,
    /// A single JSON event object, not wrapped (the cross-SDK signature test vector
    /// signs such a body).
    Single,
    /// JSON Lines.
    JsonLines,
    /// Form data (one event).
    Form,
}

/// The events of one Mailtrap webhook request.
///
/// Iterate it (`for event in &events`) or use [`events`](Self::events) directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailtrapBatch<'a> {
    /// The events, in body order (at least one).
    pub events: Vec<MailtrapEvent<'a>>,
    /// The format the body was in.
    pub format: BodyFormat,
    /// Keys of the `{"events":[…]}` wrapper other than `events` (none documented).
    pub unknown: UnknownFields<'a>,
}

impl<'a> MailtrapBatch<'a> {
    /// A batch of `events`, serialized as `{"events":[…]}`.
    pub fn new(events: Vec<MailtrapEvent<'a>>) -> Self {
        Self {
            events,
            format: BodyFormat::Batch,
            unknown: UnknownFields::default(),
        }
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are none (never true for a parsed body).
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events.
    pub fn iter(&self) -> std::slice::Iter<'_, MailtrapEvent<'a>> {
        self.events.iter()
    }

    /// The events as JSON Lines: each event compact on its own line, each line ending
    /// in `\n`.
    pub fn to_json_lines(&self) -> Result<String, serde_json::Error> {
        let mut out = Vec::new();
        for event in &self.events {
            let start = out.len();
            serde_json::to_writer(&mut out, event)?;
            // Raw values (`custom_variables`, audit parties, unknown keys) are written as
            // received, line breaks of a pretty-printed body included. In JSON a raw CR or
            // LF can only be whitespace between tokens, so a space keeps the meaning and
            // the event on one line.
            for byte in &mut out[start..] {
                if matches!(*byte, b'\n' | b'\r') {
                    *byte = b' ';
                }
            }
            out.push(b'\n');
        }
        // serde_json writes UTF-8 only.
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    /// The owned (`'static`) form.
    pub fn into_owned(self) -> MailtrapBatch<'static> {
        MailtrapBatch {
            events: self
                .events
                .into_iter()
                .map(MailtrapEvent::into_owned)
                .collect(),
            format: self.format,
            unknown: self.unknown.into_owned(),
        }
    }
}

impl<'e, 'a> IntoIterator for &'e MailtrapBatch<'a> {
    type Item = &'e MailtrapEvent<'a>;
    type IntoIter = std::slice::Iter<'e, MailtrapEvent<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.iter()
    }
}

impl<'a> IntoIterator for MailtrapBatch<'a> {
    type Item = MailtrapEvent<'a>;
    type IntoIter = std::vec::IntoIter<MailtrapEvent<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

/// JSON: the bare event for a body that was a single event (JSON or form data),
/// otherwise the `{"events":[…]}` wrapper with its other keys in place. JSON Lines
/// bodies are written as the wrapper; see [`MailtrapBatch::to_json_lines`].
impl Serialize for MailtrapBatch<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match (self.format, self.events.as_slice()) {
            (BodyFormat::Single | BodyFormat::Form, [event]) => event.serialize(serializer),
            _ => {
                let mut map = serializer.serialize_map(None)?;
                self.unknown
                    .write_around(&mut map, |map| map.serialize_entry("events", &self.events))?;
                map.end()
            }
        }
    }
}

impl<'a> BorrowedPayload<'a> for MailtrapBatch<'a> {
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError> {
        let events = format::read(body, context.media_type)?;
        if events.events.is_empty() {
            return Err(ParseError::EmptyBatch);
        }
        Ok(events)
    }
}

impl Payload for MailtrapBatch<'static> {
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        MailtrapBatch::parse_borrowed(body, context).map(MailtrapBatch::into_owned)
    }
}

pub(super) fn lines(body: &[u8]) -> Result<MailtrapBatch<'_>, ParseError> {
    Ok(MailtrapBatch {
        events: json_lines::parse(body)?,
        format: BodyFormat::JsonLines,
        unknown: UnknownFields::default(),
    })
}

pub(super) fn form(body: &[u8]) -> Result<MailtrapBatch<'_>, ParseError> {
    Ok(MailtrapBatch {
        events: vec![MailtrapEvent::Sending(form::parse(body)?)],
        format: BodyFormat::Form,
        unknown: UnknownFields::default(),
    })
}

pub(super) fn parse_json(body: &[u8]) -> Result<MailtrapBatch<'_>, ParseError> {
    parse_borrowed::<JsonBody<'_>>(body).map(|body| body.0)
}

/// A JSON body: the wrapper or a bare event, told apart by the first of `events` /
/// `event` among its keys.
struct JsonBody<'a>(MailtrapBatch<'a>);

impl<'a> FromJson<'a> for JsonBody<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor::<M>(PhantomData))
    }
}

struct BodyVisitor<'a, M>(Marker<'a, M>);

impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for BodyVisitor<'a, M> {
    type Value = JsonBody<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a Mailtrap body: {"events":[…]} or one event object"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut before = Vec::new();
        while let Some(key) = map.next_key_seed(Seed::<M, Cow<'a, str>>::new())? {
            match &*key {
                "events" => {
                    let events = map.next_value_seed(Seed::<M, Vec<MailtrapEvent<'a>>>::new())?;
                    let mut unknown = UnknownFields::default();
                    let mut ordinal = 0;
                    for (key, value) in before {
                        unknown.push_at(key, value, ordinal);
                        ordinal += 1;
                    }
                    while let Some(key) = map.next_key_seed(Seed::<M, Cow<'a, str>>::new())? {
                        if key == "events" {
                            return Err(de::Error::duplicate_field("events"));
                        }
                        ordinal += 1;
                        let value = map.next_value_seed(Seed::<M, RawJson<'a>>::new())?;
                        unknown.push_at(key, value, ordinal);
                    }
                    return Ok(JsonBody(MailtrapBatch {
                        events,
                        format: BodyFormat::Batch,
                        unknown,
                    }));
                }
                "event" => {
                    let name = map.next_value_seed(Seed::<M, Cow<'a, str>>::new())?;
                    let event = event::finish_event::<M, A>(name, before, map)?;
                    return Ok(JsonBody(MailtrapBatch {
                        events: vec![event],
                        format: BodyFormat::Single,
                        unknown: UnknownFields::default(),
                    }));
                }
                _ => before.push((key, map.next_value_seed(Seed::<M, RawJson<'a>>::new())?)),
            }
        }
        Err(de::Error::missing_field("events"))
    }
}
