//! Replay windows: refusing authentic requests that are too old (or too far ahead).
//!
//! A valid signature proves who made a request, not when. Standard Webhooks signs a
//! timestamp header for exactly this reason; Stalwart and the email-API senders sign
//! only the body, but the body carries the events' creation times (`createdAt`,
//! `created_at`), which the signature covers too. The verifier reads them *after* the
//! MAC check, so only authentic bytes are ever parsed. Each sender's folder says where
//! its timestamp is and how long a window its retries need; this module holds what
//! the checks share.

use std::time::Duration;

use crate::{Scheme, error::VerifyError};

/// The RFC 3339 form body timestamps are expected in, for error messages.
pub(crate) const RFC3339: &str = "RFC 3339 date-time such as 2025-08-21T14:00:15Z";

/// Checks that `timestamp` (Unix seconds) is within `window` of `now`, either side.
pub(crate) fn within(
    field: &'static str,
    timestamp: i64,
    now: i64,
    window: Duration,
) -> Result<(), VerifyError> {
    let age = now.saturating_sub(timestamp);
    if age.unsigned_abs() > window.as_secs() {
        return Err(VerifyError::TimestampOutOfWindow {
            field,
            age_secs: age,
            tolerance_secs: window.as_secs(),
        });
    }
    Ok(())
}

/// A body's signed timestamp as read, or the first problem found.
pub(crate) enum Found {
    At(i64),
    Missing,
    Invalid,
    /// A batch without events: nothing to judge.
    Empty,
}

/// Judges what was read from a body against the window; returns the timestamp judged.
pub(crate) fn judge(
    scheme: Scheme,
    field: &'static str,
    found: Found,
    now: i64,
    window: Duration,
) -> Result<i64, VerifyError> {
    let timestamp = match found {
        Found::At(timestamp) => timestamp,
        Found::Missing => return Err(VerifyError::MissingTimestamp { field }),
        Found::Invalid => {
            return Err(VerifyError::InvalidTimestamp {
                field,
                expected: RFC3339,
            });
        }
        Found::Empty => {
            return Err(VerifyError::UnreadableBody {
                scheme,
                detail: "the `events` array is empty".into(),
            });
        }
    };
    within(field, timestamp, now, window)?;
    Ok(timestamp)
}

/// A body whose timestamp cannot be read: where serde_json stopped, without quoting the
/// body.
pub(crate) fn unreadable(scheme: Scheme) -> impl Fn(serde_json::Error) -> VerifyError {
    move |err| {
        use serde_json::error::Category;
        let what = match err.classify() {
            Category::Syntax => "invalid JSON",
            Category::Eof => "the JSON ends early",
            Category::Data => "unexpected JSON shape",
            Category::Io => "read error",
        };
        VerifyError::UnreadableBody {
            scheme,
            detail: format!("{what} at line {} column {}", err.line(), err.column()),
        }
    }
}

/// An RFC 3339 date-time as Unix seconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    crate::timestamp::parse_rfc3339(text).map(|t| t.timestamp())
}
