//! The verifier's contract, case by case.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use webhook_core::{
    BuildError, Credentials, MalformedReason, Problem, Scheme, Secret, UrlToken, Verifier,
    VerifyError,
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

const BODY: &[u8] = br#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    map
}

fn stalwart_verifier(keys: &[&str]) -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secrets(keys.iter().map(Secret::new))
        .build()
        .unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn rotation_reports_which_key_matched() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .labeled_secret("2026-11", Secret::new("new"))
        .labeled_secret("2026-05", Secret::new("old"))
        .build()
        .unwrap();
    for (key, index, label) in [("new", 0, "2026-11"), ("old", 1, "2026-05")] {
        let sig = stalwart::sign(&Secret::new(key), BODY);
        let verified = verifier
            .verify(&headers(&[("x-signature", &sig)]), BODY)
            .unwrap();
        let matched = verified.verification().matched_key().unwrap();
        assert_eq!((matched.index(), matched.label()), (index, Some(label)));
    }
    let sig = stalwart::sign(&Secret::new("retired"), BODY);
    assert_eq!(
        verifier.verify(&headers(&[("x-signature", &sig)]), BODY),
        Err(VerifyError::SignatureMismatch { keys_tried: 2 })
    );
}

#[test]
fn header_names_are_case_insensitive() {
    let verifier = stalwart_verifier(&["k"]);
    let sig = stalwart::sign(&Secret::new("k"), BODY);
    for name in ["X-Signature", "x-signature", "X-SIGNATURE"] {
        verifier.verify(&headers(&[(name, &sig)]), BODY).unwrap();
    }
}

#[test]
fn a_repeated_signature_header_is_an_error_not_a_guess() {
    let verifier = stalwart_verifier(&["k"]);
    let good = stalwart::sign(&Secret::new("k"), BODY);
    let bad = stalwart::sign(&Secret::new("x"), BODY);
    for pair in [[&good, &bad], [&bad, &good], [&good, &good]] {
        let req = headers(&[("x-signature", pair[0]), ("X-Signature", pair[1])]);
        let err = verifier.verify(&req, BODY).unwrap_err();
        assert_eq!(
            err,
            VerifyError::DuplicateHeader {
                header: "x-signature"
            }
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn oversize_is_refused_before_anything_else() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .max_body_bytes(16)
        .build()
        .unwrap();
    // No signature at all: the size is what gets reported, so nothing was hashed.
    let err = verifier.verify(&HeaderMap::new(), BODY).unwrap_err();
    assert_eq!(
        err,
        VerifyError::BodyTooLarge {
            limit: 16,
            declared: None
        }
    );
    assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(verifier.check_declared_length(Some(17)).is_err());
    assert!(verifier.check_declared_length(Some(16)).is_ok());
    assert!(verifier.check_declared_length(None).is_ok());
    // Exactly at the limit passes the size check.
    let small = br#"{"events":[]}"#;
    let sig = stalwart::sign(&Secret::new("k"), small);
    verifier
        .verify(&headers(&[("x-signature", &sig)]), &small[..])
        .unwrap();
    assert_eq!(webhook_core::DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
}

#[test]
fn malformed_signatures_are_400_with_their_reason() {
    let verifier = stalwart_verifier(&["k"]);
    let cases = [
        ("", MalformedReason::Empty),
        (
            "c2hvcnQ=",
            MalformedReason::WrongLength {
                expected: 44,
                found: 8,
            },
        ),
        (
            "sha256=0000000000000000000000000000000000000",
            MalformedReason::InvalidBase64,
        ),
    ];
    for (value, reason) in cases {
        let err = verifier
            .verify(&headers(&[("x-signature", value)]), BODY)
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::MalformedSignature {
                header: "x-signature",
                reason
            },
            "{value:?}"
        );
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
    let missing = verifier.verify(&HeaderMap::new(), BODY).unwrap_err();
    assert_eq!(
        missing,
        VerifyError::MissingSignature {
            header: "x-signature"
        }
    );
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn email_api_and_mailtrap_accept_either_header_but_not_two_different_ones() {
    let secret = Secret::new("k");
    let email = Verifier::builder(Scheme::EmailApi)
        .secret(secret.clone())
        .build()
        .unwrap();
    let good = email_api::sign(&secret, BODY);
    let other = email_api::sign(&Secret::new("x"), BODY);
    email
        .verify(
            &headers(&[
                ("x-webhook-signature", &good),
                ("x-hub-signature-256", &good),
            ]),
            BODY,
        )
        .unwrap();
    assert_eq!(
        email
            .verify(
                &headers(&[
                    ("x-webhook-signature", &good),
                    ("x-hub-signature-256", &other)
                ]),
                BODY
            )
            .unwrap_err()
            .code(),
        "conflicting_headers"
    );

    let trap = Verifier::builder(Scheme::Mailtrap)
        .secret(secret.clone())
        .build()
        .unwrap();
    let hex = mailtrap::sign(&secret, BODY);
    assert_eq!(
        trap.verify(&headers(&[("mailtrap-signature", &good)]), BODY)
            .unwrap_err(),
        VerifyError::MalformedSignature {
            header: "mailtrap-signature",
            reason: MalformedReason::UnexpectedPrefix
        }
    );
    trap.verify(
        &headers(&[("x-mailtrap-signature", &hex.to_uppercase())]),
        BODY,
    )
    .unwrap();
}

fn standard_request(secret: &Secret, id: &str, ts: i64, body: &[u8]) -> HeaderMap {
    let sig = standard_webhooks::sign(secret, id, ts, body);
    headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", &ts.to_string()),
        ("webhook-signature", &sig),
    ])
}

fn standard_verifier(secret: &Secret) -> Verifier {
    Verifier::builder(Scheme::StandardWebhooks)
        .secret(secret.clone())
        .build()
        .unwrap()
}

#[test]
fn standard_webhooks_signature_lists() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = standard_verifier(&secret);
    let now = 1_700_000_000;
    let good = standard_webhooks::sign(&secret, "msg_1", now, BODY);
    let wrong = standard_webhooks::sign(
        &Secret::standard_webhooks("whsec_c2Vjb25kLXNlY3JldC1rZXktYnl0ZXM=").unwrap(),
        "msg_1",
        now,
        BODY,
    );
    let lists = [
        format!("{wrong} {good}"),
        format!("v1a,c29tZS1lZDI1NTE5LXNpZw== {good}"),
        format!("{good}  v2,abc"),
        format!("v1,bm9wZQ== {good}"),
    ];
    for list in &lists {
        let req = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &now.to_string()),
            ("webhook-signature", list),
        ]);
        verifier
            .verify_at(&req, BODY, at(now as u64))
            .unwrap_or_else(|e| panic!("{list}: {e}"));
    }
    let only_other_versions = headers(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &now.to_string()),
        ("webhook-signature", "v1a,c29tZQ== v2,abc"),
    ]);
    assert_eq!(
        verifier
            .verify_at(&only_other_versions, BODY, at(now as u64))
            .unwrap_err(),
        VerifyError::MalformedSignature {
            header: "webhook-signature",
            reason: MalformedReason::NoSupportedVersion
        }
    );
    let only_wrong = headers(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &now.to_string()),
        ("webhook-signature", &wrong),
    ]);
    assert_eq!(
        verifier.verify_at(&only_wrong, BODY, at(now as u64)),
        Err(VerifyError::SignatureMismatch { keys_tried: 1 })
    );
}

#[test]
fn standard_webhooks_headers_each_missing() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = standard_verifier(&secret);
    let now = 1_700_000_000;
    let full = standard_request(&secret, "msg_1", now, BODY);
    for (drop, code, status) in [
        ("webhook-signature", "missing_signature", 401),
        ("webhook-id", "missing_header", 400),
        ("webhook-timestamp", "missing_timestamp", 400),
    ] {
        let mut req = full.clone();
        req.remove(drop);
        let err = verifier.verify_at(&req, BODY, at(now as u64)).unwrap_err();
        assert_eq!(
            (err.code(), err.status().as_u16()),
            (code, status),
            "{drop}"
        );
    }
    let mut bad_ts = full.clone();
    bad_ts.insert("webhook-timestamp", "1700000000.5".parse().unwrap());
    assert_eq!(
        verifier
            .verify_at(&bad_ts, BODY, at(now as u64))
            .unwrap_err()
            .code(),
        "invalid_timestamp"
    );
}

#[test]
fn standard_webhooks_tolerance_defaults_to_five_minutes_and_is_configurable() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let now: i64 = 1_700_000_000;
    let default = standard_verifier(&secret);
    for (offset, ok) in [
        (0, true),
        (300, true),
        (-300, true),
        (301, false),
        (-301, false),
    ] {
        let req = standard_request(&secret, "msg_1", now - offset, BODY);
        assert_eq!(
            default.verify_at(&req, BODY, at(now as u64)).is_ok(),
            ok,
            "offset {offset}"
        );
    }
    let wide = Verifier::builder(Scheme::StandardWebhooks)
        .secret(secret.clone())
        .replay_window(Duration::from_secs(3600))
        .build()
        .unwrap();
    let req = standard_request(&secret, "msg_1", now - 3000, BODY);
    wide.verify_at(&req, BODY, at(now as u64)).unwrap();
    let stale = default.verify_at(&req, BODY, at(now as u64)).unwrap_err();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    assert!(stale.to_string().contains("3000 s behind"), "{stale}");
}

#[test]
fn svix_header_names_are_accepted() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = standard_verifier(&secret);
    let now = 1_700_000_000;
    let sig = standard_webhooks::sign(&secret, "msg_2", now, BODY);
    let svix = headers(&[
        ("svix-id", "msg_2"),
        ("svix-timestamp", &now.to_string()),
        ("svix-signature", &sig),
    ]);
    let verified = verifier.verify_at(&svix, BODY, at(now as u64)).unwrap();
    assert_eq!(verified.verification().message_id(), Some("msg_2"));
    let mut both = svix.clone();
    both.insert("webhook-id", "msg_3".parse().unwrap());
    assert_eq!(
        verifier
            .verify_at(&both, BODY, at(now as u64))
            .unwrap_err()
            .code(),
        "conflicting_headers"
    );
}

#[test]
fn a_signature_for_another_id_or_timestamp_fails() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = standard_verifier(&secret);
    let now = 1_700_000_000;
    let mut req = standard_request(&secret, "msg_1", now, BODY);
    req.insert("webhook-id", "msg_2".parse().unwrap());
    assert_eq!(
        verifier
            .verify_at(&req, BODY, at(now as u64))
            .unwrap_err()
            .code(),
        "signature_mismatch"
    );
    let mut req = standard_request(&secret, "msg_1", now, BODY);
    req.insert("webhook-timestamp", (now + 1).to_string().parse().unwrap());
    assert_eq!(
        verifier
            .verify_at(&req, BODY, at(now as u64))
            .unwrap_err()
            .code(),
        "signature_mismatch"
    );
}

#[test]
fn credentials_alone_or_with_a_signature() {
    let creds = Credentials::basic("account", Secret::new("pw"));
    let auth_only = Verifier::builder(Scheme::Stalwart)
        .credentials(creds.clone())
        .build()
        .unwrap();
    let auth = creds.header_value();
    let auth = auth.to_str().unwrap();
    let verified = auth_only
        .verify(&headers(&[("authorization", auth)]), BODY)
        .unwrap();
    assert!(verified.verification().credentials_checked());
    assert!(verified.verification().matched_key().is_none());
    assert_eq!(
        auth_only
            .verify(&HeaderMap::new(), BODY)
            .unwrap_err()
            .code(),
        "missing_auth"
    );

    let both = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .credentials(Credentials::bearer(Secret::new("tok")))
        .build()
        .unwrap();
    let sig = stalwart::sign(&Secret::new("k"), BODY);
    both.verify(
        &headers(&[("authorization", "Bearer tok"), ("x-signature", &sig)]),
        BODY,
    )
    .unwrap();
    assert_eq!(
        both.verify(&headers(&[("x-signature", &sig)]), BODY)
            .unwrap_err()
            .code(),
        "missing_auth"
    );
    assert_eq!(
        both.verify(&headers(&[("authorization", "Bearer tok")]), BODY)
            .unwrap_err()
            .code(),
        "missing_signature"
    );
}

#[test]
fn wildduck_authenticates_by_url_token_or_basic_auth() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .url_token(UrlToken::new("token", Secret::new("t0k")))
        .build()
        .unwrap();
    let ok = http::Request::post("/hooks/wildduck?token=t0k")
        .body(())
        .unwrap();
    let verified = verifier.verify(&ok, &b"{}"[..]).unwrap();
    assert!(verified.verification().url_token_checked());
    let wrong = http::Request::post("/hooks/wildduck?token=t0K")
        .body(())
        .unwrap();
    assert_eq!(
        verifier.verify(&wrong, &b"{}"[..]).unwrap_err().code(),
        "token_mismatch"
    );
}

#[test]
fn build_refuses_configurations_that_would_not_protect() {
    let err = |builder: webhook_core::VerifierBuilder| builder.build().unwrap_err();
    assert_eq!(
        err(Verifier::builder(Scheme::Stalwart)),
        BuildError::NothingToVerify {
            scheme: Scheme::Stalwart
        }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::WildDuck)),
        BuildError::NothingToVerify {
            scheme: Scheme::WildDuck
        }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::WildDuck).secret(Secret::new("k"))),
        BuildError::SchemeDoesNotSign {
            scheme: Scheme::WildDuck
        }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::Stalwart).secret(Secret::new(""))),
        BuildError::EmptySecret { index: 0 }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::StandardWebhooks)
            .secret(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))),
        BuildError::UndecodedStandardSecret { index: 0 }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::Stalwart)
            .secret(Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())),
        BuildError::DecodedSecretForRawScheme {
            index: 0,
            scheme: Scheme::Stalwart
        }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::Mailtrap)
            .secret(Secret::new("k"))
            .replay_window(Duration::from_secs(60))),
        BuildError::ReplayWindowUnsupported {
            scheme: Scheme::Mailtrap
        }
    );
    assert_eq!(
        err(Verifier::builder(Scheme::Stalwart)
            .secret(Secret::new("k"))
            .max_body_bytes(0)),
        BuildError::ZeroBodyLimit
    );
    // Explicitly insecure is allowed, and then anything passes.
    let open = Verifier::builder(Scheme::WildDuck)
        .insecure_accept_unauthenticated()
        .build()
        .unwrap();
    open.verify(&HeaderMap::new(), &b"{}"[..]).unwrap();
}

#[test]
fn stalwart_replay_window_on_created_at() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .replay_window(webhook_core::senders::stalwart::MIN_REPLAY_WINDOW)
        .build()
        .unwrap();
    let sig = stalwart::sign(&Secret::new("k"), BODY);
    let req = headers(&[("x-signature", &sig)]);
    let created = 1_755_784_900; // 2025-08-21T14:01:40Z
    let verified = verifier.verify_at(&req, BODY, at(created + 331)).unwrap();
    assert_eq!(verified.verification().signed_at(), Some(created as i64));
    let err = verifier
        .verify_at(&req, BODY, at(created + 332))
        .unwrap_err();
    assert_eq!(err.code(), "timestamp_out_of_window");
    // The signature is checked first: a forged stale body is a mismatch, not a replay.
    let forged = headers(&[("x-signature", &stalwart::sign(&Secret::new("x"), BODY))]);
    assert_eq!(
        verifier
            .verify_at(&forged, BODY, at(created + 332))
            .unwrap_err()
            .code(),
        "signature_mismatch"
    );
}

#[test]
fn email_api_replay_window_on_created_at() {
    let body = br#"{"id":"evt_xyz789","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_abc123"}}"#;
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new("k"))
        .replay_window(webhook_core::senders::email_api::MIN_REPLAY_WINDOW)
        .build()
        .unwrap();
    let req = headers(&[(
        "x-webhook-signature",
        &email_api::sign(&Secret::new("k"), body),
    )]);
    let created = 1_705_314_605; // 2024-01-15T10:30:05Z
    // The last retry, 36 minutes after the event, still passes.
    verifier
        .verify_at(&req, &body[..], at(created + 36 * 60))
        .unwrap();
    assert!(
        verifier
            .verify_at(&req, &body[..], at(created + 41 * 60))
            .is_err()
    );
}

/// No message, `Debug` or problem body ever contains a secret, a computed MAC, or the
/// credentials.
#[test]
fn nothing_leaks_secrets_or_expected_macs() {
    let secret_text = "super-secret-key-value";
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(secret_text))
        .credentials(Credentials::basic(
            "account",
            Secret::new("basic-password-value"),
        ))
        .url_token(UrlToken::new("token", Secret::new("url-token-value")))
        .build()
        .unwrap();
    let expected_mac = stalwart::sign(&Secret::new(secret_text), BODY);
    let expected_hex = hex::encode(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &expected_mac).unwrap(),
    );
    let forbidden = [
        secret_text,
        "basic-password-value",
        "url-token-value",
        &expected_mac,
        &expected_hex,
    ];
    let debug = format!("{verifier:?}");
    for f in forbidden {
        assert!(!debug.contains(f), "Debug leaks {f}: {debug}");
    }
    let wrong_sig = stalwart::sign(&Secret::new("x"), BODY);
    let auth = Credentials::basic("account", Secret::new("basic-password-value")).header_value();
    let requests = [
        http::Request::post("/h").body(()).unwrap(),
        http::Request::post("/h?token=url-token-valuX")
            .header("authorization", auth.clone())
            .body(())
            .unwrap(),
        http::Request::post("/h?token=url-token-value")
            .header("authorization", "Basic YWNjb3VudDp3cm9uZw==")
            .body(())
            .unwrap(),
        http::Request::post("/h?token=url-token-value")
            .header("authorization", auth.clone())
            .header("x-signature", &wrong_sig)
            .body(())
            .unwrap(),
        http::Request::post("/h?token=url-token-value")
            .header("authorization", auth)
            .header("x-signature", "garbage")
            .body(())
            .unwrap(),
    ];
    let mut codes = Vec::new();
    for request in &requests {
        let err = verifier.verify(request, BODY).unwrap_err();
        codes.push(err.code());
        let texts = [
            err.to_string(),
            format!("{err:?}"),
            Problem::from(&err).to_json(),
        ];
        for text in &texts {
            for f in forbidden {
                assert!(!text.contains(f), "{} leaks {f}: {text}", err.code());
            }
        }
    }
    assert_eq!(
        codes,
        [
            "missing_auth",
            "token_mismatch",
            "auth_mismatch",
            "signature_mismatch",
            "malformed_signature"
        ]
    );
}

#[test]
fn verified_records_the_media_type() {
    let verifier = stalwart_verifier(&["k"]);
    let sig = stalwart::sign(&Secret::new("k"), BODY);
    let verified = verifier
        .verify(
            &headers(&[("x-signature", &sig), ("content-type", "application/json")]),
            BODY.to_vec(),
        )
        .unwrap();
    assert_eq!(
        verified.verification().media_type(),
        webhook_core::MediaType::Json
    );
    assert_eq!(verified.into_body(), BODY);
}

/// Point 3 of issue 17: an empty password, Bearer token or URL token passed the builder,
/// so `--basic admin:` accepted `admin:` and `--url-token token=` accepted `?token=`.
#[test]
fn build_refuses_empty_or_ambiguous_credentials() {
    let err = |builder: webhook_core::VerifierBuilder| builder.build().unwrap_err();
    let wildduck = || Verifier::builder(Scheme::WildDuck);
    assert_eq!(
        err(wildduck().credentials(Credentials::basic("admin", Secret::new("")))),
        BuildError::EmptyCredentials { scheme: "Basic" }
    );
    assert_eq!(
        err(wildduck().credentials(Credentials::bearer(Secret::new("")))),
        BuildError::EmptyCredentials { scheme: "Bearer" }
    );
    assert_eq!(
        err(wildduck().url_token(UrlToken::new("token", Secret::new("")))),
        BuildError::EmptyUrlToken {
            param: "token".into()
        }
    );
    assert_eq!(
        err(wildduck().url_token(UrlToken::new("", Secret::new("t")))),
        BuildError::EmptyUrlTokenParam
    );
    // `a:b` + `c` would be sent as `a:b:c`, which reads back as `a` + `b:c`.
    assert_eq!(
        err(wildduck().credentials(Credentials::basic("a:b", Secret::new("c")))),
        BuildError::ColonInUsername
    );
    // The errors say what to do and never show a secret.
    for error in [
        BuildError::EmptyCredentials { scheme: "Basic" },
        BuildError::EmptyUrlToken {
            param: "token".into(),
        },
    ] {
        assert!(error.to_string().contains("empty"), "{error}");
    }
    // An empty username is allowed (RFC 7617), the password authenticates.
    let verifier = wildduck()
        .credentials(Credentials::basic("", Secret::new("pw")))
        .build()
        .unwrap();
    assert!(
        verifier
            .verify(&headers(&[("authorization", "Basic OnB3")]), &b"{}"[..])
            .is_ok()
    );
}

/// Point 4 of issue 17: the second `credentials` call silently replaced the first, so a
/// receiver told to require Basic and Bearer required only Bearer. A request carries one
/// `Authorization` header: the combination is refused at build.
#[test]
fn build_refuses_two_sets_of_credentials_or_two_url_tokens() {
    let both = Verifier::builder(Scheme::WildDuck)
        .credentials(Credentials::basic("admin", Secret::new("pw")))
        .credentials(Credentials::bearer(Secret::new("tok")))
        .build()
        .unwrap_err();
    assert_eq!(
        both,
        BuildError::SeveralCredentials {
            first: "Basic",
            second: "Bearer"
        }
    );
    assert!(both.to_string().contains("one `Authorization` header"));
    let tokens = Verifier::builder(Scheme::WildDuck)
        .url_token(UrlToken::new("a", Secret::new("x")))
        .url_token(UrlToken::new("b", Secret::new("y")))
        .build()
        .unwrap_err();
    assert_eq!(tokens, BuildError::SeveralUrlTokens);
}

/// A pinned media type: another declared type is refused (415) before any hashing, a
/// missing one is read as the pinned type, and a type the sender never sends is refused
/// at build.
#[test]
fn a_pinned_media_type_refuses_the_others() {
    use webhook_core::MediaType;
    let verifier = Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new("k"))
        .media_type(MediaType::JsonLines)
        .build()
        .unwrap();
    let sig = mailtrap::sign(&Secret::new("k"), BODY);
    for (declared, expected) in [
        (Some("application/x-ndjson"), Ok(MediaType::JsonLines)),
        (None, Ok(MediaType::JsonLines)),
        (Some("application/json"), Err(MediaType::Json)),
        (
            Some("application/x-www-form-urlencoded"),
            Err(MediaType::FormUrlEncoded),
        ),
        (Some("text/plain"), Err(MediaType::Other)),
    ] {
        let mut request = headers(&[("mailtrap-signature", &sig)]);
        if let Some(declared) = declared {
            request.insert("content-type", declared.parse().unwrap());
        }
        let outcome = verifier.verify(&request, BODY);
        match expected {
            Ok(media_type) => {
                assert_eq!(outcome.unwrap().verification().media_type(), media_type)
            }
            Err(found) => {
                let err = outcome.unwrap_err();
                assert_eq!(
                    err,
                    VerifyError::UnsupportedMediaType {
                        found,
                        declared: declared.map(Into::into),
                        expected: MediaType::JsonLines
                    }
                );
                assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
                // The message names the value received and what the sender should send.
                let message = err.to_string();
                let declared = declared.unwrap();
                assert!(
                    message.contains(&format!("`Content-Type: {declared}`")),
                    "{message}"
                );
                assert!(
                    message.contains("expected to send `Content-Type: application/jsonl`"),
                    "{message}"
                );
                assert!(!message.contains("Other") && !message.contains("FormUrlEncoded"));
            }
        }
    }
    // Refused before hashing: a wrong signature still gets the 415.
    let wrong = headers(&[
        ("mailtrap-signature", &"00".repeat(32)),
        ("content-type", "application/json"),
    ]);
    assert_eq!(
        verifier.verify(&wrong, BODY).unwrap_err().code(),
        "unsupported_media_type"
    );
    for scheme in [
        Scheme::Stalwart,
        Scheme::EmailApi,
        Scheme::StandardWebhooks,
        Scheme::WildDuck,
    ] {
        for media_type in [
            MediaType::JsonLines,
            MediaType::FormUrlEncoded,
            MediaType::Other,
        ] {
            let err = Verifier::builder(scheme)
                .insecure_accept_unauthenticated()
                .media_type(media_type)
                .build()
                .unwrap_err();
            assert_eq!(err, BuildError::MediaTypeUnsupported { scheme, media_type });
        }
    }
}
