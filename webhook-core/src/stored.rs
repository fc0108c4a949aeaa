//! Verified bodies kept for later: a delivery split into its events, each with its exact
//! bytes, and one stored event read back into its typed payload.
//!
//! A durable inbox (the `webhook-inbox` crate) answers the sender once the body is on
//! disk and runs the handler later, from the stored bytes. That needs two things from
//! the core, both sans-IO:
//!
//! - **Splitting** a verified body into its events ([`StoredDelivery::split`]): each
//!   [`SplitEvent`] has its exact bytes as a byte range of the body (an element of
//!   Stalwart's or Mailtrap's `{"events":[…]}`, a JSON Lines line, or the whole body
//!   for senders whose requests carry one event), its event type, and its
//!   deduplication key: the same key [`idempotency::event_keys`] gives, so a
//!   redelivered batch is recognised event by event.
//! - **Reading one stored event back** ([`StoredEvent::parse`]) into the type the
//!   extractors give for that sender ([`StoredPayload`]): a Stalwart
//!   [`WebhookEvent`](crate::senders::stalwart::WebhookEvent), an
//!   [`EmailApiEvent`](crate::EmailApiEvent), a Mailtrap
//!   [`MailtrapEvent`](crate::senders::mailtrap::MailtrapEvent), a
//!   [`WildDuckEvent`](crate::WildDuckEvent) or a
//!   [`StandardWebhook<T>`](crate::senders::standard_webhooks::StandardWebhook).
//!
//! Reading back does not verify again: the bytes came from a verified delivery. That
//! is what the names say. A [`StoredDelivery`] is built from a [`Verified`] body, or,
//! when a store reads back what it wrote, through the visibly named
//! [`StoredDelivery::from_verified_store`] and [`StoredEvent::from_verified_store`],
//! the way parsing unverified bytes needs [`parse_unverified`](crate::parse_unverified).
//!
//! ```
//! use webhook_core::{Scheme, Secret, Verifier, senders::stalwart::{self, StalwartKey, WebhookEvent}};
//! use webhook_core::{idempotency::{Namespace, event_keys}, stored::StoredDelivery};
//!
//! let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}},{"id":"2","createdAt":"2025-08-21T14:01:41Z","type":"auth.failed","data":{}}]}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-signature", stalwart::sign(&Secret::new("k"), body).parse()?);
//! let verified = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?.verify(&headers, &body[..])?;
//!
//! let delivery = StoredDelivery::of(&verified);
//! let namespace = Namespace::of(Scheme::Stalwart);
//! let events = delivery.split(&namespace, StalwartKey::default())?;
//! assert_eq!(events.len(), 2);
//! assert_eq!(&body[events[1].range()], br#"{"id":"2","createdAt":"2025-08-21T14:01:41Z","type":"auth.failed","data":{}}"#);
//! assert_eq!(events[1].event_type(), Some("auth.failed"));
//! // The same keys the idempotency helper uses.
//! let keys = event_keys(&verified, &namespace, StalwartKey::default())?;
//! assert_eq!(events.iter().map(|e| e.key().clone()).collect::<Vec<_>>(), keys);
//!
//! // Later, from the stored bytes:
//! let event: WebhookEvent<'static> = delivery.event(&events[1]).parse()?;
//! assert_eq!(event.id(), "2");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`idempotency::event_keys`]: crate::idempotency::event_keys

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    MediaType, Scheme, Verified,
    events::{ParseContext, ParseError},
    idempotency::{DedupKey, Namespace},
    senders::stalwart::StalwartKey,
};

/// One event of a verified body: where its bytes are, what type it is, and its
/// deduplication key. Built by [`StoredDelivery::split`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitEvent {
    range: Range<usize>,
    media_type: MediaType,
    event_type: Option<String>,
    key: DedupKey,
}

impl SplitEvent {
    pub(crate) fn new(
        range: Range<usize>,
        media_type: MediaType,
        event_type: Option<&str>,
        key: DedupKey,
    ) -> Self {
        Self {
            range,
            media_type,
            event_type: event_type.map(str::to_owned),
            key,
        }
    }

    /// The event's exact bytes, as a range of the delivery's body.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// Whether the event is the whole body (senders whose requests carry one event).
    pub fn is_whole_body(&self, body_len: usize) -> bool {
        self.range.start == 0 && self.range.end == body_len
    }

    /// The format of the event's own bytes: JSON for every event except a Mailtrap
    /// form-data body, which stays form data.
    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// The event type as the sender names it (`auth.success`, `delivered`,
    /// `soft bounce`, `mailbox.created`, a Standard Webhooks body's `type`), when
    /// the event has one.
    pub fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// The deduplication key: the one [`idempotency::event_keys`](crate::idempotency::event_keys)
    /// gives for this event.
    pub fn key(&self) -> &DedupKey {
        &self.key
    }
}

/// Splits a verified body (see [`SenderRules::split`](crate::senders::rules)).
pub(crate) type SplitEvents =
    fn(&[u8], ParseContext<'_>, &Namespace, StalwartKey) -> Result<Vec<SplitEvent>, ParseError>;

/// A verified delivery's body with what is needed to read its events: the sender, the
/// declared media type and, for Standard Webhooks, the signed message id and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredDelivery<'a> {
    scheme: Scheme,
    body: &'a [u8],
    context: ParseContext<'a>,
}

impl<'a> StoredDelivery<'a> {
    /// The delivery of a verified body.
    pub fn of<B: AsRef<[u8]>>(verified: &'a Verified<B>) -> Self {
        let verification = verified.verification();
        Self {
            scheme: verification.scheme(),
            body: verified.body().as_ref(),
            context: verification.parse_context(),
        }
    }

    /// A delivery read back from storage. **The body must be one that was verified
    /// under `scheme`** before it was stored, with `context` as the verification gave
    /// it ([`Verification::parse_context`](crate::Verification::parse_context)):
    /// nothing here checks a signature. For stores; a receiver handling a request uses
    /// [`StoredDelivery::of`].
    pub fn from_verified_store(scheme: Scheme, body: &'a [u8], context: ParseContext<'a>) -> Self {
        Self {
            scheme,
            body,
            context,
        }
    }

    /// The sender.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The parse context the verification gave.
    pub fn context(&self) -> ParseContext<'a> {
        self.context
    }

    /// The body's events, in order, each with its bytes, type and deduplication key
    /// (in `namespace`; `stalwart` chooses how Stalwart events are keyed).
    ///
    /// Fails with the error the sender's typed parse gives when the body is not a
    /// payload of this sender: an inbox keeps such a body in quarantine rather than
    /// lose it.
    pub fn split(
        &self,
        namespace: &Namespace,
        stalwart: StalwartKey,
    ) -> Result<Vec<SplitEvent>, ParseError> {
        (self.scheme.rules().split)(self.body, self.context, namespace, stalwart)
    }

    /// One of the events [`split`](Self::split) found, ready to parse.
    pub fn event(&self, event: &SplitEvent) -> StoredEvent<'a> {
        let bytes = self.body.get(event.range()).unwrap_or_default();
        StoredEvent {
            scheme: self.scheme,
            bytes,
            context: ParseContext {
                media_type: event.media_type,
                ..self.context
            },
        }
    }
}

/// One event's bytes from a verified delivery, ready to parse into the sender's
/// payload type without verifying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    scheme: Scheme,
    bytes: &'a [u8],
    context: ParseContext<'a>,
}

impl<'a> StoredEvent<'a> {
    /// An event read back from storage. **The bytes must be those a
    /// [`SplitEvent`] of a verified delivery pointed at**, `context` the delivery's
    /// with the event's [`media_type`](SplitEvent::media_type): nothing here checks a
    /// signature. For stores.
    pub fn from_verified_store(scheme: Scheme, bytes: &'a [u8], context: ParseContext<'a>) -> Self {
        Self {
            scheme,
            bytes,
            context,
        }
    }

    /// The sender.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The event's exact bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The parse context: the event's media type, and the delivery's signed message id
    /// and timestamp.
    pub fn context(&self) -> ParseContext<'a> {
        self.context
    }

    /// Parses the event into `T`, the payload type of its sender.
    ///
    /// Fails with [`ParseError::WrongSender`] when `T` belongs to another sender,
    /// and with the sender's parse error when the bytes are not an event of it.
    pub fn parse<T: StoredPayload>(&self) -> Result<T, ParseError> {
        if T::SCHEME != self.scheme {
            return Err(ParseError::WrongSender {
                stored: self.scheme,
                wanted: T::SCHEME,
            });
        }
        T::from_stored(self.bytes, self.context)
    }
}

/// A payload type one stored event parses into: the per-event type of one sender.
///
/// Implemented for Stalwart's [`WebhookEvent<'static>`](crate::senders::stalwart::WebhookEvent),
/// [`EmailApiEvent`](crate::EmailApiEvent), Mailtrap's
/// [`MailtrapEvent<'static>`](crate::senders::mailtrap::MailtrapEvent),
/// [`WildDuckEvent`](crate::WildDuckEvent) and
/// [`StandardWebhook<T>`](crate::senders::standard_webhooks::StandardWebhook) for any
/// `T: DeserializeOwned`.
pub trait StoredPayload: Sized + 'static {
    /// The sender whose events this type holds.
    const SCHEME: Scheme;

    /// Parses one event's bytes (see [`StoredEvent::parse`], which checks the sender
    /// first).
    fn from_stored(bytes: &[u8], context: ParseContext<'_>) -> Result<Self, ParseError>;
}

/// The byte ranges of the elements of a `{"events":[…]}` body's array, in order.
///
/// Called after the sender's typed parse accepted the body, so the shape is known to
/// be right; an error here would mean the two parses disagree.
pub(crate) fn events_array(body: &[u8]) -> Result<Vec<Range<usize>>, ParseError> {
    #[derive(Deserialize)]
    struct Wrapper<'a> {
        #[serde(borrow)]
        events: Vec<&'a RawValue>,
    }
    let text = std::str::from_utf8(body).map_err(|err| ParseError::NotUtf8 {
        valid_up_to: err.valid_up_to(),
    })?;
    let wrapper: Wrapper<'_> =
        serde_json::from_str(text).map_err(|err| ParseError::UnexpectedShape {
            path: "events".into(),
            line: err.line(),
            column: err.column(),
            detail: crate::events::json::detail(&err),
        })?;
    let base = text.as_ptr() as usize;
    Ok(wrapper
        .events
        .iter()
        .map(|raw| {
            // `RawValue::get` borrows from `text`: its offset is where the element is.
            let start = raw.get().as_ptr() as usize - base;
            start..start + raw.get().len()
        })
        .collect())
}

/// Pairs each event of a typed parse with its byte range; the counts must agree.
pub(crate) fn paired<T>(
    events: impl ExactSizeIterator<Item = T>,
    ranges: Vec<Range<usize>>,
) -> Result<impl Iterator<Item = (usize, T, Range<usize>)>, ParseError> {
    if events.len() != ranges.len() {
        return Err(ParseError::UnexpectedShape {
            path: "events".into(),
            line: 0,
            column: 0,
            detail: format!(
                "{} events parsed but {} found when splitting the body",
                events.len(),
                ranges.len()
            ),
        });
    }
    Ok(events
        .zip(ranges)
        .enumerate()
        .map(|(i, (event, range))| (i, event, range)))
}
