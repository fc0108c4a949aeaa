//! The sender's errors: configuration mistakes, refused submissions, and why a request
//! could not be built.
//!
//! Messages say what to check next and never contain a secret, a credential, a header
//! value (custom headers often carry tokens) or a URL's password.

use webhook_core::Scheme;

/// A sender or endpoint configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL does not parse.
    #[error("the webhook URL does not parse ({reason}); expected an absolute http(s) URL")]
    InvalidUrl {
        /// What the URL parser said.
        reason: String,
    },
    /// The URL is not `http` or `https`.
    #[error("the webhook URL has scheme `{scheme}`; only http and https can be delivered to")]
    UnsupportedUrlScheme {
        /// The URL's scheme.
        scheme: String,
    },
    /// A custom header name is not a valid HTTP header name.
    #[error("custom header name `{name}` is not a valid HTTP header name")]
    InvalidHeaderName {
        /// The name as given (trimmed).
        name: String,
    },
    /// A custom header value holds characters a header cannot carry (the value is not
    /// shown: custom headers often carry tokens).
    #[error(
        "the value of custom header `{name}` holds characters a header cannot carry (control characters or newlines)"
    )]
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// A secret was given for a scheme that signs nothing.
    #[error(
        "{scheme} does not sign its webhooks: authenticate with credentials or a URL token instead of a secret"
    )]
    SchemeDoesNotSign {
        /// The scheme.
        scheme: Scheme,
    },
    /// `max_in_flight` is zero.
    #[error("the policy allows no request in flight: set max_in_flight to at least 1")]
    ZeroInFlight,
    /// `max_batch` is zero.
    #[error("the policy allows empty batches only: set max_batch to at least 1 or None")]
    ZeroBatch,
    /// The lossy cap is zero.
    #[error("the lossy cap is zero, which would drop every item: set at least 1 or turn lossy off")]
    ZeroLossyCap,
    /// The timeout is zero.
    #[error(
        "the request timeout is zero, which fails every attempt: set a positive timeout or None"
    )]
    ZeroTimeout,
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built ({reason}); check the TLS settings")]
    HttpClient {
        /// What the client builder said.
        reason: String,
    },
    /// No tokio runtime is running.
    #[error("no tokio runtime is running: build the sender inside a tokio runtime")]
    NoRuntime,
}

/// A submission the sender refused.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SendError<I> {
    /// The sender is closed or closing; the item is handed back.
    #[error("the sender is closed: nothing more can be sent through it")]
    Closed(I),
}

impl<I> SendError<I> {
    /// The item that was not accepted.
    pub fn into_item(self) -> I {
        match self {
            SendError::Closed(item) => item,
        }
    }
}

impl<I> std::fmt::Debug for SendError<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("SendError::Closed(..)"),
        }
    }
}

/// Why a request could not be built for an attempt. The items concerned are given up
/// with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The body could not be serialized.
    #[error("the body could not be serialized: {0}")]
    Serialize(String),
    /// A Standard Webhooks request needs a message id and got none.
    #[error("a Standard Webhooks request needs a message id (`webhook-id`)")]
    MissingMessageId,
    /// The message id cannot travel in a header.
    #[error("the message id holds characters a header cannot carry")]
    InvalidMessageId,
    /// The request could not be assembled.
    #[error("the request could not be assembled: {0}")]
    Request(String),
    /// The items cannot be written in the format's body encoding (a Mailtrap audit-log
    /// event as form data).
    #[error("the items cannot be written in this body encoding: {reason}")]
    NotEncodable {
        /// Which item and why.
        reason: String,
    },
}
