//! The receiver's diagnosis of a rejected request (`diagnose_rejection`), on any body.
//!
//! Input: the body. The request carries a Stalwart signature of the body's compact,
//! sorted-keys form (serde_json's `Value` written back), or of other bytes when the body
//! is not JSON; so the verifier refuses every body but that form itself.
//!
//! Invariants: a signature mismatch is always diagnosed; the work stays within the bound
//! the module documents (at most 14 checks over at most 17 × the body + 1 KiB, at most
//! 7 × the body + 1 KiB re-serialized), and is zero with a note above 32 KiB; when the
//! signed form is within the size a re-serialized form may have, the diagnosis names a
//! re-serialized body (which checks the streaming re-serializer against serde_json).
#![no_main]
use hookwise_fuzz::{RawRequest, check_verify_error};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};
use webhook_core::diagnose::{Finding, RECEIVER_MAX_BODY_BYTES, diagnose_rejection};
use webhook_core::senders::stalwart;
use webhook_core::{Scheme, Secret, Verifier, VerifyError};

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("my-secret-key"))
        .max_body_bytes(1 << 20)
        .build()
        .unwrap()
});

fuzz_target!(|data: &[u8]| {
    let now = UNIX_EPOCH + Duration::from_secs(1_755_784_900);
    let sorted = serde_json::from_slice::<serde_json::Value>(data)
        .ok()
        .and_then(|value| serde_json::to_vec(&value).ok());
    let signed: &[u8] = sorted.as_deref().unwrap_or(b"other bytes");
    let request = RawRequest::new().with(
        stalwart::SIGNATURE_HEADER,
        stalwart::sign(&Secret::new("my-secret-key"), signed),
    );
    let error = match VERIFIER.verify_at(&request, data, now) {
        Ok(_) => {
            assert_eq!(signed, data, "a body verified under another's signature");
            return;
        }
        Err(error) => error,
    };
    check_verify_error(&error);
    assert!(matches!(error, VerifyError::SignatureMismatch { .. }), "{error:?}");
    let diagnosis = diagnose_rejection(&VERIFIER, &error, &request, data, now)
        .expect("a signature mismatch is diagnosed");
    let work = diagnosis.work;
    if data.len() > RECEIVER_MAX_BODY_BYTES {
        assert!(diagnosis.skipped.is_some() && work == Default::default());
        return;
    }
    assert!(diagnosis.skipped.is_none());
    assert!(work.checks <= 14, "{work:?}");
    assert!(work.bytes_checked <= 17 * data.len() + 1024, "{work:?}");
    assert!(work.bytes_rendered <= 7 * data.len() + 1024, "{work:?}");
    if sorted.as_ref().is_some_and(|s| s.len() <= data.len() + 256) {
        assert!(
            diagnosis
                .findings
                .iter()
                .any(|f| matches!(f, Finding::BodyReserialized { .. })),
            "the sorted form was not found: {:?}",
            diagnosis.findings
        );
    }
});
