//! The email-API sender's signed timestamp: the body's `created_at`.
//!
//! The sender retries at 1, 5 and 30 minutes, keeping `created_at`: the last retry
//! arrives about 36 minutes after the event, so a replay window needs at least 40
//! minutes ([`MIN_REPLAY_WINDOW`]).

use std::{borrow::Cow, time::Duration};

use serde::Deserialize;

use crate::{
    Scheme,
    error::VerifyError,
    replay::{self, Found},
};

/// The sender's last retry (30 min) after earlier ones (1 + 5 min), plus margin: the
/// shortest replay window that never refuses one of its retries.
pub const MIN_REPLAY_WINDOW: Duration = Duration::from_secs(40 * 60);

const FIELD: &str = "`created_at` field";

/// Reads `created_at` from a verified body and judges it against `window`.
pub(crate) fn check(body: &[u8], now: i64, window: Duration) -> Result<i64, VerifyError> {
    let event: Time<'_> =
        serde_json::from_slice(body).map_err(replay::unreadable(Scheme::EmailApi))?;
    let found = match event.created_at {
        None => Found::Missing,
        Some(text) => replay::parse_rfc3339(&text).map_or(Found::Invalid, Found::At),
    };
    replay::judge(Scheme::EmailApi, FIELD, found, now, window)
}

#[derive(Deserialize)]
struct Time<'a> {
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_755_784_960; // 2025-08-21T14:02:40Z
    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn email_api_created_at() {
        let body =
            br#"{"id":"evt_1","type":"delivered","created_at":"2025-08-21T14:02:00Z","data":{}}"#;
        assert!(check(body, NOW, MIN).is_ok());
        let missing = br#"{"id":"evt_1","type":"delivered","data":{}}"#;
        assert_eq!(
            check(missing, NOW, MIN).unwrap_err().code(),
            "missing_timestamp"
        );
    }
}
