//! Stalwart mail server: `X-Signature: <base64 HMAC-SHA256 of the body>`.
//!
//! The key is the configured secret's UTF-8 bytes, used as is. The MAC covers exactly
//! the body bytes, with no timestamp or nonce, so Stalwart requests carry no replay
//! protection of their own; the verifier's optional replay window checks the events'
//! signed `createdAt` instead. A Stalwart server with no key sends no header at all:
//! such a receiver must rely on Basic/Bearer credentials.

use base64::Engine as _;
use http::HeaderName;

use crate::{
    Secret,
    error::VerifyError,
    request::RequestView,
    senders::{SenderHeader, body_mac::BodyMac, rules::Reencoded},
    tag::{self, Tag},
};

/// The signature header (sent lowercase on the wire).
pub const SIGNATURE_HEADER: &str = "x-signature";
const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
const HEADER: SenderHeader = SenderHeader::new(SIGNATURE_HEADER, None, "X-Signature");

/// The `X-Signature` value Stalwart sends for `body`.
///
/// ```
/// use webhook_core::{Secret, senders::stalwart};
///
/// let body = br#"{"events":[]}"#;
/// let signature = stalwart::sign(&Secret::new("my-secret-key"), body);
/// assert_eq!(signature.len(), 44);
/// ```
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    tag::encode_base64_tag(&secret.tag(&[body]))
}

fn presented(request: &dyn RequestView) -> Result<Tag, VerifyError> {
    let value = crate::senders::single(request, &SIGNATURE, SIGNATURE_HEADER)?.ok_or(
        VerifyError::MissingSignature {
            header: SIGNATURE_HEADER,
        },
    )?;
    tag::decode_base64_tag(value).map_err(|reason| VerifyError::MalformedSignature {
        header: SIGNATURE_HEADER,
        reason,
    })
}

/// The sender's signature, for its `SenderRules`.
pub(crate) static RULES: BodyMac = BodyMac {
    header: HEADER,
    presented,
    sign,
    reencoded,
};

/// Diagnosis: hex (as email-API senders and Mailtrap write it, with or without
/// `sha256=`) where Stalwart writes base64.
fn reencoded(value: &str) -> Option<Reencoded> {
    let hex_text = value.strip_prefix("sha256=").unwrap_or(value);
    if hex_text.len() != 64 {
        return None;
    }
    let bytes = hex::decode(hex_text).ok()?;
    Some(Reencoded {
        found: if value.starts_with("sha256=") {
            "`sha256=` + hex"
        } else {
            "hex"
        },
        expected: "base64",
        value: base64::engine::general_purpose::STANDARD.encode(bytes),
    })
}
