//! [`ReceiverProblem`]: a receiver's JSON problem answer, read from the start of its
//! body, so that a delivery report says *why* a request was refused ("401
//! signature_mismatch: …") and not only its status.
//!
//! The shape is the one hookwise receivers answer with, `{"error": "…", "code": "…"}`,
//! and the common variants of other frameworks (`message`, `detail`, `title` for the
//! text; `type` for the code). Anything else is not a problem answer.

use std::fmt;

/// The most characters of a receiver's message kept: a report line, not a page.
const MESSAGE_MAX_CHARS: usize = 300;

/// A receiver's problem answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverProblem {
    /// Its machine-readable code (`signature_mismatch`), if it gave one.
    pub code: Option<String>,
    /// Its message, cut to 300 characters, if it gave one.
    pub message: Option<String>,
}

impl ReceiverProblem {
    /// Reads a problem from a response body (an excerpt is fine: a cut JSON object is
    /// not read). `None` when the body is not a JSON object with a code or a message.
    ///
    /// ```
    /// use webhook_sender::ReceiverProblem;
    ///
    /// let problem = ReceiverProblem::parse(br#"{"error":"the signature does not match","code":"signature_mismatch"}"#).unwrap();
    /// assert_eq!(problem.to_string(), "signature_mismatch: the signature does not match");
    /// assert_eq!(ReceiverProblem::parse(b"Unauthorized"), None);
    /// ```
    pub fn parse(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| object.get(*key)?.as_str())
                .map(|text| cut(text.trim()))
                .filter(|text| !text.is_empty())
        };
        let problem = Self {
            code: text(&["code", "type"]),
            message: text(&["error", "message", "detail", "title"]),
        };
        (problem.code.is_some() || problem.message.is_some()).then_some(problem)
    }
}

fn cut(text: &str) -> String {
    let mut chars = text.chars();
    let mut short: String = chars
        .by_ref()
        .take(MESSAGE_MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

impl fmt::Display for ReceiverProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => write!(f, "{code}: {message}"),
            (Some(only), None) | (None, Some(only)) => f.write_str(only),
            (None, None) => Ok(()),
        }
    }
}
