//! One Stalwart event: `{"id", "createdAt", "type", "data"}`.
//!
//! The visitor is written by hand so that parsing costs what a plain borrowed serde
//! struct costs: keys are matched without allocation, `data` is kept raw, `createdAt`
//! takes a fast path for Stalwart's fixed format. It also keeps what a derive would
//! lose: the exact `createdAt` text (Stalwart v0.8 sent fractional seconds), whether
//! the id was a JSON number (v0.8) or a string (v0.9+), and any key this version does
//! not know, in order, so that re-serializing gives back the bytes received.

use std::{borrow::Cow, fmt};

use chrono::{DateTime, Utc};
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::value::RawValue;

use super::{Data, DataMap, EventType, Fingerprint};
use crate::events::{
    ParseError, RawJson,
    cow::{BorrowRaw, CowStr, own_str},
};

/// One event of a Stalwart batch.
#[derive(Clone, PartialEq)]
pub struct WebhookEvent<'a> {
    id: Cow<'a, str>,
    id_is_number: bool,
    created_at: DateTime<Utc>,
    created_at_text: Cow<'a, str>,
    event_type: EventType,
    data: Data<'a>,
    extra: Vec<(Cow<'a, str>, RawJson<'a>)>,
    layout: Layout,
}

/// Where the keys stood in the object received, so that serializing puts them back:
/// the known keys in the order they came, each after the unknown keys that preceded it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// The known keys, in the order received.
    known: [Field; 4],
    /// For each of them, how many unknown keys came before it.
    extra_before: [usize; 4],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    CreatedAt,
    Type,
    Data,
}

impl Layout {
    /// Stalwart's own order: `id`, `createdAt`, `type`, `data`, unknown keys last.
    const STALWART: Layout = Layout {
        known: [Field::Id, Field::CreatedAt, Field::Type, Field::Data],
        extra_before: [0; 4],
    };
}

impl<'a> WebhookEvent<'a> {
    /// An event as Stalwart builds it: `created_at` is truncated to whole seconds and
    /// written `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// ```
    /// use chrono::DateTime;
    /// use webhook_core::events::stalwart::{Data, DataMap, Key, Value, WebhookEvent};
    ///
    /// let mut data = DataMap::new();
    /// data.push(Key::AccountName, Value::from("jdoe@example.org"));
    /// let event = WebhookEvent::new(
    ///     "1755784900237",
    ///     DateTime::from_timestamp(1_755_784_900, 0).unwrap(),
    ///     "auth.success".into(),
    ///     Data::from_map(&data),
    /// );
    /// assert_eq!(
    ///     serde_json::to_string(&event)?,
    ///     r#"{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(
        id: impl Into<Cow<'a, str>>,
        created_at: DateTime<Utc>,
        event_type: EventType,
        data: Data<'a>,
    ) -> Self {
        let text = crate::timestamp::format_utc_seconds(created_at);
        let created_at = crate::timestamp::parse_rfc3339(&text).unwrap_or(created_at);
        Self {
            id: id.into(),
            id_is_number: false,
            created_at,
            created_at_text: Cow::Owned(text),
            event_type,
            data,
            extra: Vec::new(),
            layout: Layout::STALWART,
        }
    }

    /// The event id: an opaque string of digits that may exceed `u64`. Not stable across
    /// retries (see [`WebhookEvent::fingerprint`]).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When Stalwart collected the event (whole seconds since v0.9).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    /// The `createdAt` text exactly as sent.
    pub fn created_at_text(&self) -> &str {
        &self.created_at_text
    }

    /// The event type.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The event's data, raw.
    pub fn data(&self) -> &Data<'a> {
        &self.data
    }

    /// The event's data as a map with typed accessors (shorthand for `data().fields()`).
    pub fn fields(&self) -> Result<DataMap<'_>, ParseError> {
        self.data.fields()
    }

    /// Keys of the event object this version does not know, in order, values raw.
    pub fn extra(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.extra.iter().map(|(k, v)| (&**k, v.as_raw()))
    }

    /// The content fingerprint: the key to deduplicate Stalwart events on. See
    /// [`Fingerprint`] for why the id cannot serve.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(
            self.event_type.as_str(),
            &self.created_at_text,
            self.data.as_str(),
        )
    }

    /// Copies every borrowed string so the event outlives the body.
    pub fn into_owned(self) -> WebhookEvent<'static> {
        WebhookEvent {
            id: own_str(self.id),
            id_is_number: self.id_is_number,
            created_at: self.created_at,
            created_at_text: own_str(self.created_at_text),
            event_type: self.event_type,
            data: self.data.into_owned(),
            extra: self
                .extra
                .into_iter()
                .map(|(k, v)| (own_str(k), v.into_owned()))
                .collect(),
            layout: self.layout,
        }
    }
}

impl fmt::Debug for WebhookEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEvent")
            .field("id", &self.id)
            .field("created_at", &self.created_at_text)
            .field("type", &self.event_type.as_str())
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl Serialize for WebhookEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4 + self.extra.len()))?;
        let mut written = 0;
        for (field, before) in self.layout.known.into_iter().zip(self.layout.extra_before) {
            for (key, value) in &self.extra[written..before] {
                map.serialize_entry(&**key, value)?;
            }
            written = before;
            match field {
                Field::Id if self.id_is_number => {
                    // Only ever set from a JSON number, so this is digits.
                    let number: &RawValue =
                        serde_json::from_str(&self.id).map_err(serde::ser::Error::custom)?;
                    map.serialize_entry("id", number)?;
                }
                Field::Id => map.serialize_entry("id", &*self.id)?,
                Field::CreatedAt => map.serialize_entry("createdAt", &*self.created_at_text)?,
                Field::Type => map.serialize_entry("type", self.event_type.as_str())?,
                Field::Data => map.serialize_entry("data", &self.data)?,
            }
        }
        for (key, value) in &self.extra[written..] {
            map.serialize_entry(&**key, value)?;
        }
        map.end()
    }
}

/// `id`: a string (v0.9+) or a number (v0.8), kept as text.
struct Id<'a>(Cow<'a, str>, bool);

impl<'de> Deserialize<'de> for Id<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = Id<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event id (string, or number for Stalwart v0.8)")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Id(Cow::Borrowed(v), false))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Id(Cow::Owned(v.to_owned()), false))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id(Cow::Owned(v.to_string()), true))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// `createdAt`: parsed where it is read, so a bad value is reported at its own path.
struct CreatedAt<'a>(Cow<'a, str>, DateTime<Utc>);

impl<'de> Deserialize<'de> for CreatedAt<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let CowStr(text) = CowStr::deserialize(deserializer)?;
        match crate::timestamp::parse_rfc3339(&text) {
            Some(at) => Ok(CreatedAt(text, at)),
            None => Err(de::Error::custom(
                "not an RFC 3339 date-time such as 2025-08-21T14:00:15Z",
            )),
        }
    }
}

/// `data`: kept raw, but it must be an object.
struct DataObject<'a>(RawJson<'a>);

impl<'de> Deserialize<'de> for DataObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let BorrowRaw(raw) = BorrowRaw::deserialize(deserializer)?;
        if raw.get().starts_with('{') {
            Ok(DataObject(raw))
        } else {
            Err(de::Error::custom("`data` must be a JSON object"))
        }
    }
}

impl<'de> Deserialize<'de> for WebhookEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = WebhookEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Stalwart event object {id, createdAt, type, data}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id: Option<Id<'de>> = None;
        let mut created_at: Option<CreatedAt<'de>> = None;
        let mut event_type: Option<EventType> = None;
        let mut data: Option<DataObject<'de>> = None;
        let mut extra = Vec::new();
        let mut layout = Layout::STALWART;
        let mut known = 0;
        while let Some(CowStr(key)) = map.next_key()? {
            let field = match &*key {
                "id" => {
                    set(&mut id, "id", map.next_value()?)?;
                    Field::Id
                }
                "createdAt" => {
                    set(&mut created_at, "createdAt", map.next_value()?)?;
                    Field::CreatedAt
                }
                "type" => {
                    set(&mut event_type, "type", map.next_value()?)?;
                    Field::Type
                }
                "data" => {
                    set(&mut data, "data", map.next_value()?)?;
                    Field::Data
                }
                _ => {
                    let BorrowRaw(value) = map.next_value()?;
                    extra.push((key, value));
                    continue;
                }
            };
            // `set` refuses repeats, so there are at most four known keys.
            layout.known[known] = field;
            layout.extra_before[known] = extra.len();
            known += 1;
        }
        let Id(id, id_is_number) = id.ok_or_else(|| de::Error::missing_field("id"))?;
        let CreatedAt(created_at_text, created_at) =
            created_at.ok_or_else(|| de::Error::missing_field("createdAt"))?;
        Ok(WebhookEvent {
            id,
            id_is_number,
            created_at,
            created_at_text,
            event_type: event_type.ok_or_else(|| de::Error::missing_field("type"))?,
            data: Data::from_raw(data.ok_or_else(|| de::Error::missing_field("data"))?.0),
            extra,
            layout,
        })
    }
}

/// Stores a field, refusing a second occurrence: two `id`s or two `data`s in one event
/// would let a receiver and an auditor read different events from the same bytes.
pub(super) fn set<T, E: de::Error>(
    slot: &mut Option<T>,
    name: &'static str,
    value: T,
) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(name));
    }
    *slot = Some(value);
    Ok(())
}
