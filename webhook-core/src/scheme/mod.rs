//! The signature schemes of the senders hookwise speaks, one module each.
//!
//! Each module holds the scheme's header names, its `sign` function (what the
//! reference sender and `webhook sign` use, so signing and verifying can never
//! drift apart) and the crate-internal reading of the presented signature. The
//! [`Verifier`](crate::Verifier) dispatches on [`Scheme`].
//!
//! | scheme | header | value | key |
//! |---|---|---|---|
//! | [`stalwart`] | `X-Signature` | base64 (standard, padded) HMAC-SHA256 of the body | secret text |
//! | [`email_api`] | `X-Webhook-Signature` or `X-Hub-Signature-256` | `sha256=<hex>` | secret text |
//! | [`mailtrap`] | `Mailtrap-Signature` or `X-Mailtrap-Signature` | hex | secret text |
//! | [`standard`] | `webhook-id`, `webhook-timestamp`, `webhook-signature` (or `svix-*`) | `v1,<base64>` list over `id.timestamp.body` | base64 after `whsec_` |
//! | [`Scheme::WildDuck`] | none: WildDuck does not sign | — | Basic auth or URL token |

use std::{fmt, str::FromStr};

use base64::Engine as _;
use http::HeaderName;

use crate::{
    error::{MalformedReason, VerifyError},
    request::{HeaderLookup, RequestView},
    tag::{TAG_LEN, Tag},
};

pub mod email_api;
pub mod mailtrap;
pub mod stalwart;
pub mod standard;

/// A sender's way of authenticating its webhook requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Stalwart mail server: `X-Signature`, base64 HMAC-SHA256 of the body.
    Stalwart,
    /// Email-API style senders: `X-Webhook-Signature: sha256=<hex>` (GitHub's form).
    EmailApi,
    /// Mailtrap: `Mailtrap-Signature`, hex HMAC-SHA256 of the body.
    Mailtrap,
    /// Standard Webhooks (Svix, Resend): `webhook-id`/`-timestamp`/`-signature`.
    StandardWebhooks,
    /// WildDuck: no signature; authenticate with Basic credentials or a URL token.
    WildDuck,
}

impl Scheme {
    /// Every scheme, for listings and exhaustive tests.
    pub const ALL: [Scheme; 5] = [
        Scheme::Stalwart,
        Scheme::EmailApi,
        Scheme::Mailtrap,
        Scheme::StandardWebhooks,
        Scheme::WildDuck,
    ];

    /// The identifier used on command lines and in configuration (`stalwart`,
    /// `email-api`, `mailtrap`, `standard-webhooks`, `wildduck`).
    pub fn id(self) -> &'static str {
        match self {
            Scheme::Stalwart => "stalwart",
            Scheme::EmailApi => "email-api",
            Scheme::Mailtrap => "mailtrap",
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::WildDuck => "wildduck",
        }
    }

    /// Whether the sender signs its requests with a shared secret.
    pub fn signs(self) -> bool {
        !matches!(self, Scheme::WildDuck)
    }

    /// The header carrying the signature, if the scheme has one.
    pub fn signature_header(self) -> Option<&'static str> {
        match self {
            Scheme::Stalwart => Some(stalwart::SIGNATURE_HEADER),
            Scheme::EmailApi => Some(email_api::SIGNATURE_HEADER),
            Scheme::Mailtrap => Some(mailtrap::SIGNATURE_HEADER),
            Scheme::StandardWebhooks => Some(standard::SIGNATURE_HEADER),
            Scheme::WildDuck => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Stalwart => "Stalwart",
            Scheme::EmailApi => "email-API",
            Scheme::Mailtrap => "Mailtrap",
            Scheme::StandardWebhooks => "Standard Webhooks",
            Scheme::WildDuck => "WildDuck",
        })
    }
}

/// The text is not a known scheme identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scheme `{0}`: expected one of stalwart, email-api, mailtrap, standard-webhooks \
     (or svix, resend), wildduck"
)]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "stalwart" => Ok(Scheme::Stalwart),
            "email-api" | "emailapi" | "email_api" | "github" => Ok(Scheme::EmailApi),
            "mailtrap" => Ok(Scheme::Mailtrap),
            "standard-webhooks" | "standard" | "standardwebhooks" | "svix" | "resend" => {
                Ok(Scheme::StandardWebhooks)
            }
            "wildduck" => Ok(Scheme::WildDuck),
            _ => Err(UnknownScheme(s.to_owned())),
        }
    }
}

/// The value of a header that must appear at most once.
pub(crate) fn single<'r, R: RequestView + ?Sized>(
    request: &'r R,
    name: &HeaderName,
    label: &'static str,
) -> Result<Option<&'r [u8]>, VerifyError> {
    match request.header(name) {
        HeaderLookup::Absent => Ok(None),
        HeaderLookup::One(value) => Ok(Some(value)),
        HeaderLookup::Repeated => Err(VerifyError::DuplicateHeader { header: label }),
    }
}

/// The value of a header that has two accepted names (a current and a legacy one).
/// Both present is fine only when they agree.
pub(crate) fn either<'r, R: RequestView + ?Sized>(
    request: &'r R,
    (primary, primary_label): (&HeaderName, &'static str),
    (alias, alias_label): (&HeaderName, &'static str),
) -> Result<Option<&'r [u8]>, VerifyError> {
    let first = single(request, primary, primary_label)?;
    let second = single(request, alias, alias_label)?;
    match (first, second) {
        (Some(a), Some(b)) if a != b => Err(VerifyError::ConflictingHeaders {
            first: primary_label,
            second: alias_label,
        }),
        (Some(value), _) | (None, Some(value)) => Ok(Some(value)),
        (None, None) => Ok(None),
    }
}

/// Base64 (standard alphabet, `=` padding) of a 32-byte tag: always 44 characters.
pub(crate) const BASE64_TAG_LEN: usize = 44;
/// Hex of a 32-byte tag.
pub(crate) const HEX_TAG_LEN: usize = 64;

pub(crate) fn decode_base64_tag(value: &[u8]) -> Result<Tag, MalformedReason> {
    // 44 characters of padded base64 decode to at most 33 bytes; a 32-byte tag has
    // exactly one `=`, which the strict engine checks along with the trailing bits.
    let mut buf = [0u8; TAG_LEN + 1];
    if value.len() == BASE64_TAG_LEN
        && let Ok(TAG_LEN) = base64::engine::general_purpose::STANDARD.decode_slice(value, &mut buf)
    {
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&buf[..TAG_LEN]);
        return Ok(Tag::from_array(tag));
    }
    // Only a refused value is looked at again, to say precisely what is wrong with it.
    Err(if value.is_empty() {
        MalformedReason::Empty
    } else if value.iter().any(|b| matches!(b, b'-' | b'_')) {
        MalformedReason::UrlSafeBase64
    } else if value.len() != BASE64_TAG_LEN {
        MalformedReason::WrongLength {
            expected: BASE64_TAG_LEN,
            found: value.len(),
        }
    } else {
        MalformedReason::InvalidBase64
    })
}

pub(crate) fn encode_base64_tag(tag: &Tag) -> String {
    base64::engine::general_purpose::STANDARD.encode(tag.as_bytes())
}

pub(crate) fn decode_hex_tag(value: &[u8]) -> Result<Tag, MalformedReason> {
    if value.is_empty() {
        return Err(MalformedReason::Empty);
    }
    if value.len() != HEX_TAG_LEN {
        return Err(MalformedReason::WrongLength {
            expected: HEX_TAG_LEN,
            found: value.len(),
        });
    }
    // Branch-free decoding: the `hex` crate's per-digit branches make decoding time
    // depend on the presented digits, which the timing bench (`benches/constant_time.rs`)
    // picked up as a large difference between classes. The digits are the sender's, not
    // a secret, but a constant-time path end to end keeps the guarantee simple to state.
    let mut tag = [0u8; TAG_LEN];
    base16ct::mixed::decode(value, &mut tag).map_err(|_| MalformedReason::InvalidHex)?;
    Ok(Tag::from_array(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_ids_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.id().parse::<Scheme>().unwrap(), scheme);
        }
        assert_eq!("Svix".parse::<Scheme>().unwrap(), Scheme::StandardWebhooks);
        assert!("smtp".parse::<Scheme>().is_err());
    }

    #[test]
    fn base64_tags_are_strict() {
        let good = "JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY=";
        assert!(decode_base64_tag(good.as_bytes()).is_ok());
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY").unwrap_err(),
            MalformedReason::WrongLength {
                expected: 44,
                found: 43
            }
        );
        assert_eq!(
            decode_base64_tag(b"JCxN_atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkY=").unwrap_err(),
            MalformedReason::UrlSafeBase64
        );
        // Non-canonical trailing bits (`Z` instead of `Y` before the padding).
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957vkZ=").unwrap_err(),
            MalformedReason::InvalidBase64
        );
        assert_eq!(
            decode_base64_tag(b"JCxN/atQkWBgvrDBz3vZJBmSWXY12p6nM92hJ957v===").unwrap_err(),
            MalformedReason::InvalidBase64
        );
        assert_eq!(decode_base64_tag(b"").unwrap_err(), MalformedReason::Empty);
    }

    #[test]
    fn hex_tags_accept_either_case() {
        let lower = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let upper = lower.to_ascii_uppercase();
        assert_eq!(
            decode_hex_tag(lower.as_bytes()).unwrap().as_bytes(),
            decode_hex_tag(upper.as_bytes()).unwrap().as_bytes()
        );
        assert_eq!(
            decode_hex_tag(&[b'g'; 64]).unwrap_err(),
            MalformedReason::InvalidHex
        );
    }
}
