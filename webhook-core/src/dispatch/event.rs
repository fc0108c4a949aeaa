//! [`Event`]: one event of a verified body, what per-event handlers and the router take.

use crate::events::{ParseContext, ParseError};

/// One event of a sender's body: it names its type (what an
/// [`EventRouter`](super::EventRouter) matches on) and knows how a body splits into
/// events.
///
/// Implemented for every sender's owned event type (see the [module](super) table).
/// Implement it for your own payload type to route it and to handle its events one by
/// one under [`Deduplicator::run_events`](crate::idempotency::Deduplicator::run_events).
pub trait Event: Sized + 'static {
    /// The event's type as the sender spells it (`delivery.delivered`, `soft bounce`,
    /// `user.created`, …).
    fn event_type(&self) -> &str;

    /// The events of a body, in the order the sender put them, which is the order of
    /// [`event_keys`](crate::idempotency::event_keys). One-event senders return one.
    fn split(body: &[u8], context: ParseContext<'_>) -> Result<Vec<Self>, ParseError>;
}
