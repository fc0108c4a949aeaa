//! Everything a receiver answers instead of running its handler.
//!
//! Web framework adapters turn a request into a [`Rejection`] or a handler call; the
//! status, the headers, the stable code, the JSON [`Problem`] body and the log event
//! all come from here, so the axum and actix-web adapters answer identically and
//! neither carries mapping logic of its own: each only copies [`Rejection::status`],
//! [`Rejection::headers`] and [`Problem::to_json`] into its framework's response type.

use std::borrow::Cow;

use http::StatusCode;

use crate::{
    ParseError, Problem, VerifyError,
    capacity::{OverBudget, SlowBody},
};

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
    /// Another delivery of one of the events is being processed right now: the sender
    /// should retry later (409, with `Retry-After`). Nothing of this request was kept.
    #[error("another delivery of this event is being processed: retry after {retry_after_secs} s")]
    InProgress {
        /// Seconds until the other delivery's claim runs out (`Retry-After`).
        retry_after_secs: u64,
    },
    /// The idempotency store cannot answer and the receiver fails closed: the sender
    /// should retry later (503, with `Retry-After`).
    #[error(
        "the receiver cannot check for duplicates right now ({detail}): retry after \
         {retry_after_secs} s"
    )]
    StoreUnavailable {
        /// Suggested wait in seconds (`Retry-After`).
        retry_after_secs: u64,
        /// What the store reported (never a URL or a credential).
        detail: String,
    },
    /// The receiver already holds as many request bodies as its
    /// [`BodyBudget`](crate::capacity::BodyBudget) allows: the sender should retry later
    /// (503, with `Retry-After`). The body was not read.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The body arrived more slowly than the receiver's
    /// [`ServeLimits`](crate::capacity::ServeLimits) allow (408); the connection is closed.
    #[error(transparent)]
    SlowBody(#[from] SlowBody),
    /// The receiver is wired wrongly (a 500: the operator's mistake, not the sender's).
    #[error("the webhook receiver is misconfigured: {reason}")]
    Misconfigured {
        /// What is missing, and how to fix it.
        reason: &'static str,
    },
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Verify(err) => err.status(),
            Self::Parse(err) => err.status(),
            Self::BodyRead { .. } => StatusCode::BAD_REQUEST,
            Self::InProgress { .. } => StatusCode::CONFLICT,
            Self::StoreUnavailable { .. } | Self::OverBudget(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::SlowBody(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Misconfigured { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(err) => err.code(),
            Self::Parse(err) => err.code(),
            Self::BodyRead { .. } => "body_read_error",
            Self::InProgress { .. } => "in_progress",
            Self::StoreUnavailable { .. } => "store_unavailable",
            Self::OverBudget(_) => "receiver_busy",
            Self::SlowBody(_) => "body_timeout",
            Self::Misconfigured { .. } => "receiver_misconfigured",
        }
    }

    /// The headers of the answer besides the status: the problem's `Content-Type`, the
    /// `WWW-Authenticate` challenge for credential failures, and `Retry-After` when the
    /// sender should come back later.
    pub fn headers(&self) -> Vec<(&'static str, Cow<'static, str>)> {
        let mut headers = vec![("content-type", Cow::Borrowed(Problem::CONTENT_TYPE))];
        if let Some(challenge) = self.challenge() {
            headers.push(("www-authenticate", Cow::Borrowed(challenge)));
        }
        if let Self::InProgress { retry_after_secs }
        | Self::StoreUnavailable {
            retry_after_secs, ..
        }
        | Self::OverBudget(OverBudget {
            retry_after_secs, ..
        }) = self
        {
            headers.push(("retry-after", Cow::Owned(retry_after_secs.to_string())));
        }
        headers
    }

    /// Records the rejection as a `tracing` event at warn level (status, code and the
    /// message, which never holds a secret or a MAC). Adapters call this once per
    /// rejected request.
    ///
    /// The message here is the full one ([`Display`](std::fmt::Display)): for a store
    /// outage it carries the store's error and what the operator should check, which the
    /// sender's [`Rejection::problem`] body leaves out.
    pub fn log(&self) {
        tracing::warn!(
            status = self.status().as_u16(),
            code = self.code(),
            error = %self,
            "webhook rejected"
        );
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
    ///
    /// The body goes to the sender, so it says only what the sender can act on: for a
    /// store outage, "retry later", without the store's error or the operator's advice,
    /// which [`Rejection::log`] records instead.
    ///
    /// ```
    /// use webhook_core::{Rejection, idempotency::StoreError};
    ///
    /// let down = Rejection::StoreUnavailable {
    ///     retry_after_secs: 5,
    ///     detail: StoreError::unavailable("broken pipe").to_string(),
    /// };
    /// assert_eq!(
    ///     down.problem().error,
    ///     "the receiver cannot check for duplicates right now: retry after 5 s"
    /// );
    /// assert!(down.to_string().contains("broken pipe")); // the log's message
    /// ```
    pub fn problem(&self) -> Problem {
        let message = match self {
            Self::StoreUnavailable {
                retry_after_secs, ..
            } => format!(
                "the receiver cannot check for duplicates right now: retry after \
                 {retry_after_secs} s"
            ),
            other => other.to_string(),
        };
        Problem::new(self.status(), self.code(), message)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::capacity::{BodyBudget, ServeLimits};

    #[test]
    fn an_over_budget_body_is_a_503_with_retry_after() {
        let budget = BodyBudget::new(10).with_retry_after(Duration::from_secs(3));
        let _held = budget.reserve(10).unwrap();
        let rejection = Rejection::from(budget.reserve(5).unwrap_err());
        assert_eq!(rejection.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rejection.code(), "receiver_busy");
        assert!(
            rejection
                .headers()
                .contains(&("retry-after", Cow::Borrowed("3")))
        );
    }

    #[test]
    fn a_store_outage_tells_the_sender_to_retry_and_the_log_why() {
        let rejection = Rejection::StoreUnavailable {
            retry_after_secs: 2,
            detail: crate::idempotency::StoreError::unavailable("broken pipe").to_string(),
        };
        let problem = rejection.problem();
        assert_eq!(problem.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem.code, "store_unavailable");
        assert!(
            problem.error.contains("retry after 2 s"),
            "{}",
            problem.error
        );
        for internal in ["broken pipe", "check that", "idempotency store"] {
            assert!(!problem.error.contains(internal), "{}", problem.error);
        }
        // The operator's message keeps the detail and the advice.
        let logged = rejection.to_string();
        assert!(logged.contains("broken pipe") && logged.contains("check that it is running"));
    }

    #[test]
    fn a_slow_body_is_a_408() {
        let slow = ServeLimits::default().slow_body(3, Duration::from_secs(11));
        let rejection = Rejection::from(slow);
        assert_eq!(rejection.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(rejection.problem().code, "body_timeout");
        assert!(
            !rejection
                .headers()
                .iter()
                .any(|(name, _)| *name == "retry-after")
        );
    }
}
