//! Reading one typed field of an event's data in one call: [`WebhookEvent::field`].

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};

use super::{DataMap, Value, WebhookEvent};

/// A type one data value can be read as, with [`WebhookEvent::field`] or
/// [`DataMap::get`]. The conversions are those of [`DataMap`]'s accessors: strings,
/// integers exact to 64 bits, booleans, floats, `…Z` timestamps, durations from
/// milliseconds, IP addresses, and lists (a single value reads as a list of one).
pub trait FieldValue: Sized {
    /// The value of `key` as `Self`; `None` when it is absent or of another kind.
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self>;
}

impl FieldValue for String {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.str(key).map(|s| s.into_owned())
    }
}

impl FieldValue for u64 {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.u64(key)
    }
}

impl FieldValue for u32 {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.u64(key)?.try_into().ok()
    }
}

impl FieldValue for u16 {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.u64(key)?.try_into().ok()
    }
}

impl FieldValue for i64 {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.i64(key)
    }
}

impl FieldValue for f64 {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        match data.value(key)? {
            Value::Float(f) => Some(f),
            Value::UInt(n) => Some(n as f64),
            Value::Int(n) => Some(n as f64),
            _ => None,
        }
    }
}

impl FieldValue for bool {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.bool(key)
    }
}

impl FieldValue for DateTime<Utc> {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.timestamp(key)
    }
}

impl FieldValue for Duration {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.duration(key)
    }
}

impl FieldValue for IpAddr {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.ip(key)
    }
}

impl FieldValue for Vec<String> {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.strings(key)
            .map(|items| items.into_iter().map(|s| s.into_owned()).collect())
    }
}

impl FieldValue for Vec<u64> {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.u64s(key)
    }
}

impl FieldValue for Value<'static> {
    fn read(data: &DataMap<'_>, key: &str) -> Option<Self> {
        data.value(key).map(Value::into_owned)
    }
}

impl DataMap<'_> {
    /// The value of `key` as `T` (see [`FieldValue`] for the types); `None` when the
    /// key is absent or holds another kind of value.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_core::senders::stalwart::{DataMap, Key, Value};
    ///
    /// let mut data = DataMap::new();
    /// data.push(Key::Elapsed, Value::UInt(1500));
    /// assert_eq!(data.get::<Duration>(Key::Elapsed), Some(Duration::from_millis(1500)));
    /// assert_eq!(data.get::<String>(Key::Elapsed), None);
    /// ```
    pub fn get<T: FieldValue>(&self, key: impl AsRef<str>) -> Option<T> {
        T::read(self, key.as_ref())
    }
}

impl WebhookEvent<'_> {
    /// One field of the event's data, as `T`, in one call: `None` when the key is
    /// absent, holds another kind of value, or the data is not a valid object. The
    /// value is owned, so it outlives the event.
    ///
    /// Each call reads the data object again; to read many fields, take
    /// [`fields`](Self::fields) once and use its accessors or [`DataMap::get`].
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use webhook_core::senders::stalwart::{Key, WebhookEvent};
    ///
    /// let event: WebhookEvent<'_> = serde_json::from_str(
    ///     r#"{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.failure",
    ///         "data":{"accountName":"jdoe","remoteIp":"192.0.2.7","spanId":312845867907170305}}"#,
    /// )?;
    /// let account: Option<String> = event.field("accountName");
    /// assert_eq!(account.as_deref(), Some("jdoe"));
    /// assert_eq!(event.field::<IpAddr>(Key::RemoteIp), Some("192.0.2.7".parse().unwrap()));
    /// assert_eq!(event.field::<u64>(Key::SpanId), Some(312845867907170305));
    /// assert_eq!(event.field::<u64>("accountName"), None); // a string, not a number
    /// assert_eq!(event.field::<String>("missing"), None);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn field<T: FieldValue>(&self, key: impl AsRef<str>) -> Option<T> {
        T::read(&self.fields().ok()?, key.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> WebhookEvent<'static> {
        let text = format!(
            r#"{{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"delivery.delivered","data":{data}}}"#
        );
        serde_json::from_str::<WebhookEvent<'_>>(&text)
            .unwrap()
            .into_owned()
    }

    #[test]
    fn every_field_type_reads_its_kind_and_refuses_others() {
        let event = event(
            r#"{"to":["a@x","b@y"],"from":"c@z","queueId":18446744073709551615,"code":250,
                "elapsed":42,"nextRetry":"2025-08-21T15:00:00Z","tls":true,"ratio":0.5,
                "delta":-3,"mailboxId":7,"localIp":"::1","escaped":"a\"b"}"#,
        );
        assert_eq!(
            event.field::<Vec<String>>("to"),
            Some(vec!["a@x".into(), "b@y".into()])
        );
        assert_eq!(event.field::<Vec<String>>("from"), Some(vec!["c@z".into()]));
        assert_eq!(event.field::<String>("escaped").as_deref(), Some("a\"b"));
        assert_eq!(event.field::<u64>("queueId"), Some(u64::MAX));
        assert_eq!(event.field::<u32>("queueId"), None, "does not fit");
        assert_eq!(event.field::<u16>("code"), Some(250));
        assert_eq!(
            event.field::<Duration>("elapsed"),
            Some(Duration::from_millis(42))
        );
        assert_eq!(
            event
                .field::<DateTime<Utc>>("nextRetry")
                .map(|t| t.timestamp()),
            Some(1_755_788_400)
        );
        assert_eq!(event.field::<bool>("tls"), Some(true));
        assert_eq!(event.field::<f64>("ratio"), Some(0.5));
        assert_eq!(event.field::<f64>("code"), Some(250.0));
        assert_eq!(event.field::<i64>("delta"), Some(-3));
        assert_eq!(event.field::<Vec<u64>>("mailboxId"), Some(vec![7]));
        assert_eq!(
            event.field::<IpAddr>("localIp"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(
            event.field::<Value<'static>>("code"),
            Some(Value::UInt(250))
        );
        // Wrong kinds and absent keys are None, never a panic or a coercion.
        assert_eq!(event.field::<String>("code"), None);
        assert_eq!(event.field::<bool>("from"), None);
        assert_eq!(event.field::<IpAddr>("from"), None);
        assert_eq!(event.field::<DateTime<Utc>>("from"), None);
        assert_eq!(event.field::<u64>("delta"), None);
        assert_eq!(event.field::<String>("nope"), None);
    }

    #[test]
    fn the_first_occurrence_of_a_repeated_key_wins() {
        let event = event(r#"{"remoteIp":"192.0.2.1","remoteIp":"192.0.2.2"}"#);
        assert_eq!(
            event.field::<IpAddr>("remoteIp"),
            Some("192.0.2.1".parse().unwrap())
        );
    }
}
