//! WildDuck events: the documented example field by field, one body per event type
//! (typed keys, byte-identical round trips), unknown types and keys kept, and typed
//! errors.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use http::StatusCode;
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::wildduck::{
    Credential, ForwardType, WildDuckEventType, WildDuckPayload,
};
use webhook_core::{
    MediaType, ParseContext, ParseError, Scheme, Secret, UrlToken, Verifier, parse_unverified,
};

const USER: &str = "6561f0c2a1b2c3d4e5f60719";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/wildduck/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn parse(body: &[u8]) -> Result<WildDuckPayload<'static>, ParseError> {
    parse_unverified(body, ParseContext::new(MediaType::Json))
}

#[test]
fn documented_example_field_by_field() {
    let body = fixture("mailbox-created.json");
    let event: WildDuckPayload<'_> =
        parse_unverified_borrowed(&body, ParseContext::new(MediaType::Json)).unwrap();
    assert_eq!(event.id, "6561f0c2a1b2c3d4e5f60718:1");
    assert_eq!(event.source_event_id(), Some("6561f0c2a1b2c3d4e5f60718"));
    assert_eq!(event.delivery_index(), Some(1));
    assert_eq!(
        event.time,
        DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()
    );
    assert_eq!(event.event_type, WildDuckEventType::MailboxCreated);
    assert_eq!(event.user.as_deref(), Some(USER));
    assert_eq!(event.mailbox.as_deref(), Some("6561f0c2a1b2c3d4e5f6071a"));
    assert_eq!(event.path.as_deref(), Some("Archive/2024"));
    assert!(!event.is_server_wide());
    assert!(event.unknown.is_empty());
    assert_eq!(event.message, None);
    assert!(matches!(event.path, Some(Cow::Borrowed(_))), "zero-copy");
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
}

#[test]
fn verified_through_a_url_token() {
    let body = fixture("mailbox-created.json");
    let verifier = Verifier::builder(Scheme::WildDuck)
        .url_token(UrlToken::new("token", Secret::new("s3cr3t-t0ken")))
        .build()
        .unwrap();
    let request = http::Request::builder()
        .uri("/hooks/wildduck?token=s3cr3t-t0ken")
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let verified = verifier.verify(&request, &body[..]).unwrap();
    let event: WildDuckPayload<'static> = verified.parse().unwrap();
    assert_eq!(event.event_type, WildDuckEventType::MailboxCreated);
}

/// One compact body per event type, with that type's keys, in WildDuck's key order.
fn every_type() -> Vec<(WildDuckEventType<'static>, String)> {
    let head = |ev: &str| {
        format!(r#"{{"id":"6561f0c2a1b2c3d4e5f60718:2","time":1700000000123,"ev":"{ev}""#)
    };
    let user = format!(r#","user":"{USER}""#);
    let rows: Vec<(WildDuckEventType<'static>, &str, String)> = vec![
        (WildDuckEventType::UserCreated, "user.created", format!(r#"{user},"username":"jdoe","name":"John Doe","address":"jdoe@example.com""#)),
        (WildDuckEventType::UserPasswordChanged, "user.password.changed", user.clone()),
        (WildDuckEventType::UserDeleteStarted, "user.delete.started", format!(r#"{user},"result":{{"deleteAfter":"2024-01-22T10:30:05.000Z","tags":[]}}"#)),
        (WildDuckEventType::UserDeleteCompleted, "user.delete.completed", format!(r#"{user},"result":{{"deleted":true}}"#)),
        (WildDuckEventType::UserDeleteCancelled, "user.delete.cancelled", format!(r#"{user},"result":{{}}"#)),
        (WildDuckEventType::AddressUserCreated, "address.user.created", format!(r#"{user},"address":"6561f0c2a1b2c3d4e5f60720","value":"alias@example.com""#)),
        (WildDuckEventType::AddressUserDeleted, "address.user.deleted", format!(r#"{user},"address":"6561f0c2a1b2c3d4e5f60720","value":"alias@example.com""#)),
        (WildDuckEventType::AddressForwardedCreated, "address.forwarded.created", r#","address":"6561f0c2a1b2c3d4e5f60721","value":"fwd@example.com""#.into()),
        (WildDuckEventType::AddressForwardedDeleted, "address.forwarded.deleted", r#","address":"6561f0c2a1b2c3d4e5f60721","value":"fwd@example.com""#.into()),
        (WildDuckEventType::AddressDomainRenamed, "address.domain.renamed", r#","previous":"old.example.com","current":"new.example.com""#.into()),
        (WildDuckEventType::DomainAliasCreated, "domainalias.created", r#","domainalias":"6561f0c2a1b2c3d4e5f60722","alias":"alias.example.com","domain":"example.com""#.into()),
        (WildDuckEventType::DomainAliasDeleted, "domainalias.deleted", r#","domainalias":"6561f0c2a1b2c3d4e5f60722","alias":"alias.example.com","domain":"example.com""#.into()),
        (WildDuckEventType::DkimCreated, "dkim.created", r#","dkim":"6561f0c2a1b2c3d4e5f60723","domain":"example.com","selector":"wd2024","fingerprint":"6a:1f:0c""#.into()),
        (WildDuckEventType::DkimUpdated, "dkim.updated", r#","dkim":"6561f0c2a1b2c3d4e5f60723","domain":"example.com","selector":"wd2024","fingerprint":"6a:1f:0d""#.into()),
        (WildDuckEventType::DkimDeleted, "dkim.deleted", r#","dkim":"6561f0c2a1b2c3d4e5f60723","domain":"example.com","selector":"wd2024","fingerprint":"6a:1f:0d""#.into()),
        (WildDuckEventType::CertCreated, "cert.created", r#","cert":"6561f0c2a1b2c3d4e5f60724","servername":"mail.example.com","fingerprint":"ab:cd""#.into()),
        (WildDuckEventType::CertUpdated, "cert.updated", r#","cert":"6561f0c2a1b2c3d4e5f60724","servername":"mail.example.com","fingerprint":"ab:ce""#.into()),
        (WildDuckEventType::CertDeleted, "cert.deleted", r#","cert":"6561f0c2a1b2c3d4e5f60724","servername":"mail.example.com","fingerprint":"ab:ce""#.into()),
        (WildDuckEventType::FilterCreated, "filter.created", format!(r#"{user},"filter":"6561f0c2a1b2c3d4e5f60725""#)),
        (WildDuckEventType::FilterDeleted, "filter.deleted", format!(r#"{user},"filter":"6561f0c2a1b2c3d4e5f60725""#)),
        (WildDuckEventType::AspCreated, "asp.created", format!(r#"{user},"asp":"6561f0c2a1b2c3d4e5f60726","description":"Thunderbird""#)),
        (WildDuckEventType::AspDeleted, "asp.deleted", format!(r#"{user},"asp":"6561f0c2a1b2c3d4e5f60726","description":"Thunderbird""#)),
        (WildDuckEventType::AutoreplyUserEnabled, "autoreply.user.enabled", user.clone()),
        (WildDuckEventType::AutoreplyUserDisabled, "autoreply.user.disabled", user.clone()),
        (WildDuckEventType::MfaTotpEnabled, "mfa.totp.enabled", user.clone()),
        (WildDuckEventType::MfaTotpDisabled, "mfa.totp.disabled", user.clone()),
        (WildDuckEventType::MfaCustomEnabled, "mfa.custom.enabled", user.clone()),
        (WildDuckEventType::MfaCustomDisabled, "mfa.custom.disabled", user.clone()),
        (WildDuckEventType::MfaDisabled, "mfa.disabled", user.clone()),
        (WildDuckEventType::MfaWebauthnRegistered, "mfa.webauthn.registered", format!(r#"{user},"credential":{{"id":"6561f0c2a1b2c3d4e5f60727","rawId":"a1b2c3d4","description":"YubiKey","authenticatorAttachment":"cross-platform"}}"#)),
        (WildDuckEventType::MfaWebauthnRemoved, "mfa.webauthn.removed", format!(r#"{user},"credential":"6561f0c2a1b2c3d4e5f60727""#)),
        (WildDuckEventType::MailboxCreated, "mailbox.created", format!(r#"{user},"mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive/2024""#)),
        (WildDuckEventType::MailboxDeleted, "mailbox.deleted", format!(r#"{user},"mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive/2024""#)),
        (WildDuckEventType::MailboxRenamed, "mailbox.renamed", format!(r#"{user},"mailbox":"6561f0c2a1b2c3d4e5f6071a","previous":"Archive/2024","current":"Archive/Old""#)),
        (WildDuckEventType::MarkedSpam, "marked.spam", format!(r#"{user},"mailbox":"6561f0c2a1b2c3d4e5f6071b","message":1234,"from":{{"name":"Spammer","address":"spam@example.net"}},"to":[{{"name":"","address":"jdoe@example.com"}}],"cc":[{{"name":"Ann","address":"ann@example.com"}},{{"name":"","address":"bob@example.com"}}],"messageId":"<abc@example.net>","subject":"Win","date":"2024-01-15T10:30:05.000Z""#)),
        (WildDuckEventType::MarkedHam, "marked.ham", format!(r#"{user},"mailbox":"6561f0c2a1b2c3d4e5f6071c","message":7,"from":{{"name":"","address":"friend@example.org"}},"bcc":[{{"name":"","address":"me@example.com"}}],"messageId":"<def@example.org>","subject":"Hi","date":"2024-01-15T10:30:05.120Z""#)),
        (WildDuckEventType::ForwardAdded, "forward added", format!(r#"{user},"type":"filter","filter":"6561f0c2a1b2c3d4e5f60725","target":"smtp://mx.example.org:25""#)),
    ];
    rows.into_iter()
        .map(|(ty, ev, keys)| (ty, format!("{}{keys}}}", head(ev))))
        .collect()
}

#[test]
fn every_event_type_parses_and_round_trips() {
    let all = every_type();
    assert_eq!(
        all.len(),
        WildDuckEventType::KNOWN.len(),
        "one body per known type"
    );
    for (expected, body) in &all {
        let event = parse(body.as_bytes()).unwrap_or_else(|err| panic!("{body}: {err}"));
        assert_eq!(&event.event_type, expected, "{body}");
        assert!(event.event_type.is_known());
        assert!(event.unknown.is_empty(), "{body}: every key is typed");
        assert_eq!(event.time.timestamp_subsec_millis(), 123);
        assert_eq!(serde_json::to_string(&event).unwrap(), *body, "round trip");
    }
}

#[test]
fn per_event_keys_are_typed() {
    let by_type = |ty: WildDuckEventType<'_>| {
        let (_, body) = every_type().into_iter().find(|(t, _)| *t == ty).unwrap();
        parse(body.as_bytes()).unwrap()
    };
    let spam = by_type(WildDuckEventType::MarkedSpam);
    assert_eq!(spam.message, Some(1234));
    let from = spam.from.as_ref().unwrap();
    assert_eq!(
        (from.name.as_deref(), from.address.as_deref()),
        (Some("Spammer"), Some("spam@example.net"))
    );
    assert_eq!(
        spam.to.as_ref().unwrap()[0].address.as_deref(),
        Some("jdoe@example.com")
    );
    assert_eq!(spam.cc.as_ref().unwrap().len(), 2);
    assert_eq!(spam.bcc, None);
    assert_eq!(spam.message_id.as_deref(), Some("<abc@example.net>"));
    assert_eq!(spam.subject.as_deref(), Some("Win"));
    assert_eq!(
        spam.date,
        Some(Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap())
    );

    let registered = by_type(WildDuckEventType::MfaWebauthnRegistered);
    let Some(Credential::Registered(credential)) = &registered.credential else {
        panic!("{registered:?}")
    };
    assert_eq!(credential.raw_id.as_deref(), Some("a1b2c3d4"));
    assert_eq!(
        credential.authenticator_attachment.as_deref(),
        Some("cross-platform")
    );
    let removed = by_type(WildDuckEventType::MfaWebauthnRemoved);
    assert_eq!(
        removed.credential,
        Some(Credential::Id("6561f0c2a1b2c3d4e5f60727".into()))
    );
    assert_eq!(removed.credential.as_ref().unwrap().id(), credential.id);

    let forward = by_type(WildDuckEventType::ForwardAdded);
    assert_eq!(forward.event_type.as_str(), "forward added");
    assert_eq!(forward.forward_type, Some(ForwardType::Filter));
    assert_eq!(forward.target.as_deref(), Some("smtp://mx.example.org:25"));

    let deleted = by_type(WildDuckEventType::UserDeleteStarted);
    assert_eq!(
        deleted.result.as_ref().unwrap().get(),
        r#"{"deleteAfter":"2024-01-22T10:30:05.000Z","tags":[]}"#
    );

    let dkim = by_type(WildDuckEventType::DkimCreated);
    assert!(dkim.is_server_wide());
    assert_eq!(
        (dkim.domain.as_deref(), dkim.selector.as_deref()),
        (Some("example.com"), Some("wd2024"))
    );
}

#[test]
fn unknown_types_and_keys_are_kept() {
    let body = br#"{"id":"6561f0c2a1b2c3d4e5f60718:3","time":1700000000000,"ev":"message.archived","user":"6561f0c2a1b2c3d4e5f60719","archive":{"id":"x","size":12},"mailbox":"6561f0c2a1b2c3d4e5f6071a"}"#;
    let event = parse(body).unwrap();
    assert_eq!(
        event.event_type,
        WildDuckEventType::Unknown("message.archived".into())
    );
    assert_eq!(
        event.unknown.get("archive").unwrap().get(),
        r#"{"id":"x","size":12}"#
    );
    assert_eq!(event.mailbox.as_deref(), Some("6561f0c2a1b2c3d4e5f6071a"));
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
}

#[test]
fn malformed_bodies_get_typed_errors() {
    let shape = |body: &[u8]| match parse(body).unwrap_err() {
        ParseError::UnexpectedShape { path, detail, .. } => (path, detail),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        shape(br#"{"id":"a:1","ev":"mailbox.created"}"#),
        (".".into(), "missing field `time`".into())
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":"1700000000000","ev":"x"}"#).0,
        "time"
    );
    assert_eq!(shape(br#"{"id":"a:1","time":1.5,"ev":"x"}"#).0, "time");
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"marked.spam","message":"12"}"#).0,
        "message"
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"marked.spam","message":-1}"#).0,
        "message"
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"marked.spam","to":{"address":"x"}}"#).0,
        "to"
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"marked.spam","date":"15/01/2024"}"#).0,
        "date"
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"mfa.webauthn.registered","credential":{}}"#),
        ("credential".into(), "missing field `id`".into())
    );
    assert_eq!(
        shape(br#"{"id":"a:1","time":1,"ev":"x","user":null,"user":"u"}"#).0,
        "user"
    );

    let body = fixture("mailbox-created.json");
    assert!(matches!(
        parse(&[&body[..], b"\n{}"].concat()),
        Err(ParseError::TrailingData { line: 2, .. })
    ));
    let mut not_utf8 = body.clone();
    not_utf8[7] = 0xff;
    assert_eq!(
        parse(&not_utf8).unwrap_err(),
        ParseError::NotUtf8 { valid_up_to: 7 }
    );
    let err = parse_unverified::<WildDuckPayload<'static>>(
        &body,
        ParseContext::new(MediaType::FormUrlEncoded),
    )
    .unwrap_err();
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A trailing newline is whitespace, not data.
    parse(&[&body[..], b"\n"].concat()).unwrap();
}

#[test]
fn null_keys_and_odd_ids_survive() {
    // An explicit null for an optional key is kept (and written back); an id
    // without `:<n>` is kept as sent.
    let body = br#"{"id":"plain","time":0,"ev":"mailbox.deleted","user":null,"path":"A"}"#;
    let event = parse(body).unwrap();
    assert_eq!(event.user, None);
    assert_eq!(event.source_event_id(), None);
    assert_eq!(event.delivery_index(), None);
    assert_eq!(event.time.timestamp(), 0);
    assert_eq!(serde_json::to_vec(&event).unwrap(), body);
}
