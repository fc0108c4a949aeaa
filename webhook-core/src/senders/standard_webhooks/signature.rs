//! Standard Webhooks (Svix, Resend): `webhook-id`, `webhook-timestamp`,
//! `webhook-signature`.
//!
//! The signed content is `{id}.{timestamp}.{body}`, with the id and timestamp exactly as
//! they appear in the headers. The signature header is a space-separated list of
//! `v1,<base64>` entries; any one that matches under any configured secret is enough,
//! and entries with other version tags (such as `v1a,` for ed25519) are skipped. The
//! secret is `whsec_` followed by base64 of the key bytes (see
//! [`Secret::standard_webhooks`]).
//!
//! Svix, and therefore Resend, still sends the older `svix-id`, `svix-timestamp` and
//! `svix-signature` names; each is accepted where its `webhook-*` twin is absent (both
//! present is fine when they agree). The `webhook-id` is the same on every retry of one
//! message, which makes it the idempotency key; the timestamp and signature are fresh
//! on each attempt, which is why the timestamp tolerance can be as short as 5 minutes.

use std::time::Duration;

use http::{HeaderName, HeaderValue};

use crate::{
    Scheme, Secret,
    diagnose::SecretChange,
    error::{MalformedReason, VerifyError},
    replay,
    request::RequestView,
    secret::KeyEncoding,
    senders::{
        SenderHeader, SignError, SignedHeader, Stamp,
        rules::{Reencoded, SignatureRules, Signed},
    },
    tag::{self, Tag},
    verifier::Keys,
};

/// The message id header.
pub const ID_HEADER: &str = "webhook-id";
/// The timestamp header (integer Unix seconds).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature list header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Svix's older name for [`ID_HEADER`].
pub const SVIX_ID_HEADER: &str = "svix-id";
/// Svix's older name for [`TIMESTAMP_HEADER`].
pub const SVIX_TIMESTAMP_HEADER: &str = "svix-timestamp";
/// Svix's older name for [`SIGNATURE_HEADER`].
pub const SVIX_SIGNATURE_HEADER: &str = "svix-signature";

const ID: HeaderName = HeaderName::from_static(ID_HEADER);
const TIMESTAMP: HeaderName = HeaderName::from_static(TIMESTAMP_HEADER);
const SIGNATURE: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
const SVIX_ID: HeaderName = HeaderName::from_static(SVIX_ID_HEADER);
const SVIX_TIMESTAMP: HeaderName = HeaderName::from_static(SVIX_TIMESTAMP_HEADER);
const SVIX_SIGNATURE: HeaderName = HeaderName::from_static(SVIX_SIGNATURE_HEADER);

const ID_PAIR: SenderHeader = SenderHeader::new(ID_HEADER, Some(SVIX_ID_HEADER), ID_HEADER);
const TIMESTAMP_PAIR: SenderHeader = SenderHeader::new(
    TIMESTAMP_HEADER,
    Some(SVIX_TIMESTAMP_HEADER),
    TIMESTAMP_HEADER,
);
const SIGNATURE_PAIR: SenderHeader = SenderHeader::new(
    SIGNATURE_HEADER,
    Some(SVIX_SIGNATURE_HEADER),
    SIGNATURE_HEADER,
);

/// How the timestamp header is described in errors.
const TIMESTAMP_FIELD: &str = "`webhook-timestamp` header";

/// The timestamp tolerance used when no replay window is configured: the signature is
/// fresh on every attempt, so 5 minutes either side of the receiver's clock.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The `webhook-signature` value (`v1,<base64>`) for one message.
///
/// ```
/// use webhook_core::{Secret, senders::standard_webhooks};
///
/// // The Standard Webhooks specification's published test vector.
/// let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let signature = standard_webhooks::sign(
///     &secret,
///     "msg_p5jXN8AQM9LWM0D4loKWxJek",
///     1614265330,
///     br#"{"test": 2432232314}"#,
/// );
/// assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let tag = tag(secret, id.as_bytes(), timestamp.as_bytes(), body);
    format!("v1,{}", tag::encode_base64_tag(&tag))
}

fn tag(secret: &Secret, id: &[u8], timestamp: &[u8], body: &[u8]) -> Tag {
    secret.tag(&[id, b".", timestamp, b".", body])
}

/// How many decoded `v1` entries [`Presented`] keeps from the header check. Senders
/// send one, or two while a key rotates; a longer list is decoded again when matched.
const KEPT_TAGS: usize = 4;

/// What a Standard Webhooks request presents, read from its headers.
struct Presented<'r> {
    id: &'r str,
    timestamp_text: &'r [u8],
    timestamp: i64,
    signatures: &'r [u8],
    /// The first usable `v1` entries, decoded once by the header check.
    kept: [Option<Tag>; KEPT_TAGS],
    usable: usize,
}

impl Presented<'_> {
    /// Whether any usable `v1` entry equals `expected`. Every entry is compared, in
    /// constant time, whichever matches; malformed `v1` entries are skipped
    /// ([`presented`] has already refused a header in which no entry is usable).
    fn matches_any(&self, expected: &Tag) -> bool {
        let mut found = false;
        if self.usable <= KEPT_TAGS {
            for tag in self.kept.iter().flatten() {
                found |= tag.matches(expected);
            }
        } else {
            for entry in entries(self.signatures) {
                if let Entry::V1(Ok(tag)) = entry {
                    found |= tag.matches(expected);
                }
            }
        }
        found
    }
}

enum Entry {
    V1(Result<Tag, MalformedReason>),
    Other,
}

fn entries(header: &[u8]) -> impl Iterator<Item = Entry> + '_ {
    header
        .split(|&b| b == b' ')
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.strip_prefix(b"v1,") {
            Some(encoded) => Entry::V1(tag::decode_base64_tag(encoded)),
            None => Entry::Other,
        })
}

fn presented<R: RequestView + ?Sized>(request: &R) -> Result<Presented<'_>, VerifyError> {
    let signatures = crate::senders::either(
        request,
        (&SIGNATURE, SIGNATURE_HEADER),
        (&SVIX_SIGNATURE, SVIX_SIGNATURE_HEADER),
    )?
    .ok_or(VerifyError::MissingSignature {
        header: SIGNATURE_HEADER,
    })?;
    let id = crate::senders::either(request, (&ID, ID_HEADER), (&SVIX_ID, SVIX_ID_HEADER))?.ok_or(
        VerifyError::MissingHeader {
            header: ID_HEADER,
            scheme: Scheme::StandardWebhooks,
        },
    )?;
    let id = std::str::from_utf8(id)
        .ok()
        .filter(|id| !id.is_empty())
        .ok_or(VerifyError::MalformedHeader {
            header: ID_HEADER,
            expected: "a non-empty message id",
        })?;
    let timestamp_text = crate::senders::either(
        request,
        (&TIMESTAMP, TIMESTAMP_HEADER),
        (&SVIX_TIMESTAMP, SVIX_TIMESTAMP_HEADER),
    )?
    .ok_or(VerifyError::MissingTimestamp {
        field: TIMESTAMP_FIELD,
    })?;
    let timestamp = parse_timestamp(timestamp_text).ok_or(VerifyError::InvalidTimestamp {
        field: TIMESTAMP_FIELD,
        expected: "integer Unix seconds",
    })?;

    // Refuse an unusable header before any hashing: no v1 entry at all, or only
    // malformed ones (report the first one's problem).
    let mut first_problem = None;
    let mut kept = [None; KEPT_TAGS];
    let mut usable = 0;
    let mut any_v1 = false;
    for entry in entries(signatures) {
        if let Entry::V1(decoded) = entry {
            any_v1 = true;
            match decoded {
                Ok(tag) => {
                    if let Some(slot) = kept.get_mut(usable) {
                        *slot = Some(tag);
                    }
                    usable += 1;
                }
                Err(reason) => {
                    first_problem.get_or_insert(reason);
                }
            }
        }
    }
    if usable == 0 {
        let reason = if signatures.is_empty() {
            MalformedReason::Empty
        } else if any_v1 {
            first_problem.unwrap_or(MalformedReason::InvalidBase64)
        } else {
            MalformedReason::NoSupportedVersion
        };
        return Err(VerifyError::MalformedSignature {
            header: SIGNATURE_HEADER,
            reason,
        });
    }
    Ok(Presented {
        id,
        timestamp_text,
        timestamp,
        signatures,
        kept,
        usable,
    })
}

/// Integer Unix seconds: ASCII digits with an optional leading `-`, no sign or space
/// tricks, within `i64`.
fn parse_timestamp(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// The Standard Webhooks signature, for its sender's rules.
pub(crate) struct Signature;

/// The Standard Webhooks signature rules.
pub(crate) static RULES: Signature = Signature;

impl SignatureRules for Signature {
    fn headers(&self) -> &[SenderHeader] {
        &[ID_PAIR, TIMESTAMP_PAIR, SIGNATURE_PAIR]
    }

    fn signature_header(&self) -> SenderHeader {
        SIGNATURE_PAIR
    }

    fn key_encoding(&self) -> KeyEncoding {
        KeyEncoding::StandardWebhooks
    }

    fn stamps_message_id(&self) -> bool {
        true
    }

    /// The headers first; then the timestamp against the window (5 min when none is
    /// configured), before any hashing; then every `v1` entry under every key.
    fn verify(
        &self,
        request: &dyn RequestView,
        body: &[u8],
        keys: &Keys,
        window: Option<Duration>,
        now: &dyn Fn() -> i64,
    ) -> Result<Signed, VerifyError> {
        let presented = presented(request)?;
        let window = window.unwrap_or(DEFAULT_TOLERANCE);
        replay::within(TIMESTAMP_FIELD, presented.timestamp, now(), window)?;
        let key = keys.first_match(|secret| {
            let expected = tag(
                secret,
                presented.id.as_bytes(),
                presented.timestamp_text,
                body,
            );
            presented.matches_any(&expected)
        })?;
        Ok(Signed {
            key,
            message_id: Some(presented.id.into()),
            signed_at: Some(presented.timestamp),
        })
    }

    /// The id and timestamp always; the signature with a secret, none without.
    fn sign(
        &self,
        secret: Option<&Secret>,
        body: &[u8],
        stamp: Option<Stamp<'_>>,
    ) -> Result<Vec<SignedHeader>, SignError> {
        let Stamp {
            message_id,
            timestamp,
        } = stamp.ok_or(SignError::MissingMessageId {
            scheme: Scheme::StandardWebhooks,
        })?;
        HeaderValue::from_str(message_id).map_err(|_| SignError::InvalidMessageId)?;
        Ok(vec![
            SignedHeader::new(ID_PAIR, message_id.to_owned()),
            SignedHeader::new(TIMESTAMP_PAIR, timestamp.to_string()),
            SignedHeader {
                header: SIGNATURE_PAIR,
                value: secret.map(|secret| sign(secret, message_id, timestamp, body)),
            },
        ])
    }

    fn reencoded(&self, _value: &str) -> Option<Reencoded> {
        None
    }

    /// A `whsec_…` secret used as text (with or without its prefix) instead of being
    /// base64-decoded.
    fn secret_encoding_candidates(&self, text: &[u8]) -> Vec<(SecretChange, Option<Secret>)> {
        let as_key = |bytes: &[u8]| (!bytes.is_empty()).then(|| Secret::new(bytes));
        vec![
            (SecretChange::WhsecUsedAsText, as_key(text)),
            (
                SecretChange::WhsecBodyUsedAsText,
                text.strip_prefix(b"whsec_").and_then(as_key),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The right signature is found at any position of a long list, past the entries
    /// kept decoded from the header check as well as among them.
    #[test]
    fn any_entry_of_a_long_list_matches() {
        let secret =
            || Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let verifier = crate::Verifier::builder(crate::Scheme::StandardWebhooks)
            .secret(secret())
            .build()
            .unwrap();
        let body = br#"{"test": 2432232314}"#;
        let now = std::time::SystemTime::now();
        let at = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let right = sign(&secret(), "msg_1", at, body);
        let wrong = |n: u8| format!("v1,{}", tag::encode_base64_tag(&Tag::from_array([n; 32])));
        for count in [1, KEPT_TAGS, KEPT_TAGS + 3] {
            for position in 0..count {
                let list: Vec<String> = (0..count)
                    .map(|i| {
                        if i == position {
                            right.clone()
                        } else {
                            wrong(i as u8)
                        }
                    })
                    .collect();
                let mut headers = http::HeaderMap::new();
                headers.insert(ID_HEADER, "msg_1".parse().unwrap());
                headers.insert(TIMESTAMP_HEADER, at.to_string().parse().unwrap());
                headers.insert(SIGNATURE_HEADER, list.join(" ").parse().unwrap());
                assert!(
                    verifier.verify_at(&headers, &body[..], now).is_ok(),
                    "{count}/{position}"
                );
                let only_wrong: Vec<String> = (0..count).map(|i| wrong(i as u8)).collect();
                headers.insert(SIGNATURE_HEADER, only_wrong.join(" ").parse().unwrap());
                assert!(
                    verifier.verify_at(&headers, &body[..], now).is_err(),
                    "{count}"
                );
            }
        }
    }

    #[test]
    fn timestamps_are_plain_integers() {
        assert_eq!(parse_timestamp(b"1614265330"), Some(1_614_265_330));
        assert_eq!(parse_timestamp(b"-5"), Some(-5));
        for bad in [
            &b""[..],
            b"+1614265330",
            b" 1614265330",
            b"1614265330.5",
            b"1e9",
            b"-",
            b"9999999999999999999999",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }
}
