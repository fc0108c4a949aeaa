//! Key order of the JSON the sender writes.
//!
//! webhook-core's event models write a parsed object's keys in the order they were
//! parsed, and a built one's in declaration order with keys added to
//! [`UnknownFields`](webhook_core::events::UnknownFields) first. To send a built event
//! with a sender's own key order, the sender serializes it, sorts its top-level keys
//! and parses it back with webhook-core, which then remembers that order: the body is
//! still webhook-core's serialization of webhook-core's model.

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{DeserializeOwned, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::value::RawValue;

/// A JSON object's top-level entries in body order, values raw.
pub(crate) struct Entries(pub(crate) Vec<(String, Box<RawValue>)>);

impl Entries {
    /// The entries of `value`'s JSON object.
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(&serde_json::to_vec(value)?)
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = Entries;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(V)
    }
}

impl Serialize for Entries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// `value` with its top-level keys in `order`; keys not listed follow in their own
/// order. Fails if `value` does not serialize to an object that parses back as `T`
/// (a key written twice, say): callers then keep `value` as it is.
pub(crate) fn reorder<T: Serialize + DeserializeOwned>(
    value: &T,
    order: &[&str],
) -> Result<T, serde_json::Error> {
    let Entries(mut entries) = Entries::of(value)?;
    let rank = |key: &str| {
        order
            .iter()
            .position(|known| *known == key)
            .unwrap_or(order.len())
    };
    // Stable: unlisted keys keep their order, after the listed ones.
    entries.sort_by_key(|(key, _)| rank(key));
    serde_json::from_slice(&serde_json::to_vec(&Entries(entries))?)
}
