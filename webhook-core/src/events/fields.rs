//! Shared machinery of the sender event models (email-API, Mailtrap, WildDuck,
//! Standard Webhooks): raw JSON values, the unknown keys every model keeps, and the
//! map visitor that the models' `Deserialize`/`Serialize` impls are generated from.
//!
//! Why a hand-written visitor instead of `#[derive(Deserialize)]` with
//! `#[serde(flatten)]`: flatten buffers every entry into serde's private `Content`
//! tree first (an allocation per key and per string), which defeats zero-copy parsing
//! on the hot path. The visitor here reads each key once, dispatches known keys to
//! their typed field and keeps unknown ones as borrowed [`RawValue`] slices, with no
//! allocation beyond the unknown-key list itself.
//!
//! Each model records the order its keys arrived in (a fixed-size array, no
//! allocation), so that serializing a parsed model writes its keys back in that order:
//! parse → serialize of a compact body is byte-identical, whatever order the sender
//! used, as long as the sender escapes strings the way `serde_json` does (JSON's
//! minimal escaping, which is also JavaScript's `JSON.stringify`).
//!
//! Two parsing modes share one implementation, chosen by a [`Mode`] type parameter:
//! - [`BorrowMode`]: strings without escapes and raw values borrow from the body
//!   (what [`BorrowedPayload`](crate::BorrowedPayload) uses);
//! - [`CopyMode`]: everything is copied, so the `'static` instantiation of each model
//!   is `serde::de::DeserializeOwned` and works with any serde data source.
//!
//! The Stalwart model's visitors are written by hand (its event keeps its `createdAt`
//! text and whether its id was a number), but read through the same pieces: strings and
//! raw values through [`Borrowing`], unknown keys into [`UnknownFields`], written back
//! in place with [`UnknownFields::write_until`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

// ---------------------------------------------------------------------------------
// Public value types
// ---------------------------------------------------------------------------------

/// A JSON value kept exactly as it was received (its raw text), borrowed from the body
/// or owned.
///
/// Used for unknown keys and for values whose shape the sender leaves open
/// (Mailtrap's `custom_variables`, WildDuck's `result`, a Standard Webhooks `data`).
/// Serializing it with `serde_json` writes the raw text back unchanged.
///
/// ```
/// use webhook_core::events::RawJson;
///
/// let raw = RawJson::from_value(&serde_json::json!({"plan": "pro"}))?;
/// assert_eq!(raw.get(), r#"{"plan":"pro"}"#);
/// let plan: std::collections::HashMap<String, String> = raw.parse()?;
/// assert_eq!(plan["plan"], "pro");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone)]
pub struct RawJson<'a>(RawRepr<'a>);

#[derive(Clone)]
enum RawRepr<'a> {
    Borrowed(&'a RawValue),
    Owned(Box<RawValue>),
}

impl RawJson<'static> {
    /// Wraps an owned raw value.
    pub fn owned(raw: Box<RawValue>) -> Self {
        Self(RawRepr::Owned(raw))
    }

    /// Serializes `value` to compact JSON and keeps that text.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self::owned)
    }
}

impl<'a> RawJson<'a> {
    /// Wraps a raw value borrowed from a body.
    pub fn borrowed(raw: &'a RawValue) -> Self {
        Self(RawRepr::Borrowed(raw))
    }

    /// The raw JSON text, exactly as received.
    pub fn get(&self) -> &str {
        self.as_raw().get()
    }

    /// The value as a `serde_json` raw value.
    pub fn as_raw(&self) -> &RawValue {
        match &self.0 {
            RawRepr::Borrowed(raw) => raw,
            RawRepr::Owned(raw) => raw,
        }
    }

    /// Deserializes the value into `T` (borrowing from it where `T` does).
    pub fn parse<'s, T: Deserialize<'s>>(&'s self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.get() == "null"
    }

    /// The borrowed raw value with the body's lifetime, if borrowed.
    pub(crate) fn as_borrowed(&self) -> Option<&'a RawValue> {
        match self.0 {
            RawRepr::Borrowed(raw) => Some(raw),
            RawRepr::Owned(_) => None,
        }
    }

    /// Whether the value is borrowed from the body it was parsed from.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, RawRepr::Borrowed(_))
    }

    /// Copies a borrowed value so that it no longer borrows from the body.
    pub fn into_owned(self) -> RawJson<'static> {
        match self.0 {
            RawRepr::Borrowed(raw) => RawJson::owned(raw.to_owned()),
            RawRepr::Owned(raw) => RawJson::owned(raw),
        }
    }
}

impl fmt::Debug for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl fmt::Display for RawJson<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// Compares the raw text: `{"a":1}` and `{ "a": 1 }` differ.
impl PartialEq for RawJson<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for RawJson<'_> {}

impl Serialize for RawJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_raw().serialize(serializer)
    }
}

/// Always copies (see the module docs); zero-copy parsing goes through
/// [`BorrowedPayload`](crate::BorrowedPayload).
impl<'de, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson::owned)
    }
}

/// The keys of a JSON object that a model does not know, in the order received, each
/// with its raw value. Kept so that nothing a sender adds is lost, and written back
/// in place when the model is serialized.
///
/// ```
/// use webhook_core::events::{RawJson, UnknownFields};
///
/// let mut unknown = UnknownFields::default();
/// unknown.insert("plan", RawJson::from_value("pro")?);
/// assert_eq!(unknown.get("plan").map(RawJson::get), Some(r#""pro""#));
/// assert_eq!(unknown.iter().map(|(key, _)| key).collect::<Vec<_>>(), ["plan"]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct UnknownFields<'a> {
    entries: Vec<Unknown<'a>>,
}

#[derive(Clone)]
struct Unknown<'a> {
    key: Cow<'a, str>,
    value: RawJson<'a>,
    /// Position among all the object's keys when parsed; `u32::MAX` for entries added
    /// afterwards, which are written after everything else.
    ordinal: u32,
}

impl<'a> UnknownFields<'a> {
    /// How many unknown keys there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The raw value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&RawJson<'a>> {
        self.entries
            .iter()
            .find(|entry| entry.key == key)
            .map(|entry| &entry.value)
    }

    /// Deserializes the value of `key` into `T`: `None` when the key is absent.
    pub fn get_as<'s, T: Deserialize<'s>>(
        &'s self,
        key: &str,
    ) -> Option<Result<T, serde_json::Error>> {
        self.get(key).map(RawJson::parse)
    }

    /// The entries in the order received.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &RawJson<'a>)> + '_ {
        self.entries
            .iter()
            .map(|entry| (entry.key.as_ref(), &entry.value))
    }

    /// Sets `key` to `value`: replaces the first entry of that name in place, or adds
    /// the key at the end. Returns the replaced value.
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        value: RawJson<'a>,
    ) -> Option<RawJson<'a>> {
        let key = key.into();
        match self.entries.iter_mut().find(|entry| entry.key == key) {
            Some(entry) => Some(std::mem::replace(&mut entry.value, value)),
            None => {
                self.entries.push(Unknown {
                    key,
                    value,
                    ordinal: u32::MAX,
                });
                None
            }
        }
    }

    /// Removes the first entry named `key` and returns its value. The other keys keep
    /// their places.
    pub fn remove(&mut self, key: &str) -> Option<RawJson<'a>> {
        let at = self.entries.iter().position(|entry| entry.key == key)?;
        let removed = self.entries.remove(at);
        // The keys after it move up one place.
        if removed.ordinal != u32::MAX {
            for entry in &mut self.entries[at..] {
                if entry.ordinal != u32::MAX {
                    entry.ordinal -= 1;
                }
            }
        }
        Some(removed.value)
    }

    /// Copies borrowed keys and values so that nothing borrows from the body.
    pub fn into_owned(self) -> UnknownFields<'static> {
        UnknownFields {
            entries: self
                .entries
                .into_iter()
                .map(|entry| Unknown {
                    key: Cow::Owned(entry.key.into_owned()),
                    value: entry.value.into_owned(),
                    ordinal: entry.ordinal,
                })
                .collect(),
        }
    }

    pub(crate) fn push_at(&mut self, key: Cow<'a, str>, value: RawJson<'a>, ordinal: usize) {
        self.entries.push(Unknown {
            key,
            value,
            ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
        });
    }

    /// Writes the entries that were received before the next known key, given that
    /// `known_before` known keys have been written: an entry belongs here when its
    /// original position is not after `known_before + cursor`. `None` writes all
    /// that remain. Consumes entries from `cursor`.
    pub(crate) fn write_until<M: SerializeMap>(
        &self,
        cursor: &mut usize,
        known_before: Option<usize>,
        map: &mut M,
    ) -> Result<(), M::Error> {
        while let Some(entry) = self.entries.get(*cursor) {
            if known_before.is_some_and(|known| entry.ordinal as usize > known + *cursor) {
                break;
            }
            map.serialize_entry(entry.key.as_ref(), &entry.value)?;
            *cursor += 1;
        }
        Ok(())
    }

    /// Writes the entries received before the one known key of an object, then
    /// that key (`middle`), then the rest.
    pub(crate) fn write_around<M: SerializeMap>(
        &self,
        map: &mut M,
        middle: impl FnOnce(&mut M) -> Result<(), M::Error>,
    ) -> Result<(), M::Error> {
        let mut cursor = 0;
        self.write_until(&mut cursor, Some(0), map)?;
        middle(map)?;
        self.write_until(&mut cursor, None, map)
    }
}

impl fmt::Debug for UnknownFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Same keys with the same raw values in the same order.
impl PartialEq for UnknownFields<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for UnknownFields<'_> {}

// ---------------------------------------------------------------------------------
// Parsing modes
// ---------------------------------------------------------------------------------

/// The type parameters of a seed or visitor that holds no data: `fn() -> T` keeps it
/// `Send`, `Sync` and covariant whatever `T` is.
pub(crate) type Marker<'a, T> = PhantomData<(fn() -> T, &'a ())>;

/// How strings and raw values are kept: borrowed from the input or copied.
pub(crate) trait Mode<'de, 'a> {
    /// Keeps a string that the input lends for `'de`.
    fn keep(s: &'de str) -> Cow<'a, str>;
    /// Reads a raw JSON value.
    fn raw<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson<'a>, D::Error>;
}

/// Borrow from the input where it allows (`'de` outlives the output).
pub(crate) enum BorrowMode {}

impl<'de: 'a, 'a> Mode<'de, 'a> for BorrowMode {
    fn keep(s: &'de str) -> Cow<'a, str> {
        Cow::Borrowed(s)
    }

    fn raw<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson<'a>, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(RawJson::borrowed)
    }
}

/// Copy everything: the output does not borrow from the input.
pub(crate) enum CopyMode {}

impl<'de, 'a> Mode<'de, 'a> for CopyMode {
    fn keep(s: &'de str) -> Cow<'a, str> {
        Cow::Owned(s.to_owned())
    }

    fn raw<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson<'a>, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(RawJson::owned)
    }
}

/// A value that can be read in either [`Mode`]: the models' field types.
pub(crate) trait FromJson<'a>: Sized {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error>;
}

/// Parses `body` (one JSON value) into `T`, borrowing from it.
pub(crate) fn parse_borrowed<'a, T: FromJson<'a>>(body: &'a [u8]) -> Result<T, crate::ParseError> {
    crate::events::json::parse::<Borrowing<T>>(body).map(|borrowing| borrowing.0)
}

/// Adapter giving a [`FromJson`] type a borrowing `Deserialize` impl: what hand-written
/// visitors (Stalwart's models, the stored-body readers) use to read a key or value
/// that borrows from the body, e.g. `Borrowing<Cow<'de, str>>` for a string that
/// borrows when it has no escapes, or `Borrowing<RawJson<'de>>` for a raw value
/// borrowed from a slice. (serde's own `Cow<str>` always copies; `#[serde(borrow)]`
/// exists only in derives.)
pub(crate) struct Borrowing<T>(pub(crate) T);

impl<'de, T: FromJson<'de>> Deserialize<'de> for Borrowing<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::from_json::<BorrowMode, D>(deserializer).map(Borrowing)
    }
}

/// Reads the rest of an object as its entries in order, keys and values borrowed where
/// the input allows (values raw): the shape of Stalwart's `data` objects.
pub(crate) fn raw_entries<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<Vec<(Cow<'de, str>, RawJson<'de>)>, A::Error> {
    let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
    while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
        let Borrowing(value) = map.next_value()?;
        entries.push((key, value));
    }
    Ok(entries)
}

/// Deserializes one `T` in mode `M`.
pub(crate) struct Seed<'a, M, T>(Marker<'a, (M, T)>);

impl<M, T> Seed<'_, M, T> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, 'a, M: Mode<'de, 'a>, T: FromJson<'a>> DeserializeSeed<'de> for Seed<'a, M, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::from_json::<M, D>(deserializer)
    }
}

/// Reads a string as `Cow`, borrowing in [`BorrowMode`] when it has no escapes.
pub(crate) struct CowVisitor<'a, M>(Marker<'a, M>);

impl<M> CowVisitor<'_, M> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for CowVisitor<'a, M> {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(M::keep(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'a> FromJson<'a> for Cow<'a, str> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_str(CowVisitor::<M>::new())
    }
}

impl<'a> FromJson<'a> for RawJson<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        M::raw(deserializer)
    }
}

macro_rules! from_json_via_deserialize {
    ($($ty:ty),*) => {$(
        impl<'a> FromJson<'a> for $ty {
            fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                <$ty>::deserialize(deserializer)
            }
        }
    )*};
}

from_json_via_deserialize!(bool, u16, u32, u64, i64);

impl<'a, T: FromJson<'a>> FromJson<'a> for Vec<T> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(VecVisitor::<M, T>(PhantomData))
    }
}

struct VecVisitor<'a, M, T>(Marker<'a, (M, T)>);

impl<'de, 'a, M: Mode<'de, 'a>, T: FromJson<'a>> Visitor<'de> for VecVisitor<'a, M, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(Seed::<M, T>::new())? {
            items.push(item);
        }
        Ok(items)
    }
}

// ---------------------------------------------------------------------------------
// Codecs: how a field's wire form maps to its Rust type
// ---------------------------------------------------------------------------------

/// How one field is read and written. `Plain` uses the type's own [`FromJson`] and
/// `Serialize`; the others map integer or text timestamps to `DateTime<Utc>`.
pub(crate) trait Codec<'a, T> {
    fn de<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error>;
    fn ser<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error>;
}

/// The field type's own representation.
pub(crate) enum Plain {}

impl<'a, T: FromJson<'a> + Serialize> Codec<'a, T> for Plain {
    fn de<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        T::from_json::<M, D>(deserializer)
    }

    fn ser<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

/// Integer seconds since the Unix epoch (Mailtrap's `timestamp`).
pub(crate) enum UnixSeconds {}

impl Codec<'_, DateTime<Utc>> for UnixSeconds {
    fn de<'de, M, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let secs = i64::deserialize(deserializer)?;
        DateTime::from_timestamp(secs, 0).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Signed(secs),
                &"a Unix time in seconds within chrono's range",
            )
        })
    }

    fn ser<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp())
    }
}

/// Integer milliseconds since the Unix epoch (WildDuck's `time`).
pub(crate) enum UnixMillis {}

impl Codec<'_, DateTime<Utc>> for UnixMillis {
    fn de<'de, M, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let millis = i64::deserialize(deserializer)?;
        DateTime::from_timestamp_millis(millis).ok_or_else(|| {
            de::Error::invalid_value(
                de::Unexpected::Signed(millis),
                &"a Unix time in milliseconds within chrono's range",
            )
        })
    }

    fn ser<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.timestamp_millis())
    }
}

/// An RFC 3339 text timestamp, written back with `Z` and as many fractional digits
/// as needed (0, 3, 6 or 9): `2024-01-15T10:30:05Z`.
pub(crate) enum Rfc3339 {}

impl Codec<'_, DateTime<Utc>> for Rfc3339 {
    fn de<'de, M, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        deserializer.deserialize_str(Rfc3339Visitor)
    }

    fn ser<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// JavaScript's `Date.prototype.toISOString()`: RFC 3339, always three fractional
/// digits and `Z` (`2024-01-15T10:30:05.000Z`).
pub(crate) enum IsoMillis {}

impl Codec<'_, DateTime<Utc>> for IsoMillis {
    fn de<'de, M, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        deserializer.deserialize_str(Rfc3339Visitor)
    }

    fn ser<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

struct Rfc3339Visitor;

impl Visitor<'_> for Rfc3339Visitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date-time such as \"2024-01-15T10:30:05Z\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DateTime::parse_from_rfc3339(v)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|err| {
                E::custom(format_args!(
                    "invalid RFC 3339 date-time {:?}: {err}",
                    Short(v)
                ))
            })
    }
}

/// At most 64 characters of a value, for an error message: `{:?}` quotes it, `{}`
/// does not.
pub(crate) struct Short<'s>(pub(crate) &'s str);

impl Short<'_> {
    fn parts(&self) -> (&str, &str) {
        match self.0.char_indices().nth(64) {
            Some((at, _)) => (&self.0[..at], "…"),
            None => (self.0, ""),
        }
    }
}

impl fmt::Debug for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, more) = self.parts();
        write!(f, "{head:?}{more}")
    }
}

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, more) = self.parts();
        write!(f, "{head}{more}")
    }
}

/// Serializes `value` through codec `C`.
pub(crate) struct With<'v, 'a, C, T>(&'v T, Marker<'a, C>);

impl<'v, C, T> With<'v, '_, C, T> {
    pub(crate) fn new(value: &'v T) -> Self {
        Self(value, PhantomData)
    }
}

impl<'a, C: Codec<'a, T>, T> Serialize for With<'_, 'a, C, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        C::ser(self.0, serializer)
    }
}

/// Reads an optional field: `null` is `None`.
pub(crate) fn de_optional<'de, 'a, M: Mode<'de, 'a>, C: Codec<'a, T>, T, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_option(OptionVisitor::<M, C, T>(PhantomData))
}

struct OptionVisitor<'a, M, C, T>(Marker<'a, (M, C, T)>);

impl<'de, 'a, M: Mode<'de, 'a>, C: Codec<'a, T>, T> Visitor<'de> for OptionVisitor<'a, M, C, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        C::de::<M, D>(deserializer).map(Some)
    }
}

// ---------------------------------------------------------------------------------
// Owned copies
// ---------------------------------------------------------------------------------

/// Turns a borrowed value into its `'static` twin by copying what it borrows.
pub(crate) trait IntoStatic {
    type Static: 'static;
    fn into_static(self) -> Self::Static;
}

impl IntoStatic for Cow<'_, str> {
    type Static = Cow<'static, str>;

    fn into_static(self) -> Self::Static {
        Cow::Owned(self.into_owned())
    }
}

impl IntoStatic for RawJson<'_> {
    type Static = RawJson<'static>;

    fn into_static(self) -> Self::Static {
        self.into_owned()
    }
}

impl<T: IntoStatic> IntoStatic for Option<T> {
    type Static = Option<T::Static>;

    fn into_static(self) -> Self::Static {
        self.map(T::into_static)
    }
}

impl<T: IntoStatic> IntoStatic for Vec<T> {
    type Static = Vec<T::Static>;

    fn into_static(self) -> Self::Static {
        self.into_iter().map(T::into_static).collect()
    }
}

macro_rules! into_static_is_identity {
    ($($ty:ty),*) => {$(
        impl IntoStatic for $ty {
            type Static = $ty;

            fn into_static(self) -> Self::Static {
                self
            }
        }
    )*};
}

into_static_is_identity!(bool, u16, u32, u64, i64, DateTime<Utc>);

// ---------------------------------------------------------------------------------
// Objects: key order, the visitor, and the macro that generates the models
// ---------------------------------------------------------------------------------

/// The order in which an object's known keys arrived, and which of its optional
/// fields were an explicit `null` (kept so that serializing writes them back).
/// `N` is the number of known keys (at most 64).
#[derive(Clone, Copy)]
pub(crate) struct Layout<const N: usize> {
    order: [u8; N],
    len: u8,
    seen: u64,
    nulls: u64,
}

impl<const N: usize> Layout<N> {
    pub(crate) const fn new() -> Self {
        assert!(N <= 64, "a model has at most 64 known keys");
        Self {
            order: [0; N],
            len: 0,
            seen: 0,
            nulls: 0,
        }
    }

    /// Records known key `idx`; `false` when it was already seen (a duplicate key).
    pub(crate) fn push(&mut self, idx: u8, null: bool) -> bool {
        let bit = 1u64 << idx;
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        if null {
            self.nulls |= bit;
        }
        self.order[usize::from(self.len)] = idx;
        self.len += 1;
        true
    }

    pub(crate) fn seen(&self, idx: u8) -> bool {
        self.seen & (1u64 << idx) != 0
    }

    /// Keys recorded so far (the ordinal of the next key, counting unknown ones is
    /// the caller's job).
    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Writes the object's entries: known keys (through `field`, which writes
    /// nothing for an absent optional field) and unknown ones interleaved in the
    /// order they were received, then any field set after parsing, in declaration
    /// order.
    pub(crate) fn write<M: SerializeMap>(
        &self,
        unknown: &UnknownFields<'_>,
        map: &mut M,
        mut field: impl FnMut(&mut M, u8, bool) -> Result<(), M::Error>,
    ) -> Result<(), M::Error> {
        let mut cursor = 0;
        for (position, &idx) in self.order[..usize::from(self.len)].iter().enumerate() {
            // First the unknown entries received before this known key.
            unknown.write_until(&mut cursor, Some(position), map)?;
            let bit = 1u64 << idx;
            field(map, idx, self.nulls & bit != 0)?;
        }
        unknown.write_until(&mut cursor, None, map)?;
        for idx in 0..N as u8 {
            if !self.seen(idx) {
                field(map, idx, false)?;
            }
        }
        Ok(())
    }
}

/// A key of an object being read: one the model knows (by index) or not.
pub(crate) enum Key<'a> {
    Known(u8),
    Unknown(Cow<'a, str>),
}

/// Reads a key and looks it up with `index`.
pub(crate) struct KeySeed<'a, M> {
    index: fn(&str) -> Option<u8>,
    mode: Marker<'a, M>,
}

impl<M> KeySeed<'_, M> {
    pub(crate) fn new(index: fn(&str) -> Option<u8>) -> Self {
        Self {
            index,
            mode: PhantomData,
        }
    }
}

impl<'de, 'a, M: Mode<'de, 'a>> DeserializeSeed<'de> for KeySeed<'a, M> {
    type Value = Key<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'a>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for KeySeed<'a, M> {
    type Value = Key<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'a>, E> {
        Ok(match (self.index)(v) {
            Some(idx) => Key::Known(idx),
            None => Key::Unknown(M::keep(v)),
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'a>, E> {
        Ok(match (self.index)(v) {
            Some(idx) => Key::Known(idx),
            None => Key::Unknown(Cow::Owned(v.to_owned())),
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'a>, E> {
        Ok(match (self.index)(&v) {
            Some(idx) => Key::Known(idx),
            None => Key::Unknown(Cow::Owned(v)),
        })
    }
}

/// Accumulates one object's fields while its entries are read.
pub(crate) trait Builder<'a>: Sized {
    type Output;
    /// What the visitor expects, for error messages.
    const EXPECTING: &'static str;

    fn new() -> Self;
    /// The index of a known key.
    fn index(key: &str) -> Option<u8>;
    /// Reads the value of known key `idx`.
    fn accept<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        &mut self,
        idx: u8,
        value: D,
    ) -> Result<(), D::Error>;
    /// Keeps an unknown key.
    fn unknown(&mut self, key: Cow<'a, str>, value: RawJson<'a>);
    /// Whether known key `idx` was already read.
    fn seen(&self, idx: u8) -> bool;
    /// Records known key `idx` as read, for a field a caller set directly.
    fn record(&mut self, idx: u8);
    /// Checks that every required field is there.
    fn finish<E: de::Error>(self) -> Result<Self::Output, E>;
}

/// Reads the remaining entries of `map` into `builder`.
pub(crate) fn visit_entries<'de, 'a, M: Mode<'de, 'a>, B: Builder<'a>, A: MapAccess<'de>>(
    builder: &mut B,
    map: &mut A,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(KeySeed::<M>::new(B::index))? {
        match key {
            Key::Known(idx) => map.next_value_seed(AcceptSeed::<M, B> {
                builder,
                idx,
                mode: PhantomData,
            })?,
            Key::Unknown(key) => {
                let value = map.next_value_seed(Seed::<M, RawJson<'a>>::new())?;
                builder.unknown(key, value);
            }
        }
    }
    Ok(())
}

/// Feeds `builder` one entry whose value is raw JSON text (a replayed entry). The
/// text is a temporary, so strings are copied.
pub(crate) fn replay<'a, B: Builder<'a>, E: de::Error>(
    builder: &mut B,
    key: Cow<'a, str>,
    value: RawJson<'a>,
) -> Result<(), E> {
    match B::index(&key) {
        Some(idx) => {
            let mut de = serde_json::Deserializer::from_str(value.get());
            builder.accept::<CopyMode, _>(idx, &mut de).map_err(|err| {
                E::custom(format_args!(
                    "`{key}`: {}",
                    crate::events::json::detail(&err)
                ))
            })
        }
        None => {
            builder.unknown(key, value);
            Ok(())
        }
    }
}

struct AcceptSeed<'b, 'a, M, B> {
    builder: &'b mut B,
    idx: u8,
    mode: Marker<'a, M>,
}

impl<'de, 'a, M: Mode<'de, 'a>, B: Builder<'a>> DeserializeSeed<'de> for AcceptSeed<'_, 'a, M, B> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.builder.accept::<M, D>(self.idx, deserializer)
    }
}

/// Visits one object with builder `B`.
pub(crate) struct ObjectVisitor<'a, M, B>(Marker<'a, (M, B)>);

impl<M, B> ObjectVisitor<'_, M, B> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, 'a, M: Mode<'de, 'a>, B: Builder<'a>> Visitor<'de> for ObjectVisitor<'a, M, B> {
    type Value = B::Output;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(B::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<B::Output, A::Error> {
        let mut builder = B::new();
        visit_entries::<M, B, A>(&mut builder, &mut map)?;
        builder.finish()
    }
}

/// Generates a model struct over a JSON object: public typed fields, the unknown
/// keys, the key order, and its `FromJson`, `Deserialize` (copying), `Serialize`
/// (order-preserving), `Debug`, `PartialEq`, `new` and `into_owned`.
///
/// Required fields come first and are the arguments of `new`; optional fields are
/// `Option`s. Each field names its codec (`Plain` for the type's own format).
macro_rules! json_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<'a> ($count:ident, $builder_vis:vis $builder:ident, $expecting:literal) {
            required {
                $( $(#[$rmeta:meta])* $rfield:ident : $rty:ty as $rcodec:ty = $rkey:literal, )*
            }
            optional {
                $( $(#[$ometa:meta])* $ofield:ident : $oty:ty as $ocodec:ty = $okey:literal, )*
            }
        }
    ) => {
        const $count: usize = [$($rkey,)* $($okey,)*].len();

        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name<'a> {
            $( $(#[$rmeta])* pub $rfield: $rty, )*
            $( $(#[$ometa])* pub $ofield: ::std::option::Option<$oty>, )*
            /// Keys this model does not know, with their raw values, in the order
            /// received. Serializing writes them back in place.
            pub unknown: $crate::events::fields::UnknownFields<'a>,
            layout: $crate::events::fields::Layout<$count>,
        }

        impl<'a> $name<'a> {
            /// A value with the required fields set and every optional one absent.
            #[allow(clippy::too_many_arguments, clippy::new_without_default)]
            pub fn new($($rfield: $rty),*) -> Self {
                Self {
                    $( $rfield, )*
                    $( $ofield: None, )*
                    unknown: ::std::default::Default::default(),
                    layout: $crate::events::fields::Layout::new(),
                }
            }

            /// Copies whatever borrows from the body, giving the owned (`'static`) form.
            pub fn into_owned(self) -> $name<'static> {
                use $crate::events::fields::IntoStatic as _;
                $name {
                    $( $rfield: self.$rfield.into_static(), )*
                    $( $ofield: self.$ofield.into_static(), )*
                    unknown: self.unknown.into_owned(),
                    layout: self.layout,
                }
            }

            #[allow(non_camel_case_types, clippy::enum_variant_names)]
            fn write_field<M: ::serde::ser::SerializeMap>(
                &self,
                map: &mut M,
                idx: u8,
                null: bool,
            ) -> ::std::result::Result<(), M::Error> {
                use $crate::events::fields::With;
                enum F { $($rfield,)* $($ofield,)* }
                $(
                    if idx == F::$rfield as u8 {
                        return map.serialize_entry($rkey, &With::<$rcodec, $rty>::new(&self.$rfield));
                    }
                )*
                $(
                    if idx == F::$ofield as u8 {
                        return match &self.$ofield {
                            Some(value) => map.serialize_entry($okey, &With::<$ocodec, $oty>::new(value)),
                            None if null => map.serialize_entry($okey, &()),
                            None => Ok(()),
                        };
                    }
                )*
                let _ = null;
                Ok(())
            }
        }

        impl $crate::events::fields::IntoStatic for $name<'_> {
            type Static = $name<'static>;

            fn into_static(self) -> $name<'static> {
                self.into_owned()
            }
        }

        $builder_vis struct $builder<'a> {
            $( $rfield: ::std::option::Option<$rty>, )*
            $( $ofield: ::std::option::Option<$oty>, )*
            unknown: $crate::events::fields::UnknownFields<'a>,
            layout: $crate::events::fields::Layout<$count>,
        }

        #[allow(non_camel_case_types, clippy::enum_variant_names)]
        impl<'a> $crate::events::fields::Builder<'a> for $builder<'a> {
            type Output = $name<'a>;
            const EXPECTING: &'static str = $expecting;

            fn new() -> Self {
                Self {
                    $( $rfield: None, )*
                    $( $ofield: None, )*
                    unknown: ::std::default::Default::default(),
                    layout: $crate::events::fields::Layout::new(),
                }
            }

            fn index(key: &str) -> ::std::option::Option<u8> {
                enum F { $($rfield,)* $($ofield,)* }
                match key {
                    $( $rkey => Some(F::$rfield as u8), )*
                    $( $okey => Some(F::$ofield as u8), )*
                    _ => None,
                }
            }

            fn accept<'de, M, D>(&mut self, idx: u8, value: D) -> ::std::result::Result<(), D::Error>
            where
                M: $crate::events::fields::Mode<'de, 'a>,
                D: ::serde::Deserializer<'de>,
            {
                enum F { $($rfield,)* $($ofield,)* }
                const KEYS: [&str; $count] = [$($rkey,)* $($okey,)*];
                if self.layout.seen(idx) {
                    return Err(::serde::de::Error::duplicate_field(KEYS[usize::from(idx)]));
                }
                $(
                    if idx == F::$rfield as u8 {
                        self.$rfield = Some(<$rcodec as $crate::events::fields::Codec<'a, $rty>>::de::<M, D>(value)?);
                        self.layout.push(idx, false);
                        return Ok(());
                    }
                )*
                $(
                    if idx == F::$ofield as u8 {
                        let read = $crate::events::fields::de_optional::<M, $ocodec, $oty, D>(value)?;
                        self.layout.push(idx, read.is_none());
                        self.$ofield = read;
                        return Ok(());
                    }
                )*
                let _ = value;
                Ok(())
            }

            fn unknown(&mut self, key: ::std::borrow::Cow<'a, str>, value: $crate::events::fields::RawJson<'a>) {
                let ordinal = self.layout.len() + self.unknown.len();
                self.unknown.push_at(key, value, ordinal);
            }

            fn seen(&self, idx: u8) -> bool {
                self.layout.seen(idx)
            }

            fn record(&mut self, idx: u8) {
                self.layout.push(idx, false);
            }

            fn finish<E: ::serde::de::Error>(self) -> ::std::result::Result<$name<'a>, E> {
                Ok($name {
                    $( $rfield: self.$rfield.ok_or_else(|| E::missing_field($rkey))?, )*
                    $( $ofield: self.$ofield, )*
                    unknown: self.unknown,
                    layout: self.layout,
                })
            }
        }

        impl<'a> $crate::events::fields::FromJson<'a> for $name<'a> {
            fn from_json<'de, M, D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                M: $crate::events::fields::Mode<'de, 'a>,
                D: ::serde::Deserializer<'de>,
            {
                deserializer.deserialize_map(
                    $crate::events::fields::ObjectVisitor::<M, $builder<'a>>::new(),
                )
            }
        }

        /// Copies every string, so that the `'static` form is `DeserializeOwned`;
        /// the zero-copy path is [`BorrowedPayload`](crate::BorrowedPayload).
        impl<'de, 'a> ::serde::Deserialize<'de> for $name<'a> {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                <Self as $crate::events::fields::FromJson<'a>>::from_json::<
                    $crate::events::fields::CopyMode,
                    D,
                >(deserializer)
            }
        }

        /// Writes the keys in the order they were received (unknown ones included),
        /// then any field set after parsing.
        impl ::serde::Serialize for $name<'_> {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                self.layout.write(&self.unknown, &mut map, |map, idx, null| self.write_field(map, idx, null))?;
                map.end()
            }
        }

        impl ::std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut out = f.debug_struct(stringify!($name));
                $( out.field(stringify!($rfield), &self.$rfield); )*
                $(
                    if let Some(value) = &self.$ofield {
                        out.field(stringify!($ofield), value);
                    }
                )*
                if !self.unknown.is_empty() {
                    out.field("unknown", &self.unknown);
                }
                out.finish()
            }
        }

        /// Compares the fields and the unknown keys; the order keys arrived in is
        /// presentation, not content, and is ignored.
        impl ::std::cmp::PartialEq for $name<'_> {
            fn eq(&self, other: &Self) -> bool {
                true $( && self.$rfield == other.$rfield )* $( && self.$ofield == other.$ofield )*
                    && self.unknown == other.unknown
            }
        }

        impl ::std::cmp::Eq for $name<'_> {}
    };
}

pub(crate) use json_object;

/// Generates an enum over a string field with known names and an `Unknown`
/// fallback that keeps the spelling received.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident<'a> {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name<'a> {
            $( $(#[$vmeta])* $variant, )*
            /// A name this version does not know, spelled as received. Known names
            /// never land here when parsed (build values with `from_name`).
            Unknown(::std::borrow::Cow<'a, str>),
        }

        impl<'a> $name<'a> {
            /// Every known name, as sent on the wire.
            pub const KNOWN: &'static [&'static str] = &[$($wire),*];

            /// The variant for a wire name: a known variant, or `Unknown`.
            pub fn from_name(name: impl Into<::std::borrow::Cow<'a, str>>) -> Self {
                let name = name.into();
                Self::known(&name).unwrap_or(Self::Unknown(name))
            }

            fn known(name: &str) -> ::std::option::Option<Self> {
                match name {
                    $( $wire => Some(Self::$variant), )*
                    _ => None,
                }
            }

            /// The wire name.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(name) => name,
                }
            }

            /// Whether this is one of the known names.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            /// The owned (`'static`) form.
            pub fn into_owned(self) -> $name<'static> {
                match self {
                    $( Self::$variant => $name::$variant, )*
                    Self::Unknown(name) => $name::Unknown(::std::borrow::Cow::Owned(name.into_owned())),
                }
            }
        }

        impl<'a> ::std::convert::From<&'a str> for $name<'a> {
            fn from(name: &'a str) -> Self {
                Self::from_name(name)
            }
        }

        impl ::std::fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name<'_> {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'a> $crate::events::fields::FromJson<'a> for $name<'a> {
            fn from_json<'de, M, D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                M: $crate::events::fields::Mode<'de, 'a>,
                D: ::serde::Deserializer<'de>,
            {
                struct V<'a, M>($crate::events::fields::Marker<'a, M>);

                impl<'de, 'a, M: $crate::events::fields::Mode<'de, 'a>> ::serde::de::Visitor<'de> for V<'a, M> {
                    type Value = $name<'a>;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }

                    fn visit_borrowed_str<E: ::serde::de::Error>(self, v: &'de str) -> ::std::result::Result<Self::Value, E> {
                        Ok($name::known(v).unwrap_or_else(|| $name::Unknown(M::keep(v))))
                    }

                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> ::std::result::Result<Self::Value, E> {
                        Ok($name::known(v).unwrap_or_else(|| $name::Unknown(::std::borrow::Cow::Owned(v.to_owned()))))
                    }
                }

                deserializer.deserialize_str(V::<M>(::std::marker::PhantomData))
            }
        }

        impl<'de, 'a> ::serde::Deserialize<'de> for $name<'a> {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                <Self as $crate::events::fields::FromJson<'a>>::from_json::<
                    $crate::events::fields::CopyMode,
                    D,
                >(deserializer)
            }
        }

        impl $crate::events::fields::IntoStatic for $name<'_> {
            type Static = $name<'static>;

            fn into_static(self) -> $name<'static> {
                self.into_owned()
            }
        }
    };
}

pub(crate) use string_enum;

#[cfg(test)]
#[allow(unreachable_pub)] // the macro makes its model `pub`, as for real models
mod tests {
    use super::*;

    json_object! {
        /// A test object.
        pub struct Probe<'a> (PROBE_FIELDS, ProbeBuilder, "a probe") {
            required {
                /// Required.
                id: Cow<'a, str> as Plain = "id",
            }
            optional {
                /// Optional text.
                name: Cow<'a, str> as Plain = "name",
                /// Optional time.
                at: DateTime<Utc> as UnixSeconds = "at",
            }
        }
    }

    fn probe(body: &str) -> Probe<'_> {
        parse_borrowed(body.as_bytes()).unwrap()
    }

    fn text(probe: &Probe<'_>) -> String {
        serde_json::to_string(probe).unwrap()
    }

    #[test]
    fn keys_come_back_in_the_order_received() {
        for body in [
            r#"{"id":"1"}"#,
            r#"{"u":0,"id":"1"}"#,
            r#"{"at":5,"u1":[1],"name":"n","u2":{},"u3":null,"id":"1","u4":"x"}"#,
            r#"{"u1":1,"u2":2,"id":"1","name":null,"at":null}"#,
        ] {
            assert_eq!(text(&probe(body)), body);
        }
    }

    #[test]
    fn edits_after_parsing_keep_the_other_keys_in_place() {
        let body = r#"{"u1":1,"id":"1","u2":2,"u3":3,"name":"n","u4":4}"#;
        let mut edited = probe(body);
        assert_eq!(edited.unknown.remove("u1").unwrap().get(), "1");
        assert_eq!(
            text(&edited),
            r#"{"id":"1","u2":2,"u3":3,"name":"n","u4":4}"#
        );
        assert!(edited.unknown.remove("u3").is_some());
        assert_eq!(text(&edited), r#"{"id":"1","u2":2,"name":"n","u4":4}"#);
        let old = edited
            .unknown
            .insert("u2", RawJson::from_value(&[7]).unwrap());
        assert_eq!(old.unwrap().get(), "2");
        edited
            .unknown
            .insert("new", RawJson::from_value("v").unwrap());
        edited.at = Some(DateTime::from_timestamp(9, 0).unwrap());
        edited.name = None;
        assert_eq!(
            text(&edited),
            r#"{"id":"1","u2":[7],"u4":4,"new":"v","at":9}"#
        );
        assert_eq!(edited.unknown.remove("missing"), None);
    }

    #[test]
    fn nulls_are_kept_until_a_value_replaces_them() {
        let mut parsed = probe(r#"{"name":null,"id":"1"}"#);
        assert_eq!(parsed.name, None);
        assert_eq!(text(&parsed), r#"{"name":null,"id":"1"}"#);
        parsed.name = Some("x".into());
        assert_eq!(text(&parsed), r#"{"name":"x","id":"1"}"#);
    }

    #[test]
    fn duplicates_and_missing_fields_are_errors() {
        let err = parse_borrowed::<Probe<'_>>(br#"{"id":"1","name":"a","name":"b"}"#).unwrap_err();
        assert!(
            matches!(err, crate::ParseError::UnexpectedShape { ref detail, .. } if detail == "duplicate field `name`"),
            "{err:?}"
        );
        let err = parse_borrowed::<Probe<'_>>(br#"{"name":"a"}"#).unwrap_err();
        assert!(
            matches!(err, crate::ParseError::UnexpectedShape { ref detail, .. } if detail == "missing field `id`"),
            "{err:?}"
        );
        // Unknown keys may repeat: they are kept as received.
        let body = r#"{"id":"1","x":1,"x":2}"#;
        assert_eq!(text(&probe(body)), body);
    }

    #[test]
    fn borrowing_and_copying_modes() {
        let body = r#"{"id":"1","u":{"a":[true]}}"#;
        let borrowed = probe(body);
        assert!(matches!(borrowed.id, Cow::Borrowed(_)));
        assert!(borrowed.unknown.get("u").unwrap().is_borrowed());
        let owned = borrowed.clone().into_owned();
        assert!(matches!(owned.id, Cow::Owned(_)));
        assert!(!owned.unknown.get("u").unwrap().is_borrowed());
        assert_eq!(owned, borrowed);
        let copied: Probe<'static> = serde_json::from_reader(body.as_bytes()).unwrap();
        assert_eq!(copied, borrowed);
        assert_eq!(text(&copied), body);
        assert_eq!(
            format!("{copied:?}"),
            r#"Probe { id: "1", unknown: {"u": {"a":[true]}} }"#
        );
    }

    #[test]
    fn constructed_values_use_declaration_order() {
        let mut built = Probe::new("1".into());
        built.at = Some(DateTime::from_timestamp(3, 0).unwrap());
        built.unknown.insert("z", RawJson::from_value(&0).unwrap());
        built.name = Some("n".into());
        assert_eq!(text(&built), r#"{"z":0,"id":"1","name":"n","at":3}"#);
    }

    #[test]
    fn short_quotes_at_most_64_characters() {
        let long = "é".repeat(70);
        assert_eq!(
            format!("{:?}", Short(&long)),
            format!("{:?}…", "é".repeat(64))
        );
        assert_eq!(format!("{}", Short("ab")), "ab");
    }
}
