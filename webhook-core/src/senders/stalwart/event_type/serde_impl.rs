//! serde for [`EventType`]: a JSON string holding the wire name, both ways.
//!
//! Deserializing looks the name up in place, whether serde hands over a slice of the
//! input (`visit_borrowed_str`) or of its scratch buffer after unescaping (`visit_str`),
//! so current and legacy names never allocate; only an unknown name is copied into
//! [`EventType::Unknown`] (or, from an owned `String`, keeps that string's buffer).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::EventType;

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(EventTypeVisitor)
    }
}

struct EventTypeVisitor;

impl Visitor<'_> for EventTypeVisitor {
    type Value = EventType;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Stalwart event type name such as \"auth.success\"")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<EventType, E> {
        Ok(EventType::from(name))
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<EventType, E> {
        Ok(EventType::from(name))
    }
}
