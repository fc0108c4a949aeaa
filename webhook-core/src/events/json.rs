//! The one JSON entry point every payload parser goes through.
//!
//! The happy path is a plain `serde_json` borrowed parse, nothing added, so typed
//! parsing costs what serde costs. Only when it fails is the body looked at again, to
//! classify the error (not UTF-8, bad syntax, wrong shape with its serde path, trailing
//! data) without slowing down the bodies that are fine.
//!
//! The body is checked to be UTF-8 once, up front, and then parsed as a `&str`. Parsed
//! from bytes, serde_json validates every string it reads on its own, a `from_utf8` call
//! per key and value that together cost more than one pass over the whole body: on a
//! Stalwart batch the single pass is most of what separates a typed parse from a plain
//! `&str`/`&RawValue` struct parse of the same bytes. A body that is not UTF-8 is parsed
//! from bytes exactly as before, so its outcome (which error, or none when the bad bytes
//! were never read) does not change.

use serde::Deserialize;

use super::ParseError;

/// Parses exactly one JSON value of type `T` from `body`, borrowing where `T` does.
pub(crate) fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ParseError> {
    match std::str::from_utf8(body) {
        Ok(text) => parse_from::<T, _>(serde_json::Deserializer::from_str(text), body),
        Err(_) => parse_from::<T, _>(serde_json::Deserializer::from_slice(body), body),
    }
}

fn parse_from<'a, T: Deserialize<'a>, R: serde_json::de::Read<'a>>(
    mut de: serde_json::Deserializer<R>,
    body: &'a [u8],
) -> Result<T, ParseError> {
    match T::deserialize(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => Ok(value),
            Err(err) => Err(ParseError::TrailingData {
                line: err.line(),
                column: err.column(),
            }),
        },
        Err(err) => Err(classify::<T>(body, err)),
    }
}

fn classify<'a, T: Deserialize<'a>>(body: &'a [u8], err: serde_json::Error) -> ParseError {
    if let Err(utf8) = std::str::from_utf8(body) {
        return ParseError::NotUtf8 {
            valid_up_to: utf8.valid_up_to(),
        };
    }
    if !err.is_data() {
        return ParseError::InvalidJson {
            line: err.line(),
            column: err.column(),
            detail: detail(&err),
        };
    }
    // Second pass, only on failure, to learn the path of the offending value.
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(with_path) => {
            let path = with_path.path().to_string();
            let inner = with_path.into_inner();
            ParseError::UnexpectedShape {
                path,
                line: inner.line(),
                column: inner.column(),
                detail: detail(&inner),
            }
        }
        // Cannot happen (the same input failed a moment ago), but never panic over it.
        Ok(_) => ParseError::UnexpectedShape {
            path: ".".into(),
            line: err.line(),
            column: err.column(),
            detail: detail(&err),
        },
    }
}

/// serde_json's message without its ` at line L column C` suffix (reported separately).
pub(crate) fn detail(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Batch<'a> {
        #[serde(borrow)]
        events: Vec<Event<'a>>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Event<'a> {
        id: &'a str,
        #[serde(rename = "createdAt")]
        created_at: &'a str,
    }

    #[test]
    fn errors_say_where() {
        let err = parse::<Batch<'_>>(br#"{"events":[{"id":"1","createdAt":"x"},{"id":"2"}]}"#)
            .unwrap_err();
        match err {
            ParseError::UnexpectedShape { path, detail, .. } => {
                assert_eq!(path, "events[1]");
                assert_eq!(detail, "missing field `createdAt`");
            }
            other => panic!("{other:?}"),
        }
        let err = parse::<Batch<'_>>(br#"{"events":[{"id":7,"createdAt":"x"}]}"#).unwrap_err();
        assert!(
            matches!(&err, ParseError::UnexpectedShape { path, .. } if path == "events[0].id"),
            "{err:?}"
        );
        assert_eq!(
            parse::<Batch<'_>>(br#"{"events":[]} x"#).unwrap_err(),
            ParseError::TrailingData {
                line: 1,
                column: 15
            }
        );
        assert!(matches!(
            parse::<Batch<'_>>(br#"{"events":["#).unwrap_err(),
            ParseError::InvalidJson { .. }
        ));
        assert_eq!(
            parse::<Batch<'_>>(b"{\"events\":[{\"id\":\"\xff\"}]}").unwrap_err(),
            ParseError::NotUtf8 { valid_up_to: 18 }
        );
        // Not UTF-8, but only after the value: as before the up-front check, the
        // bytes-based parse reports what it finds first.
        assert!(matches!(
            parse::<Batch<'_>>(b"{\"events\":[]} \xff").unwrap_err(),
            ParseError::TrailingData { line: 1, .. }
        ));
    }
}
