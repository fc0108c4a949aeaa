//! Mailtrap's `Mailtrap-Signature` / `X-Mailtrap-Signature` parser (crate-private:
//! reached through `Verifier::verify`).
//!
//! Input: byte 0 = flags (bit 0: send `mailtrap-signature`, bit 1: send
//! `x-mailtrap-signature`, bit 2: send the first one twice), then `\n`-separated values.
//! Invariant: it verifies only if every presented value is the same and equals the hex
//! MAC of the body, ignoring ASCII case (no `sha256=` prefix).
#![no_main]
use hookwise_fuzz::either_header_check;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use webhook_core::{Scheme, Secret, Verifier, senders::mailtrap};

const SECRET: &str = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
const BODY: &[u8] =
    include_bytes!("../../webhook-core/tests/fixtures/mailtrap/cross-sdk-vector.json");

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
});
static EXPECTED: LazyLock<String> = LazyLock::new(|| mailtrap::sign(&Secret::new(SECRET), BODY));

fuzz_target!(|data: &[u8]| {
    either_header_check(
        data,
        &VERIFIER,
        BODY,
        &EXPECTED,
        mailtrap::SIGNATURE_HEADER,
        mailtrap::LEGACY_SIGNATURE_HEADER,
    );
});
