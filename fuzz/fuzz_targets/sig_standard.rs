//! The Standard Webhooks header parser (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature` and their `svix-*` twins; crate-private: reached through
//! `Verifier::verify_at`).
//!
//! Input: byte 0 = flags, then `signature\nid\ntimestamp`.
//! Flags: bit 0/1/2 use the `svix-` name for the signature/id/timestamp; bit 3 also
//! send the other name of the signature with the same value; bit 4 omit the id; bit 5
//! omit the timestamp; bit 6 send the signature header twice.
//! Invariants: a request verifies only with a plain-integer timestamp within the
//! tolerance, a non-empty UTF-8 id (reported back as the message id) and, when the
//! timestamp is canonical, an entry equal to `standard_webhooks::sign` of the message; such an
//! entry with sound headers always verifies.
#![no_main]
use hookwise_fuzz::{RawRequest, check_verify_error, split_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};
use webhook_core::{Scheme, Secret, Verifier, senders::standard_webhooks};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const NOW: i64 = 1_614_265_330;
const TOLERANCE: i64 = 300;

static SECRET_KEY: LazyLock<Secret> = LazyLock::new(|| Secret::standard_webhooks(SECRET).unwrap());
static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::StandardWebhooks)
        .secret(Secret::standard_webhooks(SECRET).unwrap())
        .build()
        .unwrap()
});

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = split_lines(rest, 3).into_iter();
    let signature = parts.next().unwrap_or_default();
    let id = parts.next().unwrap_or_default();
    let timestamp = parts.next().unwrap_or_default();
    let bit = |n: u8| flags & (1 << n) != 0;
    let mut req = RawRequest::new();
    let (sig_name, other_sig) = if bit(0) {
        (
            standard_webhooks::SVIX_SIGNATURE_HEADER,
            standard_webhooks::SIGNATURE_HEADER,
        )
    } else {
        (
            standard_webhooks::SIGNATURE_HEADER,
            standard_webhooks::SVIX_SIGNATURE_HEADER,
        )
    };
    req.push(sig_name, signature);
    if bit(3) {
        req.push(other_sig, signature);
    }
    if bit(6) {
        req.push(sig_name, signature);
    }
    if !bit(4) {
        req.push(
            if bit(1) {
                standard_webhooks::SVIX_ID_HEADER
            } else {
                standard_webhooks::ID_HEADER
            },
            id,
        );
    }
    if !bit(5) {
        req.push(
            if bit(2) {
                standard_webhooks::SVIX_TIMESTAMP_HEADER
            } else {
                standard_webhooks::TIMESTAMP_HEADER
            },
            timestamp,
        );
    }
    let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
    let result = VERIFIER.verify_at(&req, BODY, now);

    // What a correct implementation decides, computed independently.
    let id_text = std::str::from_utf8(id).ok().filter(|id| !id.is_empty());
    let digits = timestamp.strip_prefix(b"-").unwrap_or(timestamp);
    let ts = (!digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit))
        .then(|| {
            std::str::from_utf8(timestamp)
                .unwrap()
                .parse::<i64>()
                .unwrap()
        });
    let canonical_ts = ts.filter(|ts| ts.to_string().as_bytes() == timestamp);
    let entries = || signature.split(|&b| b == b' ').filter(|e| !e.is_empty());

    match result {
        Ok(verified) => {
            let v = verified.verification();
            assert!(!bit(6), "a repeated signature header verified");
            assert!(!bit(4) && !bit(5), "verified without id or timestamp");
            let id_text = id_text.expect("verified with an empty or non-UTF-8 id");
            assert_eq!(v.message_id(), Some(id_text));
            let ts = ts.expect("verified with a timestamp that is not a plain integer");
            assert_eq!(v.signed_at(), Some(ts));
            assert!(
                (ts - NOW).abs() <= TOLERANCE,
                "verified outside the tolerance: {ts}"
            );
            if let Some(ts) = canonical_ts {
                let expected = standard_webhooks::sign(&SECRET_KEY, id_text, ts, BODY);
                assert!(
                    entries().any(|e| e == expected.as_bytes()),
                    "no entry matches the MAC"
                );
            }
        }
        Err(err) => {
            check_verify_error(&err);
            if let (false, false, false, Some(id_text), Some(ts)) =
                (bit(4), bit(5), bit(6), id_text, canonical_ts)
                && (ts - NOW).abs() <= TOLERANCE
            {
                let expected = standard_webhooks::sign(&SECRET_KEY, id_text, ts, BODY);
                assert!(
                    !entries().any(|e| e == expected.as_bytes()),
                    "a correctly signed request was refused: {err:?}"
                );
            }
        }
    }
});
