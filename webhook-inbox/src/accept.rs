//! Accepting a delivery: what the inbox hands its backend to store ([`NewDelivery`]),
//! and what it answers ([`Accepted`]).

use std::{fmt, ops::Range};

use http::StatusCode;
use webhook_core::{MediaType, Scheme, senders::stalwart::StalwartKey};

use crate::{
    model::{DeliveryId, EventId, EventKey, StoredHeader, StoredVerification},
    time::Timestamp,
};

/// A verified delivery, split, ready for one durable transaction. Built by
/// [`Inbox::accept`](crate::Inbox::accept); a backend reads it.
#[non_exhaustive]
pub struct NewDelivery {
    /// The route it arrived on (the deduplication namespace).
    pub route: String,
    /// How its Stalwart events were keyed (kept to split it again after a quarantine).
    pub stalwart_key: StalwartKey,
    /// The sender.
    pub scheme: Scheme,
    /// When it arrived.
    pub received_at: Timestamp,
    /// The media type its `Content-Type` declared.
    pub media_type: MediaType,
    /// The Standard Webhooks message id the verification gave.
    pub message_id: Option<String>,
    /// The signed timestamp the verification judged (Unix seconds).
    pub signed_at: Option<i64>,
    /// How it was verified: which signing secret matched (label and position), or
    /// which credentials.
    pub verification: StoredVerification,
    /// The headers kept to verify it again: the sender's signature headers and
    /// `Content-Type`.
    pub headers: Vec<StoredHeader>,
    /// The exact body.
    pub body: Box<dyn AsRef<[u8]> + Send + Sync>,
    /// Its events, or why it is quarantined.
    pub content: Content,
}

impl NewDelivery {
    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        (*self.body).as_ref()
    }
}

impl fmt::Debug for NewDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewDelivery")
            .field("route", &self.route)
            .field("scheme", &self.scheme)
            .field("received_at", &self.received_at)
            .field("body_len", &self.body().len())
            .field("content", &self.content)
            .finish_non_exhaustive()
    }
}

/// What a delivery holds for the backend to store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Content {
    /// Its events, in order.
    Events(Vec<NewEvent>),
    /// It verified but does not parse: the body is kept, nothing is queued.
    Quarantined {
        /// The parse error.
        error: String,
    },
}

/// One event to store: where its bytes are in the body, its type and key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewEvent {
    /// Its bytes in the delivery's body.
    pub range: Range<usize>,
    /// Its bytes' format.
    pub media_type: MediaType,
    /// Its type.
    pub event_type: Option<String>,
    /// Its deduplication key.
    pub key: EventKey,
}

impl NewEvent {
    pub(crate) fn new(
        range: Range<usize>,
        media_type: MediaType,
        event_type: Option<String>,
        key: EventKey,
    ) -> Self {
        Self {
            range,
            media_type,
            event_type,
            key,
        }
    }
}

/// What became of an accepted delivery: **it is on disk**. Answer the sender 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Accepted {
    /// The stored delivery.
    pub delivery: DeliveryId,
    /// Each event of the body, in order: queued, or already known.
    pub events: Vec<AcceptedEvent>,
    /// Why the body was quarantined (kept, nothing queued), if it was.
    pub quarantined: Option<String>,
}

impl Accepted {
    /// The status to answer: 200, since the delivery is stored (duplicates and
    /// quarantined bodies included: a retry would not change anything).
    pub fn status(&self) -> StatusCode {
        StatusCode::OK
    }

    /// How many events were queued.
    pub fn queued(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.outcome, EventAcceptance::Queued(_)))
            .count()
    }

    /// How many events were already known (not queued again).
    pub fn duplicates(&self) -> usize {
        self.events.len() - self.queued()
    }

    /// Whether the body was quarantined.
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.is_some()
    }
}

/// One event of an accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedEvent {
    /// Its key.
    pub key: EventKey,
    /// Queued or known.
    pub outcome: EventAcceptance,
}

impl AcceptedEvent {
    /// An accepted event (for backends).
    pub fn new(key: EventKey, outcome: EventAcceptance) -> Self {
        Self { key, outcome }
    }
}

/// Whether an event was queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventAcceptance {
    /// New: queued as this event.
    Queued(EventId),
    /// Already known on this route (by key): not queued again. The id is the event
    /// that first brought the key (it may have been purged since).
    Duplicate(EventId),
}
