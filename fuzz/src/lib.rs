//! Helpers shared by the fuzz targets: a request view over raw header bytes, input
//! splitting, and the cheap invariants every error must satisfy.

use http::HeaderName;
use webhook_core::{
    HeaderLookup, MediaType, ParseContext, ParseError, Problem, RequestView, Verifier, VerifyError,
};

/// A request made of raw header bytes. Unlike `http::HeaderMap`, it lets any byte
/// reach the verifier (a real server would already have refused some of them, but the
/// verifier must not depend on that), repeated headers included.
#[derive(Debug, Default)]
pub struct RawRequest {
    pub headers: Vec<(HeaderName, Vec<u8>)>,
    pub query: Option<String>,
}

impl RawRequest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.push(name, value);
        self
    }

    pub fn push(&mut self, name: &'static str, value: impl Into<Vec<u8>>) {
        self.headers
            .push((HeaderName::from_static(name), value.into()));
    }
}

impl RequestView for RawRequest {
    fn header(&self, name: &HeaderName) -> HeaderLookup<'_> {
        HeaderLookup::from_values(
            self.headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice()),
        )
    }

    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
}

/// Splits `data` into at most `n` pieces at `\n`; the last piece keeps the rest (and
/// any further newlines).
pub fn split_lines(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |&b| b == b'\n').collect()
}

/// Every verification error has a consistent status, code and problem body.
pub fn check_verify_error(err: &VerifyError) {
    let status = err.status().as_u16();
    assert!(
        matches!(status, 400 | 401 | 413 | 415),
        "unexpected status {status} for {err:?}"
    );
    let code = err.code();
    assert!(
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    );
    let _ = err.to_string();
    let problem = Problem::from(err);
    let json = problem.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).expect("problem is JSON");
    assert!(value.is_object());
}

/// Every parse error has a consistent status, code and problem body.
pub fn check_parse_error(err: &ParseError) {
    let status = err.status().as_u16();
    assert!(
        matches!(status, 400 | 415 | 500),
        "unexpected status {status} for {err:?}"
    );
    let code = err.code();
    assert!(
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    );
    let _ = err.to_string();
    let json = Problem::from(err).to_json();
    let value: serde_json::Value = serde_json::from_str(&json).expect("problem is JSON");
    assert!(value.is_object());
}

/// Whether `bytes` is JSON as serde_json writes it compactly: no whitespace between
/// tokens and every string written with serde_json's escaping. For such input a
/// lossless parser must serialize back to the same bytes. (Numbers are not checked:
/// a parser that keeps one as text keeps its spelling; one that reads it does not.)
///
/// The scan is lexical only; it does not validate the JSON (the parser under test
/// does that).
pub fn is_compact_canonical(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => return false,
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return false;
                }
                let token = &text[start..=i];
                let Ok(decoded) = serde_json::from_str::<String>(token) else {
                    return false;
                };
                if serde_json::to_string(&decoded).ok().as_deref() != Some(token) {
                    return false;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    true
}

/// The Mailtrap checks, for a body declared as `media_type`.
///
/// Invariants: whatever the declared type, a body has at most one reading (every
/// declared type it parses under gives the same events: the unsigned `Content-Type`
/// never changes what signed bytes mean); the borrowed and owned parses agree; a parsed
/// body has at least one
/// event; its JSON serialization parses (as JSON) to the same events and serializes to
/// itself; for a compact canonical JSON body the serialization is the input byte for
/// byte; its JSON Lines rendering parses (as JSON Lines) to the same events; each
/// event's kind round-trips through its wire name.
pub fn mailtrap_check(data: &[u8], media_type: MediaType) {
    use webhook_core::events::parse_unverified_borrowed;
    use webhook_core::senders::mailtrap::{BodyFormat, EventKind, MailtrapBatch, MailtrapEvent};

    let readings: Vec<(MediaType, Vec<u8>)> = [
        MediaType::Json,
        MediaType::JsonLines,
        MediaType::FormUrlEncoded,
        MediaType::Missing,
    ]
    .into_iter()
    .filter_map(|declared| {
        let batch =
            parse_unverified_borrowed::<MailtrapBatch<'_>>(data, ParseContext::new(declared))
                .ok()?;
        Some((declared, serde_json::to_vec(&batch.events).expect("events serialize")))
    })
    .collect();
    assert!(
        readings.windows(2).all(|w| w[0].1 == w[1].1),
        "the body reads two ways: {:?}",
        readings
            .iter()
            .map(|(declared, events)| (declared, String::from_utf8_lossy(events)))
            .collect::<Vec<_>>()
    );

    let ctx = ParseContext::new(media_type);
    let borrowed = parse_unverified_borrowed::<MailtrapBatch<'_>>(data, ctx);
    let owned = webhook_core::parse_unverified::<webhook_core::MailtrapEvents>(data, ctx);
    let events = match (borrowed, owned) {
        (Ok(events), Ok(owned)) => {
            assert_eq!(
                events.clone().into_owned(),
                owned,
                "owned and borrowed parses differ"
            );
            events
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "owned and borrowed parses fail differently");
            check_parse_error(&a);
            return;
        }
        (a, b) => panic!(
            "owned and borrowed parses disagree: {:?} vs {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    };
    assert!(!events.is_empty());
    match media_type {
        MediaType::Json => assert!(matches!(
            events.format,
            BodyFormat::Batch | BodyFormat::Single
        )),
        MediaType::JsonLines => assert_eq!(events.format, BodyFormat::JsonLines),
        MediaType::FormUrlEncoded => assert_eq!(events.format, BodyFormat::Form),
        _ => {}
    }

    let json_ctx = ParseContext::new(MediaType::Json);
    let bytes = serde_json::to_vec(&events).expect("parsed events serialize");
    if matches!(events.format, BodyFormat::Batch | BodyFormat::Single) && is_compact_canonical(data)
    {
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(data),
            "re-serialization is not byte-identical"
        );
    }
    let again = parse_unverified_borrowed::<MailtrapBatch<'_>>(&bytes, json_ctx)
        .expect("the JSON serialization parses");
    assert_eq!(
        again.events, events.events,
        "the JSON serialization parses to other events"
    );
    assert_eq!(
        serde_json::to_vec(&again).unwrap(),
        bytes,
        "serialization is not a fixpoint"
    );

    let jsonl = events
        .to_json_lines()
        .expect("parsed events render as JSON Lines");
    let from_lines = parse_unverified_borrowed::<MailtrapBatch<'_>>(
        jsonl.as_bytes(),
        ParseContext::new(MediaType::JsonLines),
    )
    .expect("the JSON Lines rendering parses");
    // The same events, up to the line breaks inside raw values (which became spaces).
    assert_eq!(from_lines.len(), events.len());
    for (a, b) in from_lines.iter().zip(&events) {
        let mut flat = serde_json::to_vec(b).unwrap();
        for byte in &mut flat {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
        assert_eq!(
            String::from_utf8_lossy(&serde_json::to_vec(a).unwrap()),
            String::from_utf8_lossy(&flat),
            "the JSON Lines rendering parses to another event"
        );
    }
    assert_eq!(
        from_lines.to_json_lines().unwrap(),
        jsonl,
        "JSON Lines rendering is not a fixpoint"
    );

    for event in &events {
        let _ = (
            event.name(),
            event.timestamp(),
            event.event_id(),
            event.as_audit(),
        );
        if let MailtrapEvent::Sending(sent) = event {
            let name = sent.kind.as_str();
            let round = EventKind::from_name(name);
            assert_eq!(round, sent.kind);
            assert_eq!(round.to_string(), name);
        }
    }
}

/// The check shared by the two senders that sign with one hex MAC under either of two
/// header names (email-API: `X-Webhook-Signature` / `X-Hub-Signature-256`; Mailtrap:
/// `Mailtrap-Signature` / `X-Mailtrap-Signature`).
///
/// Input: byte 0 = flags (bit 0: send `primary`, bit 1: send `secondary`, bit 2: send
/// `primary` twice), then `\n`-separated values taken in that order. Invariant: the
/// request verifies only if every presented value is the same and equals `expected`
/// ignoring ASCII case; the correct value, presented once per name, always verifies.
pub fn either_header_check(
    data: &[u8],
    verifier: &Verifier,
    body: &[u8],
    expected: &str,
    primary: &'static str,
    secondary: &'static str,
) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut values = split_lines(rest, 3).into_iter();
    let mut req = RawRequest::new();
    if flags & 1 != 0 {
        req.push(primary, values.next().unwrap_or_default());
        if flags & 4 != 0 {
            req.push(primary, values.next().unwrap_or_default());
        }
    }
    if flags & 2 != 0 {
        req.push(secondary, values.next().unwrap_or_default());
    }
    let result = verifier.verify(&req, body);
    let all_same = req.headers.windows(2).all(|w| w[0].1 == w[1].1);
    let repeated = flags & 5 == 5;
    match result {
        Ok(_) => {
            assert!(!repeated, "a repeated header verified");
            assert!(all_same, "conflicting headers verified");
            let value = &req.headers[0].1;
            assert!(
                value.eq_ignore_ascii_case(expected.as_bytes()),
                "a wrong value verified: {value:?}"
            );
        }
        Err(err) => {
            check_verify_error(&err);
            if req.headers.is_empty() {
                assert!(
                    matches!(err, VerifyError::MissingSignature { .. }),
                    "{err:?}"
                );
            } else if !repeated
                && all_same
                && req.headers[0].1.eq_ignore_ascii_case(expected.as_bytes())
            {
                panic!("the correct signature was refused: {err:?}");
            }
        }
    }
}
