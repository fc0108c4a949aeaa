//! sqlx's errors as the inbox's: what the caller answers.

use std::time::Duration;

use crate::error::{InboxError, Unavailable};

/// A database error as an [`InboxError`]. Everything the database or the connection
/// refused is [`InboxError::Unavailable`]: the statement's transaction did not commit,
/// so nothing of the request was stored, and the sender (or the worker) tries again.
/// Only a value this version cannot decode is [`InboxError::Corrupt`].
pub(crate) fn sql_error(err: sqlx::Error, retry_after: Duration) -> InboxError {
    let kind = match &err {
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            return InboxError::Corrupt(err.to_string());
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // Class 53: insufficient resources (disk full, out of memory, too many
            // connections).
            Some(code) if code.starts_with("53") => Unavailable::Full,
            // A read-only transaction or a hot standby.
            Some("25006") => Unavailable::ReadOnly,
            // Lock timeouts, deadlocks, serialization failures.
            Some("55P03" | "40P01" | "40001") => Unavailable::Locked,
            _ => Unavailable::Storage,
        },
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => Unavailable::Closed,
        _ => Unavailable::Storage,
    };
    InboxError::unavailable(kind, format!("PostgreSQL: {err}"), retry_after)
}
