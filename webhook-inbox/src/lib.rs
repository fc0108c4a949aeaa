//! # webhook-inbox
//!
//! A durable inbox for [hookwise](https://github.com/hookwise/hookwise): a verified
//! delivery is **on disk before the sender hears 2xx**, and the application's handler
//! runs later, from the stored bytes, with retries, leases and a dead state. The
//! sender's patience stops being the handler's budget.
//!
//! ```
//! use std::time::Duration;
//! use webhook_core::{Scheme, Secret, Verifier, senders::stalwart::{self, WebhookEvent}};
//! use webhook_inbox::{Inbox, Outcome, Route};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let inbox = Inbox::open(dir.path().join("inbox.db"))?;
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//!
//! // In the request handler: verify, accept, answer.
//! let body = br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-signature", stalwart::sign(&Secret::new("k"), body).parse()?);
//! let verified = verifier.verify(&headers, body.to_vec())?;
//! let accepted = inbox.accept(&Route::of(Scheme::Stalwart), &headers, verified).await?;
//! assert_eq!((accepted.status().as_u16(), accepted.queued()), (200, 1));
//!
//! // Beside the server: workers run the handler on each event.
//! let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
//! let workers = inbox.workers().concurrency(4).spawn_typed(move |event: WebhookEvent<'static>, job| {
//!     let seen_tx = seen_tx.clone();
//!     async move {
//!         // `job.key()` is the event's deduplication key: the same on every delivery.
//!         seen_tx.send((event.event_type().as_str().to_owned(), job.attempt())).ok();
//!         Outcome::Done
//!     }
//! });
//! assert_eq!(seen.recv().await, Some(("auth.success".to_owned(), 1)));
//! workers.shutdown(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # What is guaranteed
//!
//! - **Never lost once acknowledged.** [`Inbox::accept`] returns `Ok` only after one
//!   transaction holding the delivery's exact body, the headers that verify it again,
//!   its route and arrival time, and one row per event is committed and synced
//!   (SQLite WAL with `synchronous=FULL`; [`Durability::Normal`] is the documented
//!   opt-in that may lose the last commits on a power loss). When the inbox cannot
//!   write it returns [`InboxError::Unavailable`] and has stored nothing: answer 503
//!   with `Retry-After`, and the sender retries.
//! - **At least once to the handler.** Every stored event runs until the handler
//!   answers done, or it dies (its handler failed it for good, or the
//!   [`RetryPolicy`]'s attempts or age ran out) and stays dead, bytes and last error
//!   kept, until [`Inbox::redrive`]. An event claimed by a process that crashed runs
//!   again once its lease expires. So a handler may see an event more than once — after
//!   a crash, or when it outlived its lease — and must make its effects idempotent:
//!   [`Job::key`] is the event's deduplication key, the same on every delivery and
//!   every attempt, to check in the handler's own database.
//! - **Once per delivery of an event.** An event whose key the route already knows is
//!   not queued again: a redelivered batch is stored and answered 2xx, and queues only
//!   its new events ([`Accepted`] reports the duplicates). Keys are kept at least
//!   [`Retention::keys_after`] (7 days by default, beyond every seed sender's retry
//!   horizon).
//! - **Fenced leases.** Each claim has a lease token; completing, retrying, renewing
//!   or releasing an event requires it. A worker whose lease ran out and was taken
//!   over cannot overwrite the new claim's result: its answer is refused and recorded.
//! - **Every attempt recorded**: when, how long, how it ended, the error text.
//!
//! # What is stored
//!
//! Deliveries keep their exact body (never re-serialized) and the sender's signature
//! headers with `Content-Type`, never `Authorization`. Each event keeps its exact
//! bytes: an element of a batch, a JSON Lines line, or the whole body for one-event
//! senders (which is then not stored twice). Replays and redrives run from those bytes.
//!
//! **Quarantine, not 400**: a body that verifies but that this version of hookwise
//! cannot parse (a sender's new format, a parser gap) is stored as a quarantined
//! delivery with its parse error and no events, and answered 2xx. Refusing it would
//! make the sender retry a body that will never parse better, and then drop it: an
//! authentic event lost to our parser. [`Inbox::retry_quarantined`] splits it again
//! after an upgrade.
//!
//! # Why SQLite through rusqlite
//!
//! The embedded default is one SQLite file, opened through `rusqlite` with SQLite
//! bundled, a dedicated writer thread doing group commit. Measured on this project's
//! 2-vCPU machine (release builds, WAL, `synchronous=FULL`, three rounds), writing
//! 10 000 event rows of 300-byte blobs with a unique key in one transaction took
//! 94–105 ms with rusqlite against 236–395 ms with sqlx 0.9's SQLite driver, whose
//! every statement crosses to its own worker thread; single-row commits were
//! fsync-bound either way (270–2 970 per second, the disk's variance). Inserting rows
//! is the inbox's hot path (a 10 000-event Stalwart batch), and sqlx's async interface
//! buys nothing when one thread owns the only writer. A PostgreSQL backend (where sqlx
//! fits) implements the same [`Backend`] contract.
//!
//! # PostgreSQL: replicas, and handlers that commit with the event
//!
//! With the `postgres` feature, [`PostgresBackend`] keeps the same contract in a
//! PostgreSQL database that any number of receiver replicas share (behind a load
//! balancer, each running the same code):
//!
//! - **Any replica accepts.** Accept is one transaction; each event's key is inserted
//!   with `INSERT … ON CONFLICT DO NOTHING` under a unique key, so a delivery retried
//!   to another replica (even at the same instant) queues nothing new.
//! - **Any replica's workers claim**, with `FOR UPDATE SKIP LOCKED`, under fenced
//!   leases that a heartbeat renews; a replica that dies mid-handler loses its leases
//!   and its events run elsewhere once they expire. Idle workers wait on
//!   `LISTEN/NOTIFY` (every accept notifies at commit), with the poll interval as a
//!   fallback.
//! - **Migrations** are versioned and run under an advisory lock: replicas may start
//!   at once.
//! - **Faults**: a database that cannot be reached makes accept fail with
//!   [`InboxError::Unavailable`] (answer 503 with `Retry-After`: nothing was stored);
//!   workers log, wait and resume on their own when it returns. What was acknowledged
//!   was committed, so a PostgreSQL restart loses none of it.
//!
//! **Transactional handlers** ([`WorkerPoolBuilder::spawn_transactional`]) get the
//! inbox's transaction, `&mut sqlx::Transaction<'static, Postgres>`, on the
//! application's own pool if it handed one over ([`PostgresBackend::with_pool`]). The
//! handler writes its rows in it; when it answers [`Outcome::Done`] the event is marked
//! done — fenced by the attempt's lease — **in the same transaction**, and it commits.
//! The guarantee, precisely:
//!
//! - A write made through that transaction is committed **exactly once per run of the
//!   event** (its arrival; an explicit [`Inbox::redrive`] or [`Inbox::replay`] starts
//!   a new run): never zero times once the event is done, never twice, across worker
//!   crashes, lease expiries, retries, redeliveries by the sender and replicas. An
//!   attempt that crashes, fails, panics or lost its lease rolls its writes back.
//! - Anything else the handler does (an e-mail, an HTTP call, a write through another
//!   connection) is still **at least once**: key it with [`Job::key`].
//!
//! Every replica runs this (compiled, not run: it needs a database):
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn replica() -> Result<(), Box<dyn std::error::Error>> {
//! use webhook_core::senders::stalwart::WebhookEvent;
//! use webhook_inbox::{Inbox, Outcome, PostgresBackend, sqlx};
//!
//! // The application's pool: the inbox's tables go in their own schema beside the
//! // application's, and the handler's writes share the event's transaction.
//! let pool = sqlx::postgres::PgPoolOptions::new()
//!     .max_connections(20)
//!     .connect("postgres://app@db.internal/app")
//!     .await?;
//! sqlx::query(
//!     "CREATE TABLE IF NOT EXISTS sign_ins (event_key BYTEA PRIMARY KEY, kind TEXT NOT NULL)",
//! )
//! .execute(&pool)
//! .await?;
//! let inbox = Inbox::new(PostgresBackend::with_pool(pool).connect().await?);
//!
//! // The HTTP side calls `inbox.accept(…)` and answers 2xx on `Ok`, 503 on
//! // `InboxError::Unavailable` (see the first example). Beside it, the workers:
//! let workers = inbox.workers().concurrency(8).spawn_transactional(|job, tx| {
//!     Box::pin(async move {
//!         let event: WebhookEvent<'static> = match job.event() {
//!             Ok(event) => event,
//!             Err(err) => return Outcome::failed(err),
//!         };
//!         // Committed together with the event's "done", or not at all.
//!         let written = sqlx::query("INSERT INTO sign_ins (event_key, kind) VALUES ($1, $2)")
//!             .bind(job.key().as_bytes())
//!             .bind(event.event_type().as_str())
//!             .execute(&mut **tx)
//!             .await;
//!         match written {
//!             Ok(_) => Outcome::Done,
//!             // Rolled back; retried by the retry policy.
//!             Err(err) => Outcome::retry(err),
//!         }
//!     })
//! });
//! # workers.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # Parts
//!
//! - [`Inbox`]: accept, query ([`stats`](Inbox::stats), [`list_events`](Inbox::list_events),
//!   [`event`](Inbox::event), [`list_deliveries`](Inbox::list_deliveries),
//!   [`delivery`](Inbox::delivery)) and act ([`redrive`](Inbox::redrive),
//!   [`replay`](Inbox::replay), [`retry_quarantined`](Inbox::retry_quarantined),
//!   [`purge`](Inbox::purge)).
//! - [`WorkerPoolBuilder`] / [`WorkerPool`]: the workers, on the application's tokio
//!   runtime, with graceful shutdown.
//! - [`Answer`]: what an HTTP adapter answers once an accept has ended (200 after the
//!   commit; 503 with `Retry-After` when nothing could be stored), so that
//!   `webhook_axum::inbox` and `webhook_actix::inbox` answer alike.
//! - [`Backend`]: the storage contract; [`SqliteBackend`] implements it, and
//!   [`PostgresBackend`] (feature `postgres`).
//! - `contract` (feature `test-support`): the backend contract as a test suite;
//!   `testing` (features `test-support` and `postgres`): a real PostgreSQL server for
//!   tests.
#![cfg_attr(docsrs, feature(doc_cfg))]
// The PostgreSQL items the docs link to exist only with the `postgres` feature.
#![cfg_attr(not(feature = "postgres"), allow(rustdoc::broken_intra_doc_links))]

mod accept;
mod answer;
mod backend;
#[cfg(feature = "test-support")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-support")))]
pub mod contract;
mod error;
mod inbox;
mod model;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod retry;
mod route;
mod sqlite;
mod time;
mod worker;

pub use accept::{Accepted, AcceptedEvent, Content, EventAcceptance, NewDelivery, NewEvent};
pub use answer::Answer;
pub use backend::{
    Backend, ClaimRequest, ClaimedEvent, Finish, Finished, Lease, QuarantinedBody, Verdict,
};
pub use error::{DEFAULT_RETRY_AFTER, InboxError, Unavailable};
pub use inbox::Inbox;
pub use model::{
    AttemptOutcome, AttemptRecord, DeliveryDetail, DeliveryId, DeliveryState, DeliverySummary,
    EventDetail, EventId, EventKey, EventState, EventSummary, Stats, StoredHeader, StoredKey,
    StoredVerification,
};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{
    DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_SCHEMA, PostgresBackend, PostgresBuilder, TransactionalFuture,
};
pub use query::{
    DEFAULT_KEY_RETENTION, DeliveryFilter, EventFilter, Page, Purged, Retention, Selection,
};
pub use retry::{GiveUpReason, RetryDecision, RetryPolicy};
pub use route::Route;
pub use sqlite::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_GROUP, Durability, SqliteBackend, SqliteBuilder,
};
/// The `sqlx` this crate's PostgreSQL backend is built on (for the transactional
/// handler's transaction and the application's pool, at the same version).
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use sqlx;
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use worker::{Job, Outcome, ShutdownReport, WorkerConfig, WorkerPool, WorkerPoolBuilder};

/// Real servers for tests and benches (features `postgres` and `test-support`).
#[cfg(all(feature = "postgres", feature = "test-support"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "postgres", feature = "test-support"))))]
pub mod testing {
    pub use crate::postgres::server::PostgresServer;
}
