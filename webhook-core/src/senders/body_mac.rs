//! The signature three senders share (Stalwart, email-API, Mailtrap): one header
//! carrying HMAC-SHA256 of the body alone, keyed with the secret's text. What differs
//! (the header's names, how the MAC is written, what a mis-encoded one looks like) is
//! each sender's, in its `signature.rs`; [`BodyMac`] holds those and does the rest once.

use std::time::Duration;

use crate::{
    Secret,
    error::VerifyError,
    request::RequestView,
    secret::KeyEncoding,
    senders::{
        SenderHeader, SignError, SignedHeader, Stamp,
        rules::{Reencoded, SignatureRules, Signed},
    },
    tag::Tag,
    verifier::Keys,
};

/// A body-only signature: a sender's header and its three encoding functions.
pub(crate) struct BodyMac {
    /// The signature header (and the older name receivers accept).
    pub(crate) header: SenderHeader,
    /// Reads and decodes the presented MAC, refusing a malformed one before hashing.
    pub(crate) presented: fn(&dyn RequestView) -> Result<Tag, VerifyError>,
    /// The header value the sender sends for a body.
    pub(crate) sign: fn(&Secret, &[u8]) -> String,
    /// Diagnosis: a presented value in another encoding, re-encoded the sender's way.
    pub(crate) reencoded: fn(&str) -> Option<Reencoded>,
}

impl SignatureRules for BodyMac {
    fn headers(&self) -> &[SenderHeader] {
        std::slice::from_ref(&self.header)
    }

    fn signature_header(&self) -> SenderHeader {
        self.header
    }

    fn key_encoding(&self) -> KeyEncoding {
        KeyEncoding::Raw
    }

    fn verify(
        &self,
        request: &dyn RequestView,
        body: &[u8],
        keys: &Keys,
        _window: Option<Duration>,
        _now: &dyn Fn() -> i64,
    ) -> Result<Signed, VerifyError> {
        keys.match_body(&(self.presented)(request)?, body)
            .map(Signed::body_only)
    }

    /// The signature header, or nothing without a secret: such a request goes out
    /// unsigned (and a custom header of that name as given), as Stalwart sends it
    /// without a key.
    fn sign(
        &self,
        secret: Option<&Secret>,
        body: &[u8],
        _stamp: Option<Stamp<'_>>,
    ) -> Result<Vec<SignedHeader>, SignError> {
        Ok(secret
            .map(|secret| SignedHeader::new(self.header, (self.sign)(secret, body)))
            .into_iter()
            .collect())
    }

    fn reencoded(&self, value: &str) -> Option<Reencoded> {
        (self.reencoded)(value)
    }
}
