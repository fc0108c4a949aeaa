//! Round trips over real loopback HTTP: every scheme the sender signs is accepted by
//! webhook-core's verifier, and Stalwart bodies parse back to the events sent.

mod common;

use std::time::{Duration, SystemTime};

use chrono::DateTime;
use common::Receiver;
use webhook_core::{
    Credentials, Scheme, Secret, UrlToken, Verifier,
    senders::stalwart::{DataMap, Key, Value},
};
use webhook_sender::{
    DeliveryPolicy, Endpoint, HeaderNames, IdGenerator, IdStyle, Message, Sender, StalwartEvent,
    StalwartFormat, TokioClock,
};

const KEY: &str = "my-secret-key";

fn fast(policy: DeliveryPolicy) -> DeliveryPolicy {
    policy
        .with_throttle(Duration::from_millis(5))
        .with_timeout(Some(Duration::from_secs(5)))
}

fn events() -> Vec<StalwartEvent> {
    let mut login = DataMap::new();
    login
        .push(Key::AccountName, Value::from("jdoe@example.org"))
        .push(Key::AccountId, Value::UInt(2))
        .push(Key::SpanId, Value::UInt(312_845_863_712_866_304))
        .push(Key::RemoteIp, Value::from("203.0.113.7"));
    let mut ban = DataMap::new();
    ban.push(Key::RemoteIp, Value::from("192.0.2.99"))
        .push(Key::AccountName, Value::from("admin ✓ ünïcode"))
        .push(Key::Id, Value::from("a1"));
    vec![
        StalwartEvent::from_map("auth.success", &login)
            .created_at(DateTime::from_timestamp(1_755_784_900, 0).unwrap()),
        StalwartEvent::from_map("security.authentication-ban", &ban)
            .created_at(DateTime::from_timestamp(1_755_784_901, 0).unwrap()),
    ]
}

/// Sends the two events in one batch and returns the receiver.
async fn stalwart_round_trip(
    verifier: Verifier,
    configure: impl FnOnce(Endpoint) -> Endpoint,
) -> Receiver {
    let receiver = Receiver::start(verifier).await;
    let endpoint = configure(
        Endpoint::new(Scheme::Stalwart, &receiver.url("/hooks/stalwart"))
            .unwrap()
            .no_proxy(),
    );
    let sender = Sender::builder(
        endpoint,
        StalwartFormat::new(IdGenerator::new(IdStyle::Counter)),
        fast(DeliveryPolicy::stalwart()),
    )
    // The events are from 2025: with the system clock, discard-after (5 min) would drop
    // them as stale, as Stalwart would.
    .clock(TokioClock::starting_at(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_755_784_905),
    ))
    .build()
    .unwrap();
    let sent = events();
    // Submitted before the engine runs: both leave in the first POST.
    for event in sent.clone() {
        sender.send(event).unwrap();
    }
    let stats = sender.close().await;
    assert_eq!((stats.delivered, stats.requests), (2, 1), "{stats:?}");

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].verified, Ok(()));
    assert_eq!(received[0].uri.path(), "/hooks/stalwart");
    let batches = receiver.stalwart_batches();
    let back: Vec<_> = batches[0].iter().collect();
    assert_eq!(back.len(), sent.len());
    for (got, want) in back.iter().zip(&sent) {
        assert_eq!(got.event_type(), want.event_type());
        assert_eq!(got.created_at(), want.created_at_time().unwrap());
        assert_eq!(got.data(), want.data());
    }
    assert_eq!(back[0].id(), format!("17557849000{}", sent[0].type_id()));
    assert_eq!(back[1].id(), format!("17557849011{}", sent[1].type_id()));
    // Compact, raw UTF-8 as Stalwart writes it.
    let text = std::str::from_utf8(&received[0].body).unwrap();
    assert!(text.starts_with(r#"{"events":[{"id":""#), "{text}");
    assert!(text.contains("admin ✓ ünïcode") && !text.contains("\": ") && !text.contains('\n'));
    receiver
}

#[tokio::test]
async fn stalwart_signed_without_auth() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(KEY))
        .build()
        .unwrap();
    let receiver = stalwart_round_trip(verifier, |e| e.secret(Secret::new(KEY)).unwrap()).await;
    let headers = &receiver.received()[0].headers;
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("authorization").is_none());
}

#[tokio::test]
async fn stalwart_signed_with_basic_auth() {
    let creds = || Credentials::basic("account", Secret::new("s3cr3t"));
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(KEY))
        .credentials(creds())
        .build()
        .unwrap();
    stalwart_round_trip(verifier, |e| {
        e.secret(Secret::new(KEY)).unwrap().credentials(creds())
    })
    .await;
}

#[tokio::test]
async fn stalwart_unsigned_with_bearer() {
    let creds = || Credentials::bearer(Secret::new("t0ken"));
    let verifier = Verifier::builder(Scheme::Stalwart)
        .credentials(creds())
        .build()
        .unwrap();
    let receiver = stalwart_round_trip(verifier, |e| e.credentials(creds())).await;
    assert!(receiver.received()[0].headers.get("x-signature").is_none());
}

#[tokio::test]
async fn custom_headers_cannot_override_signature_or_auth_but_can_content_type() {
    let creds = || Credentials::bearer(Secret::new("real-token"));
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(KEY))
        .credentials(creds())
        .build()
        .unwrap();
    let receiver = stalwart_round_trip(verifier, |e| {
        e.header(
            "X-Signature",
            "Dp/FZwQ9uL1KtepDaPspuPG7952gZQJvmayk0Kuh/Os=",
        )
        .unwrap()
        .header("Authorization", "Bearer forged")
        .unwrap()
        .header("Content-Type", "application/vnd.stalwart+json")
        .unwrap()
        .header("X-Tenant", "blue")
        .unwrap()
        .secret(Secret::new(KEY))
        .unwrap()
        .credentials(creds())
    })
    .await;
    let headers = &receiver.received()[0].headers;
    assert_eq!(headers["content-type"], "application/vnd.stalwart+json");
    assert_eq!(headers["authorization"], "Bearer real-token");
    assert_eq!(headers.get_all("x-signature").iter().count(), 1);
    assert_eq!(headers["x-tenant"], "blue");
    // Stalwart builds one `HeaderMap` in the order content-type, custom headers,
    // authorization, signature; a replaced header keeps the place of the one it replaced,
    // so the custom X-Signature and Authorization slots carry the real values.
    let ours: Vec<&str> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| ["content-type", "x-tenant", "authorization", "x-signature"].contains(n))
        .collect();
    assert_eq!(
        ours,
        ["content-type", "x-signature", "authorization", "x-tenant"]
    );
}

async fn message_round_trip(
    verifier: Verifier,
    endpoint: impl FnOnce(&Receiver) -> Endpoint,
    message: Message,
) -> Receiver {
    let receiver = Receiver::start(verifier).await;
    let endpoint = endpoint(&receiver).no_proxy();
    let policy = fast(DeliveryPolicy::for_scheme(endpoint.scheme()));
    let sender = Sender::messages(endpoint).policy(policy).build().unwrap();
    let ticket = sender.send(message.clone()).unwrap();
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert_eq!(stats.delivered, 1, "{stats:?} {:?}", log.get(ticket));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].verified, Ok(()), "{:?}", received[0].headers);
    assert_eq!(received[0].body, *message.body().bytes());
    receiver
}

const EMAIL_API_BODY: &str = r#"{"id":"evt_xyz789","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_abc123","from":"sender@yourdomain.com","to":"recipient@example.com","subject":"Hello","delivered_at":"2024-01-15T10:30:05Z"}}"#;

#[tokio::test]
async fn email_api_both_header_names() {
    for names in [HeaderNames::Current, HeaderNames::Alternate] {
        let verifier = Verifier::builder(Scheme::EmailApi)
            .secret(Secret::new("your-webhook-secret"))
            .build()
            .unwrap();
        let receiver = message_round_trip(
            verifier,
            |r| {
                Endpoint::new(Scheme::EmailApi, &r.url("/webhooks/email"))
                    .unwrap()
                    .secret(Secret::new("your-webhook-secret"))
                    .unwrap()
                    .header_names(names)
            },
            Message::json(EMAIL_API_BODY),
        )
        .await;
        let headers = &receiver.received()[0].headers;
        let name = match names {
            HeaderNames::Current => "x-webhook-signature",
            _ => "x-hub-signature-256",
        };
        assert!(headers[name].to_str().unwrap().starts_with("sha256="));
    }
}

#[tokio::test]
async fn mailtrap_json_and_jsonl() {
    let secret = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
    let json = r#"{"events":[{"event":"delivery","sending_stream":"transactional","category":"welcome","message_id":"a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f","email":"recipient@example.com","event_id":"f1e2d3c4-b5a6-7890-1234-567890abcdef","timestamp":1716070000}]}"#;
    let jsonl = "{\"event\":\"open\",\"timestamp\":1,\"event_id\":\"e1\",\"message_id\":\"m\",\"email\":\"a@b\"}\n{\"event\":\"click\",\"timestamp\":2,\"event_id\":\"e2\",\"message_id\":\"m\",\"email\":\"a@b\"}\n";
    for (names, message) in [
        (HeaderNames::Current, Message::json(json)),
        (
            HeaderNames::Alternate,
            Message::with_content_type(jsonl, http::HeaderValue::from_static("application/jsonl")),
        ),
    ] {
        let verifier = Verifier::builder(Scheme::Mailtrap)
            .secret(Secret::new(secret))
            .build()
            .unwrap();
        let receiver = message_round_trip(
            verifier,
            |r| {
                Endpoint::new(Scheme::Mailtrap, &r.url("/webhooks/mailtrap"))
                    .unwrap()
                    .secret(Secret::new(secret))
                    .unwrap()
                    .header_names(names)
            },
            message.clone(),
        )
        .await;
        let headers = &receiver.received()[0].headers;
        assert_eq!(headers["content-type"], message.body().content_type());
    }
}

#[tokio::test]
async fn standard_webhooks_webhook_and_svix_names() {
    let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for names in [HeaderNames::Current, HeaderNames::Alternate] {
        let verifier = Verifier::builder(Scheme::StandardWebhooks)
            .secret(Secret::standard_webhooks(text).unwrap())
            .build()
            .unwrap();
        let receiver = message_round_trip(
            verifier,
            |r| {
                Endpoint::new(Scheme::StandardWebhooks, &r.url("/webhooks/svix"))
                    .unwrap()
                    .secret(Secret::standard_webhooks(text).unwrap())
                    .unwrap()
                    .header_names(names)
            },
            Message::json(r#"{"type":"email.sent","data":{"email_id":"e1"}}"#),
        )
        .await;
        let headers = &receiver.received()[0].headers;
        let id = match names {
            HeaderNames::Current => &headers["webhook-id"],
            _ => &headers["svix-id"],
        };
        let id = id.to_str().unwrap();
        assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
    }
}

#[tokio::test]
async fn wildduck_basic_auth_from_url() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .credentials(Credentials::basic("hook", Secret::new("p@ss:w0rd")))
        .build()
        .unwrap();
    let receiver = message_round_trip(
        verifier,
        |r| {
            Endpoint::new(
                Scheme::WildDuck,
                &r.url_with_userinfo("hook:p%40ss%3Aw0rd", "/webhooks/wildduck"),
            )
            .unwrap()
        },
        Message::json(
            r#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"mailbox.created","user":"6561f0c2a1b2c3d4e5f60719","mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive/2024"}"#,
        ),
    )
    .await;
    assert!(
        receiver.received()[0].headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
}

#[tokio::test]
async fn wildduck_url_token() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .url_token(UrlToken::new("token", Secret::new("s3cr3t t0ken")))
        .build()
        .unwrap();
    let receiver = message_round_trip(
        verifier,
        |r| {
            Endpoint::new(
                Scheme::WildDuck,
                &r.url("/webhooks/wildduck?token=s3cr3t+t0ken"),
            )
            .unwrap()
        },
        Message::json(r#"{"id":"x:1","time":1,"ev":"user.created","user":"u"}"#),
    )
    .await;
    assert!(
        receiver.received()[0]
            .headers
            .get("authorization")
            .is_none()
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_retried_not_delivered() {
    // The receiver answers 401; email-API's first retry waits a minute, so close with a
    // deadline and check the refusal was logged.
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new("right"))
        .build()
        .unwrap();
    let receiver = Receiver::start(verifier).await;
    let endpoint = Endpoint::new(Scheme::EmailApi, &receiver.url("/h"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new("wrong"))
        .unwrap();
    let sender = Sender::messages(endpoint).build().unwrap();
    let ticket = sender.send(Message::json("{}")).unwrap();
    let log = sender.log().clone();
    let stats = sender.close_within(Duration::from_millis(500)).await;
    assert_eq!((stats.delivered, stats.abandoned), (0, 1));
    let record = log.get(ticket).unwrap();
    assert_eq!(record.attempts.len(), 1);
    assert_eq!(
        record.attempts[0].status,
        Some(http::StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        receiver.received()[0].verified,
        Err("signature_mismatch".to_owned())
    );
}
