//! What the inbox holds, as the query API returns it: deliveries, events, their
//! states and every attempt.

use std::{fmt, ops::Range, time::Duration};

use webhook_core::{MediaType, Scheme, Verification};

use crate::time::Timestamp;

/// An event's id in the inbox (unique in one inbox, increasing with arrival).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub i64);

/// A delivery's id in the inbox (unique in one inbox, increasing with arrival).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(pub i64);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An event's deduplication key as stored: the bytes of
/// [`DedupKey::as_bytes`](webhook_core::idempotency::DedupKey::as_bytes)
/// (`<route>:id:<event id>` or `<route>:fp:<hex>`). Give it to the handler's own
/// idempotency check: it is the same on every delivery of the event.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey(Box<[u8]>);

impl EventKey {
    /// A key from its stored bytes.
    pub fn from_bytes(bytes: impl Into<Box<[u8]>>) -> Self {
        Self(bytes.into())
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventKey(\"{self}\")")
    }
}

/// Where an event is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventState {
    /// Waiting for its first attempt.
    Pending,
    /// Claimed by a worker whose lease has not ended.
    Running,
    /// Waiting for another attempt after a failed one.
    Retrying,
    /// Handled.
    Done,
    /// Failed for good, or out of attempts: kept with its bytes and last error until
    /// redriven or purged.
    Dead,
}

impl EventState {
    /// Every state, in life order.
    pub const ALL: [EventState; 5] = [
        Self::Pending,
        Self::Running,
        Self::Retrying,
        Self::Done,
        Self::Dead,
    ];

    /// `pending`, `running`, `retrying`, `done`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
}

impl fmt::Display for EventState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown event state `{s}`: expected pending, running, retrying, done or dead"
                )
            })
    }
}

/// Whether a delivery's events were queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Split into events (some may have been duplicates).
    Accepted,
    /// Verified, but hookwise could not parse it: the body is kept, no events were
    /// queued. See [`Inbox::retry_quarantined`](crate::Inbox::retry_quarantined).
    Quarantined,
}

impl DeliveryState {
    /// `accepted` or `quarantined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Quarantined => "quarantined",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The handler answered done.
    Done,
    /// The handler asked for a retry (or failed, or panicked) and one was scheduled.
    Retry,
    /// The handler failed for good, or the event ran out of attempts or time.
    Dead,
    /// The worker's lease had ended and another worker had claimed the event: its
    /// answer was refused.
    LeaseLost,
    /// The lease ran out with no answer (the worker crashed or stalled); the event was
    /// claimed again.
    LeaseExpired,
    /// The worker shut down before the handler finished and gave the event back.
    Released,
}

impl AttemptOutcome {
    /// `done`, `retry`, `dead`, `lease_lost`, `lease_expired`, `released`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry => "retry",
            Self::Dead => "dead",
            Self::LeaseLost => "lease_lost",
            Self::LeaseExpired => "lease_expired",
            Self::Released => "released",
        }
    }
}

/// One attempt at an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The attempt's number (1 for the first claim of the event, counting every claim
    /// since it arrived).
    pub attempt: u32,
    /// When the worker claimed the event.
    pub started_at: Timestamp,
    /// How long until the answer (or until the lease was found expired).
    pub duration: Duration,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The handler's error text, if any.
    pub error: Option<String>,
    /// The worker that made the attempt.
    pub worker: Option<String>,
}

/// One header of a delivery, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHeader {
    /// The name, lowercase.
    pub name: String,
    /// The value's bytes.
    pub value: Vec<u8>,
}

/// Which of the receiver's signing secrets verified a delivery, as recorded when it
/// was accepted: its position and label (from [`MatchedKey`](webhook_core::MatchedKey)),
/// never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredKey {
    /// The secret's position among the verifier's secrets, in the order they were
    /// added (0-based).
    pub index: usize,
    /// The label it was given with
    /// [`VerifierBuilder::labeled_secret`](webhook_core::VerifierBuilder::labeled_secret).
    pub label: Option<String>,
}

impl fmt::Display for StoredKey {
    /// `key "2026-q4" (#1)`, or `key #0 (unlabeled)`; the label is quoted and
    /// escaped like a Rust string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(label) => write!(f, "key {label:?} (#{})", self.index),
            None => write!(f, "key #{} (unlabeled)", self.index),
        }
    }
}

/// How a delivery was verified, as recorded when it was accepted: which signing secret
/// matched, and whether credentials or a URL token were checked. Never a secret.
///
/// A scheme that signs nothing (WildDuck) has no key: what authenticated it is the
/// `Authorization` credentials or the URL token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredVerification {
    /// The signing secret whose signature matched (`None` when the scheme signs nothing
    /// or the verifier checked credentials only).
    pub key: Option<StoredKey>,
    /// Whether `Authorization` credentials (Basic or Bearer) were checked and matched.
    pub credentials: bool,
    /// Whether a URL token was checked and matched.
    pub url_token: bool,
}

impl StoredVerification {
    /// What to record of a verifier's [`Verification`].
    pub fn of(verification: &Verification) -> Self {
        Self {
            key: verification.matched_key().map(|key| StoredKey {
                index: key.index(),
                label: key.label().map(str::to_owned),
            }),
            credentials: verification.credentials_checked(),
            url_token: verification.url_token_checked(),
        }
    }
}

impl fmt::Display for StoredVerification {
    /// What was checked, joined by ` + `: `key "2026-q4" (#1)`,
    /// `Authorization credentials`, `URL token`; `nothing (unauthenticated)` for a
    /// verifier built to accept anything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(3);
        if let Some(key) = &self.key {
            parts.push(key.to_string());
        }
        if self.credentials {
            parts.push("Authorization credentials".to_owned());
        }
        if self.url_token {
            parts.push("URL token".to_owned());
        }
        if parts.is_empty() {
            f.write_str("nothing (unauthenticated)")
        } else {
            f.write_str(&parts.join(" + "))
        }
    }
}

/// A delivery, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySummary {
    /// Its id.
    pub id: DeliveryId,
    /// The route it arrived on.
    pub route: String,
    /// The sender.
    pub scheme: Scheme,
    /// When it was accepted.
    pub received_at: Timestamp,
    /// Accepted or quarantined.
    pub state: DeliveryState,
    /// The media type its `Content-Type` declared.
    pub media_type: MediaType,
    /// The body's length in bytes.
    pub body_len: u64,
    /// How many of its events were queued.
    pub queued: u32,
    /// How many of its events were already known.
    pub duplicates: u32,
    /// Why it was quarantined.
    pub parse_error: Option<String>,
    /// How it was verified: which key matched, or which credentials. `None` for a
    /// delivery stored before the inbox recorded it (SQLite schema 2 and older,
    /// PostgreSQL schema 1).
    pub verification: Option<StoredVerification>,
}

/// A delivery with its body and the headers kept to verify it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    /// The delivery.
    pub summary: DeliverySummary,
    /// The headers kept: the sender's signature headers and `Content-Type` (never
    /// `Authorization`).
    pub headers: Vec<StoredHeader>,
    /// The Standard Webhooks message id the verification gave.
    pub message_id: Option<String>,
    /// The signed timestamp the verification judged (Unix seconds).
    pub signed_at: Option<i64>,
    /// The exact body bytes.
    pub body: Vec<u8>,
}

/// An event, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// Its id.
    pub id: EventId,
    /// The delivery that first brought it.
    pub delivery: DeliveryId,
    /// The route it arrived on.
    pub route: String,
    /// The sender.
    pub scheme: Scheme,
    /// Its type, as the sender names it.
    pub event_type: Option<String>,
    /// Its deduplication key.
    pub key: EventKey,
    /// Where it is in its life.
    pub state: EventState,
    /// How many times it was claimed since it arrived.
    pub attempts: u32,
    /// When its delivery was accepted.
    pub received_at: Timestamp,
    /// When it is due (pending, retrying), or when its lease ends (running).
    pub due_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

/// One event with everything the inbox knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDetail {
    /// The event.
    pub summary: EventSummary,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
    /// Where those bytes are in its delivery's body.
    pub range: Range<usize>,
    /// Its bytes' format (JSON, or form data for a Mailtrap form body).
    pub media_type: MediaType,
    /// Its delivery, with the headers kept (the body is not repeated here: see
    /// [`Inbox::delivery`](crate::Inbox::delivery)).
    pub delivery: DeliverySummary,
    /// The delivery's kept headers.
    pub headers: Vec<StoredHeader>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptRecord>,
}

/// How many events are in each state, and how many deliveries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Waiting for a first attempt.
    pub pending: u64,
    /// Claimed under a live lease.
    pub running: u64,
    /// Waiting for another attempt.
    pub retrying: u64,
    /// Handled.
    pub done: u64,
    /// Dead.
    pub dead: u64,
    /// Deliveries kept.
    pub deliveries: u64,
    /// Deliveries in quarantine.
    pub quarantined: u64,
    /// Deduplication keys remembered.
    pub keys: u64,
}

impl Stats {
    /// The count for one state.
    pub fn count(&self, state: EventState) -> u64 {
        match state {
            EventState::Pending => self.pending,
            EventState::Running => self.running,
            EventState::Retrying => self.retrying,
            EventState::Done => self.done,
            EventState::Dead => self.dead,
        }
    }
}
