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
    // recovered from a sorted copy, so there nothing is claimed.
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
    assert!(diagnosis.findings.is_empty(), "{:?}", diagnosis.findings);

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
