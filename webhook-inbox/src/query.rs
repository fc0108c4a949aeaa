//! What the query and action API takes: filters, pages, selections of events, and the
//! retention policy.

use std::time::Duration;

use webhook_core::Scheme;

use crate::{
    model::{DeliveryId, DeliveryState, EventId, EventState},
    time::Timestamp,
};

/// Which events to list (every field narrows; the default lists all).
///
/// ```
/// use webhook_core::Scheme;
/// use webhook_inbox::{EventFilter, EventState};
///
/// let dead_stalwart = EventFilter::default()
///     .state(EventState::Dead)
///     .scheme(Scheme::Stalwart)
///     .event_type("auth.failed");
/// assert_eq!(dead_stalwart.states, [EventState::Dead]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Any of these states (empty: any state).
    pub states: Vec<EventState>,
    /// Arrived on this route.
    pub route: Option<String>,
    /// From this sender.
    pub scheme: Option<Scheme>,
    /// Of this type (exact).
    pub event_type: Option<String>,
    /// Received at or after.
    pub since: Option<Timestamp>,
    /// Received before.
    pub until: Option<Timestamp>,
    /// Of this delivery.
    pub delivery: Option<DeliveryId>,
}

impl EventFilter {
    /// Adds a state.
    pub fn state(mut self, state: EventState) -> Self {
        self.states.push(state);
        self
    }

    /// Narrows to a route.
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Narrows to a sender.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// Narrows to an event type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Narrows to events received in `[since, until)`.
    pub fn received(mut self, since: Option<Timestamp>, until: Option<Timestamp>) -> Self {
        self.since = since;
        self.until = until;
        self
    }

    /// Narrows to one delivery's events.
    pub fn delivery(mut self, delivery: DeliveryId) -> Self {
        self.delivery = Some(delivery);
        self
    }
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryFilter {
    /// In this state.
    pub state: Option<DeliveryState>,
    /// Arrived on this route.
    pub route: Option<String>,
    /// From this sender.
    pub scheme: Option<Scheme>,
    /// Received at or after.
    pub since: Option<Timestamp>,
    /// Received before.
    pub until: Option<Timestamp>,
}

impl DeliveryFilter {
    /// Narrows to a state.
    pub fn state(mut self, state: DeliveryState) -> Self {
        self.state = Some(state);
        self
    }

    /// Narrows to a route.
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// Narrows to a sender.
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }
}

/// One page of a listing, newest first: at most `limit` items with ids below
/// `before` (keyset paging: pass the last id of a page to get the next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many (capped at [`Page::MAX_LIMIT`]).
    pub limit: u32,
    /// Only ids below this one.
    pub before: Option<i64>,
}

impl Page {
    /// The most items one page returns.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            before: None,
        }
    }

    /// The page after the one that ended with id `last`.
    pub fn after(self, last: i64) -> Self {
        Self {
            before: Some(last),
            ..self
        }
    }

    pub(crate) fn capped_limit(&self) -> u32 {
        self.limit.min(Self::MAX_LIMIT)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(50)
    }
}

/// The events an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// One event.
    Event(EventId),
    /// Every event the filter matches (among those the action applies to: dead ones
    /// for a redrive, done ones for a replay).
    Matching(EventFilter),
}

impl Selection {
    /// Every event the action applies to.
    pub fn all() -> Self {
        Self::Matching(EventFilter::default())
    }
}

/// How long the inbox keeps what it no longer needs. [`Inbox::purge`](crate::Inbox::purge)
/// applies it; the worker pool can run it periodically.
///
/// Pending, running and retrying events are never purged, nor is a delivery that still
/// has one. Keys are kept at least [`keys_after`](Self::keys_after) after their event
/// first arrived, and never while their event is pending, running or dead, so a sender's
/// late retry of a handled event is still recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Done events, and deliveries none of whose events remain, go after this long.
    pub done_after: Duration,
    /// Deduplication keys go this long after their event arrived (and once it is done
    /// or purged).
    pub keys_after: Duration,
    /// Dead events go after this long since they died (`None`: kept until redriven).
    pub dead_after: Option<Duration>,
    /// Quarantined deliveries go after this long (`None`: kept until retried).
    pub quarantined_after: Option<Duration>,
}

/// One week: longer than every seed sender's retry horizon (the longest, Standard
/// Webhooks via Svix, is about 27.5 h; Mailtrap's 24 h).
pub const DEFAULT_KEY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for Retention {
    /// Done events and their deliveries for 7 days, keys for [`DEFAULT_KEY_RETENTION`],
    /// dead events and quarantined deliveries until acted on.
    fn default() -> Self {
        Self {
            done_after: Duration::from_secs(7 * 24 * 3600),
            keys_after: DEFAULT_KEY_RETENTION,
            dead_after: None,
            quarantined_after: None,
        }
    }
}

impl Retention {
    /// Sets how long done events and their deliveries are kept.
    pub fn done_after(mut self, after: Duration) -> Self {
        self.done_after = after;
        self
    }

    /// Sets how long keys are kept.
    pub fn keys_after(mut self, after: Duration) -> Self {
        self.keys_after = after;
        self
    }

    /// Sets how long dead events are kept.
    pub fn dead_after(mut self, after: Option<Duration>) -> Self {
        self.dead_after = after;
        self
    }

    /// Sets how long quarantined deliveries are kept.
    pub fn quarantined_after(mut self, after: Option<Duration>) -> Self {
        self.quarantined_after = after;
        self
    }
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Events.
    pub events: u64,
    /// Deliveries.
    pub deliveries: u64,
    /// Deduplication keys.
    pub keys: u64,
}
