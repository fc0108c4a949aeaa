//! Standard Webhooks: the envelope carries the verified id and timestamp; the body is
//! any `T`, or the typed default `StandardEvent`.

use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Timelike};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::standard_webhooks::{StandardEvent, StandardWebhook};
use webhook_core::{
    MediaType, ParseContext, ParseError, Scheme, Secret, Verifier, parse_unverified,
    senders::standard_webhooks,
};

const RESEND: &str = r#"{"type":"email.bounced","created_at":"2024-11-22T23:41:12.126Z","data":{"created_at":"2024-11-22T23:41:11.894719+00:00","email_id":"56761188-7520-42d8-8898-ff6fc54ce618","from":"Acme <onboarding@resend.dev>","to":["delivered@resend.dev"],"subject":"Sending this example","bounce":{"message":"The recipient's email provider rejected the email.","subType":"Suppressed","type":"Permanent"}}}"#;
const SVIX: &str = r#"{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"invoice_WF7WtCLFFtd8ubcTgboSFNql","status":"paid","attempt":2}}"#;

fn context(id: Option<&str>, at: Option<i64>) -> ParseContext<'_> {
    ParseContext {
        media_type: MediaType::Json,
        message_id: id,
        signed_at: at,
    }
}

#[test]
fn the_envelope_carries_the_verified_headers() {
    let webhook: StandardWebhook =
        parse_unverified(SVIX.as_bytes(), context(Some("msg_1"), Some(1_667_507_170))).unwrap();
    assert_eq!(webhook.message_id, "msg_1");
    assert_eq!(
        webhook.timestamp,
        DateTime::from_timestamp(1_667_507_170, 0).unwrap()
    );
    assert_eq!(webhook.payload["data"]["attempt"], 2);
    let mapped = webhook
        .clone()
        .map(|value| value["type"].as_str().unwrap().to_owned());
    assert_eq!(
        (mapped.message_id.as_str(), mapped.payload.as_str()),
        ("msg_1", "invoice.paid")
    );
}

#[test]
fn missing_headers_are_typed_errors() {
    for (id, at, header) in [
        (None, Some(1), "webhook-id"),
        (Some("msg_1"), None, "webhook-timestamp"),
    ] {
        let err =
            parse_unverified::<StandardWebhook>(SVIX.as_bytes(), context(id, at)).unwrap_err();
        assert_eq!(err, ParseError::MissingContext { header });
        // Parsing a Standard Webhooks payload from another scheme's verification is the
        // receiver's wiring mistake, not the sender's.
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
    let err =
        parse_unverified::<StandardWebhook>(SVIX.as_bytes(), context(Some("m"), Some(i64::MAX)))
            .unwrap_err();
    assert!(matches!(err, ParseError::UnexpectedShape { path, .. } if path == "webhook-timestamp"));
}

#[test]
fn resend_and_svix_bodies_as_standard_events() {
    let webhook: StandardWebhook<StandardEvent<'static>> = parse_unverified(
        RESEND.as_bytes(),
        context(Some("msg_2"), Some(1_732_318_872)),
    )
    .unwrap();
    let event = &webhook.payload;
    assert_eq!(event.event_type, "email.bounced");
    assert_eq!(event.timestamp, None);
    assert_eq!(event.created_at.unwrap().nanosecond(), 126_000_000);
    assert_eq!(event.time(), event.created_at);
    #[derive(Deserialize)]
    struct Bounced<'a> {
        email_id: &'a str,
        to: Vec<&'a str>,
    }
    let data: Bounced<'_> = event.data_as().unwrap();
    assert_eq!(data.email_id, "56761188-7520-42d8-8898-ff6fc54ce618");
    assert_eq!(data.to, ["delivered@resend.dev"]);
    assert_eq!(
        serde_json::to_string(&webhook).unwrap(),
        RESEND,
        "writes the body back"
    );

    let event: StandardEvent<'static> = serde_json::from_str(SVIX).unwrap();
    assert_eq!(event.event_type, "invoice.paid");
    assert_eq!(event.time().unwrap().timestamp_subsec_micros(), 344_522);
    assert_eq!(serde_json::to_string(&event).unwrap(), SVIX);
}

#[test]
fn verified_messages_parse_into_the_envelope() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(secret.clone())
        .build()
        .unwrap();
    let now = 1_732_318_872;
    let mut headers = HeaderMap::new();
    headers.insert(
        "webhook-id",
        "msg_2pW8Fhb1tXlbkoWqVBVwv0EAlTl".parse().unwrap(),
    );
    headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
    headers.insert(
        "webhook-signature",
        standard_webhooks::sign(
            &secret,
            "msg_2pW8Fhb1tXlbkoWqVBVwv0EAlTl",
            now,
            RESEND.as_bytes(),
        )
        .parse()
        .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    let verified = verifier
        .verify_at(
            &headers,
            RESEND.as_bytes(),
            UNIX_EPOCH + Duration::from_secs(now as u64),
        )
        .unwrap();
    let webhook: StandardWebhook<StandardEvent<'static>> = verified.parse().unwrap();
    assert_eq!(webhook.message_id, "msg_2pW8Fhb1tXlbkoWqVBVwv0EAlTl");
    assert_eq!(webhook.timestamp.timestamp(), now);
    assert_eq!(webhook.payload.event_type, "email.bounced");

    // A borrowing body type of the user's own.
    #[derive(Debug, Deserialize)]
    struct Minimal<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
    }
    let borrowed: StandardWebhook<Minimal<'_>> = verified.parse_borrowed().unwrap();
    assert_eq!(borrowed.payload.kind, "email.bounced");
}

#[test]
fn body_errors_and_media_types() {
    let ctx = context(Some("m"), Some(1));
    let err = parse_unverified::<StandardWebhook<StandardEvent<'static>>>(br#"{"data":{}}"#, ctx)
        .unwrap_err();
    assert!(
        matches!(&err, ParseError::UnexpectedShape { detail, .. } if detail == "missing field `type`"),
        "{err:?}"
    );
    let err = parse_unverified::<StandardWebhook<StandardEvent<'static>>>(
        br#"{"type":"x","data":{},"timestamp":1667507170}"#,
        ctx,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ParseError::UnexpectedShape { path, .. } if path == "timestamp"),
        "{err:?}"
    );
    assert!(matches!(
        parse_unverified::<StandardWebhook>(b"{} {}", ctx),
        Err(ParseError::TrailingData { .. })
    ));
    let form = ParseContext {
        media_type: MediaType::FormUrlEncoded,
        ..ctx
    };
    let err = parse_unverified::<StandardWebhook>(SVIX.as_bytes(), form).unwrap_err();
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let err =
        parse_unverified_borrowed::<StandardWebhook<StandardEvent<'_>>>(SVIX.as_bytes(), form)
            .unwrap_err();
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn unknown_keys_of_standard_events_are_kept() {
    let body =
        r#"{"id":"evt_1","type":"contact.created","data":{"id":"c"},"api_version":"2024-01-01"}"#;
    let event: StandardEvent<'static> = serde_json::from_str(body).unwrap();
    assert_eq!(
        event.unknown.iter().map(|(key, _)| key).collect::<Vec<_>>(),
        ["id", "api_version"]
    );
    assert_eq!(event.time(), None);
    assert_eq!(serde_json::to_string(&event).unwrap(), body);
}
