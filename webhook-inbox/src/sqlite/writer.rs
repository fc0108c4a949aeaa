//! The single writer: one thread owns the read-write connection and runs every write
//! of this process, grouping whatever is queued into one transaction and one commit.
//!
//! # Group commit
//!
//! With `synchronous=FULL` every commit waits for the disk (an `fsync` of the WAL),
//! about 0.4 ms here; one commit per delivery caps a receiver at a few thousand
//! deliveries a second however many arrive at once. So writes queue on a channel, and
//! the writer takes everything queued (up to a group limit), runs each in a savepoint
//! inside one `BEGIN IMMEDIATE` transaction, commits once, and only then answers each
//! caller. While it waits for the disk, new writes queue up and form the next group:
//! 32 concurrent senders share a handful of syncs instead of paying 32.
//!
//! # Failure
//!
//! An operation that fails alone (its savepoint rolled back) gets its own error and
//! the rest of the group commits. When the transaction itself is lost (SQLite rolls
//! back on a full disk or an I/O error) or the commit fails, **every** operation of the
//! group gets the error: none of them is answered `Ok`, since none is on disk.

use std::{
    sync::mpsc::{Receiver, TryRecvError},
    time::Duration,
};

use rusqlite::{Connection, ErrorCode};
use tokio::sync::{oneshot, watch};

use crate::error::{InboxError, Unavailable};

/// Why an operation failed.
#[derive(Debug)]
pub(crate) enum OpError {
    /// SQLite refused.
    Sql(rusqlite::Error),
    /// The operation found the data not as it must be; nothing to do with storage.
    Inbox(InboxError),
}

impl From<rusqlite::Error> for OpError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<InboxError> for OpError {
    fn from(err: InboxError) -> Self {
        Self::Inbox(err)
    }
}

/// One queued write.
pub(crate) trait WriteOp: Send {
    /// Runs the write inside the group's transaction.
    fn run(&mut self, conn: &Connection) -> Result<(), OpError>;
    /// Answers the caller once the commit is durable.
    fn succeed(self: Box<Self>);
    /// Answers the caller with an error.
    fn fail(self: Box<Self>, err: InboxError);
    /// Whether, once committed, workers may find new work.
    fn wakes_workers(&self) -> bool;
}

/// A write and the caller waiting for its result.
pub(crate) struct Pending<T, F> {
    work: Option<F>,
    result: Option<T>,
    reply: oneshot::Sender<Result<T, InboxError>>,
    wake: bool,
}

impl<T, F> Pending<T, F> {
    pub(crate) fn new(work: F, reply: oneshot::Sender<Result<T, InboxError>>, wake: bool) -> Self {
        Self {
            work: Some(work),
            result: None,
            reply,
            wake,
        }
    }
}

impl<T, F> WriteOp for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, OpError> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<(), OpError> {
        let work = self
            .work
            .take()
            .ok_or_else(|| OpError::Inbox(InboxError::Corrupt("a write ran twice".into())))?;
        self.result = Some(work(conn)?);
        Ok(())
    }

    fn succeed(self: Box<Self>) {
        let result = self
            .result
            .ok_or_else(|| InboxError::Corrupt("a write was answered before it ran".into()));
        // The caller may have gone (a dropped request): the write stands anyway.
        let _ = self.reply.send(result);
    }

    fn fail(self: Box<Self>, err: InboxError) {
        let _ = self.reply.send(Err(err));
    }

    fn wakes_workers(&self) -> bool {
        self.wake
    }
}

/// What the writer thread owns.
pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) queue: Receiver<Box<dyn WriteOp>>,
    pub(crate) work: watch::Sender<u64>,
    pub(crate) max_group: usize,
    pub(crate) retry_after: Duration,
}

impl Writer {
    /// Runs until every sender is dropped.
    pub(crate) fn run(self) {
        while let Ok(first) = self.queue.recv() {
            let mut group = Vec::with_capacity(16);
            group.push(first);
            while group.len() < self.max_group {
                match self.queue.try_recv() {
                    Ok(op) => group.push(op),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&self, group: Vec<Box<dyn WriteOp>>) {
        let conn = &self.conn;
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = self.map(&err);
            group.into_iter().for_each(|op| op.fail(err.clone()));
            return;
        }
        let mut ran = Vec::with_capacity(group.len());
        let mut refused = Vec::new();
        let mut ops = group.into_iter();
        while let Some(mut op) = ops.next() {
            let outcome = statement(conn, "SAVEPOINT op")
                .map_err(OpError::Sql)
                .and_then(|()| op.run(conn));
            match outcome {
                Ok(()) => match statement(conn, "RELEASE op") {
                    Ok(()) => ran.push(op),
                    Err(err) => return self.abandon(err, op, ran, refused, ops),
                },
                Err(err) if conn.is_autocommit() => {
                    // SQLite rolled the whole transaction back (a full disk, an I/O
                    // error): nothing of this group is stored.
                    let err = match err {
                        OpError::Sql(err) => err,
                        OpError::Inbox(err) => {
                            op.fail(err);
                            let lost = rusqlite::Error::SqliteFailure(
                                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                                Some("the transaction was rolled back".into()),
                            );
                            return self.fail_all(&lost, ran, refused, ops);
                        }
                    };
                    return self.abandon(err, op, ran, refused, ops);
                }
                Err(err) => {
                    let rolled_back = conn.execute_batch("ROLLBACK TO op; RELEASE op").is_ok();
                    let err = match err {
                        OpError::Sql(err) => self.map(&err),
                        OpError::Inbox(err) => err,
                    };
                    refused.push((op, err));
                    if !rolled_back {
                        let lost = rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                            Some("a failed write could not be undone".into()),
                        );
                        let _ = conn.execute_batch("ROLLBACK");
                        return self.fail_all(&lost, ran, refused, ops);
                    }
                }
            }
        }
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                let wake = ran.iter().any(|op| op.wakes_workers());
                ran.into_iter().for_each(|op| op.succeed());
                refused.into_iter().for_each(|(op, err)| op.fail(err));
                if wake {
                    self.work.send_modify(|generation| *generation += 1);
                }
            }
            Err(err) => {
                let _ = conn.execute_batch("ROLLBACK");
                self.fail_all(&err, ran, refused, std::iter::empty())
            }
        }
    }

    /// The transaction is lost because of `op`'s error: it and every other op fail.
    fn abandon(
        &self,
        err: rusqlite::Error,
        op: Box<dyn WriteOp>,
        ran: Vec<Box<dyn WriteOp>>,
        refused: Vec<(Box<dyn WriteOp>, InboxError)>,
        rest: impl Iterator<Item = Box<dyn WriteOp>>,
    ) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let mapped = self.map(&err);
        op.fail(mapped);
        self.fail_all(&err, ran, refused, rest);
    }

    fn fail_all(
        &self,
        err: &rusqlite::Error,
        ran: Vec<Box<dyn WriteOp>>,
        refused: Vec<(Box<dyn WriteOp>, InboxError)>,
        rest: impl Iterator<Item = Box<dyn WriteOp>>,
    ) {
        let mapped = self.map(err);
        ran.into_iter().for_each(|op| op.fail(mapped.clone()));
        refused.into_iter().for_each(|(op, own)| op.fail(own));
        rest.for_each(|op| op.fail(mapped.clone()));
    }

    fn map(&self, err: &rusqlite::Error) -> InboxError {
        unavailable(err, self.retry_after)
    }
}

/// Runs a statement kept compiled: the savepoint around each write costs two.
fn statement(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The [`InboxError::Unavailable`] a SQLite error means.
pub(crate) fn unavailable(err: &rusqlite::Error, retry_after: Duration) -> InboxError {
    let kind = match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Unavailable::Full,
        Some(ErrorCode::ReadOnly) => Unavailable::ReadOnly,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Unavailable::Locked,
        _ => Unavailable::Storage,
    };
    InboxError::unavailable(kind, err.to_string(), retry_after)
}
