//! Mailtrap events in all three formats: the documented examples field by field,
//! byte-identical round trips, audit and unknown events, the 500-event worst case,
//! and a typed error (with its path or line) for each kind of malformed body.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use chrono::DateTime;
use http::{HeaderMap, StatusCode};
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::mailtrap::{
    AuditId, BodyFormat, EventKind, MailtrapBatch, MailtrapEvent, SendingEvent, SendingStream,
};
use webhook_core::{
    MediaType, ParseContext, ParseError, Scheme, Secret, Verifier, parse_unverified,
    senders::mailtrap,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/mailtrap/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(body: &[u8], media_type: MediaType) -> Result<MailtrapBatch<'static>, ParseError> {
    parse_unverified(body, ParseContext::new(media_type))
}

fn borrowed(body: &[u8], media_type: MediaType) -> Result<MailtrapBatch<'_>, ParseError> {
    parse_unverified_borrowed(body, ParseContext::new(media_type))
}

fn only_sending<'e>(events: &'e MailtrapBatch<'_>) -> &'e SendingEvent<'e> {
    assert_eq!(events.len(), 1);
    events.events[0].as_sending().expect("a sending event")
}

fn at(secs: i64) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

#[test]
fn seed_json_example_field_by_field() {
    let events = parse(&fixture("seed-batch.pretty.json"), MediaType::Json).unwrap();
    assert_eq!(events.format, BodyFormat::Batch);
    let event = only_sending(&events);
    assert_eq!(event.kind, EventKind::Delivery);
    assert_eq!(event.timestamp, at(1_728_669_700));
    assert_eq!(event.message_id, "abc-123");
    assert_eq!(event.email, "recipient@example.com");
    assert_eq!(event.event_id, "unique-event-id");
    assert_eq!(event.sending_stream, None);
    assert_eq!(event.category, None);
    assert!(event.unknown.is_empty());
}

#[test]
fn bounce_example_field_by_field_and_byte_identical() {
    let body = fixture("bounce.json");
    let events = borrowed(&body, MediaType::Json).unwrap();
    let event = only_sending(&events);
    assert_eq!(event.kind, EventKind::Bounce);
    assert_eq!(event.timestamp, at(1_728_669_700));
    assert_eq!(event.sending_stream, Some(SendingStream::Transactional));
    assert_eq!(event.message_id, "1df37d17-0286-4d8b-8edf-bc4ec5be86e6");
    assert_eq!(event.email, "receiver@example.com");
    assert_eq!(event.event_id, "bede7236-2284-43d6-a953-1fdcafd0fdbc");
    assert_eq!(
        event.response.as_deref(),
        Some("[CS01] Message rejected due to local policy")
    );
    assert_eq!(event.response_code, Some(555));
    assert_eq!(event.bounce_category.as_deref(), Some("spam"));
    assert_eq!(
        event.sending_domain_name.as_deref(),
        Some("examplesender.com")
    );
    assert_eq!(
        events.events[0].event_id(),
        Some("bede7236-2284-43d6-a953-1fdcafd0fdbc")
    );
    assert!(matches!(event.email, Cow::Borrowed(_)), "zero-copy");
    assert_eq!(serde_json::to_vec(&events).unwrap(), body);
    assert_eq!(
        serde_json::to_vec(&events.clone().into_owned()).unwrap(),
        body
    );
}

#[test]
fn cross_sdk_vector_is_a_bare_event_that_verifies_and_round_trips() {
    let body = fixture("cross-sdk-vector.json");
    let secret = Secret::new("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e");
    let signature = String::from_utf8(fixture("cross-sdk-vector.sig")).unwrap();
    assert_eq!(mailtrap::sign(&secret, &body), signature);

    let verifier = Verifier::builder(Scheme::Mailtrap)
        .secret(secret)
        .build()
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(mailtrap::SIGNATURE_HEADER, signature.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let now = UNIX_EPOCH + Duration::from_secs(1_716_070_000);
    let verified = verifier.verify_at(&headers, &body[..], now).unwrap();
    let events: MailtrapBatch<'static> = verified.parse().unwrap();

    assert_eq!(events.format, BodyFormat::Single);
    let event = only_sending(&events);
    assert_eq!(event.kind, EventKind::Delivery);
    assert_eq!(event.sending_stream, Some(SendingStream::Transactional));
    assert_eq!(event.category.as_deref(), Some("welcome"));
    assert_eq!(event.message_id, "a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f");
    assert_eq!(event.email, "recipient@example.com");
    assert_eq!(event.event_id, "f1e2d3c4-b5a6-7890-1234-567890abcdef");
    assert_eq!(event.timestamp, at(1_716_070_000));
    // Its key order differs from the bounce example's; both come back byte for byte.
    assert_eq!(serde_json::to_vec(&events).unwrap(), body);
}

#[test]
fn audit_event_field_by_field_and_byte_identical() {
    let body = fixture("audit.json");
    let events = parse(&body, MediaType::Json).unwrap();
    let MailtrapEvent::Audit(audit) = &events.events[0] else {
        panic!("expected an audit event: {events:?}")
    };
    assert_eq!(audit.name, "activity_log.user.updated");
    assert_eq!(audit.action(), "user.updated");
    assert_eq!(audit.description, "…");
    assert_eq!(audit.actor.id, Some(AuditId::Number(1)));
    assert_eq!(audit.actor.kind.as_deref(), Some("user"));
    assert_eq!(audit.actor.name.as_deref(), Some("…"));
    let resource = audit.resource.as_ref().unwrap();
    assert_eq!(resource.id, Some(AuditId::Text("17".into())));
    assert_eq!(resource.kind.as_deref(), Some("sandbox"));
    assert_eq!(
        audit.changes.as_ref().unwrap().get(),
        r#"{"name":{"from":"…","to":"…"}}"#
    );
    assert_eq!(audit.timestamp, at(1_735_830_138));
    assert_eq!(events.events[0].name(), "activity_log.user.updated");
    assert_eq!(events.events[0].event_id(), None);
    assert_eq!(serde_json::to_vec(&events).unwrap(), body);

    // In a batch too, with the minimal actor and no resource or changes.
    let minimal = br#"{"events":[{"event":"activity_log.sandbox.created","description":"d","actor":{"name":"Mailtrap"},"timestamp":1735830138}]}"#;
    let events = parse(minimal, MediaType::Json).unwrap();
    let audit = events.events[0].as_audit().unwrap();
    assert_eq!(audit.actor.name.as_deref(), Some("Mailtrap"));
    assert_eq!(audit.resource, None);
    assert_eq!(serde_json::to_vec(&events).unwrap(), minimal);
    // Audit events are checked like sending ones.
    let err = parse(
        br#"{"event":"activity_log.x","actor":{},"timestamp":1}"#,
        MediaType::Json,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ParseError::UnexpectedShape { detail, .. } if detail == "missing field `description`"),
        "{err:?}"
    );
}

#[test]
fn json_lines_body_parses_and_writes_back() {
    let body = fixture("events.jsonl");
    let events = borrowed(&body, MediaType::JsonLines).unwrap();
    assert_eq!(events.format, BodyFormat::JsonLines);
    let kinds: Vec<_> = events.iter().map(MailtrapEvent::name).collect();
    assert_eq!(kinds, ["delivery", "open", "click"]);
    let delivery = events.events[0].as_sending().unwrap();
    assert_eq!(
        delivery.custom_variables.as_ref().unwrap().get(),
        r#"{"user_id":42,"plan":"pro","trial":false}"#
    );
    let vars: HashMap<String, serde_json::Value> = delivery.custom_variables_as().unwrap().unwrap();
    assert_eq!(vars["user_id"], 42);
    assert_eq!(vars["trial"], false);
    let open = events.events[1].as_sending().unwrap();
    assert_eq!(open.ip.as_deref(), Some("192.0.2.10"));
    assert_eq!(open.user_agent.as_deref(), Some("Mozilla/5.0"));
    let click = events.events[2].as_sending().unwrap();
    assert_eq!(
        click.url.as_deref(),
        Some("https://example.com/welcome?ref=mail")
    );
    assert_eq!(events.to_json_lines().unwrap().as_bytes(), body);

    // Blank lines, CRLF and no trailing newline are fine.
    let text = String::from_utf8(body).unwrap();
    let messy = format!(
        "\n{}\r\n\r\n  \n{}",
        text.lines().next().unwrap(),
        text.lines().nth(1).unwrap()
    );
    let events = parse(messy.as_bytes(), MediaType::JsonLines).unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn json_lines_errors_name_the_line() {
    let good = r#"{"event":"delivery","timestamp":1,"event_id":"e","message_id":"m","email":"a@example.com"}"#;
    let missing_email = r#"{"event":"open","timestamp":2,"event_id":"e2","message_id":"m"}"#;
    let body = format!("{good}\n\n{missing_email}\n");
    match parse(body.as_bytes(), MediaType::JsonLines).unwrap_err() {
        ParseError::UnexpectedShape {
            path, line, detail, ..
        } => {
            assert_eq!(
                (path.as_str(), line, detail.as_str()),
                ("[1]", 3, "missing field `email`")
            );
        }
        other => panic!("{other:?}"),
    }
    let wrong_type =
        r#"{"event":"open","timestamp":"2","event_id":"e2","message_id":"m","email":"b"}"#;
    let body = format!("{good}\r\n{wrong_type}");
    match parse(body.as_bytes(), MediaType::JsonLines).unwrap_err() {
        ParseError::UnexpectedShape { path, line, .. } => {
            assert_eq!((path.as_str(), line), ("[1].timestamp", 2))
        }
        other => panic!("{other:?}"),
    }
    let body = format!("{good}\n{good} {good}\n");
    assert!(matches!(
        parse(body.as_bytes(), MediaType::JsonLines),
        Err(ParseError::TrailingData { line: 2, .. })
    ));
    let body = format!("{good}\n{{\"event\":\n");
    assert!(matches!(
        parse(body.as_bytes(), MediaType::JsonLines),
        Err(ParseError::InvalidJson { line: 2, .. })
    ));
    let mut body = format!("{good}\n{good}\n").into_bytes();
    let second_line = good.len() + 1;
    body[second_line + 30] = 0xfe;
    assert_eq!(
        parse(&body, MediaType::JsonLines).unwrap_err(),
        ParseError::NotUtf8 {
            valid_up_to: second_line + 30
        }
    );
    for empty in [&b""[..], b"\n", b" \r\n\n"] {
        assert_eq!(
            parse(empty, MediaType::JsonLines).unwrap_err(),
            ParseError::EmptyBatch
        );
    }
}

#[test]
fn form_body_field_by_field() {
    let body = fixture("form.txt");
    let events = borrowed(&body, MediaType::FormUrlEncoded).unwrap();
    assert_eq!(events.format, BodyFormat::Form);
    let event = only_sending(&events);
    assert_eq!(event.kind, EventKind::SoftBounce);
    assert_eq!(event.kind.as_str(), "soft bounce");
    assert_eq!(event.timestamp, at(1_728_669_700));
    assert_eq!(event.event_id, "bede7236-2284-43d6-a953-1fdcafd0fdbc");
    assert_eq!(event.message_id, "1df37d17-0286-4d8b-8edf-bc4ec5be86e6");
    assert!(
        matches!(event.message_id, Cow::Borrowed(_)),
        "undecoded values borrow"
    );
    assert_eq!(event.email, "receiver@example.com");
    assert_eq!(event.sending_stream, Some(SendingStream::Transactional));
    assert_eq!(event.response.as_deref(), Some("452 4.2.2 Mailbox full"));
    assert_eq!(event.response_code, Some(452));
    assert_eq!(event.bounce_category.as_deref(), Some("mailbox_full"));
    assert_eq!(event.unknown.get("x_extra").unwrap().get(), r#""kept""#);
    // Serialized as the JSON event it describes, in form order.
    assert_eq!(
        serde_json::to_string(&events).unwrap(),
        r#"{"event":"soft bounce","timestamp":1728669700,"event_id":"bede7236-2284-43d6-a953-1fdcafd0fdbc","message_id":"1df37d17-0286-4d8b-8edf-bc4ec5be86e6","email":"receiver@example.com","sending_stream":"transactional","response":"452 4.2.2 Mailbox full","response_code":452,"bounce_category":"mailbox_full","x_extra":"kept"}"#
    );
}

fn form_error(body: &str) -> String {
    match parse(body.as_bytes(), MediaType::FormUrlEncoded).unwrap_err() {
        ParseError::InvalidForm { detail } => detail,
        other => panic!("{body}: expected InvalidForm, got {other:?}"),
    }
}

#[test]
fn malformed_forms_get_typed_errors_naming_the_field() {
    const OK: &str = "event=delivery&timestamp=1&event_id=e&message_id=m&email=a%40example.com";
    parse(OK.as_bytes(), MediaType::FormUrlEncoded).unwrap();

    // The seed's abbreviated example lacks required fields.
    let seed = String::from_utf8(fixture("seed-form.txt")).unwrap();
    assert_eq!(form_error(&seed), "missing field `timestamp`");
    assert!(form_error(&format!("{OK}&timestamp=2")).contains("duplicate field `timestamp`"));
    assert!(form_error(&format!("{OK}&x=1&x=2")).contains("duplicate field `x`"));
    let detail = form_error(&OK.replace("timestamp=1", "timestamp=yesterday"));
    assert!(
        detail.starts_with("field `timestamp`: expected an integer"),
        "{detail}"
    );
    let detail = form_error(&format!("{OK}&response_code=5xx"));
    assert!(detail.starts_with("field `response_code`"), "{detail}");
    let detail = form_error(&OK.replace("a%40example", "a%4gexample"));
    assert!(
        detail.contains("field `email`") && detail.contains("two hex digits"),
        "{detail}"
    );
    let detail = form_error(&OK.replace("a%40example", "a%ffexample"));
    assert!(
        detail.contains("field `email`") && detail.contains("not UTF-8"),
        "{detail}"
    );
    let detail = form_error(&OK.replace("event=delivery", "event=activity_log.user.updated"));
    assert!(detail.contains("audit-log"), "{detail}");

    let mut raw = OK.as_bytes().to_vec();
    raw[3] = 0xc3;
    assert_eq!(
        parse(&raw, MediaType::FormUrlEncoded).unwrap_err(),
        ParseError::NotUtf8 { valid_up_to: 3 }
    );
    assert_eq!(
        parse(b"", MediaType::FormUrlEncoded).unwrap_err(),
        ParseError::EmptyBatch
    );
    assert_eq!(
        parse(b"", MediaType::FormUrlEncoded).unwrap_err().status(),
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn media_types_pick_the_format_and_missing_ones_are_sniffed() {
    let json = fixture("bounce.json");
    let lines = fixture("events.jsonl");
    let form = fixture("form.txt");
    assert_eq!(
        parse(&json, MediaType::Missing).unwrap().format,
        BodyFormat::Batch
    );
    assert_eq!(
        parse(&lines, MediaType::Missing).unwrap().format,
        BodyFormat::JsonLines
    );
    assert_eq!(
        parse(&form, MediaType::Missing).unwrap().format,
        BodyFormat::Form
    );
    assert_eq!(
        parse(&fixture("cross-sdk-vector.json"), MediaType::Missing)
            .unwrap()
            .format,
        BodyFormat::Single
    );
    // A declared type that disagrees with the bytes is refused, never followed.
    assert!(matches!(
        parse(&lines, MediaType::Json),
        Err(ParseError::TrailingData { .. })
    ));
    assert!(parse(&json, MediaType::FormUrlEncoded).is_err());
    let err = parse(&json, MediaType::Other).unwrap_err();
    assert!(matches!(
        err,
        ParseError::UnsupportedMediaType {
            found: MediaType::Other,
            ..
        }
    ));
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn json_errors_name_their_path() {
    let shape = |body: &[u8]| match parse(body, MediaType::Json).unwrap_err() {
        ParseError::UnexpectedShape { path, detail, .. } => (path, detail),
        other => panic!("{other:?}"),
    };
    let ok = r#"{"event":"delivery","timestamp":1,"event_id":"e","message_id":"m","email":"a"}"#;
    let body = format!(
        r#"{{"events":[{ok},{{"event":"open","timestamp":2,"event_id":"e","message_id":"m"}}]}}"#
    );
    assert_eq!(
        shape(body.as_bytes()),
        ("events[1]".into(), "missing field `email`".into())
    );
    let body = format!(
        r#"{{"events":[{}]}}"#,
        ok.replace(r#""timestamp":1"#, r#""timestamp":"1""#)
    );
    assert_eq!(shape(body.as_bytes()).0, "events[0].timestamp");
    let body = format!(
        r#"{{"events":[{}]}}"#,
        ok.replace(r#""email":"a""#, r#""email":"a","custom_variables":[1]"#)
    );
    assert_eq!(shape(body.as_bytes()).0, "events[0].custom_variables");
    let body = format!(
        r#"{{"events":[{}]}}"#,
        ok.replace(r#""email":"a""#, r#""email":"a","response_code":70000"#)
    );
    assert_eq!(shape(body.as_bytes()).0, "events[0].response_code");
    assert_eq!(shape(br#"{"events":{}}"#).0, "events");
    assert_eq!(
        shape(br#"{"evts":[]}"#),
        (".".into(), "missing field `events`".into())
    );
    assert_eq!(
        shape(br#"{"events":[{"timestamp":1}]}"#),
        ("events[0]".into(), "missing field `event`".into())
    );

    assert_eq!(
        parse(br#"{"events":[]}"#, MediaType::Json).unwrap_err(),
        ParseError::EmptyBatch
    );
    let trailing = [&fixture("bounce.json")[..], b"x"].concat();
    assert!(matches!(
        parse(&trailing, MediaType::Json),
        Err(ParseError::TrailingData { .. })
    ));
    let mut not_utf8 = fixture("bounce.json");
    not_utf8[25] = 0x80;
    assert_eq!(
        parse(&not_utf8, MediaType::Json).unwrap_err(),
        ParseError::NotUtf8 { valid_up_to: 25 }
    );
}

#[test]
fn unknown_kinds_are_kept_whatever_their_shape() {
    // A new kind with the sending fields is a sending event with an unknown kind.
    let body = br#"{"event":"delivery_delayed","timestamp":1728669700,"event_id":"e","message_id":"m","email":"a@example.com","delay":30}"#;
    let events = parse(body, MediaType::Json).unwrap();
    let event = events.events[0].as_sending().unwrap();
    assert_eq!(event.kind, EventKind::Unknown("delivery_delayed".into()));
    assert_eq!(event.unknown.get("delay").unwrap().get(), "30");
    assert_eq!(serde_json::to_vec(&events).unwrap(), body);

    // One without them is kept raw.
    let body = br#"{"events":[{"x":[1],"event":"domain.verified","domain":"example.com","timestamp":1728669700}]}"#;
    let events = parse(body, MediaType::Json).unwrap();
    let MailtrapEvent::Unknown(event) = &events.events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(event.name, "domain.verified");
    assert_eq!(event.timestamp(), Some(at(1_728_669_700)));
    assert_eq!(events.events[0].timestamp(), Some(at(1_728_669_700)));
    assert_eq!(
        event.unknown.get("domain").unwrap().get(),
        r#""example.com""#
    );
    assert_eq!(serde_json::to_vec(&events).unwrap(), body);

    // A known kind is checked, not kept raw.
    let err = parse(br#"{"event":"delivery","timestamp":1}"#, MediaType::Json).unwrap_err();
    assert!(matches!(err, ParseError::UnexpectedShape { .. }));
}

#[test]
fn any_key_order_parses_and_round_trips() {
    // `event` last, an unknown wrapper key first and last, an escaped string in an
    // entry read before `event` (replayed) and after it.
    let body = br#"{"meta":1,"events":[{"email":"a\u0040example.com","timestamp":1,"custom_variables":{"k":"v"},"event_id":"e","zzz":null,"message_id":"m","event":"click","url":"https://x/\"y\""}],"tail":"t"}"#;
    let events = parse(body, MediaType::Json).unwrap();
    let event = events.events[0].as_sending().unwrap();
    assert_eq!(event.kind, EventKind::Click);
    assert_eq!(event.email, "a@example.com");
    assert_eq!(event.url.as_deref(), Some(r#"https://x/"y""#));
    assert_eq!(
        event.custom_variables.as_ref().unwrap().get(),
        r#"{"k":"v"}"#
    );
    assert_eq!(
        events
            .unknown
            .iter()
            .map(|(key, _)| key)
            .collect::<Vec<_>>(),
        ["meta", "tail"]
    );
    // serde_json writes `@` unescaped; everything else comes back byte for byte.
    let expected = String::from_utf8(body.to_vec())
        .unwrap()
        .replace(r"\u0040", "@");
    assert_eq!(serde_json::to_string(&events).unwrap(), expected);
}

/// A body like Mailtrap's worst case: 500 events, with custom variables.
fn batch_of(count: usize) -> String {
    let kinds = [
        "delivery",
        "open",
        "click",
        "bounce",
        "soft bounce",
        "spam",
        "unsubscribe",
        "suspension",
        "reject",
    ];
    let events: Vec<String> = (0..count)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            let extra = match kind {
                "open" | "click" | "unsubscribe" => r#","ip":"198.51.100.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)""#,
                "bounce" | "soft bounce" => r#","response":"550 5.1.1 User unknown","response_code":550,"bounce_category":"badrecipient""#,
                "suspension" | "reject" => r#","reason":"unsubscribed""#,
                _ => "",
            };
            format!(
                r#"{{"event":"{kind}","timestamp":{ts},"sending_stream":"bulk","category":"newsletter","custom_variables":{{"user_id":{i},"campaign":"spring-{i}","vip":{vip}}},"message_id":"00000000-0000-4000-8000-{i:012}","email":"user{i}@example.com","event_id":"11111111-0000-4000-8000-{i:012}"{extra},"sending_domain_name":"news.example.com"}}"#,
                ts = 1_728_669_700 + i,
                vip = i % 2 == 0,
            )
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

#[test]
fn a_500_event_batch_parses_and_round_trips() {
    let body = batch_of(500);
    assert!(body.len() > 150_000, "{}", body.len());
    let events = borrowed(body.as_bytes(), MediaType::Json).unwrap();
    assert_eq!(events.len(), 500);
    for (i, event) in events.iter().enumerate() {
        let event = event.as_sending().unwrap();
        assert_eq!(event.email, format!("user{i}@example.com"));
        assert!(event.kind.is_known());
    }
    assert_eq!(
        events.events[499].timestamp(),
        Some(at(1_728_669_700 + 499))
    );
    assert_eq!(serde_json::to_string(&events).unwrap(), body);
    let owned = events.into_owned();
    assert_eq!(serde_json::to_string(&owned).unwrap(), body);
    // The same events as JSON Lines.
    let lines = owned.to_json_lines().unwrap();
    let again = parse(lines.as_bytes(), MediaType::JsonLines).unwrap();
    assert_eq!(again.events, owned.events);
}

#[test]
fn events_are_deserialize_owned() {
    fn owned_only<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_json::from_reader(text.as_bytes()).unwrap()
    }
    let event: MailtrapEvent<'static> =
        owned_only(&String::from_utf8(fixture("cross-sdk-vector.json")).unwrap());
    assert_eq!(event.name(), "delivery");
    let audit: MailtrapEvent<'static> =
        owned_only(&String::from_utf8(fixture("audit.json")).unwrap());
    assert!(audit.as_audit().is_some());
    let value: serde_json::Value = serde_json::to_value(&audit).unwrap();
    assert_eq!(value["actor"]["id"], 1);
}
