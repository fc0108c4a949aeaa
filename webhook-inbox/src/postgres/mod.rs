//! [`PostgresBackend`]: the inbox in PostgreSQL, through `sqlx`, for receivers that run
//! as several replicas sharing one inbox (feature `postgres`).
//!
//! - **Accept** is one transaction: the delivery, then its events' keys inserted with
//!   `INSERT … ON CONFLICT (key) DO NOTHING` (the unique key decides, never a read
//!   before the write: a delivery retried to another replica at the same moment
//!   queues its events once), then the new events. `Ok` only after `COMMIT` returned,
//!   with PostgreSQL's durable defaults (`fsync`, `synchronous_commit`) deciding what
//!   a commit means.
//! - **Claims** take due events with `FOR UPDATE SKIP LOCKED` in one statement:
//!   replicas claiming at once skip each other's rows instead of queueing on them.
//!   Each claim has a random lease token; heartbeat, finish and release are fenced by
//!   it, exactly as in the SQLite backend.
//! - **Waking workers**: after every commit that makes work due, the backend sends
//!   `NOTIFY` on the inbox's channel (coalesced, outside the caller's transaction: see
//!   the `batch` module for why), heard by every replica; each backend keeps one
//!   `LISTEN` connection and wakes its workers on a notification. Workers still poll
//!   at their poll interval, which covers retries coming due, a lost notification and
//!   a listen connection that is down.
//! - **Answers** of handlers finishing together are recorded in one statement, each
//!   still fenced by its own lease.
//! - **Unavailable**: a database that cannot be reached (or refuses a write) within
//!   the acquire timeout makes every call fail with
//!   [`InboxError::Unavailable`](crate::InboxError::Unavailable); an accept then
//!   stored nothing (answer 503 with `Retry-After`). Workers log, wait a poll interval
//!   and claim again, so they resume on their own when the database returns.
//! - **Transactional handlers**: see [`WorkerPoolBuilder::spawn_transactional`]
//!   (crate::WorkerPoolBuilder::spawn_transactional).

mod batch;
mod error;
mod filter;
mod listen;
mod ops;
mod read;
mod schema;
#[cfg(feature = "test-support")]
pub(crate) mod server;
mod transactional;

use std::{sync::Arc, time::Duration};

use sqlx::{
    AssertSqlSafe, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::sync::watch;

pub use self::transactional::TransactionalFuture;
use self::{
    batch::{Finisher, Notifier},
    error::sql_error,
    schema::MigrateError,
};
use crate::{
    accept::{Accepted, NewDelivery, NewEvent},
    backend::{Backend, ClaimRequest, ClaimedEvent, Finish, Finished, Lease, QuarantinedBody},
    error::{DEFAULT_RETRY_AFTER, InboxError},
    model::{
        DeliveryDetail, DeliveryId, DeliverySummary, EventDetail, EventId, EventSummary, Stats,
    },
    query::{DeliveryFilter, EventFilter, Page, Purged, Retention, Selection},
    sqlite::codec::{DEAD, DONE},
    time::Timestamp,
};

/// The schema the inbox's tables live in unless [`PostgresBuilder::schema`] says
/// otherwise.
pub const DEFAULT_SCHEMA: &str = "webhook_inbox";

/// How long a call waits for a connection before the inbox answers unavailable (an
/// accept then answers 503 rather than keeping the sender waiting).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The schema's name and the statements' spelling of it.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// The schema, as given.
    pub(crate) schema: String,
    /// `"schema"`: quoted for SQL.
    quoted: String,
    /// The `NOTIFY` channel.
    pub(crate) channel: String,
}

impl Names {
    fn new(schema: &str) -> Result<Self, InboxError> {
        let valid = !schema.is_empty()
            && schema.len() <= 50
            && schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(InboxError::Invalid(format!(
                "`{schema}` is not a usable schema name: use 1 to 50 lowercase ASCII letters, \
                 digits and underscores, not starting with a digit"
            )));
        }
        Ok(Self {
            schema: schema.to_owned(),
            quoted: format!("\"{schema}\""),
            channel: format!("{schema}.work"),
        })
    }

    /// `sql` with `§` replaced by the quoted schema name.
    pub(crate) fn sql(&self, sql: &str) -> AssertSqlSafe<String> {
        // The schema name was validated: only [a-z0-9_].
        AssertSqlSafe(sql.replace('§', &self.quoted))
    }
}

enum Source {
    Url(String),
    Pool(PgPool),
}

/// How to open an inbox in PostgreSQL.
pub struct PostgresBuilder {
    source: Source,
    schema: String,
    retry_after: Duration,
    acquire_timeout: Duration,
    max_connections: u32,
}

impl std::fmt::Debug for PostgresBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("PostgresBuilder")
            .field("schema", &self.schema)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl PostgresBuilder {
    /// The schema the inbox's tables live in (default [`DEFAULT_SCHEMA`]); created if
    /// missing. Lowercase ASCII letters, digits and underscores.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The `Retry-After` of unavailable errors (default [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// For a URL: how long a call waits for a connection before answering unavailable
    /// (default [`DEFAULT_ACQUIRE_TIMEOUT`]). A pool of the application's keeps its own.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// For a URL: the most connections the backend's pool opens (default 16; one more
    /// is held for `LISTEN`).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(2);
        self
    }

    /// Connects, migrates the schema (under an advisory lock: safe when replicas start
    /// at once) and starts listening for work.
    ///
    /// Fails with [`InboxError::Unavailable`] when the database cannot be reached,
    /// [`InboxError::SchemaTooNew`] when a newer version of this crate migrated it.
    pub async fn connect(self) -> Result<PostgresBackend, InboxError> {
        self.connect_at(schema::VERSION).await
    }

    async fn connect_at(self, version: i64) -> Result<PostgresBackend, InboxError> {
        let names = Names::new(&self.schema)?;
        let retry_after = self.retry_after;
        let pool = match self.source {
            Source::Pool(pool) => pool,
            Source::Url(url) => {
                let options: PgConnectOptions = url.parse().map_err(|err: sqlx::Error| {
                    InboxError::Invalid(format!("not a PostgreSQL URL: {err}"))
                })?;
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_with(options)
                    .await
                    .map_err(|err| sql_error(err, retry_after))?
            }
        };
        let mut tx = pool
            .begin()
            .await
            .map_err(|err| sql_error(err, retry_after))?;
        match schema::migrate(&mut tx, &names, version).await {
            Ok(()) => {}
            Err(MigrateError::Sql(err)) => return Err(sql_error(err, retry_after)),
            Err(MigrateError::Inbox(err)) => return Err(err),
        }
        tx.commit()
            .await
            .map_err(|err| sql_error(err, retry_after))?;
        let (work_tx, work_rx) = watch::channel(0u64);
        let work_tx = Arc::new(work_tx);
        let listener = tokio::spawn(listen::run(
            pool.clone(),
            names.channel.clone(),
            Arc::clone(&work_tx),
        ));
        let (finisher, recorder) = Finisher::start(pool.clone(), names.clone(), retry_after);
        let recorder = tokio::spawn(recorder);
        let (notifier, sender) = Notifier::start(pool.clone(), &names);
        let sender = tokio::spawn(sender);
        Ok(PostgresBackend {
            shared: Arc::new(Shared {
                pool,
                names,
                retry_after,
                work_tx,
                work_rx,
                finisher,
                notifier,
                tasks: [
                    listener.abort_handle(),
                    recorder.abort_handle(),
                    sender.abort_handle(),
                ],
            }),
        })
    }
}

/// The inbox's PostgreSQL backend: any number of replicas on one database. Cheap to
/// clone (shared).
///
/// ```no_run
/// use webhook_inbox::{Inbox, PostgresBackend};
///
/// # async fn run() -> Result<(), webhook_inbox::InboxError> {
/// let backend = PostgresBackend::builder("postgres://inbox@db.internal/app")
///     .schema("webhook_inbox") // the default
///     .connect()
///     .await?;
/// let inbox = Inbox::new(backend);
/// # let _ = inbox; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresBackend {
    shared: Arc<Shared>,
}

struct Shared {
    pool: PgPool,
    names: Names,
    retry_after: Duration,
    work_tx: Arc<watch::Sender<u64>>,
    work_rx: watch::Receiver<u64>,
    finisher: Finisher,
    notifier: Notifier,
    /// The listener, the answers' recorder and the notifier.
    tasks: [tokio::task::AbortHandle; 3],
}

impl Drop for Shared {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("schema", &self.shared.names.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresBackend {
    /// Connects to `url` with the defaults (see [`PostgresBuilder`]).
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        Self::builder(url).connect().await
    }

    /// A builder that connects to `url` with a pool of its own.
    pub fn builder(url: impl Into<String>) -> PostgresBuilder {
        Self::builder_from(Source::Url(url.into()))
    }

    /// A builder on the application's own pool: the inbox's statements and a
    /// transactional handler's transactions then use the application's connections
    /// (one of them is held for `LISTEN`).
    pub fn with_pool(pool: PgPool) -> PostgresBuilder {
        Self::builder_from(Source::Pool(pool))
    }

    fn builder_from(source: Source) -> PostgresBuilder {
        PostgresBuilder {
            source,
            schema: DEFAULT_SCHEMA.to_owned(),
            retry_after: DEFAULT_RETRY_AFTER,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            max_connections: 16,
        }
    }

    /// The pool the backend uses.
    pub fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    /// The schema the inbox's tables live in.
    pub fn schema(&self) -> &str {
        &self.shared.names.schema
    }

    /// The schema version this crate writes.
    pub fn schema_version() -> i64 {
        schema::VERSION
    }

    /// Connects and migrates only up to `version` (older than the current one), to
    /// test upgrades.
    #[cfg(feature = "test-support")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-support")))]
    pub async fn connect_at_version(
        builder: PostgresBuilder,
        version: i64,
    ) -> Result<Self, InboxError> {
        builder.connect_at(version).await
    }

    pub(crate) fn names(&self) -> &Names {
        &self.shared.names
    }

    fn error(&self, err: sqlx::Error) -> InboxError {
        sql_error(err, self.shared.retry_after)
    }

    /// Marks that work may have arrived: this process's workers at once, other
    /// replicas' by a `NOTIFY` (sent after the caller's commit).
    fn wake(&self) {
        self.shared.notifier.poke();
        self.shared
            .work_tx
            .send_modify(|generation| *generation += 1);
    }
}

impl Backend for PostgresBackend {
    async fn accept(&self, delivery: NewDelivery) -> Result<Accepted, InboxError> {
        let accepted = ops::accept(self, &delivery).await?;
        if accepted.queued() > 0 {
            self.wake();
        }
        Ok(accepted)
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<ClaimedEvent>, InboxError> {
        ops::claim(self, &request).await
    }

    async fn heartbeat(
        &self,
        leases: Vec<Lease>,
        until: Timestamp,
    ) -> Result<Vec<Lease>, InboxError> {
        ops::heartbeat(self, &leases, until).await
    }

    async fn finish(&self, finish: Finish) -> Result<Finished, InboxError> {
        // Recorded with the other answers queued now, in one statement.
        self.shared
            .finisher
            .finish(finish, self.shared.retry_after)
            .await
    }

    async fn release(
        &self,
        leases: Vec<Lease>,
        worker: String,
        now: Timestamp,
    ) -> Result<u64, InboxError> {
        let released = ops::release(self, &leases, &worker, now).await?;
        if released > 0 {
            self.wake();
        }
        Ok(released)
    }

    async fn redrive(&self, selection: Selection, now: Timestamp) -> Result<u64, InboxError> {
        let changed = ops::rerun(self, &selection, DEAD, now).await?;
        if changed > 0 {
            self.wake();
        }
        Ok(changed)
    }

    async fn replay(&self, selection: Selection, now: Timestamp) -> Result<u64, InboxError> {
        let changed = ops::rerun(self, &selection, DONE, now).await?;
        if changed > 0 {
            self.wake();
        }
        Ok(changed)
    }

    async fn quarantined(
        &self,
        delivery: DeliveryId,
    ) -> Result<Option<QuarantinedBody>, InboxError> {
        read::quarantined(self, delivery).await
    }

    async fn requeue_quarantined(
        &self,
        delivery: DeliveryId,
        events: Vec<NewEvent>,
        now: Timestamp,
    ) -> Result<Accepted, InboxError> {
        let accepted = ops::requeue(self, delivery, &events, now).await?;
        if accepted.queued() > 0 {
            self.wake();
        }
        Ok(accepted)
    }

    async fn purge(&self, retention: Retention, now: Timestamp) -> Result<Purged, InboxError> {
        ops::purge(self, &retention, now).await
    }

    async fn stats(&self) -> Result<Stats, InboxError> {
        read::stats(self).await
    }

    async fn list_events(
        &self,
        filter: EventFilter,
        page: Page,
    ) -> Result<Vec<EventSummary>, InboxError> {
        read::list_events(self, &filter, &page).await
    }

    async fn event(&self, id: EventId) -> Result<Option<EventDetail>, InboxError> {
        read::event(self, id).await
    }

    async fn list_deliveries(
        &self,
        filter: DeliveryFilter,
        page: Page,
    ) -> Result<Vec<DeliverySummary>, InboxError> {
        read::list_deliveries(self, &filter, &page).await
    }

    async fn delivery(&self, id: DeliveryId) -> Result<Option<DeliveryDetail>, InboxError> {
        read::delivery(self, id).await
    }

    fn work_generation(&self) -> u64 {
        *self.shared.work_rx.borrow()
    }

    async fn wait_for_work(&self, seen: u64, timeout: Duration) {
        let mut work = self.shared.work_rx.clone();
        let _ = tokio::time::timeout(timeout, work.wait_for(|&generation| generation > seen)).await;
    }
}
