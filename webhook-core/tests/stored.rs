//! Splitting verified bodies into stored events, and reading one event back
//! (`webhook_core::stored`), for every sender and body format.

use http::HeaderMap;
use webhook_core::{
    EmailApiEvent, MediaType, ParseError, Scheme, Secret, Verified, Verifier, WildDuckEvent,
    idempotency::{Namespace, event_keys},
    senders::{
        email_api,
        mailtrap::{self, MailtrapBatch, MailtrapEvent},
        stalwart::{self, StalwartKey, WebhookEvent, WebhookEvents},
        standard_webhooks::{self, StandardWebhook},
    },
    stored::{SplitEvent, StoredDelivery, StoredEvent},
};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn verify(scheme: Scheme, body: &[u8], content_type: Option<&str>) -> Verified<Vec<u8>> {
    let mut headers = HeaderMap::new();
    let builder = Verifier::builder(scheme);
    let builder = match scheme {
        Scheme::WildDuck => {
            builder.url_token(webhook_core::UrlToken::new("token", Secret::new("t")))
        }
        Scheme::StandardWebhooks => {
            let secret = scheme
                .secret_from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .unwrap();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            let stamp = webhook_core::senders::Stamp {
                message_id: "msg_1",
                timestamp: now,
            };
            for h in scheme.sign(Some(&secret), body, Some(stamp)).unwrap() {
                headers.insert(h.header.name(), h.value.unwrap().parse().unwrap());
            }
            builder.secret(secret)
        }
        _ => {
            let secret = Secret::new("k");
            for h in scheme.sign(Some(&secret), body, None).unwrap() {
                headers.insert(h.header.name(), h.value.unwrap().parse().unwrap());
            }
            builder.secret(secret)
        }
    };
    if let Some(content_type) = content_type {
        headers.insert("content-type", content_type.parse().unwrap());
    }
    let verifier = builder.build().unwrap();
    let request = {
        let mut request = http::Request::builder()
            .uri("/hook?token=t")
            .body(())
            .unwrap();
        *request.headers_mut() = headers;
        request
    };
    verifier.verify(&request, body.to_vec()).unwrap()
}

fn split(verified: &Verified<Vec<u8>>) -> Vec<SplitEvent> {
    let scheme = verified.verification().scheme();
    let events = StoredDelivery::of(verified)
        .split(&Namespace::of(scheme), StalwartKey::default())
        .unwrap();
    // The keys are the idempotency helper's, event for event.
    let keys = event_keys(verified, &Namespace::of(scheme), StalwartKey::default()).unwrap();
    assert_eq!(
        events.iter().map(|e| e.key().clone()).collect::<Vec<_>>(),
        keys
    );
    events
}

/// The stored event as a store would read it back: only the bytes and the context.
fn read_back<'a>(
    verified: &'a Verified<Vec<u8>>,
    event: &SplitEvent,
    bytes: &'a [u8],
) -> StoredEvent<'a> {
    let mut context = verified.verification().parse_context();
    context.media_type = event.media_type();
    StoredEvent::from_verified_store(verified.verification().scheme(), bytes, context)
}

#[test]
fn stalwart_batches_split_into_their_elements_byte_for_byte() {
    for n in 1..=3 {
        let body = fixture(&format!("stalwart/example-{n}.json"));
        let verified = verify(Scheme::Stalwart, &body, Some("application/json"));
        let events = split(&verified);
        let batch: WebhookEvents<'_> = verified.parse_borrowed().unwrap();
        assert_eq!(events.len(), batch.len());
        for (split, typed) in events.iter().zip(&batch) {
            let bytes = &body[split.range()];
            // The element exactly as sent: what re-serializing the typed event gives.
            assert_eq!(bytes, serde_json::to_vec(typed).unwrap());
            assert_eq!(split.event_type(), Some(typed.event_type().as_str()));
            assert_eq!(split.media_type(), MediaType::Json);
            let back: WebhookEvent<'static> = read_back(&verified, split, bytes).parse().unwrap();
            assert_eq!(&back, typed);
        }
    }
}

#[test]
fn stalwart_elements_keep_odd_spacing_and_unknown_keys() {
    let body = br#" { "extra" : 1 , "events" : [ {"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{},"new":[1, 2]} ,
{"id":"2","createdAt":"2025-08-21T14:01:41Z","type":"x.unknown","data":{"a":"\u00e9"}} ] } "#;
    let verified = verify(Scheme::Stalwart, body, None);
    let events = split(&verified);
    assert_eq!(
        &body[events[0].range()],
        br#"{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{},"new":[1, 2]}"#
    );
    assert_eq!(
        &body[events[1].range()],
        br#"{"id":"2","createdAt":"2025-08-21T14:01:41Z","type":"x.unknown","data":{"a":"\u00e9"}}"#
    );
    assert_eq!(events[1].event_type(), Some("x.unknown"));
    // A retried batch (new ids, same content) gives the same keys.
    let retried = String::from_utf8(body.to_vec())
        .unwrap()
        .replace(r#""id":"1""#, r#""id":"71""#);
    let again = split(&verify(Scheme::Stalwart, retried.as_bytes(), None));
    assert_eq!(again[0].key(), events[0].key());
}

#[test]
fn mailtrap_json_lines_form_and_bare_events_split_by_format() {
    // `{"events":[…]}`: one element each.
    let body = fixture("mailtrap/seed-batch.pretty.json");
    let verified = verify(Scheme::Mailtrap, &body, Some("application/json"));
    let events = split(&verified);
    let batch: MailtrapBatch<'_> = verified.parse_borrowed().unwrap();
    assert_eq!(events.len(), batch.len());
    for (split, typed) in events.iter().zip(&batch) {
        let bytes = &body[split.range()];
        assert!(bytes.starts_with(b"{") && bytes.ends_with(b"}"));
        let back: MailtrapEvent<'static> = read_back(&verified, split, bytes).parse().unwrap();
        assert_eq!(&back, typed);
        assert_eq!(split.event_type(), Some(typed.name()));
    }

    // JSON Lines: one line each, without its line end.
    let body = fixture("mailtrap/events.jsonl");
    let verified = verify(Scheme::Mailtrap, &body, Some("application/jsonl"));
    let events = split(&verified);
    let batch: MailtrapBatch<'_> = verified.parse_borrowed().unwrap();
    assert!(events.len() > 1);
    assert_eq!(events.len(), batch.len());
    let lines: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    for ((split, typed), line) in events.iter().zip(&batch).zip(lines) {
        assert_eq!(&body[split.range()], line);
        let back: MailtrapEvent<'static> = read_back(&verified, split, line).parse().unwrap();
        assert_eq!(&back, typed);
    }

    // Form data: the whole body, still form data.
    let body =
        b"event=delivery&timestamp=1716070000&event_id=e1&message_id=m1&email=a%40example.com"
            .to_vec();
    let verified = verify(
        Scheme::Mailtrap,
        &body,
        Some("application/x-www-form-urlencoded"),
    );
    let events = split(&verified);
    assert_eq!(events.len(), 1);
    assert!(events[0].is_whole_body(body.len()));
    assert_eq!(events[0].media_type(), MediaType::FormUrlEncoded);
    let back: MailtrapEvent<'static> = read_back(&verified, &events[0], &body).parse().unwrap();
    let batch: MailtrapBatch<'_> = verified.parse_borrowed().unwrap();
    assert_eq!(back, batch.events[0]);

    // A bare event (the cross-SDK vector's body).
    let body = fixture("mailtrap/cross-sdk-vector.json");
    let verified = verify(Scheme::Mailtrap, &body, Some("application/json"));
    let events = split(&verified);
    assert_eq!(events.len(), 1);
    assert!(events[0].is_whole_body(body.len()));
    assert_eq!(events[0].event_type(), Some("delivery"));
}

#[test]
fn one_event_senders_store_the_whole_body() {
    let body = fixture("email-api/bounced.json");
    let verified = verify(Scheme::EmailApi, &body, Some("application/json"));
    let events = split(&verified);
    assert_eq!(events.len(), 1);
    assert!(events[0].is_whole_body(body.len()));
    assert_eq!(events[0].event_type(), Some("bounced"));
    let back: EmailApiEvent = read_back(&verified, &events[0], &body).parse().unwrap();
    assert_eq!(back, verified.parse::<EmailApiEvent>().unwrap());

    let body = fixture("wildduck/mailbox-created.json");
    let verified = verify(Scheme::WildDuck, &body, Some("application/json"));
    let events = split(&verified);
    assert_eq!(events[0].event_type(), Some("mailbox.created"));
    let back: WildDuckEvent = read_back(&verified, &events[0], &body).parse().unwrap();
    assert_eq!(back, verified.parse::<WildDuckEvent>().unwrap());

    let body = br#"{"type":"email.delivered","created_at":"2024-02-22T23:41:12.126Z","data":{"email_id":"5"}}"#;
    let verified = verify(Scheme::StandardWebhooks, body, Some("application/json"));
    let events = split(&verified);
    assert_eq!(events[0].event_type(), Some("email.delivered"));
    assert_eq!(events[0].key().as_bytes(), b"standard-webhooks:id:msg_1");
    let back: StandardWebhook = read_back(&verified, &events[0], body).parse().unwrap();
    assert_eq!(back.message_id, "msg_1");
    assert_eq!(back.payload["data"]["email_id"], "5");

    // Any JSON document is a Standard Webhooks message; only objects have a type.
    for (body, event_type) in [
        (&br#"[1,{"type":"x"}]"#[..], None),
        (br#"{"type":7,"data":{"type":"inner"}}"#, None),
        (
            br#"{"data":{"type":"inner"},"type":"outer"}"#,
            Some("outer"),
        ),
        (br#""text""#, None),
    ] {
        let verified = verify(Scheme::StandardWebhooks, body, Some("application/json"));
        assert_eq!(split(&verified)[0].event_type(), event_type);
    }
}

#[test]
fn a_body_the_parser_refuses_does_not_split() {
    // Verified, but not a payload of the sender: what an inbox quarantines.
    for (scheme, body, content_type) in [
        (
            Scheme::Stalwart,
            &br#"{"events":[]}"#[..],
            "application/json",
        ),
        (
            Scheme::Stalwart,
            br#"{"events":[{"id":1}]}"#,
            "application/json",
        ),
        (Scheme::Stalwart, b"{}", "text/plain"),
        (Scheme::EmailApi, br#"{"id":"e"}"#, "application/json"),
        (
            Scheme::Mailtrap,
            b"{\"events\":[{\"event\"",
            "application/json",
        ),
        (Scheme::StandardWebhooks, b"not json", "application/json"),
    ] {
        let verified = verify(scheme, body, Some(content_type));
        let err = StoredDelivery::of(&verified)
            .split(&Namespace::of(scheme), StalwartKey::default())
            .unwrap_err();
        assert!(err.status().is_client_error(), "{err}");
        if scheme != Scheme::StandardWebhooks {
            // The same refusal as the sender's typed parse.
            let keys = event_keys(&verified, &Namespace::of(scheme), StalwartKey::default());
            assert_eq!(keys.unwrap_err(), err);
        } else {
            assert!(matches!(err, ParseError::InvalidJson { .. }), "{err}");
        }
    }
}

#[test]
fn a_stored_event_parses_only_as_its_senders_type() {
    let body = fixture("stalwart/example-1.json");
    let verified = verify(Scheme::Stalwart, &body, Some("application/json"));
    let events = split(&verified);
    let event = StoredDelivery::of(&verified).event(&events[0]);
    let err = event.parse::<EmailApiEvent>().unwrap_err();
    assert_eq!(
        err,
        ParseError::WrongSender {
            stored: Scheme::Stalwart,
            wanted: Scheme::EmailApi
        }
    );
    assert_eq!(err.status(), 500);
    assert!(event.parse::<WebhookEvent<'static>>().is_ok());
    // Bytes that are not an event of the sender are refused, never guessed at.
    let bogus =
        StoredEvent::from_verified_store(Scheme::Stalwart, b"{\"id\":\"1\"}", event.context());
    assert!(bogus.parse::<WebhookEvent<'static>>().is_err());
}

#[test]
fn default_body_limits_fit_each_senders_worst_case() {
    // Stalwart: 5 minutes of a busy server's events (300 a second) in one batch, at
    // the largest of the specification's examples.
    let one = fixture("stalwart/example-1.json");
    let approx = 300 * 300 * (one.len() / 2);
    assert!(
        approx <= Scheme::Stalwart.default_max_body_bytes(),
        "{approx}"
    );
    // Mailtrap: 500 events of 4 KiB.
    assert!(500 * 4096 <= Scheme::Mailtrap.default_max_body_bytes());
    let _ = (email_api::MAX_BODY_BYTES, mailtrap::MAX_BODY_BYTES);
    assert_eq!(stalwart::MAX_BODY_BYTES, 48 << 20);
    assert_eq!(standard_webhooks::MAX_BODY_BYTES, 1 << 20);
    for scheme in Scheme::ALL {
        let verifier = match scheme {
            Scheme::WildDuck => Verifier::builder(scheme)
                .url_token(webhook_core::UrlToken::new("token", Secret::new("t"))),
            _ => Verifier::builder(scheme).secret(
                scheme
                    .secret_from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                    .unwrap(),
            ),
        }
        .build()
        .unwrap();
        assert_eq!(verifier.max_body_bytes(), scheme.default_max_body_bytes());
    }
}
