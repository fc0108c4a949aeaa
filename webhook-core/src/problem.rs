//! The JSON problem body every adapter answers a rejected request with.
//!
//! `{"error": "<what went wrong and what to check>", "code": "<stable_code>"}`, with the
//! status carried beside it. Defining it here keeps the axum and actix-web adapters
//! byte-for-byte alike, and keeps secrets out by construction: it is built only from
//! error messages, which never contain secrets or MACs.

use std::borrow::Cow;

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::error::VerifyError;

/// An HTTP problem answer: status, stable code and a human-readable message.
///
/// ```
/// use webhook_core::{Problem, VerifyError};
///
/// let problem = Problem::from(&VerifyError::SignatureMismatch { keys_tried: 1 });
/// assert_eq!(problem.status, 401);
/// assert_eq!(problem.code, "signature_mismatch");
/// assert!(problem.to_json().starts_with(r#"{"error":"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// What went wrong and what to check.
    pub error: String,
    /// A stable `snake_case` code.
    pub code: Cow<'static, str>,
    /// The HTTP status to answer with (not part of the JSON body).
    #[serde(skip, default = "bad_request")]
    pub status: StatusCode,
}

fn bad_request() -> StatusCode {
    StatusCode::BAD_REQUEST
}

impl Problem {
    /// A problem from its parts.
    pub fn new(status: StatusCode, code: &'static str, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code: Cow::Borrowed(code),
            status,
        }
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        // Serializing a struct of two strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The `Content-Type` of [`Problem::to_json`].
    pub const CONTENT_TYPE: &'static str = "application/json";
}

impl From<&VerifyError> for Problem {
    fn from(err: &VerifyError) -> Self {
        Self::new(err.status(), err.code(), err.to_string())
    }
}
