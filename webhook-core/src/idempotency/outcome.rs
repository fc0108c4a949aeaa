//! What happened to one delivery of an event, and what to answer the sender.
//!
//! The table of answers is on [`RunOutcome`].

use std::time::Duration;

use http::StatusCode;

use super::{DedupOutcome, StoreError};

/// What happened to one delivery of an event, and the answer it calls for
/// ([`RunOutcome::answer`]):
///
/// | outcome | handler ran | answer |
/// |---|---|---|
/// | [`RunOutcome::Processed`] | yes, succeeded | 200 |
/// | [`RunOutcome::Duplicate`] | no: already processed | 200 |
/// | [`RunOutcome::InProgress`] | no: another delivery holds it | 409 + Retry-After (the holder's remaining lease) |
/// | [`RunOutcome::Unavailable`] | no: the store could not answer (fail closed) | 503 + Retry-After |
/// | [`RunOutcome::Failed`] | yes, returned an error; the claim was released | 500 (or the caller's own choice) |
///
/// 409 for "in progress" follows the IETF Idempotency-Key draft ("a request is
/// outstanding for this key"); 503 tells the sender the receiver cannot take events
/// right now. Every sender retries any non-2xx answer, and Mailtrap counts only 200 as
/// success, so successes are always 200, never 202 or 204.
#[must_use = "the outcome says what to answer the sender"]
#[derive(Debug)]
pub enum RunOutcome<T, E> {
    /// The handler ran and succeeded. Answer 200.
    Processed {
        /// What the handler returned.
        value: T,
        /// Whether later duplicates will be recognised.
        completion: Completion,
    },
    /// The handler ran and failed; the claim was released so the sender's retry is
    /// processed. Answer a non-2xx status (500 by default) so the sender retries.
    Failed(E),
    /// The event was already processed: answer 200 without running the handler.
    Duplicate,
    /// Another delivery of the event holds the claim: answer 409 so the sender retries
    /// later; if that delivery fails or its holder crashed, the retry is processed.
    InProgress {
        /// The holder's remaining lease, when the store knows it: a good Retry-After.
        retry_after: Option<Duration>,
    },
    /// The store could not answer and the policy fails closed: the handler did not run.
    /// Answer 503 so the sender retries.
    Unavailable {
        /// Why the store could not answer.
        error: StoreError,
        /// The policy's suggested Retry-After.
        retry_after: Duration,
    },
}

/// After a successful handler: whether the store now remembers the event as done.
///
/// In every case the event **was** processed and the sender should get 200. Only the
/// protection against later duplicates differs; none of these marks an event done that
/// was not processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Remembered as done for the ttl: duplicates are answered 200 without running.
    Recorded,
    /// Recording failed (the store went away after the claim). The claim stays until
    /// its lease runs out: a retry before then is answered 409, one after it runs the
    /// handler again. Answer 200 anyway: a non-2xx answer would make the sender retry
    /// an event that was processed.
    NotRecorded(StoreError),
    /// The lease ran out before the handler finished and another delivery claimed the
    /// event, so it may be processed twice. Raise the lease above the slowest handler.
    LeaseLost,
    /// The store was unavailable when the event arrived and the policy fails open: the
    /// handler ran without deduplication.
    Unguarded(StoreError),
}

impl Completion {
    /// Whether later duplicates will be recognised.
    pub fn is_recorded(&self) -> bool {
        matches!(self, Completion::Recorded)
    }

    /// How a successful run with this completion is reported to the observer.
    pub(crate) fn dedup_outcome(&self) -> DedupOutcome {
        match self {
            Completion::Recorded => DedupOutcome::Processed,
            Completion::NotRecorded(_) => DedupOutcome::NotRecorded,
            Completion::LeaseLost => DedupOutcome::LeaseLost,
            Completion::Unguarded(_) => DedupOutcome::Unguarded,
        }
    }
}

/// The HTTP answer a [`RunOutcome`] calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
}

impl Answer {
    pub(crate) const fn new(status: StatusCode, retry_after: Option<Duration>) -> Self {
        Self {
            status,
            retry_after,
        }
    }

    /// The status to answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The suggested delay before the sender retries, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The `Retry-After` header value in whole seconds (rounded up, at least 1).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|delay| {
            let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// The `Retry-After` header value (whole seconds), for frameworks on `http` 1.x;
    /// others use [`retry_after_secs`](Self::retry_after_secs).
    pub fn retry_after_header(&self) -> Option<http::HeaderValue> {
        self.retry_after_secs().map(http::HeaderValue::from)
    }

    /// Whether the sender will take the event as delivered (a 2xx answer).
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

impl<T, E> RunOutcome<T, E> {
    /// The answer this outcome calls for (see the module docs' table).
    pub fn answer(&self) -> Answer {
        match self {
            RunOutcome::Processed { .. } | RunOutcome::Duplicate => {
                Answer::new(StatusCode::OK, None)
            }
            RunOutcome::Failed(_) => Answer::new(StatusCode::INTERNAL_SERVER_ERROR, None),
            RunOutcome::InProgress { retry_after } => {
                Answer::new(StatusCode::CONFLICT, *retry_after)
            }
            RunOutcome::Unavailable { retry_after, .. } => {
                Answer::new(StatusCode::SERVICE_UNAVAILABLE, Some(*retry_after))
            }
        }
    }

    /// Whether the handler ran (successfully or not) for this delivery.
    pub fn handler_ran(&self) -> bool {
        matches!(self, RunOutcome::Processed { .. } | RunOutcome::Failed(_))
    }

    /// How this outcome is reported to the observer.
    pub(crate) fn dedup_outcome(&self) -> DedupOutcome {
        match self {
            RunOutcome::Processed { completion, .. } => completion.dedup_outcome(),
            RunOutcome::Failed(_) => DedupOutcome::Failed,
            RunOutcome::Duplicate => DedupOutcome::Duplicate,
            RunOutcome::InProgress { .. } => DedupOutcome::InProgress,
            RunOutcome::Unavailable { .. } => DedupOutcome::Unavailable,
        }
    }

    /// The handler's value, if it ran and succeeded.
    pub fn into_value(self) -> Option<T> {
        match self {
            RunOutcome::Processed { value, .. } => Some(value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_table() {
        type O = RunOutcome<(), ()>;
        let processed = O::Processed {
            value: (),
            completion: Completion::NotRecorded(StoreError::unavailable("gone")),
        };
        assert_eq!(processed.answer().status(), StatusCode::OK);
        assert_eq!(O::Duplicate.answer().status(), StatusCode::OK);
        assert_eq!(
            O::Failed(()).answer().status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let busy = O::InProgress {
            retry_after: Some(Duration::from_millis(2500)),
        };
        assert_eq!(busy.answer().status(), StatusCode::CONFLICT);
        assert_eq!(busy.answer().retry_after_secs(), Some(3));
        assert_eq!(
            busy.answer().retry_after_header(),
            Some(http::HeaderValue::from_static("3"))
        );
        let down = O::Unavailable {
            error: StoreError::unavailable("refused"),
            retry_after: Duration::from_millis(10),
        };
        assert_eq!(down.answer().status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(down.answer().retry_after_secs(), Some(1));
        assert!(!down.answer().is_success());
        assert_eq!(
            O::InProgress { retry_after: None }
                .answer()
                .retry_after_secs(),
            None
        );
    }
}
