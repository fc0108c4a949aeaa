//! Whether a body's event keys are in another order than its sender writes them: the
//! trace of a JSON library that parsed the body and wrote it back with its own order
//! (sorted, or a hash map's) before the verifier saw it. The sender's original order
//! cannot be rebuilt for every object (Stalwart's `data` keys follow each call site),
//! so this is read from the body, not proven by a signature check.
//!
//! Cost: one streaming parse of the body, reading the keys of its first event only
//! (at most [`MAX_KEYS`] of them) and skipping every value; no tree is built, no HMAC
//! runs, and serde_json's recursion limit bounds the stack.

use std::{borrow::Cow, fmt};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{events::fields::Borrowing, senders::rules::KeyOrder};

/// The most keys of an event read.
const MAX_KEYS: usize = 64;

/// The listed keys of the body's first event, in the body's order, when that order is
/// not the sender's (`None`: in order, too few listed keys to tell, or not JSON).
pub(super) fn reordered(order: &KeyOrder, body: &[u8]) -> Option<Vec<&'static str>> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let keys = match order.batch {
        Some(batch) => Batch { batch }.deserialize(&mut deserializer).ok()?,
        None => EventKeys.deserialize(&mut deserializer).ok()?,
    }?;
    let listed: Vec<&'static str> = keys
        .iter()
        .filter_map(|key| order.keys.iter().find(|known| **known == key).copied())
        .collect();
    let rank = |key: &str| order.keys.iter().position(|known| *known == key);
    let in_order = listed.windows(2).all(|pair| rank(pair[0]) < rank(pair[1]));
    (listed.len() >= 2 && !in_order).then_some(listed)
}

/// An event object: its keys, values skipped.
struct EventKeys;

impl<'de> DeserializeSeed<'de> for EventKeys {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventKeys {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
            if keys.len() < MAX_KEYS {
                keys.push(key);
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(Some(keys))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A batch object: the keys of the first event in its `batch` array.
struct Batch {
    batch: &'static str,
}

impl<'de> DeserializeSeed<'de> for Batch {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Batch {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with `{}`", self.batch)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
            if key == self.batch && found.is_none() {
                found = map.next_value_seed(FirstEvent)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// An array of events: the keys of its first.
struct FirstEvent;

impl<'de> DeserializeSeed<'de> for FirstEvent {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FirstEvent {
    type Value = Option<Vec<Cow<'de, str>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element_seed(EventKeys)?.flatten();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALWART: KeyOrder = KeyOrder {
        batch: Some("events"),
        keys: &["id", "createdAt", "type", "data"],
    };

    #[test]
    fn sorted_keys_are_reordered_the_senders_order_is_not() {
        let sent = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"b":1,"a":2}}]}"#;
        assert_eq!(reordered(&STALWART, sent), None);
        let sorted = br#"{"events":[{"createdAt":"2025-08-21T14:01:40Z","data":{"a":2,"b":1},"id":"1","type":"auth.success"}]}"#;
        assert_eq!(
            reordered(&STALWART, sorted),
            Some(vec!["createdAt", "data", "id", "type"])
        );
        // Not JSON, no events, one known key: nothing to tell.
        assert_eq!(reordered(&STALWART, b"not json"), None);
        assert_eq!(reordered(&STALWART, br#"{"events":[]}"#), None);
        assert_eq!(reordered(&STALWART, br#"{"events":[{"type":"x"}]}"#), None);
        let single = KeyOrder {
            batch: None,
            keys: &["id", "type", "created_at", "data"],
        };
        assert_eq!(
            reordered(
                &single,
                br#"{"created_at":"t","data":{},"id":"e","type":"delivered"}"#
            ),
            Some(vec!["created_at", "data", "id", "type"])
        );
    }
}
