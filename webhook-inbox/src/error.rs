//! [`InboxError`]: why the inbox could not do what was asked, and what the caller
//! answers.
//!
//! The one that matters most is [`InboxError::Unavailable`]: the inbox could not write
//! (disk full, read-only file, database locked for too long, the writer stopped). An
//! accept that returns it stored **nothing**: the adapter answers 503 with
//! `Retry-After`, which every seed sender retries. The inbox never answers `Ok` for a
//! delivery that is not committed.

use std::time::Duration;

use http::StatusCode;

/// How long a sender is asked to wait before retrying, by default, when the inbox
/// cannot write.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why the inbox could not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unavailable {
    /// The disk (or the inbox's configured size cap) is full.
    Full,
    /// The file or its directory is read-only.
    ReadOnly,
    /// Another connection held the database longer than the lock timeout.
    Locked,
    /// The storage failed (an I/O error, a corrupt file, a connection refused).
    Storage,
    /// The inbox's writer has stopped (the inbox is shutting down or crashed).
    Closed,
}

impl Unavailable {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Full => "inbox_full",
            Self::ReadOnly => "inbox_read_only",
            Self::Locked => "inbox_locked",
            Self::Storage => "inbox_storage_error",
            Self::Closed => "inbox_closed",
        }
    }
}

/// What went wrong in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The inbox could not write or read its storage; nothing of the request was
    /// stored. Answer 503 with [`retry_after`](Self::retry_after).
    #[error(
        "the inbox is unavailable ({}): {detail}; nothing was stored, the sender should retry \
         after {}s",
        kind.code(),
        retry_after.as_secs()
    )]
    Unavailable {
        /// Why.
        kind: Unavailable,
        /// The storage's own message (never a secret: storage paths and SQL errors).
        detail: String,
        /// When to retry.
        retry_after: Duration,
    },
    /// The storage was written by a newer version of this crate, whose schema this
    /// version does not know.
    #[error(
        "the inbox's schema is version {found}, newer than the {supported} this version of \
         webhook-inbox knows: upgrade webhook-inbox, or open another file"
    )]
    SchemaTooNew {
        /// The storage's schema version.
        found: i64,
        /// The newest this version knows.
        supported: i64,
    },
    /// The storage holds a value this version cannot read (a scheme or state it does not
    /// know).
    #[error("the inbox holds a value this version cannot read: {0}")]
    Corrupt(String),
    /// No event or delivery has that id.
    #[error("no {what} with id {id} in the inbox")]
    NotFound {
        /// `event` or `delivery`.
        what: &'static str,
        /// The id asked for.
        id: i64,
    },
    /// The request cannot be carried out as asked (a quarantined delivery that still
    /// does not parse, a route name that is not a valid namespace).
    #[error("{0}")]
    Invalid(String),
}

impl InboxError {
    /// 503 for [`Unavailable`](Self::Unavailable), 404 for
    /// [`NotFound`](Self::NotFound), 400 for [`Invalid`](Self::Invalid), 500 for the
    /// rest.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::SchemaTooNew { .. } | Self::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `Retry-After` to answer with, for [`Unavailable`](Self::Unavailable).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable { kind, .. } => kind.code(),
            Self::SchemaTooNew { .. } => "inbox_schema_too_new",
            Self::Corrupt(_) => "inbox_corrupt",
            Self::NotFound { .. } => "not_found",
            Self::Invalid(_) => "invalid",
        }
    }

    /// An [`Unavailable`](Self::Unavailable) error.
    pub fn unavailable(
        kind: Unavailable,
        detail: impl Into<String>,
        retry_after: Duration,
    ) -> Self {
        Self::Unavailable {
            kind,
            detail: detail.into(),
            retry_after,
        }
    }

    /// Whether this is [`Unavailable`](Self::Unavailable).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
