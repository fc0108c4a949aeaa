//! An event's `data` object: kept raw, read on demand.
//!
//! Parsing a batch keeps each `data` object as the exact bytes sent ([`Data`]), which
//! costs no more than skipping it: the batch parse stays within a plain serde struct
//! parse, re-serialization is byte-identical, and the fingerprint hashes the bytes as
//! sent. [`Data::fields`] turns it into a [`DataMap`], an ordered view of its keys
//! with typed accessors following the spec's types (exact u64 snowflakes, durations from
//! milliseconds, `…Z` timestamps, IP addresses, nested events). A call site in Stalwart
//! may put any value under any key, so every typed accessor returns `None` when the
//! value is absent or of another kind; the raw value and [`DataMap::value`] always remain.

use std::{borrow::Cow, fmt, net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, Visitor},
    ser::SerializeMap,
};
use serde_json::value::RawValue;

use super::{Key, NestedEvent, Value};
use crate::events::{
    ParseError, RawJson,
    fields::{Borrowing, IntoStatic, raw_entries},
};

/// An event's `data` object, exactly as sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Data<'a>(RawJson<'a>);

impl<'a> Data<'a> {
    pub(crate) fn from_raw(raw: RawJson<'a>) -> Self {
        Self(raw)
    }

    /// `{}`.
    pub fn empty() -> Data<'static> {
        Self::from_map(&DataMap::new())
    }

    /// Serializes a map compactly, keys in its order.
    pub fn from_map(map: &DataMap<'_>) -> Data<'static> {
        // A map of raw JSON values and string keys always serializes.
        let text = serde_json::to_string(map).unwrap_or_else(|_| "{}".to_owned());
        Data(RawJson::owned(
            RawValue::from_string(text).unwrap_or_else(|_| empty_raw()),
        ))
    }

    /// The raw JSON object.
    pub fn raw(&self) -> &RawValue {
        self.0.as_raw()
    }

    /// The raw JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// An ordered view of the keys with typed accessors.
    ///
    /// ```
    /// # use webhook_core::senders::stalwart::Data;
    /// # fn show(data: &Data<'_>) -> Result<(), webhook_core::ParseError> {
    /// let fields = data.fields()?;
    /// if let Some(ip) = fields.remote_ip() {
    ///     println!("from {ip}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn fields(&self) -> Result<DataMap<'_>, ParseError> {
        // Borrows from `self` whether the raw value is borrowed or owned: no copy.
        serde_json::from_str::<DataMap<'_>>(self.0.get()).map_err(|err| {
            ParseError::UnexpectedShape {
                path: "data".into(),
                line: err.line(),
                column: err.column(),
                detail: crate::events::json::detail(&err),
            }
        })
    }

    /// Copies the raw bytes so the data outlives the body.
    pub fn into_owned(self) -> Data<'static> {
        Data(self.0.into_owned())
    }
}

fn empty_raw() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| unreachable!("`{{}}` is JSON"))
}

impl fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// An ordered map of data keys to raw values. Duplicate keys are kept in order, and
/// lookups return the first, as Stalwart's own rule ("first occurrence wins") has it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DataMap<'a> {
    entries: Vec<(Cow<'a, str>, RawJson<'a>)>,
}

impl<'a> DataMap<'a> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn from_entries(entries: Vec<(Cow<'a, str>, RawJson<'a>)>) -> Self {
        Self { entries }
    }

    pub(crate) fn parse_cow(raw: RawJson<'a>) -> Result<Self, serde_json::Error> {
        match raw.as_borrowed() {
            Some(raw) => serde_json::from_str(raw.get()),
            None => serde_json::from_str::<DataMap<'_>>(raw.get()).map(DataMap::into_owned),
        }
    }

    /// Adds `key` unless it is already present: the first value wins, as in Stalwart,
    /// where an event's own keys come before its span's.
    ///
    /// ```
    /// use webhook_core::senders::stalwart::{DataMap, Key, Value};
    ///
    /// let mut data = DataMap::new();
    /// data.push(Key::RemoteIp, Value::from("192.0.2.99"));
    /// data.push(Key::RemoteIp, Value::from("203.0.113.7")); // span key: ignored
    /// data.push(Key::SpanId, Value::UInt(312845867907170305));
    /// assert_eq!(
    ///     serde_json::to_string(&data)?,
    ///     r#"{"remoteIp":"192.0.2.99","spanId":312845867907170305}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn push(&mut self, key: impl AsRef<str>, value: Value<'_>) -> &mut Self {
        let key = key.as_ref();
        if self.raw(key).is_none() {
            // Values always serialize (non-finite floats become null).
            let text = serde_json::to_string(&value).unwrap_or_else(|_| "null".to_owned());
            if let Ok(raw) = RawValue::from_string(text) {
                self.entries
                    .push((Cow::Owned(key.to_owned()), RawJson::owned(raw)));
            }
        }
        self
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in order, values raw.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.entries.iter().map(|(k, v)| (&**k, v.as_raw()))
    }

    /// The entries whose key is not one of the 66 known [`Key`]s.
    pub fn unknown(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.iter().filter(|(k, _)| k.parse::<Key>().is_err())
    }

    /// The raw value of `key` (first occurrence).
    pub fn raw(&self, key: impl AsRef<str>) -> Option<&RawValue> {
        let key = key.as_ref();
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_raw())
    }

    pub(crate) fn raw_cow(&self, key: &str) -> Option<RawJson<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// The value of `key`, in Stalwart's value model.
    pub fn value(&self, key: impl AsRef<str>) -> Option<Value<'_>> {
        Value::from_raw(self.raw(key)?).ok()
    }

    /// The string value of `key`.
    pub fn str(&self, key: impl AsRef<str>) -> Option<Cow<'_, str>> {
        let raw = self.raw(key)?;
        if !raw.get().starts_with('"') {
            return None;
        }
        serde_json::from_str::<Borrowing<Cow<'_, str>>>(raw.get())
            .ok()
            .map(|s| s.0)
    }

    /// The unsigned integer value of `key`, exact to 64 bits.
    pub fn u64(&self, key: impl AsRef<str>) -> Option<u64> {
        serde_json::from_str(self.raw(key)?.get()).ok()
    }

    /// The signed integer value of `key`.
    pub fn i64(&self, key: impl AsRef<str>) -> Option<i64> {
        serde_json::from_str(self.raw(key)?.get()).ok()
    }

    /// The boolean value of `key`.
    pub fn bool(&self, key: impl AsRef<str>) -> Option<bool> {
        serde_json::from_str(self.raw(key)?.get()).ok()
    }

    /// A timestamp string (`…Z`) under `key`.
    pub fn timestamp(&self, key: impl AsRef<str>) -> Option<DateTime<Utc>> {
        crate::timestamp::parse_rfc3339(&self.str(key)?)
    }

    /// A duration in milliseconds under `key`.
    pub fn duration(&self, key: impl AsRef<str>) -> Option<Duration> {
        self.u64(key).map(Duration::from_millis)
    }

    /// An IP address string under `key`.
    pub fn ip(&self, key: impl AsRef<str>) -> Option<IpAddr> {
        self.str(key)?.parse().ok()
    }

    /// A string or an array of strings under `key` (`to`, `from`, `hostname`, `details`).
    pub fn strings(&self, key: impl AsRef<str>) -> Option<Vec<Cow<'_, str>>> {
        match self.value(key)? {
            Value::String(s) => Some(vec![s]),
            Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }

    /// A number or an array of numbers under `key` (`mailboxId`, `documentId`, `uid`).
    pub fn u64s(&self, key: impl AsRef<str>) -> Option<Vec<u64>> {
        match self.value(key)? {
            Value::UInt(n) => Some(vec![n]),
            Value::Array(items) => items.iter().map(Value::as_u64).collect(),
            _ => None,
        }
    }

    /// The nested events under `key` (one, or an array of them), e.g. `result`.
    pub fn events(&self, key: impl AsRef<str>) -> Vec<NestedEvent<'_>> {
        match self.value(key) {
            Some(Value::Event(event)) => vec![*event],
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|item| match item {
                    Value::Event(event) => Some(*event),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Copies every borrowed key and value so the map outlives the body.
    pub fn into_owned(self) -> DataMap<'static> {
        DataMap {
            entries: self
                .entries
                .into_iter()
                .map(|(k, v)| (k.into_static(), v.into_owned()))
                .collect(),
        }
    }
}

/// Typed accessors for the keys most receivers read, with the spec's typical types.
macro_rules! accessors {
    ($($(#[$doc:meta])* $name:ident: $kind:ident($key:ident) -> $ty:ty;)*) => {
        impl DataMap<'_> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Option<$ty> {
                    self.$kind(Key::$key)
                }
            )*
        }
    };
}

accessors! {
    /// `accountName`: the account's login.
    account_name: str(AccountName) -> Cow<'_, str>;
    /// `accountId`: the account's numeric id.
    account_id: u64(AccountId) -> u64;
    /// `spanId`: the connection or delivery attempt the event belongs to (a u64 snowflake).
    span_id: u64(SpanId) -> u64;
    /// `queueId`: the queued message (a u64 snowflake).
    queue_id: u64(QueueId) -> u64;
    /// `queueName`.
    queue_name: str(QueueName) -> Cow<'_, str>;
    /// `listenerId`: the listener's name, e.g. `smtp`.
    listener_id: str(ListenerId) -> Cow<'_, str>;
    /// `remoteIp`.
    remote_ip: ip(RemoteIp) -> IpAddr;
    /// `localIp`.
    local_ip: ip(LocalIp) -> IpAddr;
    /// `remotePort`.
    remote_port: u64(RemotePort) -> u64;
    /// `localPort`.
    local_port: u64(LocalPort) -> u64;
    /// `elapsed`, from milliseconds.
    elapsed: duration(Elapsed) -> Duration;
    /// `from`: the sender address (`<>` for a null sender); see [`DataMap::strings`] for arrays.
    from: str(From) -> Cow<'_, str>;
    /// `to`: one recipient or several.
    to: strings(To) -> Vec<Cow<'_, str>>;
    /// `size` in bytes.
    size: u64(Size) -> u64;
    /// `total`.
    total: u64(Total) -> u64;
    /// `code`: an SMTP or HTTP status.
    code: u64(Code) -> u64;
    /// `details`.
    details: str(Details) -> Cow<'_, str>;
    /// `reason`.
    reason: str(Reason) -> Cow<'_, str>;
    /// `domain`.
    domain: str(Domain) -> Cow<'_, str>;
    /// `hostname`.
    hostname: str(Hostname) -> Cow<'_, str>;
    /// `messageId`: the Message-ID header value without `<>`.
    message_id: str(MessageId) -> Cow<'_, str>;
    /// `mailboxName`.
    mailbox_name: str(MailboxName) -> Cow<'_, str>;
    /// `mailboxId`: one or several.
    mailbox_id: u64s(MailboxId) -> Vec<u64>;
    /// `documentId`: one or several.
    document_id: u64s(DocumentId) -> Vec<u64>;
    /// `blobId`.
    blob_id: str(BlobId) -> Cow<'_, str>;
    /// `changeId`.
    change_id: u64(ChangeId) -> u64;
    /// `nextRetry`.
    next_retry: timestamp(NextRetry) -> DateTime<Utc>;
    /// `nextDsn`.
    next_dsn: timestamp(NextDsn) -> DateTime<Utc>;
    /// `expires`.
    expires: timestamp(Expires) -> DateTime<Utc>;
    /// `due`.
    due: timestamp(Due) -> DateTime<Utc>;
    /// `validFrom`.
    valid_from: timestamp(ValidFrom) -> DateTime<Utc>;
    /// `validTo`.
    valid_to: timestamp(ValidTo) -> DateTime<Utc>;
    /// `strict`.
    strict: bool(Strict) -> bool;
    /// `tls`.
    tls: bool(Tls) -> bool;
    /// `url`.
    url: str(Url) -> Cow<'_, str>;
    /// `path`.
    path: str(Path) -> Cow<'_, str>;
    /// `causedBy`: a source location string or a nested event.
    caused_by: value(CausedBy) -> Value<'_>;
    /// `result`: a nested event, several, or a string.
    result: value(Result) -> Value<'_>;
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for DataMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v.get())))
            .finish()
    }
}

impl Serialize for DataMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, value) in &self.entries {
            map.serialize_entry(&**key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for DataMap<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = DataMap<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                raw_entries(map).map(|entries| DataMap { entries })
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> DataMap<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn typed_accessors_follow_the_spec() {
        let data = map(
            r#"{"spanId":312845507532341249,"from":"bill@example.org","to":["jdoe@example.org","jane@example.net"],"nextRetry":"2025-08-21T14:00:15Z","elapsed":812,"remoteIp":"2001:db8::25","strict":false,"mailboxId":[0],"weird":{"a":1}}"#,
        );
        assert_eq!(data.span_id(), Some(312_845_507_532_341_249));
        assert_eq!(data.from().as_deref(), Some("bill@example.org"));
        assert_eq!(
            data.to().unwrap(),
            vec!["jdoe@example.org", "jane@example.net"]
        );
        assert_eq!(
            data.next_retry().unwrap().to_rfc3339(),
            "2025-08-21T14:00:15+00:00"
        );
        assert_eq!(data.elapsed(), Some(Duration::from_millis(812)));
        assert_eq!(data.remote_ip(), Some("2001:db8::25".parse().unwrap()));
        assert_eq!(data.strict(), Some(false));
        assert_eq!(data.mailbox_id(), Some(vec![0]));
        assert_eq!(
            data.unknown().map(|(k, _)| k).collect::<Vec<_>>(),
            ["weird"]
        );
        // Wrong kind → None, but the value is still there.
        assert_eq!(data.account_id(), None);
        assert_eq!(data.u64("from"), None);
        assert_eq!(data.raw("from").unwrap().get(), "\"bill@example.org\"");
    }

    #[test]
    fn keys_are_borrowed_and_first_occurrence_wins() {
        let data = map(r#"{"causedBy":"a.rs:1","causedBy":"b.rs:2","x\u0041":1}"#);
        assert_eq!(data.str("causedBy").as_deref(), Some("a.rs:1"));
        assert_eq!(data.len(), 3);
        assert!(matches!(data.entries[0].0, Cow::Borrowed(_)));
        assert!(matches!(data.entries[2].0, Cow::Owned(_)));
        assert_eq!(data.u64("xA"), Some(1));
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"causedBy":"a.rs:1","causedBy":"b.rs:2","xA":1}"#
        );
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let data = map(r#"{"details":"line\nbreak \u00e9"}"#);
        assert_eq!(data.details().as_deref(), Some("line\nbreak é"));
    }
}
