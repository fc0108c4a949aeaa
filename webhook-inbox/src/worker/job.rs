//! [`Job`]: one claimed event as a handler sees it, and [`Outcome`], what the handler
//! answers.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use webhook_core::{
    ParseContext, ParseError, Scheme,
    stored::{StoredEvent, StoredPayload},
};

use crate::{
    backend::ClaimedEvent,
    model::{DeliveryId, EventId, EventKey},
    time::Timestamp,
};

/// One event for the handler: its bytes, typed on demand, its key and its attempt.
pub struct Job {
    claimed: ClaimedEvent,
    lost: Arc<AtomicBool>,
    /// Set when a transactional handler committed the event done itself: the pool
    /// then records nothing more.
    committed: Arc<AtomicBool>,
}

impl Job {
    pub(crate) fn new(claimed: ClaimedEvent, lost: Arc<AtomicBool>) -> Self {
        Self {
            claimed,
            lost,
            committed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The claim.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn lease(&self) -> crate::backend::Lease {
        self.claimed.lease
    }

    /// The flag a transactional handler sets once it committed the event done.
    pub(crate) fn committed_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.committed)
    }

    /// The event's id in the inbox.
    pub fn id(&self) -> EventId {
        self.claimed.lease.event
    }

    /// The event's deduplication key: the same on every delivery of the event. Use it
    /// for the handler's own idempotency (a unique key in the handler's database):
    /// the inbox runs an event **at least once**.
    pub fn key(&self) -> &EventKey {
        &self.claimed.key
    }

    /// This attempt's number: 1 the first time, counting since the event arrived or
    /// was last redriven or replayed.
    // The attempt within the current run, by design (`total_attempts` counts all).
    #[allow(clippy::misnamed_getters)]
    pub fn attempt(&self) -> u32 {
        self.claimed.attempt_in_run
    }

    /// Every claim of the event since it arrived, this one included.
    pub fn total_attempts(&self) -> u32 {
        self.claimed.attempt
    }

    /// The sender.
    pub fn scheme(&self) -> Scheme {
        self.claimed.scheme
    }

    /// The route the event arrived on.
    pub fn route(&self) -> &str {
        &self.claimed.route
    }

    /// The event's type, as the sender names it.
    pub fn event_type(&self) -> Option<&str> {
        self.claimed.event_type.as_deref()
    }

    /// The event's exact bytes, as the sender sent them.
    pub fn bytes(&self) -> &[u8] {
        &self.claimed.bytes
    }

    /// The delivery that brought the event.
    pub fn delivery(&self) -> DeliveryId {
        self.claimed.delivery
    }

    /// When the delivery arrived.
    pub fn received_at(&self) -> Timestamp {
        self.claimed.received_at
    }

    /// The event as the core's stored event, to parse.
    pub fn stored(&self) -> StoredEvent<'_> {
        // The inbox stored these bytes from a verified delivery.
        StoredEvent::from_verified_store(
            self.claimed.scheme,
            &self.claimed.bytes,
            ParseContext {
                media_type: self.claimed.media_type,
                message_id: self.claimed.message_id.as_deref(),
                signed_at: self.claimed.signed_at,
            },
        )
    }

    /// The typed event: `T` is the sender's per-event type (Stalwart's
    /// `WebhookEvent<'static>`, `EmailApiEvent`, Mailtrap's `MailtrapEvent<'static>`,
    /// `WildDuckEvent`, `StandardWebhook<T>`). Parsed from the stored bytes, not
    /// verified again.
    pub fn event<T: StoredPayload>(&self) -> Result<T, ParseError> {
        self.stored().parse()
    }

    /// Whether this worker's lease was lost (a heartbeat found another worker had taken
    /// the event over): the answer will be refused, so a long handler may stop early.
    pub fn lease_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id())
            .field("key", self.key())
            .field("attempt", &self.attempt())
            .field("scheme", &self.scheme())
            .field("event_type", &self.event_type())
            .finish_non_exhaustive()
    }
}

/// What a handler answers for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Handled: the event is done.
    Done,
    /// Not now: run again, after `after` or the retry policy's next delay. The event
    /// dies when the policy's attempts or age run out.
    Retry {
        /// A delay of the handler's choosing (a rate limit's `Retry-After`).
        after: Option<Duration>,
        /// What went wrong, kept as the event's last error.
        error: String,
    },
    /// Never: the event is dead at once (kept with its bytes for a redrive).
    Failed {
        /// Why.
        error: String,
    },
}

impl Outcome {
    /// Run again per the retry policy.
    pub fn retry(error: impl fmt::Display) -> Self {
        Self::Retry {
            after: None,
            error: error.to_string(),
        }
    }

    /// Run again after `after`.
    pub fn retry_after(after: Duration, error: impl fmt::Display) -> Self {
        Self::Retry {
            after: Some(after),
            error: error.to_string(),
        }
    }

    /// Failed for good.
    pub fn failed(error: impl fmt::Display) -> Self {
        Self::Failed {
            error: error.to_string(),
        }
    }
}

/// `Ok` is done, `Err` is a retry: the common handler shape.
impl<E: fmt::Display> From<Result<(), E>> for Outcome {
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => Self::Done,
            Err(err) => Self::retry(err),
        }
    }
}
