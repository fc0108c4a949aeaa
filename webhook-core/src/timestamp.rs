//! Reading and writing the RFC 3339 timestamps senders put in bodies.
//!
//! Every form goes through chrono's RFC 3339 parser: Stalwart's and the email-API
//! senders' whole-second `…Z`, Stalwart v0.8's fractional seconds, offsets. A
//! word-at-a-time fast path for the `…Z` form was measured against this in the same
//! run (issue 16, point 6; `RATIOS=1 cargo bench -p webhook-core --bench parse`, two
//! runs each): the typed parse's median ratio to the plain serde baseline was
//! 1.03–1.07 (1 event) and 0.97–0.99 (1 000 events) with it, 1.05–1.06 and 0.95–0.97
//! without: no gain beyond noise, so the plain version stays.

use chrono::{DateTime, Utc};

/// Parses an RFC 3339 date-time into UTC.
pub(crate) fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Formats as Stalwart does: whole seconds, UTC, `Z`.
pub(crate) fn format_utc_seconds(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_seconds_round_trip() {
        for text in [
            "2025-08-21T14:00:15Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let full = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(parse_rfc3339(text), Some(full), "{text}");
            assert_eq!(format_utc_seconds(full), text);
        }
    }

    #[test]
    fn other_forms_fall_back_and_nonsense_fails() {
        let fractional = parse_rfc3339("2024-06-20T17:11:15.123456789Z").unwrap();
        assert_eq!(fractional.timestamp_subsec_nanos(), 123_456_789);
        let offset = parse_rfc3339("2025-08-21T16:00:15+02:00").unwrap();
        assert_eq!(offset, parse_rfc3339("2025-08-21T14:00:15Z").unwrap());
        // RFC 3339 §5.6 allows a space for `T`; chrono does too.
        assert_eq!(offset, parse_rfc3339("2025-08-21 14:00:15Z").unwrap());
        for bad in [
            "2025-02-30T00:00:00Z",
            "2025-08-21T24:00:00Z",
            "2025-08-21T14:00:1xZ",
            "",
            "yesterday",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
