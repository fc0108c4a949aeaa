//! The inbox the CLI works on, whichever backend `--inbox` names: a SQLite file or a
//! PostgreSQL database. `Inbox<B>` is generic over its backend (whose trait is not
//! object-safe), so the CLI holds one of the two and forwards each call to it.

use std::{future::Future, time::Duration};

use http::HeaderMap;
use webhook_core::Verified;
use webhook_inbox::{
    Accepted, Backend, EventDetail, EventFilter, EventId, EventSummary, Inbox, InboxError, Job,
    Outcome, Page, PostgresBackend, Purged, Retention, RetryPolicy, Route, Selection,
    SqliteBackend, Stats, WorkerPool, WorkerPoolBuilder,
};

use crate::{
    error::CliError,
    inbox::args::{ListenInboxArgs, Location},
};

/// An open inbox, on either backend.
#[derive(Clone)]
pub(crate) enum CliInbox {
    Sqlite(Inbox<SqliteBackend>),
    Postgres(Inbox<PostgresBackend>),
}

/// Runs `$body` with `$inbox` bound to the inner `Inbox<_>`, whichever it is.
macro_rules! dispatch {
    ($self:expr, $inbox:ident => $body:expr) => {
        match $self {
            CliInbox::Sqlite($inbox) => $body,
            CliInbox::Postgres($inbox) => $body,
        }
    };
}

/// How the workers of `listen --inbox` run (the flags, minus the handler).
pub(crate) struct WorkerSetup {
    pub(crate) concurrency: usize,
    pub(crate) lease: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) route: String,
}

impl WorkerSetup {
    fn apply<B: Backend>(&self, builder: WorkerPoolBuilder<B>) -> WorkerPoolBuilder<B> {
        builder
            .concurrency(self.concurrency)
            .lease(self.lease)
            .poll_interval(self.poll_interval)
            .retry(self.retry)
            .routes([self.route.clone()])
    }
}

impl From<Inbox<SqliteBackend>> for CliInbox {
    fn from(inbox: Inbox<SqliteBackend>) -> Self {
        Self::Sqlite(inbox)
    }
}

impl CliInbox {
    /// Opens the inbox at `location` (a PostgreSQL schema is created and migrated if
    /// needed); `max_bytes` caps a SQLite file.
    pub(crate) async fn open(
        location: &Location,
        max_bytes: Option<u64>,
    ) -> Result<Self, CliError> {
        let opening =
            |err: InboxError| CliError::Usage(format!("cannot open the inbox `{location}`: {err}"));
        match location {
            Location::Sqlite(path) => {
                let mut builder = SqliteBackend::builder(path);
                if let Some(bytes) = max_bytes {
                    builder = builder.max_size_bytes(bytes);
                }
                Ok(Self::Sqlite(Inbox::new(builder.open().map_err(opening)?)))
            }
            Location::Postgres(url) => {
                if max_bytes.is_some() {
                    return Err(CliError::Usage(
                        "--inbox-max-bytes caps a SQLite inbox file; a PostgreSQL inbox is \
                         bounded by its database"
                            .into(),
                    ));
                }
                let backend = PostgresBackend::builder(url.as_str())
                    .connect()
                    .await
                    .map_err(opening)?;
                Ok(Self::Postgres(Inbox::new(backend)))
            }
        }
    }

    pub(crate) async fn accept<Body>(
        &self,
        route: &Route,
        headers: &HeaderMap,
        verified: Verified<Body>,
    ) -> Result<Accepted, InboxError>
    where
        Body: AsRef<[u8]> + Send + Sync + 'static,
    {
        dispatch!(self, inbox => inbox.accept(route, headers, verified).await)
    }

    pub(crate) async fn stats(&self) -> Result<Stats, InboxError> {
        dispatch!(self, inbox => inbox.stats().await)
    }

    pub(crate) async fn list_events(
        &self,
        filter: &EventFilter,
        page: Page,
    ) -> Result<Vec<EventSummary>, InboxError> {
        dispatch!(self, inbox => inbox.list_events(filter, page).await)
    }

    pub(crate) async fn event(&self, id: EventId) -> Result<Option<EventDetail>, InboxError> {
        dispatch!(self, inbox => inbox.event(id).await)
    }

    pub(crate) async fn redrive(&self, selection: Selection) -> Result<u64, InboxError> {
        dispatch!(self, inbox => inbox.redrive(selection).await)
    }

    pub(crate) async fn replay(&self, selection: Selection) -> Result<u64, InboxError> {
        dispatch!(self, inbox => inbox.replay(selection).await)
    }

    pub(crate) async fn purge(&self, retention: Retention) -> Result<Purged, InboxError> {
        dispatch!(self, inbox => inbox.purge(retention).await)
    }

    /// Starts a worker pool set up as `setup` says, running `handler` on each event.
    pub(crate) fn spawn_workers<F, Fut>(&self, setup: &WorkerSetup, handler: F) -> WorkerPool
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        dispatch!(self, inbox => setup.apply(inbox.workers()).spawn(handler))
    }
}

impl ListenInboxArgs {
    /// The workers' set-up the flags give, on `route`.
    pub(crate) fn worker_setup(&self, route: &Route) -> WorkerSetup {
        WorkerSetup {
            concurrency: usize::from(self.workers),
            lease: self.lease,
            // Retries come due in this process's own time: look for them at least as
            // often as the shortest delay (a second at most).
            poll_interval: self
                .retry_min
                .clamp(Duration::from_millis(50), Duration::from_secs(1)),
            retry: crate::inbox::workers::retry_policy(self),
            route: route.name().to_owned(),
        }
    }
}
