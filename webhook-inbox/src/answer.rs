//! [`Answer`]: what a framework adapter answers the sender once an accept has ended,
//! decided here so that every adapter answers byte for byte alike.

use http::StatusCode;
use webhook_core::Problem;

use crate::{accept::Accepted, error::InboxError};

/// The HTTP answer to an accept: the status, `Retry-After` when the sender should come
/// back later, and a small JSON body.
///
/// - **Stored** ([`Accepted`]): [`Accepted::status`] (200), with
///   `{"delivery":7,"queued":3,"duplicates":1,"quarantined":false}`. Only an `Ok` from
///   [`Inbox::accept`](crate::Inbox::accept), that is a durable commit, gives a 2xx.
/// - **Refused** ([`InboxError`]): [`InboxError::status`] (503 when the inbox cannot
///   write) with `Retry-After` ([`InboxError::retry_after`], rounded up to whole
///   seconds) and the JSON problem `{"error": "…", "code": "inbox_read_only"}`. The
///   problem says what happened and that nothing was stored, but not the storage's own
///   message (file paths, SQL): that goes to the log, at warn level.
///
/// ```
/// use std::time::Duration;
/// use webhook_inbox::{Answer, InboxError, Unavailable};
///
/// let err = InboxError::unavailable(Unavailable::ReadOnly, "/var/lib/app/inbox.db", Duration::from_millis(4500));
/// let answer = Answer::refused(&err);
/// assert_eq!(answer.status(), 503);
/// assert_eq!(answer.retry_after_secs(), Some(5));
/// assert!(answer.body().contains(r#""code":"inbox_read_only""#));
/// assert!(!answer.body().contains("/var/lib"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    status: StatusCode,
    retry_after_secs: Option<u64>,
    body: String,
}

impl Answer {
    /// The answer to an accept's result (logging a refusal, see [`refused`](Self::refused)).
    pub fn of(result: &Result<Accepted, InboxError>) -> Self {
        match result {
            Ok(accepted) => Self::accepted(accepted),
            Err(err) => Self::refused(err),
        }
    }

    /// The answer for a stored delivery.
    pub fn accepted(accepted: &Accepted) -> Self {
        Self {
            status: accepted.status(),
            retry_after_secs: None,
            body: format!(
                r#"{{"delivery":{},"queued":{},"duplicates":{},"quarantined":{}}}"#,
                accepted.delivery,
                accepted.queued(),
                accepted.duplicates(),
                accepted.is_quarantined()
            ),
        }
    }

    /// The answer for an accept that stored nothing. Logs the whole error (with the
    /// storage's message, left out of the answer) at warn level.
    pub fn refused(err: &InboxError) -> Self {
        tracing::warn!(error = %err, code = err.code(), "delivery not stored: answered {}", err.status());
        let message = match err.retry_after() {
            Some(wait) => format!(
                "the inbox cannot store deliveries right now ({}); nothing of this request \
                 was stored: retry after {} s",
                err.code(),
                whole_seconds(wait)
            ),
            None => format!(
                "the inbox failed ({}); nothing of this request was stored",
                err.code()
            ),
        };
        Self {
            status: err.status(),
            retry_after_secs: err.retry_after().map(whole_seconds),
            body: Problem::new(err.status(), err.code(), message).to_json(),
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `Retry-After`, in seconds (at least 1), when the sender should retry later.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The headers to send: `Content-Type`, and `Retry-After` if any.
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        [Some(("content-type", Problem::CONTENT_TYPE.to_owned()))]
            .into_iter()
            .chain([self
                .retry_after_secs
                .map(|secs| ("retry-after", secs.to_string()))])
            .flatten()
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

fn whole_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        accept::{AcceptedEvent, EventAcceptance},
        error::Unavailable,
        model::{DeliveryId, EventId, EventKey},
    };

    #[test]
    fn a_stored_delivery_is_answered_200_with_its_counts() {
        let accepted = Accepted {
            delivery: DeliveryId(7),
            events: vec![
                AcceptedEvent::new(
                    EventKey::from_bytes(b"a".as_slice()),
                    EventAcceptance::Queued(EventId(1)),
                ),
                AcceptedEvent::new(
                    EventKey::from_bytes(b"b".as_slice()),
                    EventAcceptance::Duplicate(EventId(0)),
                ),
            ],
            quarantined: None,
        };
        let answer = Answer::of(&Ok(accepted));
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.retry_after_secs(), None);
        assert_eq!(
            answer.body(),
            r#"{"delivery":7,"queued":1,"duplicates":1,"quarantined":false}"#
        );
        assert_eq!(
            answer.headers().collect::<Vec<_>>(),
            [("content-type", "application/json".to_owned())]
        );
    }

    #[test]
    fn an_unavailable_inbox_is_answered_503_with_retry_after_and_no_storage_detail() {
        let err = InboxError::unavailable(
            Unavailable::Full,
            "database or disk is full: /srv/inbox.db",
            Duration::from_secs(7),
        );
        let answer = Answer::of(&Err(err));
        assert_eq!(answer.status(), 503);
        assert_eq!(
            answer.headers().collect::<Vec<_>>(),
            [
                ("content-type", "application/json".to_owned()),
                ("retry-after", "7".to_owned())
            ]
        );
        let problem: Problem = serde_json::from_str(answer.body()).unwrap();
        assert_eq!(problem.code, "inbox_full");
        assert!(problem.error.contains("nothing of this request was stored"));
        assert!(!answer.body().contains("/srv"));
    }

    #[test]
    fn other_failures_keep_their_status_without_retry_after() {
        let answer = Answer::refused(&InboxError::Corrupt("state 9".into()));
        assert_eq!(answer.status(), 500);
        assert_eq!(answer.retry_after_secs(), None);
        assert!(!answer.body().contains("state 9"));
    }

    #[test]
    fn retry_after_is_rounded_up_to_a_whole_second() {
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(5)), 5);
    }
}
