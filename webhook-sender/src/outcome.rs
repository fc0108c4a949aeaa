//! [`DeliveryOutcome`]: the final word on one item, reported as it happens.
//!
//! Every accepted item ends in exactly one outcome (lossy drops excepted, which are
//! counted in [`Stats::dropped`](crate::Stats::dropped) instead: reporting each would cost the
//! memory lossy mode exists to save). Outcomes reach the `on_outcome` callbacks and every
//! [`Outcomes`] subscriber, and are recorded in the [`DeliveryLog`](crate::DeliveryLog).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::Ticket;

/// How one item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// A request carrying it was accepted.
    Delivered {
        /// The item.
        ticket: Ticket,
        /// Attempts it took (1: first time).
        attempts: u32,
    },
    /// Its attempts were used up.
    GaveUp {
        /// The item.
        ticket: Ticket,
        /// Attempts made.
        attempts: u32,
        /// Why the last attempt failed.
        error: String,
    },
    /// Dropped as stale: at least discard-after old when its batch was re-queued.
    Discarded {
        /// The item.
        ticket: Ticket,
        /// Attempts made.
        attempts: u32,
        /// Its age when dropped.
        age: Duration,
    },
    /// Still undelivered when the sender was closed with a deadline.
    Abandoned {
        /// The item.
        ticket: Ticket,
        /// Attempts made.
        attempts: u32,
    },
    /// Refused at submit by the endpoint's event filter or subscription
    /// ([`Format::accepts`](crate::Format::accepts)): never sent.
    Filtered {
        /// The item.
        ticket: Ticket,
    },
}

impl DeliveryOutcome {
    /// The item.
    pub fn ticket(&self) -> Ticket {
        match self {
            DeliveryOutcome::Delivered { ticket, .. }
            | DeliveryOutcome::GaveUp { ticket, .. }
            | DeliveryOutcome::Discarded { ticket, .. }
            | DeliveryOutcome::Abandoned { ticket, .. }
            | DeliveryOutcome::Filtered { ticket } => *ticket,
        }
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            DeliveryOutcome::Delivered { attempts, .. }
            | DeliveryOutcome::GaveUp { attempts, .. }
            | DeliveryOutcome::Discarded { attempts, .. }
            | DeliveryOutcome::Abandoned { attempts, .. } => *attempts,
            DeliveryOutcome::Filtered { .. } => 0,
        }
    }

    /// Whether the item was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, DeliveryOutcome::Delivered { .. })
    }
}

/// A stream of outcomes from [`Sender::subscribe`](crate::Sender::subscribe): every
/// outcome from the moment of subscribing, none lost (unbounded; drop it when done).
#[derive(Debug)]
pub struct Outcomes {
    pub(crate) rx: mpsc::UnboundedReceiver<DeliveryOutcome>,
}

impl Outcomes {
    /// The next outcome; `None` once the sender has finished and all were read.
    pub async fn recv(&mut self) -> Option<DeliveryOutcome> {
        self.rx.recv().await
    }

    /// The next outcome if one is ready.
    pub fn try_recv(&mut self) -> Option<DeliveryOutcome> {
        self.rx.try_recv().ok()
    }
}
