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
    ParseError, RawJson, UnknownFields,
    fields::{Borrowing, IntoStatic},
};

/// One event of a Stalwart batch.
//
// Kept within 128 bytes: a batch parse moves each event several times (out of the
// visitor, into the `Vec`), and x86-64 inlines moves up to that size where larger ones
// call `memcpy`. Hence the unknown keys behind one pointer, `None` in the events
// Stalwart sends.
#[derive(Clone, PartialEq)]
pub struct WebhookEvent<'a> {
    id: Cow<'a, str>,
    created_at_text: Cow<'a, str>,
    event_type: EventType,
    data: Data<'a>,
    /// Keys this version does not know, where they stood; `None` when there are none.
    extra: Option<Box<UnknownFields<'a>>>,
    created_at: DateTime<Utc>,
    /// The known keys in the order received, so that serializing puts them back.
    order: [Field; 4],
    id_is_number: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    CreatedAt,
    Type,
    Data,
}

/// Stalwart's own order: `id`, `createdAt`, `type`, `data`.
const STALWART_ORDER: [Field; 4] = [Field::Id, Field::CreatedAt, Field::Type, Field::Data];

impl<'a> WebhookEvent<'a> {
    /// An event as Stalwart builds it: `created_at` is truncated to whole seconds and
    /// written `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// ```
    /// use chrono::DateTime;
    /// use webhook_core::senders::stalwart::{Data, DataMap, Key, Value, WebhookEvent};
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
            extra: None,
            order: STALWART_ORDER,
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
        self.extra
            .iter()
            .flat_map(|extra| extra.iter())
            .map(|(k, v)| (k, v.as_raw()))
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
            id: self.id.into_static(),
            id_is_number: self.id_is_number,
            created_at: self.created_at,
            created_at_text: self.created_at_text.into_static(),
            event_type: self.event_type,
            data: self.data.into_owned(),
            extra: self.extra.map(|extra| Box::new(extra.into_owned())),
            order: self.order,
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
        let empty = UnknownFields::default();
        let extra = self.extra.as_deref().unwrap_or(&empty);
        let mut map = serializer.serialize_map(Some(4 + extra.len()))?;
        let mut cursor = 0;
        for (position, field) in self.order.into_iter().enumerate() {
            extra.write_until(&mut cursor, Some(position), &mut map)?;
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
        extra.write_until(&mut cursor, None, &mut map)?;
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
        let Borrowing::<Cow<'de, str>>(text) = Borrowing::deserialize(deserializer)?;
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
        let Borrowing::<RawJson<'de>>(raw) = Borrowing::deserialize(deserializer)?;
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
        let mut extra = UnknownFields::default();
        let mut order = STALWART_ORDER;
        let mut known = 0;
        while let Some(Borrowing::<Cow<'de, str>>(key)) = map.next_key()? {
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
                    let Borrowing(value) = map.next_value()?;
                    extra.push_at(key, value, known + extra.len());
                    continue;
                }
            };
            // `set` refuses repeats, so there are at most four known keys.
            order[known] = field;
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
            extra: (!extra.is_empty()).then(|| Box::new(extra)),
            order,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_small_enough_to_move_inline() {
        assert!(std::mem::size_of::<WebhookEvent<'_>>() <= 128);
    }

    #[test]
    fn unknown_keys_keep_their_places() {
        let text = r#"{"x":1,"type":"auth.success","id":"1","y":[2],"createdAt":"2025-08-21T14:01:40Z","data":{},"z":null}"#;
        let event: WebhookEvent<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(event.extra().count(), 3);
        assert_eq!(serde_json::to_string(&event).unwrap(), text);
        let owned = event.clone().into_owned();
        assert_eq!(owned, event);
        assert_eq!(serde_json::to_string(&owned).unwrap(), text);
        let plain: WebhookEvent<'_> = serde_json::from_str(
            r#"{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}"#,
        )
        .unwrap();
        assert!(plain.extra.is_none());
    }
}
