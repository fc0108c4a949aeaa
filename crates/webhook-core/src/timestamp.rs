//! Reading and writing the RFC 3339 timestamps senders put in bodies.
//!
//! Stalwart (v0.9+) and the email-API senders write whole-second UTC with a literal
//! `Z` (`2025-08-21T14:00:15Z`); that exact 20-byte form takes a fast path that only
//! checks the separators and hands the numbers to chrono, because it is parsed once per
//! event on the hot path. Everything else (Stalwart v0.8's fractional seconds, offsets)
//! goes through chrono's full RFC 3339 parser.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses an RFC 3339 date-time into UTC.
pub(crate) fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    fast_utc_seconds(text.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly; `None` sends the caller to the full parser.
fn fast_utc_seconds(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    // The 14 digit positions of `YYYY-MM-DDTHH:MM:SS`, checked once, then combined.
    const DIGITS: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let mut d = [0u32; 14];
    for (out, &at) in d.iter_mut().zip(&DIGITS) {
        let value = b[at].wrapping_sub(b'0');
        if value > 9 {
            return None;
        }
        *out = u32::from(value);
    }
    let year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3];
    NaiveDate::from_ymd_opt(year as i32, d[4] * 10 + d[5], d[6] * 10 + d[7])?
        .and_hms_opt(d[8] * 10 + d[9], d[10] * 10 + d[11], d[12] * 10 + d[13])
        .map(|naive| naive.and_utc())
}

/// Formats as Stalwart does: whole seconds, UTC, `Z`.
pub(crate) fn format_utc_seconds(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2025-08-21T14:00:15Z",
            "2024-02-29T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let full = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(fast_utc_seconds(text.as_bytes()), Some(full), "{text}");
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
