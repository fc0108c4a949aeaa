//! Known-answer tests: published vectors reproduced exactly.
//!
//! A round trip through our own signer and verifier would pass with the key decoding,
//! the encoding or the signed content all wrong; only vectors computed by someone
//! else prove that hookwise interoperates with the real senders.

use std::time::{Duration, UNIX_EPOCH};

use http::HeaderMap;
use webhook_core::{
    Scheme, Secret, Verifier, VerifyError,
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

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

/// RFC 4231 §4: HMAC-SHA-256 test cases 1–7. `mailtrap::sign` is plain hex HMAC-SHA256
/// of the body under the raw key, so it exposes the primitive directly.
#[test]
fn rfc4231_hmac_sha256() {
    let cases: [(Vec<u8>, Vec<u8>, &str); 7] = [
        (
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            vec![0xaa; 20],
            vec![0xdd; 50],
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        ),
        (
            (1..=0x19).collect(),
            vec![0xcd; 50],
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        ),
        (
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            // The RFC gives only the first 128 bits for this case.
            "a3b6167473100ee06e0c796c2955552b",
        ),
        (
            vec![0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            vec![0xaa; 131],
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        ),
    ];
    for (n, (key, data, expected)) in cases.iter().enumerate() {
        let mac = mailtrap::sign(&Secret::new(key), data);
        assert!(mac.starts_with(expected), "RFC 4231 case {}", n + 1);
        if expected.len() == 64 {
            // And the verifier accepts it under the same raw key.
            let verifier = Verifier::builder(Scheme::Mailtrap)
                .secret(Secret::new(key))
                .build()
                .unwrap();
            let req = headers(&[("mailtrap-signature", expected)]);
            verifier.verify(&req, &data[..]).unwrap();
        }
    }
}

/// GitHub's documented `X-Hub-Signature-256` example.
#[test]
fn github_hub_signature_256() {
    let verifier = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new("It's a Secret to Everybody"))
        .build()
        .unwrap();
    let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(
        email_api::sign(&Secret::new("It's a Secret to Everybody"), b"Hello, World!"),
        signature
    );
    for name in ["X-Hub-Signature-256", "X-Webhook-Signature"] {
        verifier
            .verify(&headers(&[(name, signature)]), &b"Hello, World!"[..])
            .unwrap();
    }
    let upper = format!("sha256={}", signature[7..].to_ascii_uppercase());
    verifier
        .verify(
            &headers(&[("x-webhook-signature", &upper)]),
            &b"Hello, World!"[..],
        )
        .unwrap();
}

/// The Standard Webhooks specification's test vector, as its reference libraries use it.
#[test]
fn standard_webhooks_published_vector() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(Secret::standard_webhooks(secret).unwrap())
        .build()
        .unwrap();
    let body = br#"{"test": 2432232314}"#;
    let req = headers(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ]);
    let at = UNIX_EPOCH + Duration::from_secs(1_614_265_330);
    let verified = verifier.verify_at(&req, &body[..], at).unwrap();
    assert_eq!(
        verified.verification().message_id(),
        Some("msg_p5jXN8AQM9LWM0D4loKWxJek")
    );
    assert_eq!(verified.verification().signed_at(), Some(1_614_265_330));

    // The same vector signed by us.
    assert_eq!(
        standard_webhooks::sign(
            &Secret::standard_webhooks(secret).unwrap(),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );

    // Without its clock override the vector is years old: refused as stale.
    assert!(matches!(
        verifier.verify(&req, &body[..]),
        Err(VerifyError::TimestampOutOfWindow { .. })
    ));
}

/// The three constructed Stalwart bodies of the spec, with their `X-Signature`s under
/// key `my-secret-key` (checked independently with Python's `hmac`).
#[test]
fn stalwart_spec_examples() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("my-secret-key"))
        .build()
        .unwrap();
    for n in 1..=3 {
        let body = std::fs::read(format!(
            "{}/tests/fixtures/stalwart/example-{n}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let signature = std::fs::read_to_string(format!(
            "{}/tests/fixtures/stalwart/example-{n}.sig",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(
            stalwart::sign(&Secret::new("my-secret-key"), &body),
            signature,
            "example {n}"
        );
        verifier
            .verify(&headers(&[("X-Signature", &signature)]), &body)
            .unwrap_or_else(|e| panic!("example {n}: {e}"));
    }
}

/// Mailtrap's cross-SDK vector: the secret's *text* is the key. Using the hex-decoded
/// secret gives a different MAC, which must be refused.
#[test]
fn mailtrap_cross_sdk_vector() {
    let secret = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
    let body = br#"{"event":"delivery","sending_stream":"transactional","category":"welcome","message_id":"a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f","email":"recipient@example.com","event_id":"f1e2d3c4-b5a6-7890-1234-567890abcdef","timestamp":1716070000}"#;
    let expected = "6d262e2611cd09be1f948382b5c611d63b0e585c4c9c5e40139d6ac3876d5433";
    assert_eq!(mailtrap::sign(&Secret::new(secret), body), expected);

    let verifier = Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new(secret))
        .build()
        .unwrap();
    for name in ["Mailtrap-Signature", "X-Mailtrap-Signature"] {
        verifier
            .verify(&headers(&[(name, expected)]), &body[..])
            .unwrap();
    }

    let decoded_key = Secret::new(hex::decode(secret).unwrap());
    let wrong = mailtrap::sign(&decoded_key, body);
    assert!(wrong.starts_with("279473a2"), "{wrong}");
    assert!(matches!(
        verifier.verify(&headers(&[("mailtrap-signature", &wrong)]), &body[..]),
        Err(VerifyError::SignatureMismatch { keys_tried: 1 })
    ));
}
