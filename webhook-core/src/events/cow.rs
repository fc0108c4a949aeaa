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

use super::RawJson;

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

/// Deserializes a [`RawJson`] that borrows from a serde_json slice (`RawJson`'s own
/// `Deserialize` copies, so that owned models work with any data source).
pub(crate) struct BorrowRaw<'a>(pub(crate) RawJson<'a>);

impl<'de> Deserialize<'de> for BorrowRaw<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| BorrowRaw(RawJson::borrowed(raw)))
    }
}

/// Converts a borrowed string into an owned one.
pub(crate) fn own_str(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}
