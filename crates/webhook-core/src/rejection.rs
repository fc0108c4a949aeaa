//! Everything a receiver answers instead of running its handler.
//!
//! Web framework adapters turn a request into a [`Rejection`] or a handler call; the
//! status, the stable code and the JSON [`Problem`] body all come from here, so the axum
//! and actix-web adapters answer identically and neither carries mapping logic of its
//! own.

use http::StatusCode;

use crate::{ParseError, Problem, VerifyError};

/// Why a webhook request is not handed to the handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The request failed verification.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The verified body is not a valid payload.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The body stream failed before it was complete (client went away, bad chunking).
    #[error("the request body could not be read completely: {detail}")]
    BodyRead {
        /// What the server's body stream reported.
        detail: String,
    },
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Verify(err) => err.status(),
            Self::Parse(err) => err.status(),
            Self::BodyRead { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(err) => err.code(),
            Self::Parse(err) => err.code(),
            Self::BodyRead { .. } => "body_read_error",
        }
    }

    /// The `WWW-Authenticate` challenge to send with a 401 for missing or wrong
    /// credentials (RFC 9110 §11.6.1). Signature failures have no registered scheme to
    /// challenge with, so they get none.
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            Self::Verify(
                VerifyError::MissingAuth { expected }
                | VerifyError::MalformedAuth { expected, .. }
                | VerifyError::AuthMismatch { expected },
            ) => Some(if *expected == "Bearer" {
                "Bearer"
            } else {
                r#"Basic realm="webhook", charset="UTF-8""#
            }),
            _ => None,
        }
    }

    /// The JSON problem answer.
    ///
    /// ```
    /// use webhook_core::{Rejection, VerifyError};
    ///
    /// let rejection = Rejection::from(VerifyError::MissingSignature { header: "x-signature" });
    /// let problem = rejection.problem();
    /// assert_eq!((problem.status.as_u16(), &*problem.code), (401, "missing_signature"));
    /// ```
    pub fn problem(&self) -> Problem {
        Problem::new(self.status(), self.code(), self.to_string())
    }
}
