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

use http::HeaderName;

use crate::{
    Secret,
    error::{MalformedReason, VerifyError},
    request::RequestView,
    tag::Tag,
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

/// How the timestamp header is described in errors.
pub(crate) const TIMESTAMP_FIELD: &str = "`webhook-timestamp` header";

/// The `webhook-signature` value (`v1,<base64>`) for one message.
///
/// ```
/// use webhook_core::{Secret, scheme::standard};
///
/// // The Standard Webhooks specification's published test vector.
/// let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let signature = standard::sign(
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
    format!("v1,{}", super::encode_base64_tag(&tag))
}

pub(crate) fn tag(secret: &Secret, id: &[u8], timestamp: &[u8], body: &[u8]) -> Tag {
    secret.tag(&[id, b".", timestamp, b".", body])
}

/// How many decoded `v1` entries [`Presented`] keeps from the header check. Senders
/// send one, or two while a key rotates; a longer list is decoded again when matched.
const KEPT_TAGS: usize = 4;

/// What a Standard Webhooks request presents, read from its headers.
pub(crate) struct Presented<'r> {
    pub(crate) id: &'r str,
    pub(crate) timestamp_text: &'r [u8],
    pub(crate) timestamp: i64,
    signatures: &'r [u8],
    /// The first usable `v1` entries, decoded once by the header check.
    kept: [Option<Tag>; KEPT_TAGS],
    usable: usize,
}

impl Presented<'_> {
    /// Whether any usable `v1` entry equals `expected`. Every entry is compared, in
    /// constant time, whichever matches; malformed `v1` entries are skipped
    /// ([`presented`] has already refused a header in which no entry is usable).
    pub(crate) fn matches_any(&self, expected: &Tag) -> bool {
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
            Some(encoded) => Entry::V1(super::decode_base64_tag(encoded)),
            None => Entry::Other,
        })
}

pub(crate) fn presented<R: RequestView + ?Sized>(
    request: &R,
) -> Result<Presented<'_>, VerifyError> {
    let signatures = super::either(
        request,
        (&SIGNATURE, SIGNATURE_HEADER),
        (&SVIX_SIGNATURE, SVIX_SIGNATURE_HEADER),
    )?
    .ok_or(VerifyError::MissingSignature {
        header: SIGNATURE_HEADER,
    })?;
    let id = super::either(request, (&ID, ID_HEADER), (&SVIX_ID, SVIX_ID_HEADER))?.ok_or(
        VerifyError::MissingHeader {
            header: ID_HEADER,
            scheme: super::Scheme::StandardWebhooks,
        },
    )?;
    let id = std::str::from_utf8(id)
        .ok()
        .filter(|id| !id.is_empty())
        .ok_or(VerifyError::MalformedHeader {
            header: ID_HEADER,
            expected: "a non-empty message id",
        })?;
    let timestamp_text = super::either(
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
        let wrong = |n: u8| {
            format!(
                "v1,{}",
                super::super::encode_base64_tag(&Tag::from_array([n; 32]))
            )
        };
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
