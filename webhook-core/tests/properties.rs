//! Property tests: sign-then-verify holds for every scheme; any single-bit change to
//! the body, the signature or the secret is refused; arbitrary header bytes never
//! panic and never pass.

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use webhook_core::{
    Scheme, Secret, Verifier,
    senders::{email_api, mailtrap, stalwart, standard_webhooks},
};

const NOW: i64 = 1_700_000_000;

/// The signing schemes, with how each builds its secret, signs and names its header.
#[derive(Debug, Clone, Copy)]
enum Signing {
    Stalwart,
    EmailApi,
    Mailtrap,
    Standard,
}

const SIGNING: [Signing; 4] = [
    Signing::Stalwart,
    Signing::EmailApi,
    Signing::Mailtrap,
    Signing::Standard,
];

impl Signing {
    fn scheme(self) -> Scheme {
        match self {
            Signing::Stalwart => Scheme::Stalwart,
            Signing::EmailApi => Scheme::EmailApi,
            Signing::Mailtrap => Scheme::Mailtrap,
            Signing::Standard => Scheme::StandardWebhooks,
        }
    }

    fn secret(self, key: &[u8]) -> Secret {
        match self {
            Signing::Standard => {
                let encoded =
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key);
                Secret::standard_webhooks(&format!("whsec_{encoded}")).unwrap()
            }
            _ => Secret::new(key),
        }
    }

    fn verifier(self, key: &[u8]) -> Verifier {
        Verifier::builder(self.scheme())
            .secret(self.secret(key))
            .build()
            .unwrap()
    }

    fn signature(self, key: &[u8], id: &str, body: &[u8]) -> String {
        let secret = self.secret(key);
        match self {
            Signing::Stalwart => stalwart::sign(&secret, body),
            Signing::EmailApi => email_api::sign(&secret, body),
            Signing::Mailtrap => mailtrap::sign(&secret, body),
            Signing::Standard => standard_webhooks::sign(&secret, id, NOW, body),
        }
    }

    fn signature_header(self) -> &'static str {
        self.scheme().signature_header().unwrap()
    }

    fn request(self, id: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(self.signature_header()),
            HeaderValue::from_str(signature).unwrap(),
        );
        if let Signing::Standard = self {
            headers.insert("webhook-id", HeaderValue::from_str(id).unwrap());
            headers.insert("webhook-timestamp", HeaderValue::from(NOW));
        }
        headers
    }
}

fn now() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW as u64)
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let bit = bit % (out.len() * 8);
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

fn signing() -> impl Strategy<Value = Signing> {
    prop::sample::select(SIGNING.to_vec())
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..100)
}

fn id() -> impl Strategy<Value = String> {
    "msg_[A-Za-z0-9]{1,30}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sign_then_verify(scheme in signing(), key in key(), id in id(), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let request = scheme.request(&id, &scheme.signature(&key, &id, &body));
        let verified = scheme.verifier(&key).verify_at(&request, &body[..], now());
        prop_assert!(verified.is_ok(), "{:?}", verified.err());
    }

    #[test]
    fn any_body_bit_flip_is_refused(scheme in signing(), key in key(), id in id(), body in prop::collection::vec(any::<u8>(), 1..1024), bit in any::<usize>()) {
        let request = scheme.request(&id, &scheme.signature(&key, &id, &body));
        let tampered = flip(&body, bit);
        let err = scheme.verifier(&key).verify_at(&request, tampered, now()).unwrap_err();
        prop_assert_eq!(err.code(), "signature_mismatch");
    }

    #[test]
    fn any_key_bit_flip_is_refused(scheme in signing(), key in key(), id in id(), body in prop::collection::vec(any::<u8>(), 0..256), bit in any::<usize>()) {
        let request = scheme.request(&id, &scheme.signature(&key, &id, &body));
        let err = scheme.verifier(&flip(&key, bit)).verify_at(&request, &body[..], now()).unwrap_err();
        prop_assert_eq!(err.code(), "signature_mismatch");
    }

    /// Flipping any bit of the signature's *text* is refused: either it no longer
    /// decodes (400) or it decodes to another MAC (401). Never accepted.
    #[test]
    fn any_signature_bit_flip_is_refused(scheme in signing(), key in key(), id in id(), body in prop::collection::vec(any::<u8>(), 0..256), bit in any::<usize>()) {
        let signature = scheme.signature(&key, &id, &body);
        let flipped = flip(signature.as_bytes(), bit);
        // A flip that makes the value unrepresentable in a header never reaches a verifier.
        if let Ok(text) = String::from_utf8(flipped)
            && let Ok(value) = HeaderValue::from_str(&text)
        {
                let mut request = scheme.request(&id, &signature);
                request.insert(HeaderName::from_static(scheme.signature_header()), value);
                let result = scheme.verifier(&key).verify_at(&request, &body[..], now());
                // Hex in either case is the same MAC: flipping the case bit of a hex
                // letter (0x20) is the one flip that legitimately still verifies.
                let case_only = text.eq_ignore_ascii_case(&signature)
                    && matches!(scheme, Signing::EmailApi | Signing::Mailtrap);
                prop_assert!(result.is_err() || case_only, "accepted {text:?}");
                if let Err(err) = result {
                    prop_assert!(matches!(err.code(), "signature_mismatch" | "malformed_signature"), "{}", err.code());
                }
        }
    }

    #[test]
    fn arbitrary_header_bytes_never_panic_nor_pass(
        scheme in prop::sample::select(Scheme::ALL.to_vec()),
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 6),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let names = [
            "x-signature", "x-webhook-signature", "mailtrap-signature",
            "webhook-signature", "webhook-id", "webhook-timestamp",
        ];
        let mut request = HeaderMap::new();
        for (name, value) in names.iter().zip(&values) {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                request.insert(HeaderName::from_static(name), value);
            }
        }
        request.insert("authorization", HeaderValue::from_bytes(&values[0]).unwrap_or(HeaderValue::from_static("Basic")));
        let verifier = match scheme {
            Scheme::WildDuck => Verifier::builder(scheme)
                .credentials(webhook_core::Credentials::basic("u", Secret::new("p")))
                .build()
                .unwrap(),
            Scheme::StandardWebhooks => Signing::Standard.verifier(b"key"),
            _ => Verifier::builder(scheme).secret(Secret::new("key")).build().unwrap(),
        };
        prop_assert!(verifier.verify_at(&request, &body[..], now()).is_err());
    }
}
