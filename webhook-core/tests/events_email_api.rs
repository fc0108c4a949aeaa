//! Email-API events: the documented examples field by field, byte-identical round
//! trips, unknown types and fields kept, and a typed error with its path for each kind
//! of malformed body.

use std::borrow::Cow;

use chrono::{TimeZone, Utc};
use http::{HeaderMap, StatusCode};
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::email_api::{
    BounceCode, BounceType, EmailApiEventType, EmailApiPayload, Recipients,
};
use webhook_core::{
    MediaType, ParseContext, ParseError, Scheme, Secret, Verifier, parse_unverified,
    senders::email_api,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/email-api/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn json() -> ParseContext<'static> {
    ParseContext::new(MediaType::Json)
}

fn owned(body: &[u8]) -> Result<EmailApiPayload<'static>, ParseError> {
    parse_unverified(body, json())
}

fn shape_error(body: &[u8]) -> (String, String) {
    match owned(body).unwrap_err() {
        ParseError::UnexpectedShape { path, detail, .. } => (path, detail),
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
fn delivered_example_field_by_field() {
    let body = fixture("delivered.pretty.json");
    let event: EmailApiPayload<'_> = parse_unverified_borrowed(&body, json()).unwrap();
    assert_eq!(event.id, "evt_xyz789");
    assert_eq!(event.event_type, EmailApiEventType::Delivered);
    assert_eq!(
        event.created_at,
        Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap()
    );
    let data = &event.data;
    assert_eq!(data.email_id, "msg_abc123");
    assert_eq!(data.from, "sender@yourdomain.com");
    assert_eq!(data.to, Recipients::One("recipient@example.com".into()));
    assert_eq!(data.subject.as_deref(), Some("Hello"));
    assert_eq!(
        data.delivered_at,
        Some(Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap())
    );
    assert_eq!(data.bounce_type, None);
    assert_eq!(data.bounce_code, None);
    assert_eq!(data.bounce_message, None);
    assert!(event.unknown.is_empty() && data.unknown.is_empty());
    // Strings without escapes borrow from the body.
    assert!(matches!(event.id, Cow::Borrowed(_)));
    assert!(matches!(data.from, Cow::Borrowed(_)));
}

#[test]
fn bounce_example_field_by_field() {
    let event = owned(&fixture("bounced.pretty.json")).unwrap();
    assert_eq!(event.id, "evt_xyz789");
    assert_eq!(event.event_type, EmailApiEventType::Bounced);
    assert_eq!(event.event_type.as_str(), "bounced");
    let data = &event.data;
    assert_eq!(data.email_id, "msg_abc123");
    assert_eq!(data.from, "sender@yourdomain.com");
    assert_eq!(data.to.iter().collect::<Vec<_>>(), ["invalid@example.com"]);
    assert_eq!(data.subject, None);
    assert_eq!(data.delivered_at, None);
    assert_eq!(data.bounce_type, Some(BounceType::Hard));
    assert_eq!(data.bounce_code, Some(BounceCode::Text("550".into())));
    assert_eq!(data.bounce_code.as_ref().unwrap().smtp_code(), Some(550));
    assert_eq!(data.bounce_message.as_deref(), Some("User unknown"));
}

#[test]
fn pretty_and_compact_examples_parse_to_the_same_event() {
    for name in ["delivered", "bounced"] {
        let pretty = owned(&fixture(&format!("{name}.pretty.json"))).unwrap();
        let compact = owned(&fixture(&format!("{name}.json"))).unwrap();
        assert_eq!(pretty, compact, "{name}");
        // And serializing the pretty one gives the compact bytes (same key order).
        assert_eq!(
            serde_json::to_vec(&pretty).unwrap(),
            fixture(&format!("{name}.json"))
        );
    }
}

#[test]
fn compact_examples_round_trip_byte_identically() {
    for name in ["delivered.json", "bounced.json"] {
        let body = fixture(name);
        let borrowed: EmailApiPayload<'_> = parse_unverified_borrowed(&body, json()).unwrap();
        assert_eq!(
            serde_json::to_vec(&borrowed).unwrap(),
            body,
            "{name} borrowed"
        );
        let owned = owned(&body).unwrap();
        assert_eq!(serde_json::to_vec(&owned).unwrap(), body, "{name} owned");
        // The plain serde path copies, works from a reader, and agrees.
        let from_reader: EmailApiPayload<'static> = serde_json::from_reader(&body[..]).unwrap();
        assert_eq!(from_reader, owned);
        assert_eq!(
            serde_json::to_vec(&from_reader).unwrap(),
            body,
            "{name} from_reader"
        );
    }
}

#[test]
fn verified_bodies_parse_through_the_verifier() {
    let secret = Secret::new("your-webhook-secret");
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(secret.clone())
        .build()
        .unwrap();
    let body = fixture("bounced.json");
    let mut headers = HeaderMap::new();
    headers.insert(
        email_api::SIGNATURE_HEADER,
        email_api::sign(&secret, &body).parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    let verified = verifier.verify(&headers, &body[..]).unwrap();
    let event: EmailApiPayload<'static> = verified.parse().unwrap();
    assert_eq!(event.data.bounce_type, Some(BounceType::Hard));
    let borrowed: EmailApiPayload<'_> = verified.parse_borrowed().unwrap();
    assert_eq!(borrowed, event);
}

#[test]
fn a_415_names_the_content_type_received_and_the_one_expected() {
    let secret = Secret::new("your-webhook-secret");
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(secret.clone())
        .build()
        .unwrap();
    let body = fixture("bounced.json");
    for declared in [
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(
            email_api::SIGNATURE_HEADER,
            email_api::sign(&secret, &body).parse().unwrap(),
        );
        headers.insert("content-type", declared.parse().unwrap());
        let verified = verifier.verify(&headers, &body[..]).unwrap();
        let err = verified.parse::<EmailApiPayload<'static>>().unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let message = err.to_string();
        assert!(
            message.contains(&format!("`Content-Type: {declared}`")),
            "{message}"
        );
        assert!(message.contains("sent as application/json"), "{message}");
        assert!(
            !message.contains("(Other)") && !message.contains("(FormUrlEncoded)"),
            "{message}"
        );
        let borrowed = verified
            .parse_borrowed::<EmailApiPayload<'_>>()
            .unwrap_err();
        assert_eq!(borrowed, err);
    }
}

#[test]
fn unknown_types_and_fields_are_kept_in_place() {
    // Unknown keys before, between and after known ones, at both levels; an array
    // `to`; a numeric bounce code; an explicit null for a known optional field.
    let body = br#"{"v":2,"id":"evt_1","type":"delivery_delayed","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_1","tags":{"a":[1,true]},"from":"s@example.com","to":["a@example.com","b@example.com"],"subject":null,"bounce_code":421,"retry_at":"later"},"trace":"x"}"#;
    let event = owned(body).unwrap();
    assert_eq!(
        event.event_type,
        EmailApiEventType::Unknown("delivery_delayed".into())
    );
    assert_eq!(event.event_type.as_str(), "delivery_delayed");
    assert!(!event.event_type.is_known());
    assert_eq!(event.unknown.get("v").unwrap().get(), "2");
    assert_eq!(event.unknown.get("trace").unwrap().get(), r#""x""#);
    let keys: Vec<_> = event.data.unknown.iter().map(|(key, _)| key).collect();
    assert_eq!(keys, ["tags", "retry_at"]);
    assert_eq!(
        event.data.unknown.get("tags").unwrap().get(),
        r#"{"a":[1,true]}"#
    );
    assert_eq!(event.data.to.len(), 2);
    assert_eq!(event.data.subject, None);
    assert_eq!(event.data.bounce_code, Some(BounceCode::Number(421)));
    assert_eq!(event.data.bounce_code.as_ref().unwrap().to_string(), "421");
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
}

#[test]
fn constructed_events_serialize_in_declaration_order() {
    let mut event = EmailApiPayload::new(
        "evt_1".into(),
        EmailApiEventType::Queued,
        Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap(),
        webhook_core::senders::email_api::EmailData::new(
            "msg_1".into(),
            "s@example.com".into(),
            "r@example.com".into(),
        ),
    );
    event.data.subject = Some("Hi".into());
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        r#"{"id":"evt_1","type":"queued","created_at":"2024-01-15T10:30:00Z","data":{"email_id":"msg_1","from":"s@example.com","to":"r@example.com","subject":"Hi"}}"#
    );
    // A field set after parsing is written after the keys that were received.
    let mut parsed = owned(&fixture("delivered.json")).unwrap();
    parsed.data.bounce_message = Some("late".into());
    let text = serde_json::to_string(&parsed).unwrap();
    assert!(
        text.ends_with(r#""delivered_at":"2024-01-15T10:30:05Z","bounce_message":"late"}}"#),
        "{text}"
    );
}

#[test]
fn escaped_strings_are_decoded_and_owned() {
    let body = br#"{"id":"evt_\u0031","type":"opened","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"\"Ann\" <a@example.com>","to":"b@example.com"}}"#;
    let event: EmailApiPayload<'_> = parse_unverified_borrowed(body, json()).unwrap();
    assert_eq!(event.id, "evt_1");
    assert!(matches!(event.id, Cow::Owned(_)));
    assert_eq!(event.data.from, r#""Ann" <a@example.com>"#);
    assert!(matches!(event.data.to, Recipients::One(Cow::Borrowed(_))));
}

#[test]
fn missing_required_fields_name_their_path() {
    let (path, detail) =
        shape_error(br#"{"id":"e","type":"queued","created_at":"2024-01-15T10:30:05Z"}"#);
    assert_eq!(
        (path.as_str(), detail.as_str()),
        (".", "missing field `data`")
    );
    let (path, detail) = shape_error(
        br#"{"id":"e","type":"queued","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","to":"t"}}"#,
    );
    assert_eq!(
        (path.as_str(), detail.as_str()),
        ("data", "missing field `from`")
    );
}

#[test]
fn wrong_types_name_their_path() {
    let cases: [(&[u8], &str); 6] = [
        (br#"{"id":1,"type":"queued"}"#, "id"),
        (
            br#"{"id":"e","type":"queued","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"f","to":[1]}}"#,
            "data.to[0]",
        ),
        (
            br#"{"id":"e","type":"queued","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"f","to":"t","bounce_code":true}}"#,
            "data.bounce_code",
        ),
        (br#"{"id":"e","type":"queued","created_at":"yesterday"}"#, "created_at"),
        (br#"{"id":"e","type":"queued","created_at":1705314605}"#, "created_at"),
        (
            br#"{"id":"e","type":"queued","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"f","to":"t","delivered_at":"2024-13-01T00:00:00Z"}}"#,
            "data.delivered_at",
        ),
    ];
    for (body, expected) in cases {
        let (path, detail) = shape_error(body);
        assert_eq!(path, expected, "{detail}");
    }
    let (path, detail) = shape_error(br#"{"id":"e","id":"f"}"#);
    assert_eq!(
        (path.as_str(), detail.as_str()),
        ("id", "duplicate field `id`")
    );
    let (path, _) = shape_error(br#"["not", "an", "object"]"#);
    assert_eq!(path, ".");
}

#[test]
fn malformed_bodies_get_typed_errors() {
    let compact = fixture("delivered.json");
    let trailing = [&compact[..], b" {}"].concat();
    assert!(matches!(
        owned(&trailing),
        Err(ParseError::TrailingData { line: 1, .. })
    ));
    let mut not_utf8 = compact.clone();
    not_utf8[10] = 0xff;
    assert_eq!(
        owned(&not_utf8).unwrap_err(),
        ParseError::NotUtf8 { valid_up_to: 10 }
    );
    assert!(matches!(
        owned(&compact[..40]),
        Err(ParseError::InvalidJson { .. })
    ));
    assert!(matches!(owned(b""), Err(ParseError::InvalidJson { .. })));
    for err in [owned(&trailing), owned(&not_utf8), owned(b"{")] {
        assert_eq!(err.unwrap_err().status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn other_media_types_are_refused_with_415() {
    let body = fixture("delivered.json");
    for media_type in [
        MediaType::FormUrlEncoded,
        MediaType::JsonLines,
        MediaType::Other,
    ] {
        let err =
            parse_unverified::<EmailApiPayload<'static>>(&body, ParseContext::new(media_type))
                .unwrap_err();
        assert!(
            matches!(err, ParseError::UnsupportedMediaType { found, .. } if found == media_type)
        );
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    // A missing Content-Type is accepted.
    parse_unverified::<EmailApiPayload<'static>>(&body, ParseContext::new(MediaType::Missing))
        .unwrap();
}

#[test]
fn enums_know_their_wire_names() {
    for name in EmailApiEventType::KNOWN {
        let parsed = EmailApiEventType::from_name(*name);
        assert!(parsed.is_known(), "{name}");
        assert_eq!(parsed.as_str(), *name);
        assert_eq!(parsed.to_string(), *name);
    }
    assert_eq!(EmailApiEventType::KNOWN.len(), 7);
    assert_eq!(
        BounceType::from_name("unknown"),
        BounceType::Unknown("unknown".into())
    );
    assert_eq!(BounceCode::Text("5.1.1".into()).smtp_code(), None);
    assert_eq!(BounceCode::Number(70_000).smtp_code(), None);
}
