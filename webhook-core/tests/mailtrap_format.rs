//! Point 2 of issue 17: what a signed Mailtrap body means must not depend on the
//! unsigned `Content-Type`. The format is read from the signed bytes; a `Content-Type`
//! that disagrees is refused, never followed into another reading; a receiver can pin
//! its webhook's one format.

use http::{HeaderMap, StatusCode};
use webhook_core::{
    MailtrapEvents, MediaType, ParseContext, ParseError, Scheme, Secret, Verifier,
    parse_unverified,
    senders::mailtrap::{self, BodyFormat, MailtrapBatch},
};

const SECRET: &str = "mailtrap-signing-secret";

/// A genuine click whose `user_agent` (which anyone can make a mail client send)
/// holds form data: read as form data, the same bytes are a bounce for someone else,
/// with a fresh `event_id` that deduplication has never seen.
const CLICK_WITH_FORM_IN_USER_AGENT: &str = r#"{"events":[{"event":"click","timestamp":1728669700,"message_id":"m1","email":"user@example.com","event_id":"e-genuine-1","user_agent":"Mozilla/5.0&event=bounce&email=ceo%40victim.example&event_id=forged-1&message_id=m2&timestamp=1728669701&x=","url":"https://example.com"}]}"#;

/// A batch wrapper that also has event keys: as JSON a batch of one click, as a JSON
/// Lines line an event of its own (Mailtrap writes no such wrapper; the point is that
/// no body has two readings).
const BATCH_WITH_EVENT_KEYS: &str = r#"{"events":[{"event":"click","timestamp":1728669700,"message_id":"m1","email":"user@example.com","event_id":"e-genuine-1"}],"event":"bounce","timestamp":1728669701,"message_id":"m2","email":"ceo@victim.example","event_id":"forged-2"}"#;

const ONE_EVENT: &str = r#"{"event":"delivery","timestamp":1728669700,"message_id":"m1","email":"user@example.com","event_id":"e1"}"#;

const DECLARED: [MediaType; 5] = [
    MediaType::Json,
    MediaType::JsonLines,
    MediaType::FormUrlEncoded,
    MediaType::Missing,
    MediaType::Other,
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/mailtrap/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(body: &[u8], declared: MediaType) -> Result<MailtrapBatch<'static>, ParseError> {
    parse_unverified(body, ParseContext::new(declared))
}

/// The events as JSON, for comparing readings.
fn events_of(batch: &MailtrapBatch<'_>) -> String {
    serde_json::to_string(&batch.events).unwrap()
}

/// The request a signed delivery of `body` makes, replayed under `content_type`.
fn replayed(body: &[u8], content_type: Option<&str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "mailtrap-signature",
        mailtrap::sign(&Secret::new(SECRET), body).parse().unwrap(),
    );
    if let Some(content_type) = content_type {
        headers.insert("content-type", content_type.parse().unwrap());
    }
    headers
}

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

#[test]
fn a_signed_json_body_replayed_as_form_data_is_refused() {
    let body = CLICK_WITH_FORM_IN_USER_AGENT.as_bytes();
    let verifier = verifier();
    // As sent: one click.
    for content_type in [Some("application/json"), None] {
        let verified = verifier
            .verify(&replayed(body, content_type), body)
            .unwrap();
        let events: MailtrapEvents = verified.parse().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events.events[0].event_id(), Some("e-genuine-1"));
        assert_eq!(events.events[0].name(), "click");
    }
    // Replayed as form data: the signature still matches the bytes, but they are JSON,
    // which is never read as form data.
    for content_type in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    ] {
        let verified = verifier
            .verify(&replayed(body, Some(content_type)), body)
            .unwrap();
        let err = verified.parse::<MailtrapEvents>().unwrap_err();
        assert_eq!(
            err,
            ParseError::MediaTypeMismatch {
                declared: MediaType::FormUrlEncoded,
                found: "JSON, not form data"
            }
        );
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(err.code(), "media_type_mismatch");
        assert!(!err.to_string().contains("ceo"), "{err}");
    }
}

#[test]
fn a_one_line_batch_replayed_as_json_lines_is_refused() {
    let body = BATCH_WITH_EVENT_KEYS.as_bytes();
    let batch = parse(body, MediaType::Json).unwrap();
    assert_eq!(batch.format, BodyFormat::Batch);
    assert_eq!(batch.events[0].event_id(), Some("e-genuine-1"));
    assert_eq!(
        parse(body, MediaType::JsonLines).unwrap_err(),
        ParseError::MediaTypeMismatch {
            declared: MediaType::JsonLines,
            found: "one JSON document, not JSON Lines"
        }
    );
    // A pretty-printed event is one JSON document too, never JSON Lines.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(ONE_EVENT).unwrap())
            .unwrap();
    assert_eq!(
        parse(&pretty, MediaType::Json).unwrap().format,
        BodyFormat::Single
    );
    assert_eq!(
        parse(&pretty, MediaType::JsonLines).unwrap_err().code(),
        "media_type_mismatch"
    );
}

#[test]
fn a_one_event_json_lines_body_reads_as_that_event() {
    for body in [
        ONE_EVENT.to_owned(),
        format!("{ONE_EVENT}\n"),
        format!("\n{ONE_EVENT}\r\n"),
    ] {
        let lines = parse(body.as_bytes(), MediaType::JsonLines).unwrap();
        assert_eq!(lines.format, BodyFormat::JsonLines);
        let json = parse(body.as_bytes(), MediaType::Json).unwrap();
        assert_eq!(json.format, BodyFormat::Single);
        assert_eq!(events_of(&lines), events_of(&json));
    }
}

#[test]
fn a_declared_type_that_disagrees_with_the_bytes_is_refused_never_followed() {
    let lines = fixture("events.jsonl");
    let form = fixture("form.txt");
    let json = fixture("bounce.json");
    let code = |body: &[u8], declared| parse(body, declared).unwrap_err().code();
    // JSON and JSON Lines are never form data.
    assert_eq!(
        code(&lines, MediaType::FormUrlEncoded),
        "media_type_mismatch"
    );
    assert_eq!(
        code(&json, MediaType::FormUrlEncoded),
        "media_type_mismatch"
    );
    assert_eq!(
        code(b"  [1, 2]", MediaType::FormUrlEncoded),
        "media_type_mismatch"
    );
    assert_eq!(
        code(b"\"event=delivery\"", MediaType::FormUrlEncoded),
        "media_type_mismatch"
    );
    // Several JSON values are not one JSON document.
    assert_eq!(code(&lines, MediaType::Json), "trailing_data");
    assert_eq!(code(&json, MediaType::JsonLines), "media_type_mismatch");
    // Form data is not JSON.
    assert_eq!(code(&form, MediaType::Json), "invalid_json");
    assert_eq!(code(&form, MediaType::JsonLines), "invalid_json");
    // Each in its own type, or with none declared, reads as before.
    assert_eq!(
        parse(&lines, MediaType::JsonLines).unwrap().format,
        BodyFormat::JsonLines
    );
    assert_eq!(
        parse(&lines, MediaType::Missing).unwrap().format,
        BodyFormat::JsonLines
    );
    assert_eq!(
        parse(&form, MediaType::FormUrlEncoded).unwrap().format,
        BodyFormat::Form
    );
    assert_eq!(
        parse(&form, MediaType::Missing).unwrap().format,
        BodyFormat::Form
    );
    assert_eq!(
        parse(&json, MediaType::Json).unwrap().format,
        BodyFormat::Batch
    );
    assert_eq!(
        parse(&json, MediaType::Missing).unwrap().format,
        BodyFormat::Batch
    );
}

/// The property behind the rules: whatever the request declares, a body has at most one
/// reading that succeeds.
#[test]
fn no_body_reads_two_ways() {
    let mut bodies: Vec<Vec<u8>> = [
        "bounce.json",
        "audit.json",
        "cross-sdk-vector.json",
        "seed-batch.pretty.json",
        "events.jsonl",
        "form.txt",
        "seed-form.txt",
    ]
    .into_iter()
    .map(fixture)
    .collect();
    bodies.extend(
        [
            CLICK_WITH_FORM_IN_USER_AGENT,
            BATCH_WITH_EVENT_KEYS,
            ONE_EVENT,
            // Form data hidden in a JSON string, a JSON array, a JSON number.
            "\"event=bounce&timestamp=1&message_id=m&email=e&event_id=i\"",
            "[\"event=bounce&timestamp=1&message_id=m&email=e&event_id=i\"]",
            "1",
            // JSON hidden in form data.
            "event=delivery&timestamp=1&message_id=m&email=e&event_id=i&x={\"events\":[]}",
            "{\"a\":1}&event=delivery&timestamp=1&message_id=m&email=e&event_id=i",
        ]
        .map(|s| s.as_bytes().to_vec()),
    );
    bodies.push(format!("{ONE_EVENT}\n{BATCH_WITH_EVENT_KEYS}\n").into_bytes());
    bodies.push(format!("{BATCH_WITH_EVENT_KEYS}\n{ONE_EVENT}\n").into_bytes());
    for body in &bodies {
        let readings: Vec<(MediaType, String)> = DECLARED
            .into_iter()
            .filter_map(|declared| Some((declared, events_of(&parse(body, declared).ok()?))))
            .collect();
        assert!(
            readings.windows(2).all(|w| w[0].1 == w[1].1),
            "{}: {readings:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// A receiver that pins its webhook's format refuses the others at the verifier (415,
/// before hashing) and holds a body without a `Content-Type` to it.
#[test]
fn a_pinned_format_holds() {
    let verifier = Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new(SECRET))
        .media_type(MediaType::Json)
        .build()
        .unwrap();
    let body = CLICK_WITH_FORM_IN_USER_AGENT.as_bytes();
    let err = verifier
        .verify(
            &replayed(body, Some("application/x-www-form-urlencoded")),
            body,
        )
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    // JSON Lines or form data without a Content-Type: read as the pinned JSON, refused.
    for (body, code) in [
        (fixture("events.jsonl"), "trailing_data"),
        (fixture("form.txt"), "invalid_json"),
    ] {
        let verified = verifier.verify(&replayed(&body, None), &body[..]).unwrap();
        assert_eq!(verified.verification().media_type(), MediaType::Json);
        assert_eq!(verified.parse::<MailtrapEvents>().unwrap_err().code(), code);
    }
}
