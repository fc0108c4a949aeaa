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
///
/// The 20 bytes are read as three little-endian words (the last two overlap) and XORed
/// with the template `0000-00-00T00:00:00Z`: a digit's byte then holds its value (0–9)
/// and a matching separator's byte holds 0, which three word-wide tests check at once
/// instead of 20 byte compares. chrono still builds (and range-checks) the date and time.
fn fast_utc_seconds(b: &[u8]) -> Option<DateTime<Utc>> {
    const TEMPLATE: &[u8; 20] = b"0000-00-00T00:00:00Z";
    /// Byte lanes of the three words (bytes 0–7, 8–15, 12–19) that hold separators.
    const SEPARATORS: [u64; 3] = [
        0xFF00_00FF_0000_0000,
        0x0000_FF00_00FF_0000,
        0xFF00_00FF_0000_FF00,
    ];
    let b: &[u8; 20] = b.try_into().ok()?;
    let word = |bytes: &[u8; 20], at: usize| {
        let mut lanes = [0; 8];
        lanes.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(lanes)
    };
    let words = [0, 8, 12].map(|at| word(b, at) ^ word(TEMPLATE, at));
    let mut bad = 0;
    for (w, separators) in words.into_iter().zip(SEPARATORS) {
        // A lane above 9 either has its top bit set or gets it from adding 0x76; a carry
        // out of a lane only happens from one that is already bad.
        bad |= ((w | w.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080)
            | (w & separators);
    }
    if bad != 0 {
        return None;
    }
    let digit = |w: u64, lane: u32| ((w >> (8 * lane)) & 0xFF) as u32;
    let two = |w: u64, lane: u32| digit(w, lane) * 10 + digit(w, lane + 1);
    let [date, time, seconds] = words;
    let year = two(date, 0) * 100 + two(date, 2);
    NaiveDate::from_ymd_opt(year as i32, two(date, 5), two(time, 0))?
        .and_hms_opt(two(time, 3), two(time, 6), two(seconds, 5))
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

#[cfg(test)]
mod agreement {
    //! The fast path against chrono's own RFC 3339 parser: wherever the fast path
    //! answers, it must give chrono's answer, and it must answer (not fall back) for
    //! every valid timestamp of its exact form.

    use chrono::{Datelike, Duration, NaiveDate};
    use proptest::prelude::*;

    use super::*;

    fn chrono_parse(bytes: &[u8]) -> Option<DateTime<Utc>> {
        let text = std::str::from_utf8(bytes).ok()?;
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    fn check(bytes: &[u8]) {
        let fast = fast_utc_seconds(bytes);
        if fast.is_some() {
            assert_eq!(
                fast,
                chrono_parse(bytes),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn every_single_byte_change_is_refused_or_agrees() {
        for base in [
            "2025-08-21T14:00:15Z",
            "2024-02-29T23:59:59Z",
            "2023-02-28T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            for at in 0..20 {
                for byte in 0..=u8::MAX {
                    let mut bytes = *<&[u8; 20]>::try_from(base.as_bytes()).unwrap();
                    bytes[at] = byte;
                    check(&bytes);
                }
            }
        }
    }

    #[test]
    fn every_day_of_four_centuries_takes_the_fast_path() {
        // 400 years are the whole leap-year cycle; the seconds vary with the day.
        let mut day = NaiveDate::from_ymd_opt(1800, 1, 1).unwrap();
        let mut n = 0u32;
        while day.year() < 2200 {
            let time = day
                .and_hms_opt(n % 24, n % 60, (n / 7) % 60)
                .unwrap()
                .and_utc();
            let text = format_utc_seconds(time);
            assert_eq!(fast_utc_seconds(text.as_bytes()), Some(time), "{text}");
            assert_eq!(chrono_parse(text.as_bytes()), Some(time), "{text}");
            day += Duration::days(1);
            n += 1;
        }
    }

    /// The exact form with arbitrary digits: mostly impossible months, days and times.
    fn digits_in_place() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(b'0'..=b'9', 14).prop_map(|d| {
            format!(
                "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{}{}Z",
                d[0] as char,
                d[1] as char,
                d[2] as char,
                d[3] as char,
                d[4] as char,
                d[5] as char,
                d[6] as char,
                d[7] as char,
                d[8] as char,
                d[9] as char,
                d[10] as char,
                d[11] as char,
                d[12] as char,
                d[13] as char,
            )
            .into_bytes()
        })
    }

    /// Plausible fields, so that most are valid and the edges (29–31, 23, 59, 60) come up.
    fn plausible() -> impl Strategy<Value = Vec<u8>> {
        (
            0u32..=9999,
            0u32..=13,
            0u32..=32,
            0u32..=24,
            0u32..=60,
            0u32..=61,
        )
            .prop_map(|(y, mo, d, h, mi, s)| {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z").into_bytes()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn digits_agree(bytes in digits_in_place()) {
            check(&bytes);
        }

        #[test]
        fn plausible_fields_agree_and_valid_ones_are_fast(bytes in plausible()) {
            check(&bytes);
            // A leap second (`:60`) is chrono's to read: `and_hms_opt` refuses it.
            if chrono_parse(&bytes).is_some() && &bytes[17..19] != b"60" {
                prop_assert!(fast_utc_seconds(&bytes).is_some());
            }
        }

        #[test]
        fn any_twenty_bytes_are_refused_or_agree(bytes in proptest::collection::vec(any::<u8>(), 20)) {
            check(&bytes);
        }

        #[test]
        fn parse_rfc3339_is_chrono(bytes in prop_oneof![digits_in_place(), plausible()]) {
            let text = std::str::from_utf8(&bytes).unwrap();
            prop_assert_eq!(parse_rfc3339(text), chrono_parse(&bytes));
        }
    }
}
