//! Inputs found by the fuzz targets in `fuzz/` (kept in `fuzz/regressions/`), as plain
//! tests, so `cargo test` keeps them fixed without a fuzzer.

use webhook_core::{
    MediaType, ParseContext, StalwartEvents,
    events::{parse_unverified, parse_unverified_borrowed},
    senders::stalwart::WebhookEvents,
};

fn round_trip(body: &[u8]) {
    let context = ParseContext::new(MediaType::Json);
    let batch: WebhookEvents<'_> = parse_unverified_borrowed(body, context).unwrap();
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&batch).unwrap()).unwrap(),
        std::str::from_utf8(body).unwrap(),
        "borrowed"
    );
    let owned: StalwartEvents = parse_unverified(body, context).unwrap();
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&owned).unwrap()).unwrap(),
        std::str::from_utf8(body).unwrap(),
        "owned"
    );
}

/// body_stalwart: an unknown event key before `data` was written back after it, so
/// re-serializing changed the bytes (the docs promise the bytes received).
#[test]
fn stalwart_unknown_key_between_known_keys_keeps_its_place() {
    round_trip(include_bytes!(
        "../../fuzz/regressions/body_stalwart/key-order-unknown-before-data.json"
    ));
    round_trip(
        br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","text":"new in a later Stalwart","data":{}}]}"#,
    );
}

/// The same for known keys in another order, and for a top-level key before `events`.
#[test]
fn stalwart_key_order_is_kept_at_every_level() {
    round_trip(
        br#"{"events":[{"x":0,"data":{"a":1},"type":"auth.success","y":[],"createdAt":"2025-08-21T14:00:15Z","id":7,"z":null}]}"#,
    );
    round_trip(
        br#"{"version":2,"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","data":{}}],"more":true}"#,
    );
}

mod mailtrap {
    use webhook_core::{
        MediaType, ParseContext, ParseError, events::parse_unverified_borrowed,
        senders::mailtrap::MailtrapBatch,
    };

    fn parse(body: &[u8], media_type: MediaType) -> Result<MailtrapBatch<'_>, ParseError> {
        parse_unverified_borrowed(body, ParseContext::new(media_type))
    }

    /// body_mailtrap_json: `to_json_lines` wrote raw values (`custom_variables`, audit
    /// `actor`/`resource`, unknown keys) verbatim, so a pretty-printed body put line
    /// breaks inside an event and the JSON Lines did not parse.
    #[test]
    fn json_lines_of_a_pretty_body_keep_one_event_per_line() {
        for body in [
            &include_bytes!("../../fuzz/regressions/body_mailtrap_json/newlines-in-raw-value.json")[..],
            br#"{"events":[{"event":"delivery","timestamp":1728669700,"event_id":"e1","message_id":"m1","email":"a@example.com","custom_variables":{
  "user_id": "42",
  "plan": "pro"
}},{"event":"open","timestamp":1728669701,"event_id":"e2","message_id":"m1","email":"a@example.com","extra":[1,
2]}]}"#,
        ] {
            let events = parse(body, MediaType::Json).unwrap();
            let lines = events.to_json_lines().unwrap();
            assert_eq!(lines.lines().count(), events.len(), "{lines}");
            let again = parse(lines.as_bytes(), MediaType::JsonLines).unwrap();
            // The same events, up to the whitespace inside raw values.
            let values = |events: &MailtrapBatch<'_>| {
                events
                    .iter()
                    .map(|e| serde_json::from_slice::<serde_json::Value>(&serde_json::to_vec(e).unwrap()).unwrap())
                    .collect::<Vec<_>>()
            };
            assert_eq!(values(&again), values(&events));
            assert_eq!(again.to_json_lines().unwrap(), lines);
        }
    }

    /// body_mailtrap_form: a form field named `events` was kept as an unknown key, and the
    /// event then serialized to `{"events":"…","event":…}`, which reads back as a broken
    /// batch wrapper rather than the event. Such a form is refused now.
    #[test]
    fn a_form_field_named_events_is_refused() {
        for body in [
            &include_bytes!("../../fuzz/regressions/body_mailtrap_form/events-key-in-form.txt")[..],
            b"events=x&event=delivery&timestamp=1728669700&event_id=e1&message_id=m1&email=a%40example.com",
            b"event=delivery&timestamp=1728669700&event_id=e1&message_id=m1&email=a%40example.com&events=x",
        ] {
            match parse(body, MediaType::FormUrlEncoded) {
                Err(ParseError::InvalidForm { detail }) => assert!(detail.contains("events"), "{detail}"),
                other => panic!("{other:?}"),
            }
        }
    }
}

/// diagnose: a Stalwart example signed in its sorted-keys compact form was not named
/// re-serialized: the first streaming re-serializer counted every nesting level's copies
/// of an object's members against its cap and gave up on the sorted form.
#[test]
fn diagnose_names_a_sorted_keys_signature_on_a_nested_body() {
    use webhook_core::{
        Scheme, Secret, Verifier,
        diagnose::{BodyForm, Finding, diagnose_rejection},
        senders::stalwart,
    };
    let body: &[u8] =
        include_bytes!("../../fuzz/regressions/diagnose/stalwart-example-1-signed-sorted.json");
    let sorted =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(body).unwrap()).unwrap();
    let secret = || Secret::new("my-secret-key");
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(secret())
        .build()
        .unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-signature",
        stalwart::sign(&secret(), &sorted).parse().unwrap(),
    );
    let now = std::time::SystemTime::now();
    let error = verifier.verify_at(&headers, body, now).unwrap_err();
    let diagnosis = diagnose_rejection(&verifier, &error, &headers, body, now).unwrap();
    assert_eq!(
        diagnosis.findings,
        [Finding::BodyReserialized {
            signed: BodyForm::CompactSortedKeys
        }]
    );
}
