//! Why a request failed verification, and why a verifier could not be built.
//!
//! Every [`VerifyError`] variant has an HTTP status ([`VerifyError::status`]) and a
//! stable machine-readable code ([`VerifyError::code`]) so that adapters answer the
//! same way, and its message says what to check next. No message contains a
//! secret, a computed MAC, or the presented signature: an attacker probing the
//! endpoint learns which rule it broke and nothing that helps forge a request.

use http::StatusCode;

use crate::{MediaType, Scheme};

/// A request did not pass verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The body is larger than the verifier's limit. Checked before any hashing.
    #[error(
        "request body exceeds the {limit}-byte limit{}: raise `max_body_bytes` if the sender \
         legitimately sends bodies this large",
        match declared { Some(n) => format!(" (declared {n} bytes)"), None => String::new() }
    )]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
        /// The size the request declared (`Content-Length`), if that is how it was caught.
        declared: Option<u64>,
    },

    /// The signature header is absent.
    #[error(
        "the `{header}` header is missing: check that the sender has a signing secret configured \
         and that no proxy strips the header"
    )]
    MissingSignature {
        /// The header that was expected.
        header: &'static str,
    },

    /// A header the scheme requires (other than the signature) is absent.
    #[error("the `{header}` header is missing: the {scheme} scheme requires it")]
    MissingHeader {
        /// The header that was expected.
        header: &'static str,
        /// The scheme that requires it.
        scheme: Scheme,
    },

    /// A header the scheme requires (other than the signature) has an unusable value.
    #[error("the `{header}` header is malformed: expected {expected}")]
    MalformedHeader {
        /// The header.
        header: &'static str,
        /// What was expected.
        expected: &'static str,
    },

    /// A header that must appear once appears more than once.
    #[error(
        "the `{header}` header appears more than once: a request must carry exactly one; \
         check for a proxy that adds its own copy"
    )]
    DuplicateHeader {
        /// The repeated header.
        header: &'static str,
    },

    /// Two alternative names of the same header are both present with different values.
    #[error(
        "both `{first}` and `{second}` are present with different values: send only one of them"
    )]
    ConflictingHeaders {
        /// The preferred name.
        first: &'static str,
        /// The alternative name.
        second: &'static str,
    },

    /// The signature header is present but not in the scheme's format.
    #[error("the `{header}` header is malformed: {reason}")]
    MalformedSignature {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: MalformedReason,
    },

    /// The signature is well-formed but matches the body under none of the secrets.
    #[error(
        "the signature does not match the body under any of the {keys_tried} configured \
         secret(s): check that the receiver's secret is the sender's, and that the body reaches \
         the verifier byte-for-byte as received (not parsed and re-serialized)"
    )]
    SignatureMismatch {
        /// How many secrets were tried.
        keys_tried: usize,
    },

    /// A timestamp the scheme requires is absent.
    #[error("the {field} is missing: the verifier checks it against its replay window")]
    MissingTimestamp {
        /// Which timestamp (header or body field).
        field: &'static str,
    },

    /// A timestamp is present but not readable.
    #[error("the {field} is not a valid timestamp: {expected}")]
    InvalidTimestamp {
        /// Which timestamp.
        field: &'static str,
        /// The format expected.
        expected: &'static str,
    },

    /// A timestamp is outside the allowed window: too old (a possible replay) or too far
    /// in the future.
    #[error(
        "the {field} is {} s {} the receiver's clock, outside the {tolerance_secs} s window: \
         check both clocks (NTP), or widen the window if the sender legitimately redelivers \
         this late",
        age_secs.unsigned_abs(),
        if *age_secs >= 0 { "behind" } else { "ahead of" }
    )]
    TimestampOutOfWindow {
        /// Which timestamp.
        field: &'static str,
        /// Receiver time minus the timestamp, in seconds (negative: in the future).
        age_secs: i64,
        /// The configured window in seconds, either side.
        tolerance_secs: u64,
    },

    /// The body could not be read for its signed timestamp (only when a replay window is
    /// configured; the signature was valid).
    #[error("the body is not a {scheme} payload with readable timestamps: {detail}")]
    UnreadableBody {
        /// The scheme whose body format was expected.
        scheme: Scheme,
        /// The parser's description (position, not content).
        detail: String,
    },

    /// Authentication is configured and the request carries no credentials.
    #[error(
        "the `authorization` header is missing: the receiver expects {expected} credentials; \
         configure them at the sender"
    )]
    MissingAuth {
        /// `Basic` or `Bearer`.
        expected: &'static str,
    },

    /// The `Authorization` header is not of the expected form.
    #[error("the `authorization` header is not valid {expected} credentials: {reason}")]
    MalformedAuth {
        /// `Basic` or `Bearer`.
        expected: &'static str,
        /// What is wrong.
        reason: &'static str,
    },

    /// The credentials do not match.
    #[error("the {expected} credentials do not match the configured ones")]
    AuthMismatch {
        /// `Basic` or `Bearer`.
        expected: &'static str,
    },

    /// URL-token authentication is configured and the token parameter is absent.
    #[error(
        "the URL has no `{param}` query parameter: put the token in the webhook URL configured \
         at the sender"
    )]
    MissingToken {
        /// The query parameter name.
        param: Box<str>,
    },

    /// The URL token parameter appears more than once.
    #[error("the `{param}` query parameter appears more than once: the URL must carry one token")]
    DuplicateToken {
        /// The query parameter name.
        param: Box<str>,
    },

    /// The URL token does not match.
    #[error("the `{param}` query parameter does not match the configured token")]
    TokenMismatch {
        /// The query parameter name.
        param: Box<str>,
    },

    /// The request declares a `Content-Type` other than the one the verifier is pinned
    /// to ([`VerifierBuilder::media_type`](crate::VerifierBuilder::media_type)).
    #[error(
        "the request declares {}, but this endpoint accepts {} only: the sender is expected \
         to send `Content-Type: {}` (set its payload format to match), or pin this endpoint \
         to the other format",
        crate::media_type::declared_phrase(*found, declared.as_deref()),
        expected.describe(),
        expected.as_str().unwrap_or("?")
    )]
    UnsupportedMediaType {
        /// What the request declared.
        found: MediaType,
        /// The `Content-Type` value as received (cut to 80 characters), when the header
        /// was present once.
        declared: Option<Box<str>>,
        /// What the verifier is pinned to.
        expected: MediaType,
    },
}

impl VerifyError {
    /// The HTTP status a receiver should answer with: 401 when the request is not
    /// authentic (missing or wrong signature, credentials or token, stale timestamp),
    /// 400 when it is malformed, 413 when the body is too large, 415 when it declares a
    /// content type the verifier is pinned against.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MissingSignature { .. }
            | Self::SignatureMismatch { .. }
            | Self::TimestampOutOfWindow { .. }
            | Self::MissingAuth { .. }
            | Self::MalformedAuth { .. }
            | Self::AuthMismatch { .. }
            | Self::MissingToken { .. }
            | Self::DuplicateToken { .. }
            | Self::TokenMismatch { .. } => StatusCode::UNAUTHORIZED,
            Self::MissingHeader { .. }
            | Self::MalformedHeader { .. }
            | Self::DuplicateHeader { .. }
            | Self::ConflictingHeaders { .. }
            | Self::MalformedSignature { .. }
            | Self::MissingTimestamp { .. }
            | Self::InvalidTimestamp { .. }
            | Self::UnreadableBody { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable, machine-readable code (`snake_case`) for problem bodies, metrics and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::MissingSignature { .. } => "missing_signature",
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::DuplicateHeader { .. } => "duplicate_header",
            Self::ConflictingHeaders { .. } => "conflicting_headers",
            Self::MalformedSignature { .. } => "malformed_signature",
            Self::SignatureMismatch { .. } => "signature_mismatch",
            Self::MissingTimestamp { .. } => "missing_timestamp",
            Self::InvalidTimestamp { .. } => "invalid_timestamp",
            Self::TimestampOutOfWindow { .. } => "timestamp_out_of_window",
            Self::UnreadableBody { .. } => "unreadable_body",
            Self::MissingAuth { .. } => "missing_auth",
            Self::MalformedAuth { .. } => "malformed_auth",
            Self::AuthMismatch { .. } => "auth_mismatch",
            Self::MissingToken { .. } => "missing_token",
            Self::DuplicateToken { .. } => "duplicate_token",
            Self::TokenMismatch { .. } => "token_mismatch",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
        }
    }
}

/// What is wrong with a signature header's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedReason {
    /// The header is empty.
    #[error("it is empty")]
    Empty,
    /// Not standard base64 with padding.
    #[error("it is not standard base64 with `=` padding (RFC 4648 §4)")]
    InvalidBase64,
    /// Base64 in the URL-safe alphabet where the standard one is expected.
    #[error("it uses the URL-safe base64 alphabet (`-`, `_`); the sender uses the standard one")]
    UrlSafeBase64,
    /// Not hexadecimal.
    #[error("it is not hexadecimal")]
    InvalidHex,
    /// The encoded signature has the wrong length.
    #[error(
        "it is {found} characters long where an HMAC-SHA256 signature takes {expected}: \
         check that the whole header value arrives"
    )]
    WrongLength {
        /// Expected number of characters.
        expected: usize,
        /// Number found.
        found: usize,
    },
    /// A required prefix is missing.
    #[error("it lacks the `{expected}` prefix")]
    MissingPrefix {
        /// The prefix expected.
        expected: &'static str,
    },
    /// The prefix names an algorithm other than SHA-256.
    #[error("it names an algorithm other than `sha256`; only HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm,
    /// A prefix where the scheme has none.
    #[error(
        "it carries a `sha256=` prefix the scheme does not use: is the verifier set to the \
         right sender?"
    )]
    UnexpectedPrefix,
    /// No entry with a supported version tag.
    #[error(
        "it has no `v1,<base64>` entry (other version tags are skipped): the sender may sign \
         with an asymmetric key, which this verifier does not support"
    )]
    NoSupportedVersion,
}

/// A [`crate::Verifier`] could not be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Nothing would authenticate requests.
    #[error(
        "the {scheme} verifier has no secret and no credentials, so it would accept any request: \
         add a secret, Basic/Bearer credentials or a URL token (or call \
         `insecure_accept_unauthenticated` for local tests only)"
    )]
    NothingToVerify {
        /// The scheme.
        scheme: Scheme,
    },
    /// A secret is given to a scheme that does not sign.
    #[error(
        "{scheme} does not sign its requests, so a signing secret has nothing to check: \
         use Basic credentials or a URL token instead"
    )]
    SchemeDoesNotSign {
        /// The scheme.
        scheme: Scheme,
    },
    /// A secret is empty.
    #[error("secret #{index} is empty: an empty HMAC key authenticates nothing")]
    EmptySecret {
        /// Position of the secret (0-based, in the order added).
        index: usize,
    },
    /// A Standard Webhooks secret was given as raw text.
    #[error(
        "secret #{index} is a raw `whsec_…` string: Standard Webhooks keys are base64-decoded; \
         build it with `Secret::standard_webhooks`"
    )]
    UndecodedStandardSecret {
        /// Position of the secret.
        index: usize,
    },
    /// A decoded Standard Webhooks secret was given to another scheme.
    #[error(
        "secret #{index} was decoded as a Standard Webhooks secret, but {scheme} uses the \
         secret's text as the key: build it with `Secret::new`"
    )]
    DecodedSecretForRawScheme {
        /// Position of the secret.
        index: usize,
        /// The scheme.
        scheme: Scheme,
    },
    /// A replay window is set for a scheme whose body carries no signed timestamp.
    #[error(
        "{scheme} bodies carry no signed timestamp the verifier can check; a replay window \
         applies to Stalwart (`createdAt`) and email-API (`created_at`) bodies, and Standard \
         Webhooks has `timestamp_tolerance`"
    )]
    ReplayWindowUnsupported {
        /// The scheme.
        scheme: Scheme,
    },
    /// The body limit is zero.
    #[error("the body limit is zero: no request could pass")]
    ZeroBodyLimit,
    /// A Basic password or a Bearer token is empty.
    #[error(
        "the {scheme} credentials are empty: an empty password or token authenticates \
         nothing; set the one the sender is configured with"
    )]
    EmptyCredentials {
        /// `Basic` or `Bearer`.
        scheme: &'static str,
    },
    /// A Basic username contains `:`, which separates it from the password.
    #[error(
        "the Basic username contains `:`: in `user:password` the first `:` ends the \
         username (RFC 7617), so such a username cannot be sent"
    )]
    ColonInUsername,
    /// A URL token is empty.
    #[error(
        "the URL token for `{param}` is empty: `?{param}=` would pass; set the token the \
         webhook URL carries"
    )]
    EmptyUrlToken {
        /// The query parameter name.
        param: Box<str>,
    },
    /// A URL token's query parameter has no name.
    #[error("the URL token's query parameter name is empty: name it, as in `token=…`")]
    EmptyUrlTokenParam,
    /// Credentials were set twice.
    #[error(
        "both {first} and {second} credentials are configured, but a request carries one \
         `Authorization` header, so one of them could never pass: configure one"
    )]
    SeveralCredentials {
        /// The first set's scheme (`Basic` or `Bearer`).
        first: &'static str,
        /// The second set's scheme.
        second: &'static str,
    },
    /// A URL token was set twice.
    #[error("two URL tokens are configured: configure one")]
    SeveralUrlTokens,
    /// The verifier is pinned to a media type its sender never sends.
    #[error("{scheme} never sends {}: it sends {}", media_type.describe(), scheme_media_types(*scheme))]
    MediaTypeUnsupported {
        /// The scheme.
        scheme: Scheme,
        /// The media type pinned.
        media_type: MediaType,
    },
}

/// The media types a scheme sends, in prose.
fn scheme_media_types(scheme: Scheme) -> String {
    scheme
        .rules()
        .media_types
        .iter()
        .map(|media_type| media_type.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        let too_large = VerifyError::BodyTooLarge {
            limit: 10,
            declared: Some(11),
        };
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            VerifyError::SignatureMismatch { keys_tried: 1 }.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            VerifyError::MalformedSignature {
                header: "x-signature",
                reason: MalformedReason::InvalidBase64
            }
            .status(),
            StatusCode::BAD_REQUEST
        );
        assert!(too_large.to_string().contains("declared 11 bytes"));
    }

    #[test]
    fn stale_and_future_timestamps_read_naturally() {
        let stale = VerifyError::TimestampOutOfWindow {
            field: "`webhook-timestamp` header",
            age_secs: 412,
            tolerance_secs: 300,
        };
        assert!(stale.to_string().contains("412 s behind"), "{stale}");
        let future = VerifyError::TimestampOutOfWindow {
            field: "`webhook-timestamp` header",
            age_secs: -400,
            tolerance_secs: 300,
        };
        assert!(future.to_string().contains("400 s ahead of"), "{future}");
    }
}
