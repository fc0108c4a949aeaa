//! The classic receiver bug: verifying a re-serialization of the parsed body instead of
//! the bytes received. Any change of whitespace, key order or escaping changes the MAC,
//! so each must be refused — which is why the verifier only ever takes raw bytes.

use http::HeaderMap;
use webhook_core::{Scheme, Secret, Verifier, VerifyError, senders::stalwart};

fn example() -> (Vec<u8>, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stalwart");
    let body = std::fs::read(format!("{dir}/example-3.json")).unwrap();
    let sig = std::fs::read_to_string(format!("{dir}/example-3.sig")).unwrap();
    (body, sig)
}

#[test]
fn a_reserialized_body_is_refused() {
    let (body, sig) = example();
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("my-secret-key"))
        .build()
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-signature", sig.parse().unwrap());
    verifier.verify(&headers, &body[..]).unwrap();

    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    // serde_json's map sorts keys, so even compact output reorders them.
    let compact_reordered = serde_json::to_vec(&value).unwrap();
    let trailing_newline = [&body[..], b"\n"].concat();
    let spaced = String::from_utf8(body.clone())
        .unwrap()
        .replacen("\":", "\": ", 1)
        .into_bytes();
    for (what, variant) in [
        ("pretty-printed", pretty),
        ("compact with keys reordered", compact_reordered),
        ("with a trailing newline", trailing_newline),
        ("with one extra space", spaced),
    ] {
        assert_ne!(
            variant, body,
            "{what} must differ from the original for this test"
        );
        assert_eq!(
            verifier.verify(&headers, variant),
            Err(VerifyError::SignatureMismatch { keys_tried: 1 }),
            "{what}"
        );
    }
    // And signing what was received, not what was re-encoded, is what the sender did.
    assert_eq!(stalwart::sign(&Secret::new("my-secret-key"), &body), sig);
}
