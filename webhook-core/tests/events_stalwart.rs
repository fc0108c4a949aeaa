//! Stalwart batches: the spec's examples field by field, byte-identical round trips,
//! zero-copy borrowing, old wire forms, fingerprints, and every malformed case.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use webhook_core::{
    MediaType, ParseContext, ParseError, Scheme, Secret, StalwartEvents, Verifier,
    events::{parse_unverified, parse_unverified_borrowed},
    senders::stalwart::{Value, WebhookEvents},
};

fn example(n: u8) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/stalwart/example-{n}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn json() -> ParseContext<'static> {
    ParseContext::new(MediaType::Json)
}

fn borrowed(body: &[u8]) -> Result<WebhookEvents<'_>, ParseError> {
    parse_unverified_borrowed(body, json())
}

#[test]
fn example_1_queued_then_ingested() {
    let body = example(1);
    let batch = borrowed(&body).unwrap();
    assert_eq!(batch.len(), 2);
    let queued = &batch.events[0];
    assert_eq!(queued.id(), "17557848150380");
    assert_eq!(queued.created_at_text(), "2025-08-21T14:00:15Z");
    assert_eq!(queued.created_at().timestamp(), 1_755_784_815);
    assert_eq!(queued.event_type().as_str(), "queue.message-queued");
    let data = queued.fields().unwrap();
    assert_eq!(data.span_id(), Some(312_845_507_532_341_249));
    assert_eq!(data.queue_id(), Some(312_845_507_540_729_856));
    assert_eq!(data.from().as_deref(), Some("bill@example.org"));
    assert_eq!(data.to().unwrap(), ["jdoe@example.org", "jane@example.net"]);
    assert_eq!(data.size(), Some(1187));
    assert_eq!(data.next_retry().unwrap().timestamp(), 1_755_784_815);
    assert_eq!(
        data.next_dsn().unwrap().timestamp(),
        1_755_784_815 + 4 * 3600
    );
    assert_eq!(
        data.expires().unwrap().timestamp(),
        1_755_784_815 + 5 * 86_400
    );
    assert_eq!(data.listener_id().as_deref(), Some("smtp"));
    assert_eq!(data.local_port(), Some(25));
    assert_eq!(data.remote_ip(), Some("198.51.100.23".parse().unwrap()));
    assert_eq!(data.remote_port(), Some(40112));
    assert_eq!(data.len(), 12);

    let ham = &batch.events[1];
    assert_eq!(ham.event_type().as_str(), "message-ingest.ham");
    let data = ham.fields().unwrap();
    assert_eq!(data.account_id(), Some(2));
    assert_eq!(data.document_id(), Some(vec![0]));
    assert_eq!(data.mailbox_id(), Some(vec![0]));
    assert_eq!(data.blob_id().unwrap().len(), 64);
    assert_eq!(data.change_id(), Some(5));
    assert_eq!(
        data.message_id().as_deref(),
        Some("20250821140015.1234@example.org")
    );
    assert_eq!(data.elapsed(), Some(Duration::from_millis(4)));
    assert_eq!(data.queue_name().as_deref(), Some("local"));
    assert_eq!(data.to().unwrap(), ["jdoe@example.org"]);
    assert_eq!(data.total(), Some(2));
}

#[test]
fn example_2_login_then_ban() {
    let body = example(2);
    let batch = borrowed(&body).unwrap();
    let login = batch.events[0].fields().unwrap();
    assert_eq!(batch.events[0].event_type().as_str(), "auth.success");
    assert_eq!(login.account_name().as_deref(), Some("jdoe@example.org"));
    assert_eq!(login.listener_id().as_deref(), Some("imaps"));
    assert_eq!(login.remote_ip(), Some("203.0.113.7".parse().unwrap()));

    let ban = &batch.events[1];
    assert_eq!(ban.event_type().as_str(), "security.authentication-ban");
    let data = ban.fields().unwrap();
    assert_eq!(data.remote_ip(), Some("192.0.2.99".parse().unwrap()));
    assert_eq!(data.account_name().as_deref(), Some("admin"));
    // The IMAP tag arrives under `id`, as a string.
    assert_eq!(data.value("id"), Some(Value::from("a1")));
    assert_eq!(data.span_id(), Some(312_845_867_907_170_305));
}

#[test]
fn example_3_delivery_and_nested_dkim_errors() {
    let body = example(3);
    let batch = borrowed(&body).unwrap();
    let delivered = batch.events[0].fields().unwrap();
    assert_eq!(delivered.hostname().as_deref(), Some("mx.example.net"));
    assert_eq!(delivered.to().unwrap(), ["jane@example.net"]);
    assert_eq!(delivered.code(), Some(250));
    assert_eq!(
        delivered.details().as_deref(),
        Some("2.0.0 Ok: queued as 4F2A1")
    );
    assert_eq!(delivered.elapsed(), Some(Duration::from_millis(812)));

    let dkim = &batch.events[1];
    assert_eq!(dkim.event_type().as_str(), "smtp.dkim-fail");
    let data = dkim.fields().unwrap();
    assert_eq!(data.strict(), Some(false));
    assert_eq!(data.remote_ip(), Some("2001:db8::25".parse().unwrap()));
    let results = data.events("result");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].event_type.as_str(), "dkim.fail");
    assert_eq!(results[0].data.domain().as_deref(), Some("example.com"));
    let cause = results[0].data.caused_by().unwrap();
    let cause = cause.as_event().unwrap();
    assert_eq!(cause.event_type.as_str(), "dkim.failed-verification");
    assert!(cause.data.is_empty());
}

#[test]
fn parse_then_serialize_is_byte_identical() {
    for n in 1..=3 {
        let body = example(n);
        let batch = borrowed(&body).unwrap();
        assert_eq!(serde_json::to_vec(&batch).unwrap(), body, "borrowed {n}");
        let owned: StalwartEvents = parse_unverified(&body, json()).unwrap();
        assert_eq!(serde_json::to_vec(&owned).unwrap(), body, "owned {n}");
        assert_eq!(owned, batch.clone().into_owned());
    }
}

#[test]
fn the_borrowed_form_points_into_the_body() {
    let body = example(1);
    let range = body.as_ptr_range();
    let batch = borrowed(&body).unwrap();
    for event in &batch {
        for text in [event.id(), event.created_at_text(), event.data().as_str()] {
            assert!(range.contains(&text.as_ptr()), "{text} was copied");
        }
    }
    let owned = batch.into_owned();
    assert!(!range.contains(&owned.events[0].id().as_ptr()));
}

#[test]
fn ids_are_opaque_strings_of_any_length() {
    let body = br#"{"events":[{"id":"175578481512345678901234567890636","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","data":{}}]}"#;
    let batch = borrowed(body).unwrap();
    assert_eq!(batch.events[0].id(), "175578481512345678901234567890636");
}

#[test]
fn stalwart_v0_8_shapes_parse_and_round_trip() {
    // Numeric snowflake id, fractional seconds, a v0.8 type name and typed data.
    let body = br#"{"events":[{"id":312845507532341249,"createdAt":"2024-06-20T17:11:15.123456789Z","type":"auth.failure","data":{"login":"jdoe","protocol":"imap","remoteIp":"192.0.2.1"}}]}"#;
    let batch = borrowed(body).unwrap();
    let event = &batch.events[0];
    assert_eq!(event.id(), "312845507532341249");
    assert_eq!(event.created_at().timestamp_subsec_nanos(), 123_456_789);
    assert_eq!(event.event_type().as_str(), "auth.failure");
    assert_eq!(serde_json::to_vec(&batch).unwrap(), body);
}

#[test]
fn unknown_keys_survive_at_every_level() {
    let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"brand-new.family-event","data":{"futureKey":[1,{"a":null}]},"text":"Login succeeded"}],"version":2}"#;
    let batch = borrowed(body).unwrap();
    let event = &batch.events[0];
    assert_eq!(event.event_type().as_str(), "brand-new.family-event");
    assert_eq!(
        event.extra().map(|(k, v)| (k, v.get())).collect::<Vec<_>>(),
        [("text", "\"Login succeeded\"")]
    );
    assert_eq!(
        batch.extra().map(|(k, v)| (k, v.get())).collect::<Vec<_>>(),
        [("version", "2")]
    );
    let data = event.fields().unwrap();
    assert_eq!(data.unknown().count(), 1);
    assert_eq!(serde_json::to_vec(&batch).unwrap(), body);
}

#[test]
fn a_retry_has_a_new_id_and_the_same_fingerprint() {
    let body = example(2);
    let batch = borrowed(&body).unwrap();
    let first = &batch.events[0];
    // Stalwart v0.16.11+: same event re-serialized with the next counter value.
    let retried_body = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"1755784900237\"", "\"17557849002937\"");
    let retried = borrowed(retried_body.as_bytes()).unwrap();
    assert_ne!(retried.events[0].id(), first.id());
    assert_eq!(retried.events[0].fingerprint(), first.fingerprint());
    // Different content, different fingerprint; the two events differ from each other.
    assert_ne!(batch.events[1].fingerprint(), first.fingerprint());
    let other_port = retried_body.replace("60211", "60212");
    assert_ne!(
        borrowed(other_port.as_bytes()).unwrap().events[0].fingerprint(),
        first.fingerprint()
    );
    // Pinned so the algorithm cannot change silently: stored keys would stop matching.
    assert_eq!(
        first.fingerprint().to_string(),
        golden_fingerprint(
            first.event_type().as_str(),
            first.created_at_text(),
            first.data().as_str()
        )
    );
}

/// The documented construction, recomputed independently of the crate.
fn golden_fingerprint(event_type: &str, created_at: &str, data: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(b"hookwise/stalwart-event/v1\0");
    for part in [event_type, created_at, data] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

#[test]
fn malformed_bodies_get_typed_errors_with_their_path() {
    let cases: &[(&[u8], &str, Option<&str>)] = &[
        (br#"{"events":[]}"#, "empty_batch", None),
        (br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","data":{}}]}garbage"#, "trailing_data", None),
        (br#"{"events":[{"id":"1","createdAt":"#, "invalid_json", None),
        (b"{\"events\":[{\"id\":\"\xff\"}]}", "not_utf8", None),
        (br#"{"events":[{"id":"1","createdAt":1755784815,"type":"auth.success","data":{}}]}"#, "unexpected_shape", Some("events[0].createdAt")),
        (br#"{"events":[{"id":"1","createdAt":"2025-13-01T00:00:00Z","type":"auth.success","data":{}}]}"#, "unexpected_shape", Some("events[0].createdAt")),
        (br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","data":{}}]}"#, "unexpected_shape", Some("events[0]")),
        (br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"a.b","data":[]}]}"#, "unexpected_shape", Some("events[0].data")),
        (br#"{"events":[{"id":"1","id":"2","createdAt":"2025-08-21T14:00:15Z","type":"a.b","data":{}}]}"#, "unexpected_shape", Some("events[0]")),
        (br#"{"events":[{"id":true,"createdAt":"2025-08-21T14:00:15Z","type":"a.b","data":{}}]}"#, "unexpected_shape", Some("events[0].id")),
        (br#"{"events":{}}"#, "unexpected_shape", Some("events")),
        (br#"{"event":[]}"#, "unexpected_shape", Some(".")),
        (br#"[]"#, "unexpected_shape", Some(".")),
        (b"", "invalid_json", None),
    ];
    for (body, code, path) in cases {
        let err = borrowed(body).unwrap_err();
        assert_eq!(
            err.code(),
            *code,
            "{}: {err}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        if let Some(path) = path {
            match &err {
                ParseError::UnexpectedShape { path: got, .. } => {
                    assert_eq!(got, path, "{}", String::from_utf8_lossy(body))
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn non_json_media_types_are_415() {
    let body = example(1);
    for media in [
        MediaType::FormUrlEncoded,
        MediaType::JsonLines,
        MediaType::Other,
    ] {
        let err = parse_unverified_borrowed::<WebhookEvents<'_>>(&body, ParseContext::new(media))
            .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    // A missing Content-Type is tolerated (hand-made test requests).
    parse_unverified_borrowed::<WebhookEvents<'_>>(&body, ParseContext::new(MediaType::Missing))
        .unwrap();
}

#[test]
fn verify_then_parse() {
    let body = example(3);
    let signature = std::fs::read_to_string(format!(
        "{}/tests/fixtures/stalwart/example-3.sig",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("my-secret-key"))
        .build()
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-signature", signature.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let verified = verifier.verify(&headers, body.clone()).unwrap();
    let owned: StalwartEvents = verified.parse().unwrap();
    let borrowed: WebhookEvents<'_> = verified.parse_borrowed().unwrap();
    assert_eq!(owned, borrowed.into_owned());
    assert_eq!(owned.len(), 2);
}

#[test]
fn a_thousand_event_batch() {
    let one = r#"{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","data":{"accountName":"a","spanId":312845863712866304}}"#;
    let body = format!(r#"{{"events":[{}]}}"#, vec![one; 10_000].join(","));
    let batch = borrowed(body.as_bytes()).unwrap();
    assert_eq!(batch.len(), 10_000);
    assert!(
        batch
            .iter()
            .all(|e| e.fields().unwrap().span_id() == Some(312_845_863_712_866_304))
    );
}
