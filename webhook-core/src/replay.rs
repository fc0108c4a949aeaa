//! Replay windows: refusing authentic requests that are too old (or too far ahead).
//!
//! A valid signature proves who made a request, not when. Standard Webhooks signs a
//! timestamp header for exactly this reason; Stalwart and the email-API senders sign
//! only the body, but the body carries the events' creation times (`createdAt`,
//! `created_at`), which the signature covers too. The verifier reads them *after* the
//! MAC check, so only authentic bytes are ever parsed.
//!
//! # Choosing a window
//!
//! A window must be longer than the sender's own redelivery horizon, or legitimate
//! retries are refused and then retried until the sender gives up:
//!
//! - **Stalwart** re-queues a failed batch until its events are `discardAfter` old
//!   (default 5 min), a retry leaves at least `throttle` (1 s) later and may take
//!   `timeout` (30 s): use at least `discardAfter + timeout + throttle`, 331 s by
//!   default ([`STALWART_MIN_WINDOW`]). A batch is judged by its **newest** event: the
//!   sender signed the batch no earlier than that event's creation, while older
//!   events in a retried batch are legitimately old.
//! - **Email-API** senders retry at 1, 5 and 30 minutes, keeping `created_at`: the last
//!   retry arrives about 36 minutes after the event. Use at least 40 minutes
//!   ([`EMAIL_API_MIN_WINDOW`]).
//! - **Standard Webhooks** re-signs every attempt with a fresh timestamp, so the usual
//!   5 minutes ([`STANDARD_WEBHOOKS_DEFAULT_TOLERANCE`]) is right.
//!
//! The window applies in both directions (clock skew can put a timestamp ahead of the
//! receiver). Within the window a captured request can still be replayed; the
//! idempotency helpers are what make a replay harmless.

use std::{borrow::Cow, fmt, time::Duration};

use serde::{
    Deserialize, Deserializer,
    de::{SeqAccess, Visitor},
};

use crate::{Scheme, error::VerifyError};

/// Stalwart's default `discardAfter` (5 min) + `timeout` (30 s) + `throttle` (1 s).
pub const STALWART_MIN_WINDOW: Duration = Duration::from_secs(5 * 60 + 30 + 1);
/// The email-API sender's last retry (30 min) after earlier ones (1 + 5 min), plus margin.
pub const EMAIL_API_MIN_WINDOW: Duration = Duration::from_secs(40 * 60);
/// The Standard Webhooks tolerance used when none is configured.
pub const STANDARD_WEBHOOKS_DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

const STALWART_FIELD: &str = "`createdAt` of the newest event";
const EMAIL_API_FIELD: &str = "`created_at` field";
const RFC3339: &str = "RFC 3339 date-time such as 2025-08-21T14:00:15Z";

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

/// Reads the signed timestamp of a verified body and checks it against the window.
/// Returns the timestamp that was judged.
pub(crate) fn check_body(
    scheme: Scheme,
    body: &[u8],
    now: i64,
    window: Duration,
) -> Result<i64, VerifyError> {
    let unreadable = |err: serde_json::Error| VerifyError::UnreadableBody {
        scheme,
        detail: describe(&err),
    };
    let (field, found) = match scheme {
        Scheme::Stalwart => {
            let batch: StalwartTimes = serde_json::from_slice(body).map_err(unreadable)?;
            (STALWART_FIELD, batch.events)
        }
        Scheme::EmailApi => {
            let event: EmailApiTime<'_> = serde_json::from_slice(body).map_err(unreadable)?;
            let found = match event.created_at {
                None => Found::Missing,
                Some(text) => parse_rfc3339(&text).map_or(Found::Invalid, Found::At),
            };
            (EMAIL_API_FIELD, found)
        }
        // The builder refuses a replay window for every other scheme.
        _ => {
            return Err(VerifyError::UnreadableBody {
                scheme,
                detail: "this scheme's body carries no signed timestamp".into(),
            });
        }
    };
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

/// Where serde_json stopped, without quoting the body.
fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Syntax => "invalid JSON",
        Category::Eof => "the JSON ends early",
        Category::Data => "unexpected JSON shape",
        Category::Io => "read error",
    };
    format!("{what} at line {} column {}", err.line(), err.column())
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    crate::timestamp::parse_rfc3339(text).map(|t| t.timestamp())
}

/// The newest `createdAt` of a batch, or the first problem found.
enum Found {
    At(i64),
    Missing,
    Invalid,
    Empty,
}

#[derive(Deserialize)]
struct StalwartTimes {
    events: Found,
}

#[derive(Deserialize)]
struct EventTime<'a> {
    #[serde(rename = "createdAt", borrow)]
    created_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EmailApiTime<'a> {
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
}

impl<'de> Deserialize<'de> for Found {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Newest;
        impl<'de> Visitor<'de> for Newest {
            type Value = Found;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of events")
            }

            // Folds the array without collecting it: a 10 000-event batch costs no
            // allocation beyond serde_json's own.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
                let mut newest: Option<i64> = None;
                let mut problem = None;
                while let Some(event) = seq.next_element::<EventTime<'de>>()? {
                    match event.created_at.as_deref().map(parse_rfc3339) {
                        Some(Some(at)) => newest = Some(newest.map_or(at, |n| n.max(at))),
                        Some(None) => {
                            problem.get_or_insert(Found::Invalid);
                        }
                        None => {
                            problem.get_or_insert(Found::Missing);
                        }
                    }
                }
                Ok(problem.unwrap_or(newest.map_or(Found::Empty, Found::At)))
            }
        }
        deserializer.deserialize_seq(Newest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_755_784_960; // 2025-08-21T14:02:40Z
    const MIN: Duration = Duration::from_secs(60);

    fn stalwart(times: &[&str]) -> Vec<u8> {
        let events: Vec<String> = times
            .iter()
            .map(|t| format!(r#"{{"id":"1","createdAt":"{t}","type":"auth.success","data":{{}}}}"#))
            .collect();
        format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
    }

    #[test]
    fn a_batch_is_as_fresh_as_its_newest_event() {
        let body = stalwart(&["2025-08-21T13:50:00Z", "2025-08-21T14:02:00Z"]);
        assert_eq!(
            check_body(Scheme::Stalwart, &body, NOW, MIN).unwrap(),
            NOW - 40
        );
        let old = stalwart(&["2025-08-21T13:50:00Z", "2025-08-21T13:59:00Z"]);
        let err = check_body(Scheme::Stalwart, &old, NOW, MIN).unwrap_err();
        assert_eq!(err.code(), "timestamp_out_of_window");
    }

    #[test]
    fn future_timestamps_count_too() {
        let ahead = stalwart(&["2025-08-21T14:05:00Z"]);
        let err = check_body(Scheme::Stalwart, &ahead, NOW, MIN).unwrap_err();
        assert!(matches!(
            err,
            VerifyError::TimestampOutOfWindow { age_secs: -140, .. }
        ));
    }

    #[test]
    fn problems_are_typed() {
        let code = |body: &[u8]| {
            check_body(Scheme::Stalwart, body, NOW, MIN)
                .unwrap_err()
                .code()
        };
        assert_eq!(code(br#"{"events":[]}"#), "unreadable_body");
        assert_eq!(code(br#"{"events":[{"id":"1"}]}"#), "missing_timestamp");
        assert_eq!(code(&stalwart(&["yesterday"])), "invalid_timestamp");
        assert_eq!(code(b"not json"), "unreadable_body");
        assert_eq!(code(br#"{"events":{}}"#), "unreadable_body");
        let fractional = stalwart(&["2025-08-21T14:02:40.123456789Z"]); // Stalwart v0.8
        assert!(check_body(Scheme::Stalwart, &fractional, NOW, MIN).is_ok());
    }

    #[test]
    fn email_api_created_at() {
        let body =
            br#"{"id":"evt_1","type":"delivered","created_at":"2025-08-21T14:02:00Z","data":{}}"#;
        assert!(check_body(Scheme::EmailApi, body, NOW, MIN).is_ok());
        let missing = br#"{"id":"evt_1","type":"delivered","data":{}}"#;
        assert_eq!(
            check_body(Scheme::EmailApi, missing, NOW, MIN)
                .unwrap_err()
                .code(),
            "missing_timestamp"
        );
    }

    #[test]
    fn unreadable_body_detail_never_quotes_the_body() {
        let err = check_body(Scheme::Stalwart, b"{\"events\": [SECRETISH", NOW, MIN).unwrap_err();
        assert!(!err.to_string().contains("SECRETISH"), "{err}");
    }
}
