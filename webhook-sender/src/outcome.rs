//! [`Outcome`]: the final word on one item, reported as it happens.
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
pub enum Outcome {
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

impl Outcome {
    /// The item.
    pub fn ticket(&self) -> Ticket {
        match self {
            Outcome::Delivered { ticket, .. }
            | Outcome::GaveUp { ticket, .. }
            | Outcome::Discarded { ticket, .. }
            | Outcome::Abandoned { ticket, .. }
            | Outcome::Filtered { ticket } => *ticket,
        }
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            Outcome::Delivered { attempts, .. }
            | Outcome::GaveUp { attempts, .. }
            | Outcome::Discarded { attempts, .. }
            | Outcome::Abandoned { attempts, .. } => *attempts,
            Outcome::Filtered { .. } => 0,
        }
    }

    /// Whether the item was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }
}

/// A stream of outcomes from [`Sender::subscribe`](crate::Sender::subscribe): every
/// outcome from the moment of subscribing, none lost (unbounded; drop it when done).
#[derive(Debug)]
pub struct Outcomes {
    pub(crate) rx: mpsc::UnboundedReceiver<Outcome>,
}

impl Outcomes {
    /// The next outcome; `None` once the sender has finished and all were read.
    pub async fn recv(&mut self) -> Option<Outcome> {
        self.rx.recv().await
    }

    /// The next outcome if one is ready.
    pub fn try_recv(&mut self) -> Option<Outcome> {
        self.rx.try_recv().ok()
    }
}
