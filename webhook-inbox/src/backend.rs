//! [`Backend`]: the storage contract every inbox backend keeps. SQLite
//! ([`SqliteBackend`](crate::SqliteBackend)) and PostgreSQL (`PostgresBackend`, feature
//! `postgres`) implement it, and the `contract` suite (feature `test-support`) checks
//! both.
//!
//! Every method takes its time (`now`) from the caller, which reads the inbox's
//! [`Clock`](crate::Clock), so that tests can run leases and backoff in virtual time.
//!
//! # The contract
//!
//! - [`accept`](Backend::accept) stores the whole [`NewDelivery`] in one durable
//!   transaction, or nothing; `Ok` only after the commit is durable. Each event's key
//!   is inserted with a uniqueness check on (route, key) — not a read-then-write — and
//!   an event whose key is known is reported [`Duplicate`](crate::EventAcceptance::Duplicate)
//!   and not queued. Storage that cannot write answers [`InboxError::Unavailable`].
//! - [`claim`](Backend::claim) hands out at most `max` events that are due (pending or
//!   retrying with `run_at <= now`, or running with an expired lease), each under a new
//!   lease token, counting an attempt; an expired lease it takes over is recorded as a
//!   [`LeaseExpired`](crate::AttemptOutcome::LeaseExpired) attempt. Two claimers never
//!   get the same event under live leases.
//! - [`heartbeat`](Backend::heartbeat), [`finish`](Backend::finish) and
//!   [`release`](Backend::release) act only when the event is still running under the
//!   given lease token (fencing): a worker whose lease was taken over can neither
//!   extend, complete, retry nor release the event. Every finish, accepted or refused,
//!   is recorded as an attempt.

use std::{future::Future, time::Duration};

use webhook_core::{MediaType, Scheme};

use crate::{
    accept::{Accepted, NewDelivery, NewEvent},
    error::InboxError,
    model::{
        AttemptOutcome, DeliveryDetail, DeliveryId, DeliverySummary, EventDetail, EventId,
        EventKey, EventSummary, Stats,
    },
    query::{DeliveryFilter, EventFilter, Page, Purged, Retention, Selection},
    time::Timestamp,
};

/// A claim on one event: its id and the lease token the claim was given. Every
/// heartbeat, finish and release names both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease {
    /// The event.
    pub event: EventId,
    /// The claim's token (random, unique per claim).
    pub token: i64,
}

/// What a worker asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimRequest {
    /// At most this many events.
    pub max: usize,
    /// Now.
    pub now: Timestamp,
    /// How long the lease lasts without a heartbeat.
    pub lease: Duration,
    /// The worker's name, recorded with each attempt.
    pub worker: String,
    /// Only events of these routes (empty: any).
    pub routes: Vec<String>,
}

impl ClaimRequest {
    /// A request for `max` events under a `lease`, at `now`.
    pub fn new(max: usize, now: Timestamp, lease: Duration, worker: impl Into<String>) -> Self {
        Self {
            max,
            now,
            lease,
            worker: worker.into(),
            routes: Vec::new(),
        }
    }

    /// Only events of these routes.
    pub fn routes(mut self, routes: Vec<String>) -> Self {
        self.routes = routes;
        self
    }
}

/// A claimed event, with everything its handler needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimedEvent {
    /// The claim.
    pub lease: Lease,
    /// When the lease ends unless renewed.
    pub lease_until: Timestamp,
    /// This attempt's number since the event arrived (1 for the first claim).
    pub attempt: u32,
    /// This attempt's number since the event was last redriven or replayed (what the
    /// retry policy counts).
    pub attempt_in_run: u32,
    /// When the current run started: the delivery's arrival, or the last redrive or
    /// replay (what the retry policy's maximum age counts from).
    pub run_since: Timestamp,
    /// The delivery.
    pub delivery: DeliveryId,
    /// The route.
    pub route: String,
    /// The sender.
    pub scheme: Scheme,
    /// The event's type.
    pub event_type: Option<String>,
    /// Its key.
    pub key: EventKey,
    /// Its exact bytes.
    pub bytes: Vec<u8>,
    /// Its bytes' format.
    pub media_type: MediaType,
    /// The delivery's Standard Webhooks message id.
    pub message_id: Option<String>,
    /// The delivery's signed timestamp (Unix seconds).
    pub signed_at: Option<i64>,
    /// When the delivery arrived.
    pub received_at: Timestamp,
}

impl ClaimedEvent {
    /// For backends: a claimed event.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        lease: Lease,
        lease_until: Timestamp,
        attempts: (u32, u32),
        run_since: Timestamp,
        delivery: DeliveryId,
        route: String,
        scheme: Scheme,
        event_type: Option<String>,
        key: EventKey,
        bytes: Vec<u8>,
        media_type: MediaType,
        message_id: Option<String>,
        signed_at: Option<i64>,
        received_at: Timestamp,
    ) -> Self {
        Self {
            lease,
            lease_until,
            attempt: attempts.0,
            attempt_in_run: attempts.1,
            run_since,
            delivery,
            route,
            scheme,
            event_type,
            key,
            bytes,
            media_type,
            message_id,
            signed_at,
            received_at,
        }
    }
}

/// How an attempt ends, as the worker decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Done.
    Done,
    /// Run again at `at`.
    Retry {
        /// When.
        at: Timestamp,
        /// Why this attempt failed.
        error: String,
    },
    /// Failed for good: dead.
    Dead {
        /// Why.
        error: String,
    },
}

impl Verdict {
    /// The attempt outcome this verdict records.
    pub fn outcome(&self) -> AttemptOutcome {
        match self {
            Self::Done => AttemptOutcome::Done,
            Self::Retry { .. } => AttemptOutcome::Retry,
            Self::Dead { .. } => AttemptOutcome::Dead,
        }
    }

    /// The error text, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::Done => None,
            Self::Retry { error, .. } | Self::Dead { error } => Some(error),
        }
    }
}

/// The end of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finish {
    /// The claim.
    pub lease: Lease,
    /// The attempt's number.
    pub attempt: u32,
    /// When the attempt started.
    pub started_at: Timestamp,
    /// Now.
    pub now: Timestamp,
    /// The worker.
    pub worker: String,
    /// The verdict.
    pub verdict: Verdict,
}

impl Finish {
    /// The end of an attempt.
    pub fn new(
        lease: Lease,
        attempt: u32,
        started_at: Timestamp,
        now: Timestamp,
        worker: impl Into<String>,
        verdict: Verdict,
    ) -> Self {
        Self {
            lease,
            attempt,
            started_at,
            now,
            worker: worker.into(),
            verdict,
        }
    }
}

/// Whether a finish took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finished {
    /// The verdict was applied.
    Applied,
    /// The lease had been taken over (or released): nothing changed but the attempt
    /// record.
    LeaseLost,
}

/// A quarantined delivery's body, read back to be split again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuarantinedBody {
    /// The delivery.
    pub delivery: DeliveryDetail,
    /// The route's Stalwart keying when it arrived.
    pub stalwart_key: webhook_core::senders::stalwart::StalwartKey,
}

impl QuarantinedBody {
    /// For backends.
    pub fn new(
        delivery: DeliveryDetail,
        stalwart_key: webhook_core::senders::stalwart::StalwartKey,
    ) -> Self {
        Self {
            delivery,
            stalwart_key,
        }
    }
}

/// The storage contract of an inbox (see the module docs).
///
/// All futures are `Send`; a backend is shared by the accept path, the worker pool and
/// the query API.
pub trait Backend: Send + Sync + 'static {
    /// Stores a delivery and queues its new events, in one durable transaction.
    fn accept(
        &self,
        delivery: NewDelivery,
    ) -> impl Future<Output = Result<Accepted, InboxError>> + Send;

    /// Claims due events.
    fn claim(
        &self,
        request: ClaimRequest,
    ) -> impl Future<Output = Result<Vec<ClaimedEvent>, InboxError>> + Send;

    /// Extends live leases to `until`; returns the leases that were lost.
    fn heartbeat(
        &self,
        leases: Vec<Lease>,
        until: Timestamp,
    ) -> impl Future<Output = Result<Vec<Lease>, InboxError>> + Send;

    /// Ends an attempt (fenced by its lease).
    fn finish(&self, finish: Finish) -> impl Future<Output = Result<Finished, InboxError>> + Send;

    /// Gives claimed events back, due at once (fenced); returns how many were given back.
    fn release(
        &self,
        leases: Vec<Lease>,
        worker: String,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, InboxError>> + Send;

    /// Makes dead events pending again, with a fresh attempt budget; returns how many.
    fn redrive(
        &self,
        selection: Selection,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, InboxError>> + Send;

    /// Makes done events pending again, from their stored bytes; returns how many.
    fn replay(
        &self,
        selection: Selection,
        now: Timestamp,
    ) -> impl Future<Output = Result<u64, InboxError>> + Send;

    /// Reads a quarantined delivery back (`None` if it is not quarantined).
    fn quarantined(
        &self,
        delivery: DeliveryId,
    ) -> impl Future<Output = Result<Option<QuarantinedBody>, InboxError>> + Send;

    /// Queues the events of a quarantined delivery that now splits, and marks it
    /// accepted, in one transaction (deduplicated like an accept).
    fn requeue_quarantined(
        &self,
        delivery: DeliveryId,
        events: Vec<NewEvent>,
        now: Timestamp,
    ) -> impl Future<Output = Result<Accepted, InboxError>> + Send;

    /// Removes what the retention policy lets go.
    fn purge(
        &self,
        retention: Retention,
        now: Timestamp,
    ) -> impl Future<Output = Result<Purged, InboxError>> + Send;

    /// Counts by state.
    fn stats(&self) -> impl Future<Output = Result<Stats, InboxError>> + Send;

    /// Events, newest first.
    fn list_events(
        &self,
        filter: EventFilter,
        page: Page,
    ) -> impl Future<Output = Result<Vec<EventSummary>, InboxError>> + Send;

    /// One event with its bytes, its delivery's headers and every attempt.
    fn event(
        &self,
        id: EventId,
    ) -> impl Future<Output = Result<Option<EventDetail>, InboxError>> + Send;

    /// Deliveries, newest first.
    fn list_deliveries(
        &self,
        filter: DeliveryFilter,
        page: Page,
    ) -> impl Future<Output = Result<Vec<DeliverySummary>, InboxError>> + Send;

    /// One delivery with its body and kept headers.
    fn delivery(
        &self,
        id: DeliveryId,
    ) -> impl Future<Output = Result<Option<DeliveryDetail>, InboxError>> + Send;

    /// A number that grows whenever work may have arrived on this backend (an accept,
    /// a retry scheduled, a release, a redrive). Read it before claiming.
    fn work_generation(&self) -> u64;

    /// Resolves once the work generation has passed `seen` (work may have arrived since
    /// it was read), or after `timeout`, whichever is first. Events another process
    /// queues are found by the worker's polling, at the latest after `timeout`.
    fn wait_for_work(&self, seen: u64, timeout: Duration) -> impl Future<Output = ()> + Send;
}
