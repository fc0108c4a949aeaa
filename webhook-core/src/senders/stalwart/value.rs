//! Stalwart's value model: what a data key can hold, and how it is written as JSON.
//!
//! Stalwart's `Value` enum has string, u64, i64, f64, bool, timestamp, duration, bytes,
//! IP, array and nested-event variants; on the wire timestamps, bytes and IPs become
//! strings and durations become milliseconds, so a receiver sees the JSON kinds below.
//! Integers keep full 64-bit precision: `spanId` and `queueId` are snowflakes above
//! 2^53 that a float-based JSON reader would silently round. The constructors
//! ([`Value::timestamp`], [`Value::duration`], [`Value::bytes`], …) apply Stalwart's
//! encodings, so the reference sender writes exactly what the server writes.

use std::{borrow::Cow, fmt, net::IpAddr, time::Duration};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, SeqAccess, Visitor},
    ser::{SerializeMap, SerializeSeq},
};
use serde_json::value::RawValue;

use super::{DataMap, EventType};
use crate::events::fields::{Borrowing, raw_entries};

/// One value of a Stalwart event's data.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A string (also how timestamps, IPs and base64 bytes arrive).
    String(Cow<'a, str>),
    /// An unsigned integer, exact to 64 bits.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// `null` (Stalwart writes NaN and infinities this way).
    Null,
    /// An array; elements may be of mixed kinds.
    Array(Vec<Value<'a>>),
    /// A nested event `{"type": …, "data": {…}}`, mostly under `causedBy` and `result`.
    Event(Box<NestedEvent<'a>>),
    /// Any other object (not produced by current Stalwart versions; kept, not dropped).
    Object(DataMap<'a>),
}

/// A nested event: an error's cause or a result, with no id or time of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedEvent<'a> {
    /// Its type.
    pub event_type: EventType,
    /// Its data (no span keys).
    pub data: DataMap<'a>,
}

impl<'a> Value<'a> {
    /// Parses a raw JSON value.
    pub fn from_raw(raw: &'a RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }

    /// A timestamp, written as Stalwart writes `createdAt` (whole seconds, `Z`).
    pub fn timestamp(time: DateTime<Utc>) -> Value<'static> {
        Value::String(Cow::Owned(crate::timestamp::format_utc_seconds(time)))
    }

    /// A duration, written as whole milliseconds.
    pub fn duration(duration: Duration) -> Value<'static> {
        Value::UInt(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    /// Raw bytes: a plain string when they are UTF-8, else standard base64 with padding.
    pub fn bytes(bytes: &[u8]) -> Value<'static> {
        Value::String(Cow::Owned(match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        }))
    }

    /// A nested event.
    pub fn event(event_type: EventType, data: DataMap<'a>) -> Self {
        Value::Event(Box::new(NestedEvent { event_type, data }))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The unsigned integer, if this is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::UInt(n) => Some(*n),
            _ => None,
        }
    }

    /// The nested event, if this is one.
    pub fn as_event(&self) -> Option<&NestedEvent<'a>> {
        match self {
            Value::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The nested events this value holds: itself if it is one, the event elements if it
    /// is an array, none otherwise. `result` holds one or several.
    pub fn events(&self) -> Vec<&NestedEvent<'a>> {
        match self {
            Value::Event(event) => vec![event],
            Value::Array(items) => items.iter().filter_map(Value::as_event).collect(),
            _ => Vec::new(),
        }
    }

    /// Copies every borrowed string so the value outlives the body.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::UInt(n) => Value::UInt(n),
            Value::Int(n) => Value::Int(n),
            Value::Float(n) => Value::Float(n),
            Value::Bool(b) => Value::Bool(b),
            Value::Null => Value::Null,
            Value::Array(items) => Value::Array(items.into_iter().map(Value::into_owned).collect()),
            Value::Event(event) => Value::Event(Box::new(NestedEvent {
                event_type: event.event_type,
                data: event.data.into_owned(),
            })),
            Value::Object(map) => Value::Object(map.into_owned()),
        }
    }
}

impl From<u64> for Value<'_> {
    fn from(n: u64) -> Self {
        Value::UInt(n)
    }
}

impl From<u32> for Value<'_> {
    fn from(n: u32) -> Self {
        Value::UInt(n.into())
    }
}

impl From<u16> for Value<'_> {
    fn from(n: u16) -> Self {
        Value::UInt(n.into())
    }
}

impl From<i64> for Value<'_> {
    /// Non-negative numbers become [`Value::UInt`], as serde_json reads them back.
    fn from(n: i64) -> Self {
        u64::try_from(n).map_or(Value::Int(n), Value::UInt)
    }
}

impl From<f64> for Value<'_> {
    fn from(n: f64) -> Self {
        Value::Float(n)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::String(Cow::Owned(s))
    }
}

impl From<IpAddr> for Value<'_> {
    fn from(ip: IpAddr) -> Self {
        Value::String(Cow::Owned(ip.to_string()))
    }
}

impl<'a, T: Into<Value<'a>>> From<Vec<T>> for Value<'a> {
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::String(s) => serializer.serialize_str(s),
            Value::UInt(n) => serializer.serialize_u64(*n),
            Value::Int(n) => serializer.serialize_i64(*n),
            // serde_json would refuse these; Stalwart writes them as null.
            Value::Float(n) if !n.is_finite() => serializer.serialize_unit(),
            Value::Float(n) => serializer.serialize_f64(*n),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Null => serializer.serialize_unit(),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Event(event) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", event.event_type.as_str())?;
                map.serialize_entry("data", &event.data)?;
                map.end()
            }
            Value::Object(object) => object.serialize(serializer),
        }
    }
}

/// Deserializes from serde_json only: nested objects keep their values raw.
impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Value::UInt(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let object = DataMap::from_entries(raw_entries(map)?);
        Ok(match nested_event(&object) {
            Some(event) => Value::Event(Box::new(event.map_err(serde::de::Error::custom)?)),
            None => Value::Object(object),
        })
    }
}

/// `{"type": "<string>", "data": {…}}` and nothing else is a nested event.
fn nested_event<'a>(object: &DataMap<'a>) -> Option<Result<NestedEvent<'a>, serde_json::Error>> {
    if object.len() != 2 {
        return None;
    }
    let (type_raw, data_raw) = (object.raw_cow("type")?, object.raw_cow("data")?);
    if !type_raw.get().starts_with('"') || !data_raw.get().starts_with('{') {
        return None;
    }
    Some((|| {
        let Borrowing::<Cow<'_, str>>(name) = serde_json::from_str(type_raw.get())?;
        let data = DataMap::parse_cow(data_raw)?;
        Ok(NestedEvent {
            event_type: EventType::from(&*name),
            data,
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integers_stay_exact() {
        let raw = RawValue::from_string("312845507532341249".into()).unwrap();
        assert_eq!(
            Value::from_raw(&raw).unwrap(),
            Value::UInt(312_845_507_532_341_249)
        );
        assert_eq!(
            serde_json::to_string(&Value::UInt(u64::MAX)).unwrap(),
            "18446744073709551615"
        );
    }

    #[test]
    fn encodings_follow_stalwart() {
        let at = DateTime::from_timestamp(1_755_784_815, 0).unwrap();
        assert_eq!(
            serde_json::to_string(&Value::timestamp(at)).unwrap(),
            "\"2025-08-21T14:00:15Z\""
        );
        assert_eq!(
            serde_json::to_string(&Value::duration(Duration::from_micros(812_999))).unwrap(),
            "812"
        );
        assert_eq!(Value::bytes(b"plain"), Value::from("plain"));
        assert_eq!(Value::bytes(&[0xff, 0x00]), Value::from("/wA=".to_owned()));
        assert_eq!(
            serde_json::to_string(&Value::Float(f64::NAN)).unwrap(),
            "null"
        );
        assert_eq!(
            serde_json::to_string(&Value::from(vec![Value::from(1u64), Value::from("a")])).unwrap(),
            "[1,\"a\"]"
        );
    }

    #[test]
    fn nested_events_are_recognised_recursively() {
        let raw = RawValue::from_string(
            r#"[{"type":"dkim.fail","data":{"causedBy":{"type":"dkim.failed-verification","data":{}},"domain":"example.com"}}]"#.into(),
        )
        .unwrap();
        let value = Value::from_raw(&raw).unwrap();
        let events = value.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type.as_str(), "dkim.fail");
        assert_eq!(events[0].data.str("domain").as_deref(), Some("example.com"));
        let cause = events[0].data.value("causedBy").unwrap();
        assert_eq!(
            cause.as_event().unwrap().event_type.as_str(),
            "dkim.failed-verification"
        );
        // Re-serialization is byte-identical.
        assert_eq!(serde_json::to_string(&value).unwrap(), raw.get());
    }

    #[test]
    fn objects_that_are_not_events_are_kept() {
        for text in [
            r#"{"type":"x"}"#,
            r#"{"type":1,"data":{}}"#,
            r#"{"type":"x","data":{},"z":1}"#,
        ] {
            let raw = RawValue::from_string(text.into()).unwrap();
            let value = Value::from_raw(&raw).unwrap();
            assert!(matches!(value, Value::Object(_)), "{text}");
            assert_eq!(serde_json::to_string(&value).unwrap(), text);
        }
    }
}
