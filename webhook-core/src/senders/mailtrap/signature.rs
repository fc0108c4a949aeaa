//! Mailtrap: `Mailtrap-Signature: <hex HMAC-SHA256 of the body>`.
//!
//! Mailtrap's current documentation and SDKs use `Mailtrap-Signature`; its older
//! public doc names `X-Mailtrap-Signature`. Both are accepted. The key is the webhook's
//! signing secret (32 hex characters) used as **text**, not hex-decoded, and the MAC
//! covers the raw body whatever its format (JSON, JSON Lines or form data). Mailtrap
//! invalidates the old secret as soon as a new one is issued, so a receiver that wants
//! no rejected deliveries during a reset holds both secrets for a while.

use base64::Engine as _;
use http::HeaderName;

use crate::{
    Secret,
    error::{MalformedReason, VerifyError},
    request::RequestView,
    senders::{SenderHeader, body_mac::BodyMac, rules::Reencoded},
    tag::{self, Tag},
};

/// The signature header in Mailtrap's current docs and SDKs.
pub const SIGNATURE_HEADER: &str = "mailtrap-signature";
/// The name in Mailtrap's older public doc, accepted as an alternative.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-mailtrap-signature";

const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
const LEGACY_SIGNATURE: HeaderName = HeaderName::from_static(LEGACY_SIGNATURE_HEADER);
const HEADER: SenderHeader = SenderHeader::new(
    SIGNATURE_HEADER,
    Some(LEGACY_SIGNATURE_HEADER),
    "Mailtrap-Signature",
);

/// The `Mailtrap-Signature` value for `body`: lowercase hex, no prefix.
///
/// ```
/// use webhook_core::{Secret, senders::mailtrap};
///
/// let signature = mailtrap::sign(&Secret::new("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"), b"{}");
/// assert_eq!(signature.len(), 64);
/// ```
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    hex::encode(secret.tag(&[body]).as_bytes())
}

fn presented(request: &dyn RequestView) -> Result<Tag, VerifyError> {
    let value = crate::senders::either(
        request,
        (&SIGNATURE, SIGNATURE_HEADER),
        (&LEGACY_SIGNATURE, LEGACY_SIGNATURE_HEADER),
    )?
    .ok_or(VerifyError::MissingSignature {
        header: SIGNATURE_HEADER,
    })?;
    let malformed = |reason| VerifyError::MalformedSignature {
        header: SIGNATURE_HEADER,
        reason,
    };
    if value
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"sha256="))
    {
        return Err(malformed(MalformedReason::UnexpectedPrefix));
    }
    tag::decode_hex_tag(value).map_err(malformed)
}

/// The sender's signature, for its `SenderRules`.
pub(crate) static RULES: BodyMac = BodyMac {
    header: HEADER,
    presented,
    sign,
    reencoded,
};

/// Diagnosis: hex with the email-API senders' `sha256=` prefix, or base64 (Stalwart's).
fn reencoded(value: &str) -> Option<Reencoded> {
    const EXPECTED: &str = "plain hex";
    if let Some(hex_text) = value.strip_prefix("sha256=") {
        return Some(Reencoded {
            found: "hex with a `sha256=` prefix",
            expected: EXPECTED,
            value: hex_text.to_owned(),
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    Some(Reencoded {
        found: "base64",
        expected: EXPECTED,
        value: hex::encode(bytes),
    })
}
