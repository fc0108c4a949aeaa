//! The body format a request declares in `Content-Type`.
//!
//! The verifier records it in [`Verified`](crate::Verified) so that the parsing step can
//! pick a format (Mailtrap sends JSON, JSON Lines or form data, all signed the same
//! way) and refuse a body in a format the sender never uses, without each web
//! framework adapter reading the header again.

use http::HeaderName;

use crate::request::{HeaderLookup, RequestView};

const CONTENT_TYPE: HeaderName = http::header::CONTENT_TYPE;

/// The media type of a request body, by its `Content-Type` essence (parameters such
/// as `charset` are ignored; matching is case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    /// `application/json`.
    Json,
    /// JSON Lines: `application/jsonl`, `application/x-ndjson`, `application/ndjson`,
    /// `application/jsonlines`, `application/x-jsonlines`.
    JsonLines,
    /// `application/x-www-form-urlencoded`.
    FormUrlEncoded,
    /// Any other type, or a `Content-Type` header present more than once.
    Other,
    /// No `Content-Type` header.
    Missing,
}

impl MediaType {
    /// Classifies a `Content-Type` header value.
    ///
    /// ```
    /// use webhook_core::MediaType;
    ///
    /// assert_eq!(MediaType::from_header(b"Application/JSON; charset=utf-8"), MediaType::Json);
    /// assert_eq!(MediaType::from_header(b"application/jsonl"), MediaType::JsonLines);
    /// assert_eq!(MediaType::from_header(b"text/plain"), MediaType::Other);
    /// ```
    pub fn from_header(value: &[u8]) -> Self {
        // What every JSON sender sends, recognised before the general parse below; it
        // runs on every verified request.
        if value == b"application/json" {
            return Self::Json;
        }
        let essence = value
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default()
            .trim_ascii();
        let is = |name: &str| essence.eq_ignore_ascii_case(name.as_bytes());
        if essence.is_empty() {
            Self::Missing
        } else if is("application/json") {
            Self::Json
        } else if [
            "application/jsonl",
            "application/x-ndjson",
            "application/ndjson",
            "application/jsonlines",
            "application/x-jsonlines",
        ]
        .into_iter()
        .any(is)
        {
            Self::JsonLines
        } else if is("application/x-www-form-urlencoded") {
            Self::FormUrlEncoded
        } else {
            Self::Other
        }
    }

    /// The media type a request declares.
    pub fn of<R: RequestView + ?Sized>(request: &R) -> Self {
        match request.header(&CONTENT_TYPE) {
            HeaderLookup::Absent => Self::Missing,
            HeaderLookup::One(value) => Self::from_header(value),
            HeaderLookup::Repeated => Self::Other,
        }
    }

    /// The `Content-Type` value a request declares, as text for messages: `None` when
    /// the header is absent or repeated. Cut to [`DECLARED_MAX_CHARS`] characters: the
    /// value goes back to the sender in the problem body and into logs.
    pub(crate) fn declared<R: RequestView + ?Sized>(request: &R) -> Option<Box<str>> {
        match request.header(&CONTENT_TYPE) {
            HeaderLookup::One(value) => Some(declared_text(value)),
            HeaderLookup::Absent | HeaderLookup::Repeated => None,
        }
    }

    /// The type in prose, for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Json => "JSON (`application/json`)",
            Self::JsonLines => "JSON Lines (`application/jsonl`)",
            Self::FormUrlEncoded => "form data (`application/x-www-form-urlencoded`)",
            Self::Other => "another content type (or several `Content-Type` headers)",
            Self::Missing => "no content type",
        }
    }

    /// The canonical `Content-Type` value for this type (`None` for `Other`/`Missing`).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Json => Some("application/json"),
            Self::JsonLines => Some("application/jsonl"),
            Self::FormUrlEncoded => Some("application/x-www-form-urlencoded"),
            Self::Other | Self::Missing => None,
        }
    }
}

/// The most characters of a declared `Content-Type` quoted in a message.
pub(crate) const DECLARED_MAX_CHARS: usize = 80;

fn declared_text(value: &[u8]) -> Box<str> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim();
    let mut chars = text.chars();
    let mut cut: String = chars
        .by_ref()
        .take(DECLARED_MAX_CHARS)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if chars.next().is_some() {
        cut.push('…');
    }
    cut.into_boxed_str()
}

/// How a message names what a request declared: its `Content-Type` value when there was
/// one, else the type in prose ("no content type", "several `Content-Type` headers").
pub(crate) fn declared_phrase(found: MediaType, declared: Option<&str>) -> String {
    match declared {
        Some(value) => format!("`Content-Type: {value}`"),
        None => found.describe().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_or_missing_content_types() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(MediaType::of(&headers), MediaType::Missing);
        headers.append("content-type", "application/json".parse().unwrap());
        assert_eq!(MediaType::of(&headers), MediaType::Json);
        headers.append("content-type", "application/json".parse().unwrap());
        assert_eq!(MediaType::of(&headers), MediaType::Other);
        assert_eq!(
            MediaType::from_header(b" application/x-www-form-urlencoded "),
            MediaType::FormUrlEncoded
        );
    }

    #[test]
    fn a_declared_value_is_quoted_bounded() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(MediaType::declared(&headers), None);
        headers.insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
        assert_eq!(
            MediaType::declared(&headers).as_deref(),
            Some("text/plain; charset=utf-8")
        );
        headers.insert("content-type", "x".repeat(500).parse().unwrap());
        let long = MediaType::declared(&headers).unwrap();
        assert_eq!(long.chars().count(), DECLARED_MAX_CHARS + 1);
        assert!(long.ends_with('…'));
        headers.append("content-type", "application/json".parse().unwrap());
        assert_eq!(MediaType::declared(&headers), None);
    }
}
