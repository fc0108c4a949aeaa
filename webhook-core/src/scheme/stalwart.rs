//! Stalwart mail server: `X-Signature: <base64 HMAC-SHA256 of the body>`.
//!
//! The key is the configured secret's UTF-8 bytes, used as is. The MAC covers exactly
//! the body bytes, with no timestamp or nonce, so Stalwart requests carry no replay
//! protection of their own; the verifier's optional replay window checks the events'
//! signed `createdAt` instead. A Stalwart server with no key sends no header at all:
//! such a receiver must rely on Basic/Bearer credentials.

use http::HeaderName;

use crate::{Secret, error::VerifyError, request::RequestView, tag::Tag};

/// The signature header (sent lowercase on the wire).
pub const SIGNATURE_HEADER: &str = "x-signature";
const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);

/// The `X-Signature` value Stalwart sends for `body`.
///
/// ```
/// use webhook_core::{Secret, scheme::stalwart};
///
/// let body = br#"{"events":[]}"#;
/// let signature = stalwart::sign(&Secret::new("my-secret-key"), body);
/// assert_eq!(signature.len(), 44);
/// ```
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    super::encode_base64_tag(&secret.tag(&[body]))
}

pub(crate) fn presented<R: RequestView + ?Sized>(request: &R) -> Result<Tag, VerifyError> {
    let value = super::single(request, &SIGNATURE, SIGNATURE_HEADER)?.ok_or(
        VerifyError::MissingSignature {
            header: SIGNATURE_HEADER,
        },
    )?;
    super::decode_base64_tag(value).map_err(|reason| VerifyError::MalformedSignature {
        header: SIGNATURE_HEADER,
        reason,
    })
}
