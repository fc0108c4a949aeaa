//! Each likely integration mistake is recognised, and the explanation never shows the
//! secret, the presented signature or the expected MAC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use webhook_core::{
    Scheme, Secret,
    diagnose::{BodyForm, Diagnosis, Finding, SecretChange, diagnose},
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

const BODY: &[u8] = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org","zeta":1,"alpha":2}}]}"#;
const SECRET: &str = "correct-horse-battery";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    map
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// Runs the diagnosis and checks that nothing secret leaks into its text.
fn run(
    scheme: Scheme,
    secret: &str,
    request: &HeaderMap,
    body: &[u8],
    at: SystemTime,
) -> Diagnosis {
    let diagnosis = diagnose(scheme, secret.as_bytes(), request, body, at);
    let text: Vec<String> = diagnosis
        .findings
        .iter()
        .map(ToString::to_string)
        .chain(diagnosis.result.as_ref().err().map(ToString::to_string))
        .collect();
    let presented: Vec<&str> = request.values().filter_map(|v| v.to_str().ok()).collect();
    for line in &text {
        assert!(!line.contains(SECRET) && !line.contains(WHSEC), "{line}");
        for value in &presented {
            if value.len() > 20 {
                assert!(!line.contains(value), "{line} shows {value}");
            }
        }
        let expected = stalwart::sign(&Secret::new(secret.trim()), body);
        assert!(!line.contains(&expected), "{line}");
    }
    diagnosis
}

#[test]
fn a_valid_request_has_no_findings() {
    let request = headers(&[("x-signature", &stalwart::sign(&Secret::new(SECRET), BODY))]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, BODY, now());
    assert!(diagnosis.is_valid());
    assert!(diagnosis.findings.is_empty());
}

#[test]
fn a_reserialized_body_is_named() {
    let request = headers(&[("x-signature", &stalwart::sign(&Secret::new(SECRET), BODY))]);

    // The sender signed compact; a proxy or framework re-wrote it with spaces, keeping
    // the key order.
    let spaced = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace(",\"", ", \"")
        .replace(":{", ": {");
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, spaced.as_bytes(), now());
    assert!(!diagnosis.is_valid());
    assert_eq!(
        diagnosis.findings,
        [Finding::BodyReserialized {
            signed: BodyForm::Compact
        }]
    );
    assert!(diagnosis.findings[0].to_string().contains("re-serialized"));

    // The receiver pretty-printed it (serde_json sorts keys): a sender that itself signs
    // sorted compact JSON is recognised; the original order of an unsorted body cannot be
    // recovered from a sorted copy, but the event's keys out of Stalwart's order say
    // what happened.
    let value: serde_json::Value = serde_json::from_slice(BODY).unwrap();
    let sorted_compact = serde_json::to_vec(&value).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let sorted_request = headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new(SECRET), &sorted_compact),
    )]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &sorted_request, &pretty, now());
    assert_eq!(
        diagnosis.findings,
        [Finding::BodyReserialized {
            signed: BodyForm::Compact
        }]
    );
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, &pretty, now());
    assert_eq!(
        diagnosis.findings,
        [Finding::KeysReordered {
            scheme: Scheme::Stalwart,
            found: vec!["createdAt", "data", "id", "type"]
        }]
    );
    let said = diagnosis.findings[0].to_string();
    assert!(
        said.contains("`createdAt`, `data`, `id`, `type`")
            && said.contains("Stalwart writes `id`, `createdAt`, `type`, `data`")
            && said.contains("own key order"),
        "{said}"
    );
    // Compact and sorted, the same.
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, &sorted_compact, now());
    assert!(matches!(
        diagnosis.findings[..],
        [Finding::KeysReordered { .. }]
    ));

    // A trailing newline added by a tool.
    let diagnosis = run(
        Scheme::Stalwart,
        SECRET,
        &request,
        &[BODY, b"\n"].concat(),
        now(),
    );
    assert_eq!(
        diagnosis.findings,
        [Finding::BodyReserialized {
            signed: BodyForm::WithoutTrailingNewline
        }]
    );
    // Said as what it is: a newline added, not a JSON re-serialization.
    let said = diagnosis.findings[0].to_string();
    assert!(
        said.contains("a newline was added after signing") && !said.contains("re-serialized"),
        "{said}"
    );
    // And the reverse: the sender's final newline lost.
    let with_newline = [BODY, b"\n"].concat();
    let signed_newline = headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new(SECRET), &with_newline),
    )]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &signed_newline, BODY, now());
    let said = diagnosis.findings[0].to_string();
    assert!(
        said.contains("final newline was lost") && !said.contains("re-serialized"),
        "{said}"
    );
}

#[test]
fn a_secret_with_a_trailing_newline_or_spaces_is_named() {
    let request = headers(&[("x-signature", &stalwart::sign(&Secret::new(SECRET), BODY))]);
    for (held, change) in [
        (format!("{SECRET}\n"), SecretChange::TrailingNewlineRemoved),
        (
            format!("{SECRET}\r\n"),
            SecretChange::TrailingNewlineRemoved,
        ),
        (
            format!("{SECRET}  "),
            SecretChange::TrailingWhitespaceRemoved,
        ),
        (
            format!("  {SECRET} "),
            SecretChange::SurroundingWhitespaceRemoved,
        ),
    ] {
        let diagnosis = run(Scheme::Stalwart, &held, &request, BODY, now());
        assert_eq!(
            diagnosis.findings,
            [Finding::SecretWhitespace { change }],
            "{held:?}"
        );
    }
    // The sender's copy has the newline, the receiver's does not.
    let request = headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new(format!("{SECRET}\n")), BODY),
    )]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, BODY, now());
    assert_eq!(
        diagnosis.findings,
        [Finding::SecretWhitespace {
            change: SecretChange::TrailingNewlineAdded
        }]
    );
}

#[test]
fn encoding_mix_ups_are_named() {
    let key = Secret::new(SECRET);
    let hex_mac = mailtrap::sign(&key, BODY);
    let b64_mac = stalwart::sign(&key, BODY);
    let cases = [
        (
            Scheme::Stalwart,
            "x-signature",
            hex_mac.clone(),
            "hex",
            "base64",
        ),
        (
            Scheme::Stalwart,
            "x-signature",
            format!("sha256={hex_mac}"),
            "`sha256=` + hex",
            "base64",
        ),
        (
            Scheme::EmailApi,
            "x-webhook-signature",
            hex_mac.clone(),
            "hex without the `sha256=` prefix",
            "`sha256=` + hex",
        ),
        (
            Scheme::EmailApi,
            "x-webhook-signature",
            b64_mac.clone(),
            "base64",
            "`sha256=` + hex",
        ),
        (
            Scheme::Mailtrap,
            "mailtrap-signature",
            format!("sha256={hex_mac}"),
            "hex with a `sha256=` prefix",
            "plain hex",
        ),
        (
            Scheme::Mailtrap,
            "mailtrap-signature",
            b64_mac.clone(),
            "base64",
            "plain hex",
        ),
    ];
    for (scheme, header, value, found, expected) in cases {
        let request = headers(&[(header, &value)]);
        let diagnosis = run(scheme, SECRET, &request, BODY, now());
        assert!(!diagnosis.is_valid());
        assert_eq!(
            diagnosis.findings,
            [Finding::SignatureEncoding { found, expected }],
            "{scheme} {value}"
        );
    }
}

#[test]
fn mailtrap_hex_secret_decoded_is_named() {
    // Mailtrap uses the 32-hex-character secret as text; a receiver that hex-decoded it
    // computes another MAC. Diagnosed from the receiver holding the decoded form is not
    // possible (it holds text), so the reverse case: the sender decoded, we did not.
    let text = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
    let decoded = hex::decode(text).unwrap();
    let request = headers(&[(
        "mailtrap-signature",
        &mailtrap::sign(&Secret::new(&decoded), BODY),
    )]);
    let diagnosis = diagnose(Scheme::Mailtrap, text.as_bytes(), &request, BODY, now());
    assert_eq!(
        diagnosis.findings,
        [Finding::SecretEncoding {
            change: SecretChange::HexDecoded
        }]
    );
}

#[test]
fn whsec_mistakes_are_named() {
    let at = 1_700_000_000;
    let clock = UNIX_EPOCH + Duration::from_secs(at as u64);
    let sign_with = |key: Secret| {
        headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &at.to_string()),
            (
                "webhook-signature",
                &standard_webhooks::sign(&key, "msg_1", at, BODY),
            ),
        ])
    };
    // A sender (or a hand-rolled verifier elsewhere) used `whsec_…` as text.
    let request = sign_with(Secret::new(WHSEC));
    let diagnosis = run(Scheme::StandardWebhooks, WHSEC, &request, BODY, clock);
    assert_eq!(
        diagnosis.findings,
        [Finding::SecretEncoding {
            change: SecretChange::WhsecUsedAsText
        }]
    );
    // … or stripped the prefix but did not base64-decode.
    let request = sign_with(Secret::new(WHSEC.strip_prefix("whsec_").unwrap()));
    let diagnosis = run(Scheme::StandardWebhooks, WHSEC, &request, BODY, clock);
    assert_eq!(
        diagnosis.findings,
        [Finding::SecretEncoding {
            change: SecretChange::WhsecBodyUsedAsText
        }]
    );
}

#[test]
fn another_senders_header_is_named_and_tried() {
    let request = headers(&[(
        "x-webhook-signature",
        &email_api::sign(&Secret::new(SECRET), BODY),
    )]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, BODY, now());
    assert_eq!(
        diagnosis.result.as_ref().unwrap_err().code(),
        "missing_signature"
    );
    assert_eq!(
        diagnosis.findings,
        [Finding::OtherScheme {
            header: "x-webhook-signature",
            scheme: Scheme::EmailApi,
            verifies: true
        }]
    );
    assert!(
        diagnosis.findings[0]
            .to_string()
            .contains("set the verifier's scheme")
    );
}

#[test]
fn a_stale_timestamp_says_by_how_much() {
    let at: i64 = 1_700_000_000;
    let key = Secret::standard_webhooks(WHSEC).unwrap();
    let request = headers(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", &at.to_string()),
        (
            "webhook-signature",
            &standard_webhooks::sign(&key, "msg_1", at, BODY),
        ),
    ]);
    let later = UNIX_EPOCH + Duration::from_secs(at as u64 + 712);
    let diagnosis = run(Scheme::StandardWebhooks, WHSEC, &request, BODY, later);
    assert_eq!(
        diagnosis.findings,
        [Finding::TimestampOutsideTolerance {
            age_secs: 712,
            tolerance_secs: 300,
            otherwise_valid: true
        }]
    );
    let text = diagnosis.findings[0].to_string();
    assert!(
        text.contains("712 s old") && text.contains("412 s beyond"),
        "{text}"
    );
}

#[test]
fn a_plainly_wrong_secret_has_no_finding() {
    let request = headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new("another"), BODY),
    )]);
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, BODY, now());
    assert_eq!(
        diagnosis.result.as_ref().unwrap_err().code(),
        "signature_mismatch"
    );
    assert!(diagnosis.findings.is_empty());
}

#[test]
fn duplicate_headers_are_reported_as_such() {
    let sig = stalwart::sign(&Secret::new(SECRET), BODY);
    let mut request = headers(&[("x-signature", &sig)]);
    request.append("x-signature", sig.parse().unwrap());
    let diagnosis = run(Scheme::Stalwart, SECRET, &request, BODY, now());
    assert_eq!(
        diagnosis.result.as_ref().unwrap_err().code(),
        "duplicate_header"
    );
}

// The receiver's diagnosis (`diagnose_rejection`): as useful as `diagnose`, bounded, and
// blind to the secret's shape.

/// A JSON array of `0`s nested `depth` deep, `size` bytes long: the body that grew 128×
/// when pretty-printed.
fn nested_zeros(depth: usize, size: usize) -> Vec<u8> {
    let mut filler = size - 2 * depth;
    let mut body = "[".repeat(depth).into_bytes();
    // `0,0,…,0` is odd in length; a leading space evens it.
    if filler.is_multiple_of(2) {
        body.push(b' ');
        filler -= 1;
    }
    body.extend("0,".repeat(filler / 2).bytes());
    body.push(b'0');
    body.extend("]".repeat(depth).bytes());
    assert_eq!(body.len(), size);
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    body
}

fn stalwart_verifier(secret: &str) -> webhook_core::Verifier {
    webhook_core::Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(secret))
        .build()
        .unwrap()
}

/// A well-formed signature of another body under another secret.
fn wrong_signature() -> HeaderMap {
    headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new("not-the-secret"), b"other"),
    )])
}

fn receiver_diagnosis(
    verifier: &webhook_core::Verifier,
    request: &HeaderMap,
    body: &[u8],
    at: SystemTime,
) -> Option<Diagnosis> {
    let error = verifier.verify_at(request, body, at).unwrap_err();
    webhook_core::diagnose::diagnose_rejection(verifier, &error, request, body, at)
}

#[test]
fn the_receiver_diagnosis_finds_what_diagnose_finds() {
    let at: i64 = 1_700_000_000;
    let clock = UNIX_EPOCH + Duration::from_secs(at as u64);
    let key = Secret::new(SECRET);
    let spaced = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace(",\"", ", \"");
    let standard = Secret::standard_webhooks(WHSEC).unwrap();
    let standard_request = |key: &Secret| {
        headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &at.to_string()),
            (
                "webhook-signature",
                &standard_webhooks::sign(key, "msg_1", at, BODY),
            ),
        ])
    };
    // (scheme, the receiver's secret text, request, received body, clock)
    let cases: Vec<(Scheme, String, HeaderMap, Vec<u8>, SystemTime)> = vec![
        // A re-serialized body, a trailing newline added.
        (
            Scheme::Stalwart,
            SECRET.into(),
            headers(&[("x-signature", &stalwart::sign(&key, BODY))]),
            spaced.into_bytes(),
            now(),
        ),
        (
            Scheme::Stalwart,
            SECRET.into(),
            headers(&[("x-signature", &stalwart::sign(&key, BODY))]),
            [BODY, b"\n"].concat(),
            now(),
        ),
        // The receiver's secret kept a file's trailing newline.
        (
            Scheme::Stalwart,
            format!("{SECRET}\n"),
            headers(&[("x-signature", &stalwart::sign(&key, BODY))]),
            BODY.to_vec(),
            now(),
        ),
        // Hex where base64 is expected, and `sha256=` where Mailtrap has none.
        (
            Scheme::Stalwart,
            SECRET.into(),
            headers(&[("x-signature", &mailtrap::sign(&key, BODY))]),
            BODY.to_vec(),
            now(),
        ),
        (
            Scheme::Mailtrap,
            SECRET.into(),
            headers(&[(
                "mailtrap-signature",
                &format!("sha256={}", mailtrap::sign(&key, BODY)),
            )]),
            BODY.to_vec(),
            now(),
        ),
        // The sender hex-decoded a hex-looking Mailtrap secret.
        (
            Scheme::Mailtrap,
            "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e".into(),
            headers(&[(
                "mailtrap-signature",
                &mailtrap::sign(
                    &Secret::new(hex::decode("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e").unwrap()),
                    BODY,
                ),
            )]),
            BODY.to_vec(),
            now(),
        ),
        // `whsec_` used as text by the sender.
        (
            Scheme::StandardWebhooks,
            WHSEC.into(),
            standard_request(&Secret::new(WHSEC)),
            BODY.to_vec(),
            clock,
        ),
        // Another sender's header.
        (
            Scheme::Stalwart,
            SECRET.into(),
            headers(&[("x-webhook-signature", &email_api::sign(&key, BODY))]),
            BODY.to_vec(),
            now(),
        ),
        // A stale timestamp.
        (
            Scheme::StandardWebhooks,
            WHSEC.into(),
            standard_request(&standard),
            BODY.to_vec(),
            clock + Duration::from_secs(712),
        ),
    ];
    for (scheme, text, request, body, at) in cases {
        let offline = diagnose(scheme, text.as_bytes(), &request, &body, at);
        assert!(
            !offline.findings.is_empty(),
            "{scheme} {text:?}: no finding"
        );
        let verifier = webhook_core::Verifier::builder(scheme)
            .secret(scheme.secret_from(&text).unwrap())
            .build()
            .unwrap();
        let online = receiver_diagnosis(&verifier, &request, &body, at)
            .unwrap_or_else(|| panic!("{scheme} {text:?}: not diagnosed"));
        assert_eq!(online.findings, offline.findings, "{scheme} {text:?}");
        assert_eq!(online.result, offline.result);
        assert!(online.skipped.is_none());
    }
}

#[test]
fn the_receiver_diagnosis_runs_only_where_it_can_help() {
    let verifier = stalwart_verifier(SECRET);
    let sig = stalwart::sign(&Secret::new(SECRET), BODY);
    // No signature at all.
    assert!(receiver_diagnosis(&verifier, &HeaderMap::new(), BODY, now()).is_none());
    // A repeated signature header.
    let mut twice = headers(&[("x-signature", &sig)]);
    twice.append("x-signature", sig.parse().unwrap());
    assert!(receiver_diagnosis(&verifier, &twice, BODY, now()).is_none());
    // Credentials configured and absent, wrong, or malformed: never diagnosed, even
    // with a signature that a variant would explain.
    let guarded = webhook_core::Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .credentials(webhook_core::Credentials::basic("admin", Secret::new("pw")))
        .build()
        .unwrap();
    let newline_body = [BODY, b"\n"].concat();
    for auth in [None, Some("Basic YWRtaW46bm8="), Some("Bearer x")] {
        let mut request = headers(&[("x-signature", &sig)]);
        if let Some(auth) = auth {
            request.insert("authorization", auth.parse().unwrap());
        }
        assert!(
            receiver_diagnosis(&guarded, &request, &newline_body, now()).is_none(),
            "{auth:?}"
        );
    }
    // With the right credentials the same request is diagnosed.
    let mut request = headers(&[("x-signature", &sig)]);
    request.insert("authorization", "Basic YWRtaW46cHc=".parse().unwrap());
    let diagnosis = receiver_diagnosis(&guarded, &request, &newline_body, now()).unwrap();
    assert_eq!(
        diagnosis.findings,
        [Finding::BodyReserialized {
            signed: BodyForm::WithoutTrailingNewline
        }]
    );
    // A body over the verifier's limit.
    let small = webhook_core::Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .max_body_bytes(16)
        .build()
        .unwrap();
    assert!(receiver_diagnosis(&small, &headers(&[("x-signature", &sig)]), BODY, now()).is_none());
    // A credentials-only verifier has no secret to diagnose with.
    let wildduck = webhook_core::Verifier::builder(Scheme::WildDuck)
        .credentials(webhook_core::Credentials::basic("admin", Secret::new("pw")))
        .build()
        .unwrap();
    assert!(receiver_diagnosis(&wildduck, &HeaderMap::new(), BODY, now()).is_none());
    // A missing signature is diagnosed only when another sender's header is there.
    let other = headers(&[(
        "mailtrap-signature",
        &mailtrap::sign(&Secret::new(SECRET), BODY),
    )]);
    let diagnosis = receiver_diagnosis(&verifier, &other, BODY, now()).unwrap();
    assert_eq!(diagnosis.work.checks, 1);
    assert!(matches!(
        diagnosis.findings[..],
        [Finding::OtherScheme {
            scheme: Scheme::Mailtrap,
            verifies: true,
            ..
        }]
    ));
}

/// The bound of the module docs: at most 14 checks over at most 17 × the body (+ 1 KiB),
/// and at most 7 × the body (+ 1 KiB) re-serialized, whatever the body. `verdict` adds
/// the check of the request as given (`diagnose` runs it; a receiver already has).
fn assert_within_bound(
    work: webhook_core::diagnose::Work,
    body: usize,
    verdict: usize,
    what: &str,
) {
    assert!(work.checks <= 14 + verdict, "{what}: {work:?}");
    assert!(
        work.bytes_checked <= (17 + verdict) * body + 1024,
        "{what}: {work:?}"
    );
    assert!(work.bytes_rendered <= 7 * body + 1024, "{what}: {work:?}");
}

/// Point 1 of issue 17: a body nested 127 deep pretty-printed to 128× its size, which
/// was then cloned and hashed. Now each form is abandoned once it outgrows the body, and
/// the receiver does not diagnose bodies over 32 KiB at all.
#[test]
fn the_diagnosis_work_is_bounded_by_the_body() {
    use webhook_core::diagnose::{RECEIVER_MAX_BODY_BYTES, Skipped};
    let verifier = stalwart_verifier(SECRET);
    let request = wrong_signature();
    for size in [4096, RECEIVER_MAX_BODY_BYTES] {
        for depth in [1, 64, 127] {
            let body = nested_zeros(depth, size);
            let diagnosis = receiver_diagnosis(&verifier, &request, &body, now()).unwrap();
            assert!(diagnosis.findings.is_empty());
            assert_within_bound(diagnosis.work, size, 0, &format!("{size} B, {depth} deep"));
            let offline = diagnose(Scheme::Stalwart, SECRET.as_bytes(), &request, &body, now());
            assert_within_bound(offline.work, size, 1, "offline");
        }
    }
    // Over the receiver's limit: nothing is tried, and the diagnosis says so.
    let body = nested_zeros(127, 1 << 20);
    let diagnosis = receiver_diagnosis(&verifier, &request, &body, now()).unwrap();
    assert_eq!(diagnosis.work, Default::default());
    assert_eq!(
        diagnosis.skipped,
        Some(Skipped::BodyTooLarge {
            size: 1 << 20,
            limit: RECEIVER_MAX_BODY_BYTES
        })
    );
    assert!(
        diagnosis
            .skipped
            .unwrap()
            .to_string()
            .contains("webhook verify")
    );
    // `diagnose` (a request the user chose to examine) still explains it, in bounds.
    let offline = diagnose(Scheme::Stalwart, SECRET.as_bytes(), &request, &body, now());
    assert_within_bound(offline.work, body.len(), 1, "offline 1 MiB");
}

/// Point 6 of issue 17: the work of a rejected request's diagnosis depended on whether
/// the secret looked like hex, had whitespace, or was valid base64. Now the checks are
/// the same whatever the secret, for every sender, with or without other senders'
/// headers on the request.
#[test]
fn the_diagnosis_work_does_not_depend_on_the_secret() {
    let raw_secrets = [
        "correct-horse-battery",
        "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e",
        "8D9A3C0E",
        "  spaced secret \t",
        "trailing-newline\n",
        "trailing-crlf\r\n",
        "c2VjcmV0LWJ5dGVz",
        "whsec_c2VjcmV0LWJ5dGVz",
        "x",
    ];
    let whsec_secrets = [
        WHSEC,
        "whsec_c2VjcmV0LWJ5dGVz",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_AA==",
    ];
    let at: i64 = 1_700_000_000;
    let clock = UNIX_EPOCH + Duration::from_secs(at as u64);
    let wrong = Secret::new("not-the-secret");
    for scheme in [
        Scheme::Stalwart,
        Scheme::EmailApi,
        Scheme::Mailtrap,
        Scheme::StandardWebhooks,
    ] {
        let secrets: &[&str] = if scheme == Scheme::StandardWebhooks {
            &whsec_secrets
        } else {
            &raw_secrets
        };
        let own: HeaderMap = scheme
            .sign(
                Some(&wrong),
                BODY,
                Some(webhook_core::senders::Stamp {
                    message_id: "msg_1",
                    timestamp: at,
                }),
            )
            .unwrap()
            .into_iter()
            .map(|h| {
                (
                    http::HeaderName::from_static(h.header.name()),
                    h.value.unwrap().parse().unwrap(),
                )
            })
            .collect();
        // Every sender's headers at once: the other-sender checks run too.
        let mut all = own.clone();
        for other in Scheme::ALL
            .into_iter()
            .filter(|s| s.signs() && *s != scheme)
        {
            for h in other
                .sign(
                    Some(&wrong),
                    BODY,
                    Some(webhook_core::senders::Stamp {
                        message_id: "msg_1",
                        timestamp: at,
                    }),
                )
                .unwrap()
            {
                all.insert(
                    http::HeaderName::from_static(h.header.name()),
                    h.value.unwrap().parse().unwrap(),
                );
            }
        }
        // A re-encoded signature (malformed for the scheme) too.
        let mut malformed = own.clone();
        let header = http::HeaderName::from_static(scheme.signature_header().unwrap());
        let value = malformed.get(&header).unwrap().to_str().unwrap().to_owned();
        malformed.insert(header, format!("{value}x").parse().unwrap());
        for (what, request) in [("own", &own), ("all", &all), ("malformed", &malformed)] {
            let works: Vec<_> = secrets
                .iter()
                .map(|text| {
                    let verifier = webhook_core::Verifier::builder(scheme)
                        .secret(scheme.secret_from(text).unwrap())
                        .build()
                        .unwrap();
                    receiver_diagnosis(&verifier, request, BODY, clock).map(|d| d.work)
                })
                .collect();
            assert!(
                works.windows(2).all(|w| w[0] == w[1]),
                "{scheme} {what}: {works:?}"
            );
        }
    }
}

/// A sender that signs sorted-keys compact JSON (what a `serde_json::Value` writes
/// back), with the body delivered in its own order: named, on a nested, realistic body.
/// (The first cut of the streaming re-serializer counted each nesting level's copies
/// against its cap and silently gave up on such bodies; the fuzzer found it.)
#[test]
fn a_sorted_keys_signature_is_named_on_a_nested_body() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stalwart/example-1.json"
    ))
    .unwrap();
    let sorted =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    assert_ne!(sorted, body);
    let request = headers(&[(
        "x-signature",
        &stalwart::sign(&Secret::new(SECRET), &sorted),
    )]);
    let expected = [Finding::BodyReserialized {
        signed: BodyForm::CompactSortedKeys,
    }];
    assert_eq!(
        run(Scheme::Stalwart, SECRET, &request, &body, now()).findings,
        expected
    );
    let diagnosis = receiver_diagnosis(&stalwart_verifier(SECRET), &request, &body, now()).unwrap();
    assert_eq!(diagnosis.findings, expected);
    assert_within_bound(diagnosis.work, body.len(), 0, "sorted");
}
