//! [`Verified<B>`]: a body that passed verification, with what proved it.
//!
//! Only [`Verifier`](crate::Verifier) constructs a `Verified` from bytes, so a function
//! that takes one cannot be handed unverified bytes by mistake. Everything else derives
//! a `Verified` from a `Verified`: the parsed payload keeps its proof
//! ([`FromVerified`](crate::FromVerified)), and the deduplicator hands a handler the
//! verified body reduced to the events no earlier delivery processed
//! (`Verified::reduced_to`, called only by the idempotency module's `retain_events`).
//! Typed parsing starts from here; parsing bytes that were not verified needs a
//! visibly named call.

use std::sync::Arc;

use crate::{MediaType, Scheme};

/// A request body that passed verification.
///
/// `B` is whatever the caller handed to [`Verifier::verify`](crate::Verifier::verify)
/// (`&[u8]`, `Vec<u8>`, `bytes::Bytes`, …); it is returned untouched. An extractor
/// asked for `Verified<T>` with a [`Payload`](crate::Payload) `T` (e.g.
/// `Webhook<Verified<StalwartEvents>>`) gives the parsed payload as the body, still with
/// its [`Verification`] (see [`FromVerified`](crate::FromVerified)), so the handler can
/// tell which key matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<B> {
    body: B,
    verification: Verification,
}

impl<B> Verified<B> {
    pub(crate) fn new(body: B, verification: Verification) -> Self {
        Self { body, verification }
    }

    /// This request's body reduced to some of its events, keeping the proof. Only
    /// `idempotency::events::retain_events` calls it, with a `body` it built by parsing
    /// this verified body with the sender's model and writing back the events still to
    /// process. That is sound because the content is all the sender's: each kept event
    /// is written back with its fields, their order, unknown fields and raw values (only
    /// the whitespace of a body that was not compact can differ); the reduced body holds
    /// less than the sender signed (the events dropped), never anything it did not
    /// sign. A body from anywhere else would break what `Verified` promises.
    pub(crate) fn reduced_to(&self, body: Vec<u8>) -> Verified<Vec<u8>> {
        Verified {
            body,
            verification: self.verification.clone(),
        }
    }

    /// The verified body.
    pub fn body(&self) -> &B {
        &self.body
    }

    /// Takes the body out, dropping the proof.
    pub fn into_body(self) -> B {
        self.body
    }

    /// What verified this request.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }

    /// Splits into body and proof.
    pub fn into_parts(self) -> (B, Verification) {
        (self.body, self.verification)
    }

    /// Changes the body's representation (e.g. `Vec<u8>` into `bytes::Bytes`), keeping
    /// the proof. Only a `From` conversion is allowed, which keeps the content.
    pub fn convert<T: From<B>>(self) -> Verified<T> {
        Verified {
            body: T::from(self.body),
            verification: self.verification,
        }
    }

    /// Borrows the body as bytes, keeping the proof (for parsers that borrow).
    pub fn as_bytes(&self) -> Verified<&[u8]>
    where
        B: AsRef<[u8]>,
    {
        Verified {
            body: self.body.as_ref(),
            verification: self.verification.clone(),
        }
    }
}

/// What a verifier established about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub(crate) scheme: Scheme,
    pub(crate) key: Option<MatchedKey>,
    pub(crate) credentials: bool,
    pub(crate) url_token: bool,
    pub(crate) message_id: Option<Box<str>>,
    pub(crate) signed_at: Option<i64>,
    pub(crate) media_type: MediaType,
    /// The declared `Content-Type` value when it is not JSON, for a 415's message.
    pub(crate) declared_type: Option<Box<str>>,
}

impl Verification {
    /// The scheme the request was verified under.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The secret whose signature matched (`None` when the scheme does not sign or the
    /// verifier checks credentials only).
    pub fn matched_key(&self) -> Option<&MatchedKey> {
        self.key.as_ref()
    }

    /// Whether `Authorization` credentials were checked and matched.
    pub fn credentials_checked(&self) -> bool {
        self.credentials
    }

    /// Whether a URL token was checked and matched.
    pub fn url_token_checked(&self) -> bool {
        self.url_token
    }

    /// The Standard Webhooks `webhook-id`: the same on every retry of a message, so the
    /// key to deduplicate on.
    pub fn message_id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }

    /// The signed timestamp the verifier judged (Unix seconds): the Standard Webhooks
    /// header, or the body's newest event time when a replay window is configured.
    pub fn signed_at(&self) -> Option<i64> {
        self.signed_at
    }

    /// The body's media type: as the request declared it, or the one the verifier is
    /// pinned to ([`VerifierBuilder::media_type`](crate::VerifierBuilder::media_type)),
    /// which a request without `Content-Type` is read as.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// Records the verification as a `tracing` event at debug level: the scheme and
    /// which key matched (its label, `<unlabeled>` without one, and its position; never
    /// the secret). During a rotation, this is how an operator sees that senders have
    /// stopped using the old key and it can be retired. Both framework adapters call it
    /// for every request they verify.
    pub fn log(&self) {
        match &self.key {
            Some(key) => tracing::debug!(
                scheme = %self.scheme,
                key = key.label().unwrap_or("<unlabeled>"),
                key_index = key.index,
                "webhook verified",
            ),
            None => tracing::debug!(
                scheme = %self.scheme,
                credentials = self.credentials,
                url_token = self.url_token,
                "webhook verified without a signing key",
            ),
        }
    }
}

/// Which of a verifier's secrets matched: its position in the order the secrets were
/// added, and its label if it was given one. During a key rotation this tells whether
/// senders still use the old secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedKey {
    pub(crate) index: usize,
    pub(crate) label: Option<Arc<str>>,
}

impl MatchedKey {
    /// Position of the secret (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The label given with [`VerifierBuilder::labeled_secret`](crate::VerifierBuilder::labeled_secret).
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }
}
