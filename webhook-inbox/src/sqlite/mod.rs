//! [`SqliteBackend`]: the inbox in one SQLite file, through `rusqlite` (SQLite
//! bundled: nothing to install).
//!
//! - **Durability**: WAL mode with `synchronous=FULL` by default: a commit is on disk
//!   (the WAL synced) before any caller hears `Ok`. [`Durability::Normal`] is the
//!   documented opt-in for speed: it survives a crash of the process, but a power loss
//!   or an OS crash may undo the last commits, i.e. lose deliveries already answered 2xx.
//! - **One writer**: a dedicated thread owns the read-write connection and runs every
//!   write, grouping what is queued into one transaction and one sync (see the
//!   `writer` module). Queries use a separate read-only connection (WAL lets them run
//!   beside the writer) on tokio's blocking pool.
//! - **Several processes** may open one file: each has its own writer, SQLite's lock
//!   serialises their transactions (each waits up to the lock timeout), claims are
//!   fenced by lease tokens, and a process finds events the others queued by polling.
//! - **Back-pressure**: a write that cannot commit (disk full, the size cap, a read-only
//!   file, the lock held past the timeout) fails with
//!   [`InboxError::Unavailable`](crate::InboxError::Unavailable) and stores nothing.

pub(crate) mod codec;
mod filter;
mod ops;
mod read;
mod schema;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, watch};

use self::{
    codec::{DEAD, DONE},
    read::ReadError,
    writer::{OpError, Pending, WriteOp, Writer, unavailable},
};
use crate::{
    accept::{Accepted, NewDelivery, NewEvent},
    backend::{Backend, ClaimRequest, ClaimedEvent, Finish, Finished, Lease, QuarantinedBody},
    error::{DEFAULT_RETRY_AFTER, InboxError, Unavailable},
    model::{
        DeliveryDetail, DeliveryId, DeliverySummary, EventDetail, EventId, EventSummary, Stats,
    },
    query::{DeliveryFilter, EventFilter, Page, Purged, Retention, Selection},
    time::Timestamp,
};

/// How durable a commit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: every commit is synced to disk before it is acknowledged.
    /// A 2xx means the delivery survives a power loss. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits survive a crash of the process, but the last ones
    /// may be lost on a power loss or OS crash, after their senders were answered 2xx.
    /// Faster; only for receivers that accept that loss.
    Normal,
}

/// The default time a write waits for another process's lock before the inbox answers
/// unavailable.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The most writes one commit carries.
pub const DEFAULT_MAX_GROUP: usize = 256;

/// How to open an inbox file.
#[derive(Debug, Clone)]
pub struct SqliteBuilder {
    path: PathBuf,
    durability: Durability,
    lock_timeout: Duration,
    max_size: Option<u64>,
    retry_after: Duration,
    max_group: usize,
}

impl SqliteBuilder {
    /// How durable commits are (default [`Durability::Full`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How long a write waits for another process's lock (default
    /// [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Caps the file's size (rounded down to whole pages): writes past it fail as
    /// [`Unavailable::Full`], exactly as a full disk does. Default: no cap.
    pub fn max_size_bytes(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The `Retry-After` of unavailable errors (default [`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The most writes one commit carries (default [`DEFAULT_MAX_GROUP`]; 1 turns group
    /// commit off, for comparison).
    pub fn max_group(mut self, max_group: usize) -> Self {
        self.max_group = max_group.max(1);
        self
    }

    /// Opens (creating if needed) and migrates the file, and starts its writer thread.
    pub fn open(self) -> Result<SqliteBackend, InboxError> {
        let map = |err: rusqlite::Error| unavailable(&err, self.retry_after);
        let mut conn = Connection::open(&self.path).map_err(map)?;
        conn.busy_timeout(self.lock_timeout).map_err(map)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(map)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(InboxError::unavailable(
                Unavailable::Storage,
                format!(
                    "{} cannot use write-ahead logging (journal mode `{mode}`): put the inbox on \
                     a local file system",
                    self.path.display()
                ),
                self.retry_after,
            ));
        }
        let synchronous = match self.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(map)?;
        // Each write runs in a savepoint, whose undo journal stays in memory rather
        // than in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(map)?;
        // Keys are content hashes, so each new one lands on a random page of the key
        // index: a page cache of 16 MiB (SQLite's default is 2 MiB) keeps that index in
        // memory for about half a million keys.
        conn.pragma_update(None, "cache_size", -16 * 1024)
            .map_err(map)?;
        schema::check(&conn)?;
        schema::migrate(&mut conn, schema::VERSION).map_err(map)?;
        if let Some(bytes) = self.max_size {
            let page: i64 = conn
                .query_row("PRAGMA page_size", [], |row| row.get(0))
                .map_err(map)?;
            let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page.max(1);
            conn.pragma_update(None, "max_page_count", pages.max(1))
                .map_err(map)?;
        }
        let reader = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(map)?;
        reader.busy_timeout(self.lock_timeout).map_err(map)?;

        let (queue_tx, queue_rx) = mpsc::channel::<Box<dyn WriteOp>>();
        let (work_tx, work_rx) = watch::channel(0u64);
        let writer = Writer {
            conn,
            queue: queue_rx,
            work: work_tx,
            max_group: self.max_group,
            retry_after: self.retry_after,
        };
        std::thread::Builder::new()
            .name("webhook-inbox-writer".into())
            .spawn(move || writer.run())
            .map_err(|err| {
                InboxError::unavailable(
                    Unavailable::Closed,
                    format!("cannot start the writer thread: {err}"),
                    self.retry_after,
                )
            })?;
        Ok(SqliteBackend {
            shared: Arc::new(Shared {
                queue: Mutex::new(queue_tx),
                reader: Arc::new(Mutex::new(reader)),
                work: work_rx,
                path: self.path,
                retry_after: self.retry_after,
            }),
        })
    }
}

/// The inbox's SQLite backend: one file, one writer thread, group commit. Cheap to
/// clone (shared).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use webhook_inbox::{Durability, SqliteBackend};
///
/// let backend = SqliteBackend::builder(dir.path().join("inbox.db"))
///     .durability(Durability::Full) // the default
///     .open()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteBackend {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<mpsc::Sender<Box<dyn WriteOp>>>,
    reader: Arc<Mutex<Connection>>,
    work: watch::Receiver<u64>,
    path: PathBuf,
    retry_after: Duration,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Opens `path` with the defaults (see [`SqliteBuilder`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        Self::builder(path).open()
    }

    /// A builder for `path`.
    pub fn builder(path: impl AsRef<Path>) -> SqliteBuilder {
        SqliteBuilder {
            path: path.as_ref().to_owned(),
            durability: Durability::default(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            max_size: None,
            retry_after: DEFAULT_RETRY_AFTER,
            max_group: DEFAULT_MAX_GROUP,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The schema version this crate writes.
    pub fn schema_version() -> i64 {
        schema::VERSION
    }

    /// Creates a file at schema `version` (older than the current one), to test
    /// upgrades.
    #[cfg(feature = "test-support")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-support")))]
    pub fn create_at_version(path: impl AsRef<Path>, version: i64) -> Result<(), InboxError> {
        let map = |err: rusqlite::Error| unavailable(&err, DEFAULT_RETRY_AFTER);
        let mut conn = Connection::open(path).map_err(map)?;
        schema::migrate(&mut conn, version.min(schema::VERSION)).map_err(map)
    }

    fn closed(&self) -> InboxError {
        InboxError::unavailable(
            Unavailable::Closed,
            "the inbox writer has stopped",
            self.shared.retry_after,
        )
    }

    async fn write<T, F>(&self, wake: bool, work: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, OpError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let op: Box<dyn WriteOp> = Box::new(Pending::new(work, reply, wake));
        {
            let queue = self.shared.queue.lock().map_err(|_| self.closed())?;
            queue.send(op).map_err(|_| self.closed())?;
        }
        answer.await.map_err(|_| self.closed())?
    }

    async fn read<T, F>(&self, query: F) -> Result<T, InboxError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ReadError> + Send + 'static,
    {
        let reader = Arc::clone(&self.shared.reader);
        let retry_after = self.shared.retry_after;
        let closed = self.closed();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().map_err(|_| closed)?;
            query(&conn).map_err(|err| match err {
                ReadError::Sql(err) => unavailable(&err, retry_after),
                ReadError::Inbox(err) => err,
            })
        })
        .await
        .map_err(|err| InboxError::unavailable(Unavailable::Closed, err.to_string(), retry_after))?
    }
}

impl Backend for SqliteBackend {
    async fn accept(&self, delivery: NewDelivery) -> Result<Accepted, InboxError> {
        self.write(true, move |conn| ops::accept(conn, &delivery))
            .await
    }

    async fn claim(&self, request: ClaimRequest) -> Result<Vec<ClaimedEvent>, InboxError> {
        self.write(false, move |conn| ops::claim(conn, &request))
            .await
    }

    async fn heartbeat(
        &self,
        leases: Vec<Lease>,
        until: Timestamp,
    ) -> Result<Vec<Lease>, InboxError> {
        self.write(false, move |conn| ops::heartbeat(conn, &leases, until))
            .await
    }

    async fn finish(&self, finish: Finish) -> Result<Finished, InboxError> {
        let wake = matches!(finish.verdict, crate::backend::Verdict::Retry { .. });
        self.write(wake, move |conn| ops::finish(conn, &finish))
            .await
    }

    async fn release(
        &self,
        leases: Vec<Lease>,
        worker: String,
        now: Timestamp,
    ) -> Result<u64, InboxError> {
        self.write(true, move |conn| ops::release(conn, &leases, &worker, now))
            .await
    }

    async fn redrive(&self, selection: Selection, now: Timestamp) -> Result<u64, InboxError> {
        self.write(true, move |conn| ops::rerun(conn, &selection, DEAD, now))
            .await
    }

    async fn replay(&self, selection: Selection, now: Timestamp) -> Result<u64, InboxError> {
        self.write(true, move |conn| ops::rerun(conn, &selection, DONE, now))
            .await
    }

    async fn quarantined(
        &self,
        delivery: DeliveryId,
    ) -> Result<Option<QuarantinedBody>, InboxError> {
        self.read(move |conn| read::quarantined(conn, delivery))
            .await
    }

    async fn requeue_quarantined(
        &self,
        delivery: DeliveryId,
        events: Vec<NewEvent>,
        now: Timestamp,
    ) -> Result<Accepted, InboxError> {
        self.write(true, move |conn| ops::requeue(conn, delivery, &events, now))
            .await
    }

    async fn purge(&self, retention: Retention, now: Timestamp) -> Result<Purged, InboxError> {
        self.write(false, move |conn| ops::purge(conn, &retention, now))
            .await
    }

    async fn stats(&self) -> Result<Stats, InboxError> {
        self.read(read::stats).await
    }

    async fn list_events(
        &self,
        filter: EventFilter,
        page: Page,
    ) -> Result<Vec<EventSummary>, InboxError> {
        self.read(move |conn| read::list_events(conn, &filter, &page))
            .await
    }

    async fn event(&self, id: EventId) -> Result<Option<EventDetail>, InboxError> {
        self.read(move |conn| read::event(conn, id)).await
    }

    async fn list_deliveries(
        &self,
        filter: DeliveryFilter,
        page: Page,
    ) -> Result<Vec<DeliverySummary>, InboxError> {
        self.read(move |conn| read::list_deliveries(conn, &filter, &page))
            .await
    }

    async fn delivery(&self, id: DeliveryId) -> Result<Option<DeliveryDetail>, InboxError> {
        self.read(move |conn| read::delivery(conn, id)).await
    }

    fn work_generation(&self) -> u64 {
        *self.shared.work.borrow()
    }

    async fn wait_for_work(&self, seen: u64, timeout: Duration) {
        let mut work = self.shared.work.clone();
        let _ = tokio::time::timeout(timeout, work.wait_for(|&generation| generation > seen)).await;
    }
}
