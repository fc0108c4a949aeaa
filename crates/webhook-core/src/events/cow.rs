//! Borrowing deserializers for hand-written visitors.
//!
//! serde's own `Cow<str>` implementation always allocates; the derive macro borrows
//! only through `#[serde(borrow)]`, which hand-written visitors cannot use. These
//! newtypes borrow from the input whenever serde_json can (strings without escapes,
//! raw values from a slice) and own otherwise.

use std::{borrow::Cow, fmt};

use serde::{
    Deserialize, Deserializer,
    de::{Error, Visitor},
};
use serde_json::value::RawValue;

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = CowStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }

            fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// A raw JSON value, borrowed from the input when it comes from a serde_json slice.
/// Compared by its text (serde_json's `RawValue` has no equality of its own).
#[derive(Clone)]
pub(crate) struct RawJson<'a>(pub(crate) Cow<'a, RawValue>);

impl RawJson<'_> {
    pub(crate) fn get(&self) -> &str {
        self.0.get()
    }

    pub(crate) fn into_owned(self) -> RawJson<'static> {
        RawJson(own_raw(self.0))
    }
}

impl std::ops::Deref for RawJson<'_> {
    type Target = RawValue;

    fn deref(&self) -> &RawValue {
        &self.0
    }
}

impl PartialEq for RawJson<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson<'_> {}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl serde::Serialize for RawJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| RawJson(Cow::Borrowed(raw)))
    }
}

/// Converts a borrowed raw value into an owned one.
pub(crate) fn own_raw(raw: Cow<'_, RawValue>) -> Cow<'static, RawValue> {
    Cow::Owned(raw.into_owned())
}

/// Converts a borrowed string into an owned one.
pub(crate) fn own_str(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}
