//! What a sender puts on a request to sign it: [`Scheme::sign`](crate::Scheme::sign)'s
//! types.
//!
//! Signing lives beside verifying, in each sender's folder, so the reference sender,
//! `webhook sign` and the verifier can never drift apart.

use crate::Scheme;

use super::SenderHeader;

/// What Standard Webhooks signs besides the body: the message id, the same on every
/// retry of one message, and the attempt's timestamp, fresh on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp<'a> {
    /// The message id (`webhook-id`).
    pub message_id: &'a str,
    /// The attempt's time, Unix seconds (`webhook-timestamp`).
    pub timestamp: i64,
}

/// One header of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// Which header.
    pub header: SenderHeader,
    /// Its value (always valid header text). `None`: the request carries no such
    /// header, under either name; Standard Webhooks without a secret sends its id and
    /// timestamp but no signature.
    pub value: Option<String>,
}

impl SignedHeader {
    pub(crate) fn new(header: SenderHeader, value: String) -> Self {
        Self {
            header,
            value: Some(value),
        }
    }
}

/// A request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The scheme signs a message id and none was given.
    #[error(
        "{scheme} signs a message id with every request: give the message's id and the \
         attempt's timestamp"
    )]
    MissingMessageId {
        /// The scheme.
        scheme: Scheme,
    },
    /// The message id cannot be sent in a header.
    #[error(
        "the message id is not valid header text: use printable ASCII (Svix's ids are `msg_` \
         and letters and digits)"
    )]
    InvalidMessageId,
    /// A secret was given for a scheme that does not sign.
    #[error(
        "{scheme} does not sign its requests: its receivers check Basic credentials or a URL \
         token instead"
    )]
    DoesNotSign {
        /// The scheme.
        scheme: Scheme,
    },
}
