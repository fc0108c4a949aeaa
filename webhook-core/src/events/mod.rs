//! Typed events: how verified bodies become each sender's payload types (which live
//! in the sender's module under [`senders`](crate::senders)).
//!
//! Every model implements [`Payload`] (owned, `'static`, what framework extractors
//! hand to handlers) and, where it can borrow from the body, [`BorrowedPayload`]
//! (zero-copy: `&str` where the JSON has no escapes, `Cow` otherwise). Parsing starts
//! from a [`Verified`] body:
//!
//! ```
//! # use webhook_core::{Scheme, Secret, StalwartEvents, Verifier, senders::stalwart};
//! # let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//! # let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;
//! # let mut headers = http::HeaderMap::new();
//! # headers.insert("x-signature", stalwart::sign(&Secret::new("k"), body).parse()?);
//! let verified = verifier.verify(&headers, &body[..])?;
//! let events: StalwartEvents = verified.parse()?;
//! assert_eq!(events.events[0].event_type().as_str(), "auth.success");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Parsing bytes that were never verified is possible, for tests and tools, but only
//! through the visibly named [`parse_unverified`].

mod error;
pub(crate) mod fields;
pub(crate) mod json;

pub use error::ParseError;
pub use fields::{RawJson, UnknownFields};

use crate::{MediaType, Verification, Verified};

/// What a parser may need besides the body: the declared media type and, for Standard
/// Webhooks, the signed message id and timestamp from the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseContext<'v> {
    /// The body's declared media type.
    pub media_type: MediaType,
    /// The Standard Webhooks `webhook-id`, if verified.
    pub message_id: Option<&'v str>,
    /// The signed timestamp, if one was verified (Unix seconds).
    pub signed_at: Option<i64>,
}

impl ParseContext<'static> {
    /// A context for a body of `media_type` with no header metadata.
    pub fn new(media_type: MediaType) -> Self {
        Self {
            media_type,
            message_id: None,
            signed_at: None,
        }
    }
}

impl Verification {
    /// The parse context this verification provides.
    pub fn parse_context(&self) -> ParseContext<'_> {
        ParseContext {
            media_type: self.media_type,
            message_id: self.message_id.as_deref(),
            signed_at: self.signed_at,
        }
    }

    /// A 415 from a parser names the `Content-Type` value the request declared (parsers
    /// see only its classification).
    fn name_declared_type(&self, err: ParseError) -> ParseError {
        match err {
            ParseError::UnsupportedMediaType {
                found,
                declared: None,
                expected,
            } => ParseError::UnsupportedMediaType {
                found,
                declared: self.declared_type.clone(),
                expected,
            },
            other => other,
        }
    }
}

/// A payload type that owns its data (`'static`): what web framework extractors
/// produce. Parsing copies the strings it keeps.
pub trait Payload: Sized + 'static {
    /// Parses a body.
    fn parse(body: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError>;
}

/// A payload type that borrows from the body: the zero-copy form.
pub trait BorrowedPayload<'a>: Sized {
    /// Parses a body, borrowing from it.
    fn parse_borrowed(body: &'a [u8], context: ParseContext<'a>) -> Result<Self, ParseError>;
}

impl<B: AsRef<[u8]>> Verified<B> {
    /// Parses the verified body into an owned payload.
    pub fn parse<T: Payload>(&self) -> Result<T, ParseError> {
        T::parse(self.body().as_ref(), self.verification().parse_context())
            .map_err(|err| self.verification().name_declared_type(err))
    }

    /// Parses the verified body into a payload that borrows from it.
    pub fn parse_borrowed<'a, T: BorrowedPayload<'a>>(&'a self) -> Result<T, ParseError> {
        T::parse_borrowed(self.body().as_ref(), self.verification().parse_context())
            .map_err(|err| self.verification().name_declared_type(err))
    }
}

/// Parses bytes that were **not** verified. For tests, fixtures and tools that inspect
/// captured traffic; a receiver handling live requests goes through
/// [`Verifier::verify`](crate::Verifier::verify) and [`Verified::parse`] instead.
pub fn parse_unverified<T: Payload>(
    body: &[u8],
    context: ParseContext<'_>,
) -> Result<T, ParseError> {
    T::parse(body, context)
}

/// The borrowed twin of [`parse_unverified`].
pub fn parse_unverified_borrowed<'a, T: BorrowedPayload<'a>>(
    body: &'a [u8],
    context: ParseContext<'a>,
) -> Result<T, ParseError> {
    T::parse_borrowed(body, context)
}

/// Refuses media types a JSON-only sender never uses. A missing `Content-Type` is
/// accepted: no sender omits it, but hand-made test requests often do.
pub(crate) fn expect_json(media_type: MediaType) -> Result<(), ParseError> {
    match media_type {
        MediaType::Json | MediaType::Missing => Ok(()),
        found => Err(ParseError::UnsupportedMediaType {
            found,
            declared: None,
            expected: "application/json",
        }),
    }
}

/// What a framework extractor can produce from a verified body: any owned
/// [`Payload`] (parsed), the parsed payload together with what verified it
/// ([`Verified<T>`], e.g. `Verified<StalwartEvents>`: which key matched, when it was
/// signed), or the [`Verified`] body itself (unparsed: `Verified<Bytes>`,
/// `Verified<Vec<u8>>`, `Verified<&[u8]>`). Adapters are generic over this trait, so
/// `Webhook<StalwartEvents>`, `Webhook<Verified<StalwartEvents>>` and
/// `Webhook<Verified<Bytes>>` all work and a user's own payload type only has to
/// implement [`Payload`].
///
/// ```
/// use webhook_core::senders::stalwart;
/// use webhook_core::{FromVerified, Scheme, Secret, StalwartEvents, Verified, Verifier};
///
/// let verifier = Verifier::builder(Scheme::Stalwart)
///     .labeled_secret("2026-new", Secret::new("new-key"))
///     .labeled_secret("2025-old", Secret::new("old-key"))
///     .build()?;
/// let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-signature", stalwart::sign(&Secret::new("old-key"), body).parse()?);
///
/// // What `Webhook<Verified<StalwartEvents>>` hands a handler.
/// let events = Verified::<StalwartEvents>::from_verified(verifier.verify(&headers, &body[..])?)?;
/// assert_eq!(events.body().events.len(), 1);
/// let key = events.verification().matched_key().and_then(|key| key.label());
/// assert_eq!(key, Some("2025-old")); // this sender still signs with the old key
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait FromVerified<B>: Sized {
    /// Builds the value from a verified body.
    fn from_verified(verified: Verified<B>) -> Result<Self, ParseError>;
}

impl<T: Payload, B: AsRef<[u8]>> FromVerified<B> for T {
    fn from_verified(verified: Verified<B>) -> Result<Self, ParseError> {
        verified.parse()
    }
}

/// The parsed payload, keeping the proof: [`Verified::verification`] still says which
/// key matched.
impl<T: Payload, B: AsRef<[u8]>> FromVerified<B> for Verified<T> {
    fn from_verified(verified: Verified<B>) -> Result<Self, ParseError> {
        let payload = verified.parse()?;
        Ok(Verified::new(payload, verified.into_parts().1))
    }
}

/// The raw body, unparsed. One impl per body type (not one for every `B`), so that it
/// cannot overlap the parsed `Verified<T>` above.
macro_rules! raw_body {
    ($($body:ty),*) => {$(
        impl FromVerified<$body> for Verified<$body> {
            fn from_verified(verified: Verified<$body>) -> Result<Self, ParseError> {
                Ok(verified)
            }
        }
    )*};
}
raw_body!(bytes::Bytes, Vec<u8>, Box<[u8]>);

impl<'a> FromVerified<&'a [u8]> for Verified<&'a [u8]> {
    fn from_verified(verified: Verified<&'a [u8]>) -> Result<Self, ParseError> {
        Ok(verified)
    }
}
