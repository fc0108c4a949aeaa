//! Why a verified body could not be turned into typed events.
//!
//! Every variant says *where* (line, column and, for shape errors, the serde path such
//! as `events[3].createdAt`) and maps to an HTTP status through [`ParseError::status`]:
//! 415 for a body in a format the sender never uses, 400 for everything else. Messages
//! describe the body's structure; they may quote a short value from the (authenticated)
//! body but never a secret.

use http::StatusCode;

use crate::{MediaType, Problem, Scheme};

/// A verified body is not a valid payload of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The declared `Content-Type` is not one this sender uses.
    #[error(
        "unsupported content type: the request declares {}, but this sender's payloads are \
         sent as {expected}; the sender is expected to declare that (check its payload format \
         setting, or the `Content-Type` of a hand-made request)",
        crate::media_type::declared_phrase(*found, declared.as_deref())
    )]
    UnsupportedMediaType {
        /// What the request declared.
        found: MediaType,
        /// The `Content-Type` value as received (cut to 80 characters), when known: set
        /// by [`Verified::parse`](crate::Verified::parse) from the verified request;
        /// `None` from [`parse_unverified`](crate::parse_unverified) or for a repeated header.
        declared: Option<Box<str>>,
        /// What the payload type accepts, for the message.
        expected: &'static str,
    },
    /// The body is not UTF-8.
    #[error("the body is not valid UTF-8 (first bad byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The body is not syntactically valid JSON (or ends early).
    #[error("invalid JSON at line {line} column {column}: {detail}")]
    InvalidJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found.
        detail: String,
    },
    /// The JSON is valid but not of the expected shape: a missing required field, a
    /// wrong type, a value out of range.
    #[error("at `{path}` (line {line} column {column}): {detail}")]
    UnexpectedShape {
        /// Serde path of the offending value, e.g. `events[3].createdAt`.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What was wrong.
        detail: String,
    },
    /// Something follows the JSON value.
    #[error(
        "unexpected data after the JSON value at line {line} column {column}: one request \
         carries one JSON document"
    )]
    TrailingData {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A batch with no events, which no sender produces.
    #[error("the `events` array is empty: a batch carries at least one event")]
    EmptyBatch,
    /// The payload needs a verified header value the verification did not provide: a
    /// Standard Webhooks payload parsed from a request verified under another scheme.
    /// A receiver wiring mistake, hence 500.
    #[error(
        "the `{header}` header value is needed to build this payload, but the request was \
         not verified with it: parse Standard Webhooks payloads from a request verified \
         with the Standard Webhooks scheme"
    )]
    MissingContext {
        /// The header whose verified value is missing.
        header: &'static str,
    },
    /// A stored event was parsed as the payload type of another sender: a receiver
    /// wiring mistake (a handler for one sender given another's events), hence 500.
    #[error(
        "this event was stored from a {stored} delivery and cannot be read as a {wanted} \
         payload: give each route's events to a handler of that route's sender"
    )]
    WrongSender {
        /// The sender the event came from.
        stored: Scheme,
        /// The sender of the payload type asked for.
        wanted: Scheme,
    },
    /// A form-data body that cannot be read.
    #[error("invalid form data: {detail}")]
    InvalidForm {
        /// What was wrong.
        detail: String,
    },
    /// The body's bytes are in another format than the declared `Content-Type`. The
    /// signature covers the bytes, not the header, so the header is never followed
    /// into another reading of them.
    #[error(
        "the body is {found}, but the request declares {}: the content type does not \
         match the signed body; check the sender's payload format setting",
        declared.describe()
    )]
    MediaTypeMismatch {
        /// What the request declared.
        declared: MediaType,
        /// What the bytes are, for the message.
        found: &'static str,
    },
}

impl ParseError {
    /// 415 for [`ParseError::UnsupportedMediaType`] and
    /// [`ParseError::MediaTypeMismatch`], 500 for [`ParseError::MissingContext`] and
    /// [`ParseError::WrongSender`] (the receiver's mistakes), 400 for the rest.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnsupportedMediaType { .. } | Self::MediaTypeMismatch { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::MissingContext { .. } | Self::WrongSender { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::NotUtf8 { .. } => "not_utf8",
            Self::InvalidJson { .. } => "invalid_json",
            Self::UnexpectedShape { .. } => "unexpected_shape",
            Self::TrailingData { .. } => "trailing_data",
            Self::EmptyBatch => "empty_batch",
            Self::MissingContext { .. } => "missing_context",
            Self::WrongSender { .. } => "wrong_sender",
            Self::InvalidForm { .. } => "invalid_form",
            Self::MediaTypeMismatch { .. } => "media_type_mismatch",
        }
    }
}

impl From<&ParseError> for Problem {
    fn from(err: &ParseError) -> Self {
        Problem::new(err.status(), err.code(), err.to_string())
    }
}
