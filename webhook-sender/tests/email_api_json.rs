//! Property: an email-API body is exactly what JavaScript's
//! `JSON.stringify(JSON.parse(body))` gives back, so the email-API seed's Node example
//! (which verifies the HMAC over `JSON.stringify(req.body)`) accepts this sender's
//! requests.
//!
//! The comparison does not use `serde_json` to write the expected bytes (that would
//! compare `serde_json` with itself): the body is parsed into an order-preserving tree
//! with `JSON.parse`'s semantics (a repeated key keeps its first position and its last
//! value), and written back by an independent implementation of ECMA-262's
//! `JSON.stringify` (`SerializeJSONObject`, `QuoteJSONString`). `serde_json`'s
//! `preserve_order` feature is not used: turning it on in dev-dependencies would also
//! change how webhook-core's own maps behave in this test build.
//!
//! Inputs are arbitrary strings (any Unicode scalar value, control characters, quotes,
//! backslashes, `/`, U+2028/U+2029, emoji) in every string of the event, nested
//! arrays and objects in extra `data` keys, and integers within ±(2^53 − 1).
//! Out of scope, by construction: lone surrogates (`JSON.stringify` writes `\udXXX`;
//! a Rust string cannot hold one) and non-integer or larger numbers, which JavaScript
//! formats differently (`1e+21`) or cannot hold exactly; the format's module docs say
//! so.

use chrono::DateTime;
use proptest::prelude::*;
use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{MapAccess, SeqAccess, Visitor},
    ser::{SerializeMap, SerializeSeq},
};
use webhook_core::{
    MediaType, ParseContext, Scheme,
    events::{RawJson, parse_unverified},
    senders::email_api::{
        BounceCode, BounceType, EmailApiEventType, EmailApiPayload, EmailData, Recipients,
    },
};
use webhook_sender::{EMAIL_DATA_KEY_ORDER, EmailApiFormat, EmailApiItem, Format};

/// A JSON value as `JSON.parse` sees it: objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
enum Js {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Js>),
    Obj(Vec<(String, Js)>),
}

const MAX_SAFE: i64 = (1 << 53) - 1;

impl<'de> Deserialize<'de> for Js {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> Visitor<'de> for V {
            type Value = Js;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }

            fn visit_unit<E>(self) -> Result<Js, E> {
                Ok(Js::Null)
            }

            fn visit_bool<E>(self, v: bool) -> Result<Js, E> {
                Ok(Js::Bool(v))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Js, E> {
                if v.abs() > MAX_SAFE {
                    return Err(E::custom("integer beyond 2^53: not generated"));
                }
                Ok(Js::Int(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Js, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("integer beyond 2^53: not generated"))
                    .and_then(|v| self.visit_i64(v))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Js, E> {
                Err(E::custom("non-integer numbers are not generated"))
            }

            fn visit_str<E>(self, v: &str) -> Result<Js, E> {
                Ok(Js::Str(v.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Js, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Js::Arr(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Js, A::Error> {
                let mut entries: Vec<(String, Js)> = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Js>()? {
                    // JSON.parse: a repeated key keeps its place and takes the last value.
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(entry) => entry.1 = value,
                        None => entries.push((key, value)),
                    }
                }
                Ok(Js::Obj(entries))
            }
        }

        deserializer.deserialize_any(V)
    }
}

/// Generated values go into events through serde (as any caller's data would).
impl Serialize for Js {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Js::Null => serializer.serialize_unit(),
            Js::Bool(b) => serializer.serialize_bool(*b),
            Js::Int(i) => serializer.serialize_i64(*i),
            Js::Str(s) => serializer.serialize_str(s),
            Js::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Js::Obj(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// ECMA-262 `QuoteJSONString`.
fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Lone surrogates would be escaped too; `char` cannot be one.
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMA-262 `JSON.stringify(value)` without indentation.
fn stringify(out: &mut String, value: &Js) {
    match value {
        Js::Null => out.push_str("null"),
        Js::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // Number::toString of a safe integer: its decimal digits.
        Js::Int(i) => out.push_str(&i.to_string()),
        Js::Str(s) => quote(out, s),
        Js::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                stringify(out, item);
            }
            out.push(']');
        }
        Js::Obj(entries) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote(out, key);
                out.push(':');
                stringify(out, value);
            }
            out.push('}');
        }
    }
}

fn js_round_trip(body: &[u8]) -> (Js, String) {
    let parsed: Js = serde_json::from_slice(body).expect("JSON.parse accepts the body");
    let mut out = String::new();
    stringify(&mut out, &parsed);
    (parsed, out)
}

/// Strings that stress escaping, or anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\"\\\\/\u{7f}\u{2028}\u{2029}aé€😀 ]{0,16}",
    ]
}

fn js_value() -> impl Strategy<Value = Js> {
    let leaf = prop_oneof![
        Just(Js::Null),
        any::<bool>().prop_map(Js::Bool),
        (-MAX_SAFE..=MAX_SAFE).prop_map(Js::Int),
        text().prop_map(Js::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Js::Arr),
            prop::collection::vec((text(), inner), 0..6).prop_map(|entries| {
                // Distinct keys: a generated object is a valid JS object literal.
                let mut seen = std::collections::HashSet::new();
                Js::Obj(
                    entries
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

fn event_type() -> impl Strategy<Value = EmailApiEventType<'static>> {
    prop_oneof![
        prop::sample::select(EmailApiEventType::KNOWN).prop_map(EmailApiEventType::from_name),
        text().prop_map(EmailApiEventType::from_name),
    ]
}

prop_compose! {
    fn email_data()(
        email_id in text(),
        from in text(),
        to in prop_oneof![
            text().prop_map(|t| Recipients::One(t.into())),
            prop::collection::vec(text().prop_map(Into::into), 0..4).prop_map(Recipients::Many),
        ],
        subject in prop::option::of(text()),
        delivered_at in prop::option::of(0i64..4_102_444_800),
        bounce in prop::option::of((any::<bool>(), text(), prop::option::of(0u64..1000), text())),
        extra in prop::collection::vec((text(), js_value()), 0..5),
    ) -> EmailData<'static> {
        let mut data = EmailData::new(email_id.into(), from.into(), to);
        data.subject = subject.map(Into::into);
        data.delivered_at = delivered_at.map(|s| DateTime::from_timestamp(s, 0).unwrap());
        if let Some((hard, code, number, message)) = bounce {
            data.bounce_type = Some(if hard { BounceType::Hard } else { BounceType::Soft });
            data.bounce_code = Some(match number {
                Some(n) => BounceCode::Number(n),
                None => BounceCode::Text(code.into()),
            });
            data.bounce_message = Some(message.into());
        }
        for (key, value) in extra {
            // A documented key added again would be written twice.
            if !EMAIL_DATA_KEY_ORDER.contains(&key.as_str()) {
                data.unknown.insert(key, RawJson::from_value(&value).unwrap());
            }
        }
        data
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn body_is_what_json_stringify_of_json_parse_gives_back(
        ty in event_type(),
        data in email_data(),
        id in prop::option::of(text()),
        created in prop::option::of((0i64..4_102_444_800, prop_oneof![Just(0u32), 0u32..1_000_000_000])),
    ) {
        let mut item = EmailApiItem::new(ty, data);
        if let Some(id) = id {
            item = item.id(id);
        }
        if let Some((secs, nanos)) = created {
            item = item.created_at(DateTime::from_timestamp(secs, nanos).unwrap());
        }
        EmailApiFormat.prepare(&mut item, std::time::SystemTime::now(), Scheme::EmailApi);
        let rendered = EmailApiFormat.render(&[&item]).unwrap();
        let body = rendered.body.bytes();

        let (parsed, again) = js_round_trip(body);
        prop_assert_eq!(std::str::from_utf8(body).unwrap(), again.as_str());

        // Keys in the documented order; data's documented keys before any others.
        let Js::Obj(top) = &parsed else { panic!("not an object") };
        let keys: Vec<&str> = top.iter().map(|(k, _)| k.as_str()).collect();
        prop_assert_eq!(keys, ["id", "type", "created_at", "data"]);
        let Js::Obj(data) = &top[3].1 else { panic!("data is not an object") };
        let ranks: Vec<usize> = data
            .iter()
            .map(|(k, _)| {
                EMAIL_DATA_KEY_ORDER
                    .iter()
                    .position(|known| known == k)
                    .unwrap_or(EMAIL_DATA_KEY_ORDER.len())
            })
            .collect();
        prop_assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{:?}", ranks);

        // And webhook-core reads back the event that was sent.
        let back: EmailApiPayload<'static> =
            parse_unverified(body, ParseContext::new(MediaType::Json)).unwrap();
        prop_assert_eq!(&back, item.event());
        // Rendering again (a retry) gives the same bytes.
        let retry = EmailApiFormat.render(&[&item]).unwrap();
        prop_assert_eq!(retry.body.bytes(), body);
    }
}

#[test]
fn the_js_model_catches_what_it_must() {
    // Sanity checks of the oracle itself, so the property cannot pass vacuously.
    assert_eq!(js_round_trip(br#"{"a": 1}"#).1, r#"{"a":1}"#);
    assert_eq!(
        js_round_trip(br#"{"b":1,"a":2,"b":3}"#).1,
        r#"{"b":3,"a":2}"#
    );
    assert_eq!(js_round_trip(br#""\u00e9\/\u001F""#).1, "\"é/\\u001f\"");
    assert_eq!(js_round_trip(b"\"\\u2028\\b\"").1, "\"\u{2028}\\b\"");
}
