//! The delivery log: every attempt of every item, queryable while the sender runs.
//!
//! Like the email-API seed's `GET /webhooks/:id/logs`, each submitted item has a
//! [`Record`] keyed by its [`Ticket`] (the sender's own id: a Stalwart event's wire id
//! changes on every retry, so it cannot key anything), listing its attempts with time,
//! HTTP status, latency and error text, and its final [`Status`]. [`Stats`] counts
//! everything exactly, for the whole life of the sender.
//!
//! Memory: records of items still in progress are always kept; finished ones are kept up
//! to the retention limit (default [`DEFAULT_LOG_RETENTION`]), oldest evicted first. The
//! counters are never evicted.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::StatusCode;

/// Finished records kept by default.
pub const DEFAULT_LOG_RETENTION: usize = 10_000;

/// The sender's id for one submitted item, in submission order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(pub(crate) u64);

impl Ticket {
    /// The number (0 for the first item submitted).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Waiting, in flight, or waiting for a retry.
    Pending,
    /// A request carrying it was accepted.
    Delivered,
    /// Its attempts were used up.
    GaveUp,
    /// Dropped as stale (older than discard-after) when its batch was re-queued.
    Discarded,
    /// Still undelivered when the sender was closed with a deadline.
    Abandoned,
    /// Not wanted by the endpoint (its event filter or subscription): never sent.
    Filtered,
}

/// One attempt to deliver an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1 for the first attempt of this item.
    pub number: u32,
    /// When the attempt started (the sender's clock).
    pub at: SystemTime,
    /// The item's id on the wire in this attempt (Stalwart event id, `webhook-id`), if any.
    pub wire_id: Option<String>,
    /// The HTTP status, if a response came.
    pub status: Option<StatusCode>,
    /// Time from sending to the response or the error.
    pub latency: Duration,
    /// Why the attempt failed (`None` when it succeeded).
    pub error: Option<String>,
    /// The start of the receiver's answer to a failed attempt (at most
    /// [`RESPONSE_EXCERPT_BYTES`](crate::RESPONSE_EXCERPT_BYTES); empty bodies and
    /// successful attempts keep none): typically its problem JSON, saying why it refused.
    pub answer: Option<Bytes>,
    /// How many items the request carried.
    pub batch_size: usize,
}

/// The log of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its ticket.
    pub ticket: Ticket,
    /// What it is (event type, message id).
    pub label: String,
    /// Where it stands.
    pub status: Status,
    /// Its attempts, in order.
    pub attempts: Vec<Attempt>,
}

/// Exact counts since the sender started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Items accepted by `send`.
    pub submitted: u64,
    /// Items delivered.
    pub delivered: u64,
    /// Items whose attempts were used up.
    pub gave_up: u64,
    /// Items dropped as stale by discard-after.
    pub discarded: u64,
    /// Items dropped by lossy mode (not reported one by one).
    pub dropped: u64,
    /// Items abandoned at a close deadline.
    pub abandoned: u64,
    /// Items the endpoint's event filter or subscription did not want: never sent.
    pub filtered: u64,
    /// Requests (attempts) made.
    pub requests: u64,
    /// Requests that failed.
    pub failed_requests: u64,
}

impl Stats {
    /// Items without a final outcome yet.
    pub fn pending(&self) -> u64 {
        self.submitted.saturating_sub(self.finished())
    }

    /// Items with a final outcome (or dropped).
    pub fn finished(&self) -> u64 {
        self.delivered
            + self.gave_up
            + self.discarded
            + self.dropped
            + self.abandoned
            + self.filtered
    }
}

/// A shared, queryable view of the delivery log. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryLog {
    inner: Arc<Mutex<LogState>>,
}

struct LogState {
    records: HashMap<Ticket, Record>,
    finished: VecDeque<Ticket>,
    retention: usize,
    stats: Stats,
}

impl DeliveryLog {
    pub(crate) fn new(retention: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(LogState {
                records: HashMap::new(),
                finished: VecDeque::new(),
                retention,
                stats: Stats::default(),
            })),
        }
    }

    /// The record of `ticket`, unless it finished long enough ago to be evicted.
    pub fn get(&self, ticket: Ticket) -> Option<Record> {
        self.lock().records.get(&ticket).cloned()
    }

    /// Every record held, in ticket order.
    pub fn records(&self) -> Vec<Record> {
        let mut records: Vec<Record> = self.lock().records.values().cloned().collect();
        records.sort_by_key(|r| r.ticket);
        records
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn submitted(&self, ticket: Ticket, label: String) {
        let mut state = self.lock();
        state.stats.submitted += 1;
        state.records.insert(
            ticket,
            Record {
                ticket,
                label,
                status: Status::Pending,
                attempts: Vec::new(),
            },
        );
    }

    /// A request finished: one attempt for each of its items.
    pub(crate) fn attempted(&self, tickets: &[(Ticket, Attempt)], failed: bool) {
        let mut state = self.lock();
        state.stats.requests += 1;
        if failed {
            state.stats.failed_requests += 1;
        }
        for (ticket, attempt) in tickets {
            if let Some(record) = state.records.get_mut(ticket) {
                record.attempts.push(attempt.clone());
            }
        }
    }

    /// A submission that never reached the engine (the sender closed meanwhile).
    pub(crate) fn retract(&self, ticket: Ticket) {
        let mut state = self.lock();
        if state.records.remove(&ticket).is_some() {
            state.stats.submitted -= 1;
        }
    }

    /// Lossy mode dropped an item: counted, its record forgotten.
    pub(crate) fn dropped(&self, ticket: Ticket) {
        let mut state = self.lock();
        state.stats.dropped += 1;
        state.records.remove(&ticket);
    }

    pub(crate) fn finished(&self, ticket: Ticket, status: Status) -> Stats {
        let mut state = self.lock();
        match status {
            Status::Delivered => state.stats.delivered += 1,
            Status::GaveUp => state.stats.gave_up += 1,
            Status::Discarded => state.stats.discarded += 1,
            Status::Abandoned => state.stats.abandoned += 1,
            Status::Filtered => state.stats.filtered += 1,
            Status::Pending => {}
        }
        if let Some(record) = state.records.get_mut(&ticket) {
            record.status = status;
        }
        state.finished.push_back(ticket);
        while state.finished.len() > state.retention {
            if let Some(old) = state.finished.pop_front() {
                state.records.remove(&old);
            }
        }
        state.stats
    }
}

impl fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("DeliveryLog")
            .field("records", &state.records.len())
            .field("stats", &state.stats)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_records_are_evicted_past_retention_counts_are_not() {
        let log = DeliveryLog::new(2);
        for n in 0..5 {
            log.submitted(Ticket(n), format!("item {n}"));
        }
        for n in 0..4 {
            log.finished(Ticket(n), Status::Delivered);
        }
        let held: Vec<u64> = log.records().iter().map(|r| r.ticket.get()).collect();
        assert_eq!(held, [2, 3, 4]);
        let stats = log.stats();
        assert_eq!(
            (stats.submitted, stats.delivered, stats.pending()),
            (5, 4, 1)
        );
    }
}
