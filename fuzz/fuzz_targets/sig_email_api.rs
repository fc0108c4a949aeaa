//! The email-API `X-Webhook-Signature` / `X-Hub-Signature-256` parser (crate-private:
//! reached through `Verifier::verify`).
//!
//! Input: byte 0 = flags (bit 0: send `x-webhook-signature`, bit 1: send
//! `x-hub-signature-256`, bit 2: send the first one twice), then `\n`-separated values
//! taken in that order.
//! Invariant: it verifies only if every presented value is the same and equals
//! `sha256=<hex>` of the body's MAC, ignoring ASCII case.
#![no_main]
use hookwise_fuzz::either_header_check;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use webhook_core::{Scheme, Secret, Verifier, senders::email_api};

const SECRET: &str = "It's a Secret to Everybody";
const BODY: &[u8] = b"Hello, World!";

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
});
static EXPECTED: LazyLock<String> = LazyLock::new(|| email_api::sign(&Secret::new(SECRET), BODY));

fuzz_target!(|data: &[u8]| {
    either_header_check(
        data,
        &VERIFIER,
        BODY,
        &EXPECTED,
        email_api::SIGNATURE_HEADER,
        email_api::GITHUB_SIGNATURE_HEADER,
    );
});
