//! [`Shared`]: what a [`Sender`](crate::Sender)'s handle and its delivery engine both
//! hold, in a module of its own so that the engine needs nothing from the handle.

use std::sync::{Arc, Mutex, PoisonError, atomic::AtomicU64};

use tokio::sync::mpsc;

use crate::{DeliveryLog, DeliveryOutcome, Endpoint, Format, Stats, clock::WallClock};

pub(crate) type Callback = Arc<dyn Fn(&DeliveryOutcome, &Stats) + Send + Sync>;

/// What the handle and the engine share.
pub(crate) struct Shared<F: Format> {
    pub(crate) format: F,
    pub(crate) endpoint: Endpoint,
    pub(crate) clock: Arc<dyn WallClock>,
    pub(crate) log: DeliveryLog,
    pub(crate) callbacks: Vec<Callback>,
    pub(crate) subscribers: Mutex<Vec<mpsc::UnboundedSender<DeliveryOutcome>>>,
    pub(crate) next_ticket: AtomicU64,
}

impl<F: Format> Shared<F> {
    /// Records a final outcome and tells everyone listening.
    pub(crate) fn report(&self, outcome: DeliveryOutcome, status: crate::Status) {
        let stats = self.log.finished(outcome.ticket(), status);
        for callback in &self.callbacks {
            callback(&outcome, &stats);
        }
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|subscriber| subscriber.send(outcome.clone()).is_ok());
    }
}
