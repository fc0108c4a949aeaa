//! The email-API `X-Webhook-Signature` / `X-Hub-Signature-256` parser (crate-private:
//! reached through `Verifier::verify`).
//!
//! Input: byte 0 = flags (bit 0: send `x-webhook-signature`, bit 1: send
//! `x-hub-signature-256`, bit 2: send the first one twice), then `\n`-separated values
//! taken in that order.
//! Invariant: it verifies only if every presented value is the same and equals
//! `sha256=<hex>` of the body's MAC, ignoring ASCII case.
#![no_main]
use hookwise_fuzz::{RawRequest, check_verify_error, split_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use webhook_core::{Scheme, Secret, Verifier, VerifyError, scheme::email_api};

const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = b"Hello, World!";

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::EmailApi).secret(Secret::new(SECRET)).build().unwrap()
});
static EXPECTED: LazyLock<String> = LazyLock::new(|| email_api::sign(&Secret::new(SECRET), BODY));

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let mut values = split_lines(rest, 3).into_iter();
    let mut req = RawRequest::new();
    if flags & 1 != 0 {
        req.push(email_api::SIGNATURE_HEADER, values.next().unwrap_or_default());
        if flags & 4 != 0 {
            req.push(email_api::SIGNATURE_HEADER, values.next().unwrap_or_default());
        }
    }
    if flags & 2 != 0 {
        req.push(email_api::GITHUB_SIGNATURE_HEADER, values.next().unwrap_or_default());
    }
    let result = VERIFIER.verify(&req, BODY);
    let all_same = req.headers.windows(2).all(|w| w[0].1 == w[1].1);
    let repeated = flags & 5 == 5;
    match result {
        Ok(_) => {
            assert!(!repeated, "a repeated header verified");
            assert!(all_same, "conflicting headers verified");
            let value = &req.headers[0].1;
            assert!(value.eq_ignore_ascii_case(EXPECTED.as_bytes()), "a wrong value verified: {value:?}");
        }
        Err(err) => {
            check_verify_error(&err);
            if req.headers.is_empty() {
                assert!(matches!(err, VerifyError::MissingSignature { .. }), "{err:?}");
            } else if !repeated && all_same && req.headers[0].1.eq_ignore_ascii_case(EXPECTED.as_bytes()) {
                panic!("the correct signature was refused: {err:?}");
            }
        }
    }
});
