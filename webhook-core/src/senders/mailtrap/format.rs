//! Which of Mailtrap's three body formats a request is read in: decided by the signed
//! bytes, with the unsigned `Content-Type` only able to refuse, never to choose.
//!
//! The signature covers the body and nothing else, so anyone holding one signed
//! delivery can resend its bytes under another `Content-Type`. If the header chose the
//! parser, a JSON event whose `user_agent` held `x&event=bounce&email=ceo%40…` would
//! read, as form data, as a forged bounce with a fresh `event_id`. So:
//!
//! - a body that is JSON in any way (its first non-blank byte is `{` or `[`, or it is
//!   one JSON value) is **never** read as form data, whatever it declares: declared as
//!   form data it is refused (415, `media_type_mismatch`);
//! - one JSON value is read as JSON (the `{"events":[…]}` batch or a bare event); more
//!   than one, as JSON Lines. Declared as JSON Lines, a body that reads as one JSON
//!   value is accepted only as a one-line event (a JSON Lines body of one event is
//!   exactly that), never as a batch or a multi-line document; declared as JSON, more
//!   than one value is refused (`trailing_data`);
//! - only a body that is not JSON at all is read as form data, and declared as JSON it
//!   is refused as invalid JSON.
//!
//! So each body has at most one reading that succeeds, and the header can only turn it
//! into a refusal. A receiver that knows its webhook's format pins it with
//! [`VerifierBuilder::media_type`](crate::VerifierBuilder::media_type).

use serde::de::IgnoredAny;

use super::{BodyFormat, MailtrapBatch, batch};
use crate::{MediaType, events::ParseError};

/// Reads a body declared as `declared` in the one format its bytes allow.
pub(super) fn read(body: &[u8], declared: MediaType) -> Result<MailtrapBatch<'_>, ParseError> {
    match declared {
        MediaType::Json => batch::parse_json(body),
        MediaType::JsonLines => match batch::parse_json(body) {
            Ok(one) if one.format == BodyFormat::Single && on_one_line(body) => Ok(MailtrapBatch {
                format: BodyFormat::JsonLines,
                ..one
            }),
            Ok(_) => Err(mismatch(declared, "one JSON document, not JSON Lines")),
            Err(_) => batch::lines(body),
        },
        MediaType::FormUrlEncoded if looks_like_json(body) || is_json(body) => {
            Err(mismatch(declared, "JSON, not form data"))
        }
        MediaType::FormUrlEncoded => batch::form(body),
        MediaType::Missing if looks_like_json(body) || is_json(body) => {
            match batch::parse_json(body) {
                Err(ParseError::TrailingData { .. }) => batch::lines(body),
                parsed => parsed,
            }
        }
        MediaType::Missing => batch::form(body),
        found => Err(ParseError::UnsupportedMediaType {
            found,
            declared: None,
            expected: "application/json, application/jsonl or application/x-www-form-urlencoded",
        }),
    }
}

fn mismatch(declared: MediaType, found: &'static str) -> ParseError {
    ParseError::MediaTypeMismatch { declared, found }
}

/// Whether the first non-blank byte opens a JSON object or array: JSON, or JSON Lines,
/// and never form data (whose keys Mailtrap writes as plain words).
fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether the body is exactly one JSON value (of any kind).
fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(body).is_ok()
}

/// Whether the body, blank space around it aside, holds no line break.
fn on_one_line(body: &[u8]) -> bool {
    !body.trim_ascii().contains(&b'\n')
}
