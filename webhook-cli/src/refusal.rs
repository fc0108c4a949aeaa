//! How `listen` (and `demo`) refuse a request: the problem answer in the tool's own
//! terms, and a refused body drained so that the sender reads the answer.
//!
//! The core's messages name the library's settings (`max_body_bytes`, pinning a media
//! type); a person running `webhook listen` can only change its flags, so a 413 names
//! `--max-body` and a 415 against a pinned format names `--media-type`.
//!
//! A body refused before it was read (its `Content-Length` is over the limit) would
//! otherwise be left on the socket: the server answers and closes, and a sender still
//! writing the body sees "broken pipe" instead of the 413. Reading and discarding it,
//! within [`DRAIN_MAX_BYTES`] and [`DRAIN_MAX_TIME`], lets the sender finish writing and
//! read the answer; a body larger or slower than that is cut off as before.

use std::time::Duration;

use axum::{
    body::Body,
    response::{IntoResponse as _, Response},
};
use http::{HeaderName, HeaderValue};
use http_body_util::BodyExt as _;
use webhook_core::{MediaType, Rejection, VerifyError};

/// The most bytes of a refused body read and thrown away.
pub(crate) const DRAIN_MAX_BYTES: usize = 64 * 1024 * 1024;

/// The longest a refused body is read for.
pub(crate) const DRAIN_MAX_TIME: Duration = Duration::from_secs(5);

/// The message of `rejection` for the person at the terminal and the sender: the core's
/// message, with the library's setting replaced by the flag that changes it.
pub(crate) fn message(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Verify(VerifyError::BodyTooLarge { limit, declared }) => format!(
            "request body exceeds the {limit}-byte limit{}: restart `webhook listen` with a \
             larger `--max-body` if the sender legitimately sends bodies this large",
            match declared {
                Some(n) => format!(" (declared {n} bytes)"),
                None => String::new(),
            }
        ),
        Rejection::Verify(VerifyError::UnsupportedMediaType {
            found,
            declared,
            expected,
        }) => {
            let declared = match declared {
                Some(value) => format!("`Content-Type: {value}`"),
                None => "several `Content-Type` headers".to_owned(),
            };
            let restart = match flag_value(*found) {
                Some(value) => format!("restart `webhook listen` with `--media-type {value}`"),
                None => "send one of the formats `--media-type` names".to_owned(),
            };
            format!(
                "the request declares {declared}, but `webhook listen` was started with \
                 `--media-type {}`: the sender is expected to send `Content-Type: {}` (set its \
                 payload format to match), or {restart}",
                flag_value(*expected).unwrap_or("?"),
                expected.as_str().unwrap_or("?"),
            )
        }
        other => other.to_string(),
    }
}

/// The `--media-type` value of a media type (`None`: one the flag cannot name).
fn flag_value(media_type: MediaType) -> Option<&'static str> {
    match media_type {
        MediaType::Json => Some("json"),
        MediaType::JsonLines => Some("jsonl"),
        MediaType::FormUrlEncoded => Some("form"),
        _ => None,
    }
}

/// The answer to a refused request: the rejection's status and headers, with `message`
/// as the problem's text.
pub(crate) fn response(rejection: &Rejection, message: String) -> Response {
    let mut problem = rejection.problem();
    // The sender's body stays the core's short one where it differs from the log's
    // (a store outage); elsewhere it is the tool's wording.
    if problem.error == rejection.to_string() {
        problem.error = message;
    }
    let mut response = (rejection.status(), problem.to_json()).into_response();
    for (name, value) in rejection.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// Reads and discards what is left of a refused body, up to [`DRAIN_MAX_BYTES`] and
/// [`DRAIN_MAX_TIME`]; returns whether it was read to its end.
pub(crate) async fn drain(body: &mut Body) -> bool {
    let read = async {
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                total += data.len();
                if total > DRAIN_MAX_BYTES {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_MAX_TIME, read)
        .await
        .unwrap_or(false)
}
