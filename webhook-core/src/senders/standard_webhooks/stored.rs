//! A Standard Webhooks message stored as its one event, and read back.
//!
//! The body must be JSON (what [`StandardWebhook<T>`] parses); its event type is its
//! top-level `type` string when it has one, as most senders' bodies do.

use std::{borrow::Cow, fmt};

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::StandardWebhook;
use crate::{
    Scheme,
    events::{ParseContext, ParseError, Payload, expect_json, fields::Borrowing, json},
    idempotency::Namespace,
    senders::stalwart::StalwartKey,
    stored::{SplitEvent, StoredPayload},
};

pub(crate) fn split(
    body: &[u8],
    context: ParseContext<'_>,
    namespace: &Namespace,
    stalwart: StalwartKey,
) -> Result<Vec<SplitEvent>, ParseError> {
    expect_json(context.media_type)?;
    let keys = super::event_keys(body, context, namespace, stalwart)?;
    let event_type = json::parse::<Typed<'_>>(body)?.0;
    Ok(keys
        .into_iter()
        .map(|key| {
            SplitEvent::new(
                0..body.len(),
                context.media_type,
                event_type.as_deref(),
                key,
            )
        })
        .collect())
}

/// Any JSON value, and the `type` string if it is an object that has one.
struct Typed<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Typed<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TypedVisitor)
    }
}

struct TypedVisitor;

impl<'de> Visitor<'de> for TypedVisitor {
    type Value = Typed<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event_type = None;
        while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
            if key == "type" && event_type.is_none() {
                event_type = map.next_value::<TypeText<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Typed(event_type))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Typed(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Typed(None))
    }
}

/// A `type` value: its text when it is a string, nothing otherwise.
struct TypeText<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for TypeText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TypeText<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TypeText(Some(Cow::Borrowed(v))))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TypeText(Some(Cow::Owned(v.to_owned()))))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TypeText(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TypeText(None))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(TypeText(None))
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(TypeText(None))
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(TypeText(None))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(TypeText(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(TypeText(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The whole body, with the signed `webhook-id` and `webhook-timestamp`.
impl<T: DeserializeOwned + 'static> StoredPayload for StandardWebhook<T> {
    const SCHEME: Scheme = Scheme::StandardWebhooks;

    fn from_stored(bytes: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError> {
        Self::parse(bytes, context)
    }
}
