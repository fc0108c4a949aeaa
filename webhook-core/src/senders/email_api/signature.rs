//! Email-API style senders: `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`.
//!
//! The same form as GitHub's `X-Hub-Signature-256`, which is accepted too. Hex may be
//! in either case. The key is the secret's UTF-8 bytes.

use base64::Engine as _;
use http::HeaderName;

use crate::{
    Secret,
    error::{MalformedReason, VerifyError},
    request::RequestView,
    senders::{SenderHeader, body_mac::BodyMac, rules::Reencoded},
    tag::{self, Tag},
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// GitHub's name for the same signature, accepted as an alternative.
pub const GITHUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The prefix naming the algorithm.
pub const PREFIX: &str = "sha256=";

const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
const GITHUB_SIGNATURE: HeaderName = HeaderName::from_static(GITHUB_SIGNATURE_HEADER);
const HEADER: SenderHeader = SenderHeader::new(
    SIGNATURE_HEADER,
    Some(GITHUB_SIGNATURE_HEADER),
    "X-Webhook-Signature",
);

/// The `X-Webhook-Signature` value for `body`: `sha256=` and lowercase hex.
///
/// ```
/// use webhook_core::{Secret, senders::email_api};
///
/// // GitHub's documented example.
/// let signature = email_api::sign(&Secret::new("It's a Secret to Everybody"), b"Hello, World!");
/// assert_eq!(
///     signature,
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// ```
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut out = String::with_capacity(PREFIX.len() + tag::HEX_TAG_LEN);
    out.push_str(PREFIX);
    out.push_str(&hex::encode(secret.tag(&[body]).as_bytes()));
    out
}

fn presented(request: &dyn RequestView) -> Result<Tag, VerifyError> {
    let value = crate::senders::either(
        request,
        (&SIGNATURE, SIGNATURE_HEADER),
        (&GITHUB_SIGNATURE, GITHUB_SIGNATURE_HEADER),
    )?
    .ok_or(VerifyError::MissingSignature {
        header: SIGNATURE_HEADER,
    })?;
    parse(value).map_err(|reason| VerifyError::MalformedSignature {
        header: SIGNATURE_HEADER,
        reason,
    })
}

fn parse(value: &[u8]) -> Result<Tag, MalformedReason> {
    if value.is_empty() {
        return Err(MalformedReason::Empty);
    }
    match value.split_at_checked(PREFIX.len()) {
        Some((prefix, hex)) if prefix.eq_ignore_ascii_case(PREFIX.as_bytes()) => {
            tag::decode_hex_tag(hex)
        }
        // `sha1=…` (GitHub's older header) or another algorithm.
        _ if value.iter().take(16).any(|&b| b == b'=') => {
            Err(MalformedReason::UnsupportedAlgorithm)
        }
        _ => Err(MalformedReason::MissingPrefix { expected: PREFIX }),
    }
}

/// The sender's signature, for its `SenderRules`.
pub(crate) static RULES: BodyMac = BodyMac {
    header: HEADER,
    presented,
    sign,
    reencoded,
};

/// Diagnosis: hex without the `sha256=` prefix, or base64 (Stalwart's encoding).
fn reencoded(value: &str) -> Option<Reencoded> {
    const EXPECTED: &str = "`sha256=` + hex";
    if value.len() == 64 && hex::decode(value).is_ok() {
        return Some(Reencoded {
            found: "hex without the `sha256=` prefix",
            expected: EXPECTED,
            value: format!("sha256={value}"),
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("sha256=").unwrap_or(value))
        .ok()?;
    Some(Reencoded {
        found: "base64",
        expected: EXPECTED,
        value: format!("sha256={}", hex::encode(bytes)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules() {
        let hex = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(parse(format!("sha256={hex}").as_bytes()).is_ok());
        assert!(parse(format!("SHA256={hex}").as_bytes()).is_ok());
        assert_eq!(
            parse(hex.as_bytes()).unwrap_err(),
            MalformedReason::MissingPrefix { expected: PREFIX }
        );
        assert_eq!(
            parse(b"sha1=0123456789abcdef0123456789abcdef01234567").unwrap_err(),
            MalformedReason::UnsupportedAlgorithm
        );
        assert_eq!(
            parse(b"sha256=abc").unwrap_err(),
            MalformedReason::WrongLength {
                expected: 64,
                found: 3
            }
        );
    }
}
