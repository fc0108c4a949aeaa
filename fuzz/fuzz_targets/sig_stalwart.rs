//! Stalwart's `X-Signature` parser (crate-private: reached through `Verifier::verify`).
//!
//! Input: byte 0 = flags (bit 0: send the header twice), then the header value; with
//! bit 0 the value is split at the first `\n` into two values.
//! Invariant: a request verifies only if it carries exactly one `X-Signature` equal to
//! `stalwart::sign` of the body (the base64 is strict, so there is one spelling).
#![no_main]
use hookwise_fuzz::{RawRequest, check_verify_error, split_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use webhook_core::{Scheme, Secret, Verifier, senders::stalwart};

const SECRET: &str = "my-secret-key";
const BODY: &[u8] = include_bytes!("../../webhook-core/tests/fixtures/stalwart/example-1.json");

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
});
static EXPECTED: LazyLock<String> = LazyLock::new(|| stalwart::sign(&Secret::new(SECRET), BODY));

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut req = RawRequest::new();
    let twice = flags & 1 != 0;
    if twice {
        for value in split_lines(rest, 2) {
            req.push(stalwart::SIGNATURE_HEADER, value);
        }
    } else {
        req.push(stalwart::SIGNATURE_HEADER, rest);
    }
    match VERIFIER.verify(&req, BODY) {
        Ok(verified) => {
            assert_eq!(req.headers.len(), 1, "a repeated header verified");
            assert_eq!(
                req.headers[0].1,
                EXPECTED.as_bytes(),
                "a non-canonical signature verified"
            );
            assert_eq!(verified.verification().matched_key().unwrap().index(), 0);
        }
        Err(err) => {
            check_verify_error(&err);
            if req.headers.len() == 1 && req.headers[0].1 == EXPECTED.as_bytes() {
                panic!("the correct signature was refused: {err:?}");
            }
        }
    }
});
