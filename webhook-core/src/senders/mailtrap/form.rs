//! Mailtrap's legacy form-data format: one event per request,
//! `event=delivery&email=…&message_id=…` (`application/x-www-form-urlencoded`).
//!
//! Every value is a string. Parsing is stricter than `form_urlencoded`, which
//! replaces undecodable input with U+FFFD and passes bad `%` escapes through: here
//! those are [`ParseError::InvalidForm`] errors naming the field, as are a repeated
//! key, a missing required field and a `timestamp` or `response_code` that is not an
//! integer.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::{self, Deserializer, Visitor, value::Error as ValueError};

use super::event::{AUDIT_LOG_PREFIX, SendingEvent, SendingEventBuilder};
use crate::events::ParseError;
use crate::events::fields::{BorrowMode, Builder, RawJson, Short};

/// Parses a form-data body into one sending event.
pub(super) fn parse(body: &[u8]) -> Result<SendingEvent<'_>, ParseError> {
    let text = std::str::from_utf8(body).map_err(|err| ParseError::NotUtf8 {
        valid_up_to: err.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(ParseError::EmptyBatch);
    }
    validate(text)?;

    let mut builder = SendingEventBuilder::new();
    // A set, not a scan of the keys kept so far: a body of n distinct unknown keys
    // (about 120 000 fit in 1 MiB) must cost O(n), not O(n²) string comparisons.
    let mut unknown_keys: HashSet<FormKey<'_>> = HashSet::new();
    for (key, value) in form_urlencoded::parse(body) {
        let known = SendingEventBuilder::index(&key).filter(|_| key != "custom_variables");
        match known {
            Some(idx) => {
                if builder.seen(idx) {
                    return Err(duplicate(&key));
                }
                if key == "event" && value.starts_with(AUDIT_LOG_PREFIX) {
                    return Err(invalid(format!(
                        "field `event`: {:?} is an audit-log event, which Mailtrap only sends as JSON",
                        Short(&value)
                    )));
                }
                builder
                    .accept::<BorrowMode, _>(idx, FormValue(value))
                    .map_err(|err| invalid(format!("field `{key}`: {err}")))?;
            }
            // `custom_variables` is an object in JSON; how the form format would
            // spell it is not documented, so it is kept as the string received.
            None => {
                if !unknown_keys.insert(FormKey(key.clone())) {
                    return Err(duplicate(&key));
                }
                // Kept, it would serialize as `{"events":…,"event":…}`: JSON that reads
                // back as a (broken) batch wrapper, not as this event.
                if key == "events" {
                    return Err(invalid(
                        "field `events`: it names the JSON batch wrapper; a form carries one event"
                            .into(),
                    ));
                }
                let value = RawJson::from_value(&*value)
                    .map_err(|err| invalid(format!("field `{key}`: {err}")))?;
                builder.unknown(key, value);
            }
        }
    }
    builder
        .finish::<ValueError>()
        .map_err(|err| invalid(err.to_string()))
}

fn invalid(detail: String) -> ParseError {
    ParseError::InvalidForm { detail }
}

fn duplicate(key: &str) -> ParseError {
    invalid(format!(
        "duplicate field `{}`: a form carries one event, each field once",
        Short(key)
    ))
}

/// Checks what `form_urlencoded` would let through silently: `%` not followed by two
/// hex digits, and percent-escapes that decode to bytes that are not UTF-8.
fn validate(text: &str) -> Result<(), ParseError> {
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        for part in [key, value] {
            if !part.contains('%') {
                continue;
            }
            let bytes = part.as_bytes();
            let mut decoded = Vec::with_capacity(bytes.len());
            let mut at = 0;
            while at < bytes.len() {
                match bytes[at] {
                    b'%' => {
                        let byte = bytes
                            .get(at + 1..at + 3)
                            .and_then(|hex| std::str::from_utf8(hex).ok())
                            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                            .ok_or_else(|| {
                                invalid(format!(
                                    "field `{}`: `%` must be followed by two hex digits",
                                    Short(key)
                                ))
                            })?;
                        decoded.push(byte);
                        at += 3;
                    }
                    b'+' => {
                        decoded.push(b' ');
                        at += 1;
                    }
                    byte => {
                        decoded.push(byte);
                        at += 1;
                    }
                }
            }
            if std::str::from_utf8(&decoded).is_err() {
                return Err(invalid(format!(
                    "field `{}`: the percent-decoded bytes are not UTF-8",
                    Short(key)
                )));
            }
        }
    }
    Ok(())
}

/// An unknown key, as the set of keys already read holds it. Its own type only so
/// that tests can count the comparisons the duplicate check makes.
#[derive(Hash)]
struct FormKey<'a>(Cow<'a, str>);

impl PartialEq for FormKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        #[cfg(test)]
        tests::COMPARISONS.with(|count| count.set(count.get() + 1));
        self.0 == other.0
    }
}

impl Eq for FormKey<'_> {}

/// One form value, read by the event's field types: a string, or an integer written
/// as a string.
struct FormValue<'a>(Cow<'a, str>);

impl FormValue<'_> {
    fn integer<T: std::str::FromStr>(&self) -> Result<T, ValueError> {
        self.0.parse().map_err(|_| {
            de::Error::custom(format_args!(
                "expected an integer, found {:?}",
                Short(&self.0)
            ))
        })
    }
}

impl<'de> Deserializer<'de> for FormValue<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Cow::Borrowed(text) => visitor.visit_borrowed_str(text),
            Cow::Owned(text) => visitor.visit_string(text),
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_i64(self.integer()?)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u16(self.integer()?)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u32(self.integer()?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u64(self.integer()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::fmt::Write as _;

    thread_local! {
        pub(super) static COMPARISONS: Cell<u64> = const { Cell::new(0) };
    }

    fn form_with_unknown_keys(count: usize) -> String {
        let mut body = String::from(
            "event=delivery&email=a%40b.example&message_id=m-1&event_id=e-1&timestamp=1700000000",
        );
        for n in 0..count {
            write!(body, "&x{n}=v").unwrap();
        }
        body
    }

    /// Issue 17.5: each unknown key was compared with every earlier one, so 20 000
    /// keys cost 199 990 000 string comparisons (2.6 s for 10 000 keys, minutes for
    /// the ~120 000 that fit in 1 MiB). The count is of work, not of time.
    #[test]
    fn distinct_unknown_keys_cost_linear_work() {
        let keys = 20_000;
        let body = form_with_unknown_keys(keys);
        COMPARISONS.with(|count| count.set(0));
        let event = super::parse(body.as_bytes()).expect("a valid form");
        let comparisons = COMPARISONS.with(Cell::get);
        assert_eq!(event.unknown.len(), keys);
        assert!(
            comparisons <= keys as u64,
            "{comparisons} key comparisons for {keys} distinct unknown keys"
        );
    }

    #[test]
    fn a_repeated_unknown_key_is_still_refused() {
        let body = format!("{}&x7=again", form_with_unknown_keys(10));
        let err = super::parse(body.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("duplicate field `x7`"), "{err}");
    }
}
