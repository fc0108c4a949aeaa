//! Stalwart's signed timestamp: each event's `createdAt`, inside the signed body.
//!
//! Stalwart re-queues a failed batch until its events are `discardAfter` old (default
//! 5 min); a retry leaves at least `throttle` (1 s) later and may take `timeout` (30 s).
//! A replay window must therefore be at least `discardAfter + timeout + throttle`,
//! 331 s by default ([`MIN_REPLAY_WINDOW`]). A batch is judged by its **newest**
//! event: the sender signed the batch no earlier than that event's creation, while
//! older events in a retried batch are legitimately old.

use std::{borrow::Cow, fmt, time::Duration};

use serde::{
    Deserialize, Deserializer,
    de::{SeqAccess, Visitor},
};

use crate::{
    Scheme,
    error::VerifyError,
    replay::{self, Found},
};

/// Stalwart's default `discardAfter` (5 min) + `timeout` (30 s) + `throttle` (1 s): the
/// shortest replay window that never refuses one of its retries.
pub const MIN_REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60 + 30 + 1);

const FIELD: &str = "`createdAt` of the newest event";

/// Reads the newest `createdAt` of a verified batch and judges it against `window`.
pub(crate) fn check(body: &[u8], now: i64, window: Duration) -> Result<i64, VerifyError> {
    let batch: Times =
        serde_json::from_slice(body).map_err(replay::unreadable(Scheme::Stalwart))?;
    replay::judge(Scheme::Stalwart, FIELD, batch.events, now, window)
}

#[derive(Deserialize)]
struct Times {
    #[serde(deserialize_with = "newest")]
    events: Found,
}

#[derive(Deserialize)]
struct EventTime<'a> {
    #[serde(rename = "createdAt", borrow)]
    created_at: Option<Cow<'a, str>>,
}

/// The newest `createdAt` of the `events` array, or the first problem found.
fn newest<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Found, D::Error> {
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
                match event.created_at.as_deref().map(replay::parse_rfc3339) {
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
        assert_eq!(check(&body, NOW, MIN).unwrap(), NOW - 40);
        let old = stalwart(&["2025-08-21T13:50:00Z", "2025-08-21T13:59:00Z"]);
        let err = check(&old, NOW, MIN).unwrap_err();
        assert_eq!(err.code(), "timestamp_out_of_window");
    }

    #[test]
    fn future_timestamps_count_too() {
        let ahead = stalwart(&["2025-08-21T14:05:00Z"]);
        let err = check(&ahead, NOW, MIN).unwrap_err();
        assert!(matches!(
            err,
            VerifyError::TimestampOutOfWindow { age_secs: -140, .. }
        ));
    }

    #[test]
    fn problems_are_typed() {
        let code = |body: &[u8]| check(body, NOW, MIN).unwrap_err().code();
        assert_eq!(code(br#"{"events":[]}"#), "unreadable_body");
        assert_eq!(code(br#"{"events":[{"id":"1"}]}"#), "missing_timestamp");
        assert_eq!(code(&stalwart(&["yesterday"])), "invalid_timestamp");
        assert_eq!(code(b"not json"), "unreadable_body");
        assert_eq!(code(br#"{"events":{}}"#), "unreadable_body");
        let fractional = stalwart(&["2025-08-21T14:02:40.123456789Z"]); // Stalwart v0.8
        assert!(check(&fractional, NOW, MIN).is_ok());
    }

    #[test]
    fn unreadable_body_detail_never_quotes_the_body() {
        let err = check(b"{\"events\": [SECRETISH", NOW, MIN).unwrap_err();
        assert!(!err.to_string().contains("SECRETISH"), "{err}");
    }
}
