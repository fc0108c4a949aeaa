//! Transactional handlers: the handler writes its rows in the inbox's transaction, and
//! the event is marked done in the same commit.

use std::{future::Future, pin::Pin, sync::Arc};

use sqlx::{Postgres, Transaction};

use super::{PostgresBackend, ops};
use crate::{
    backend::{Finish, Finished, Verdict},
    inbox::Inbox,
    worker::{Job, Outcome, WorkerPool, WorkerPoolBuilder},
};

/// What a transactional handler returns: a boxed future that may borrow the
/// transaction (write `Box::pin(async move { … })`).
pub type TransactionalFuture<'t> = Pin<Box<dyn Future<Output = Outcome> + Send + 't>>;

impl WorkerPoolBuilder<PostgresBackend> {
    /// Starts the pool with a **transactional handler**: each attempt begins a
    /// transaction on the backend's pool (the application's own, with
    /// [`PostgresBackend::with_pool`]) and hands it to `handler` with the event. When
    /// the handler answers [`Outcome::Done`], the event is marked done **in that
    /// transaction**, fenced by the attempt's lease, and the transaction commits: the
    /// handler's rows and the event's completion commit together, or neither does.
    ///
    /// - Answered [`Outcome::Retry`] or [`Outcome::Failed`], or panicked: the
    ///   transaction is rolled back (the handler's writes are discarded) and the event
    ///   is retried or dies as with [`spawn`](Self::spawn).
    /// - The lease was lost (the attempt outlived it and another worker claimed the
    ///   event): the transaction is rolled back; the new claim's attempt decides.
    /// - The commit failed (the database went away): nothing was written; the event is
    ///   retried. If the connection dropped *during* `COMMIT` and the commit did land,
    ///   the event is done and a later answer for it is refused: still one effect.
    ///
    /// So a write made through the transaction happens **exactly once** per run of
    /// the event (its first delivery, or an explicit [`redrive`](crate::Inbox::redrive)
    /// or [`replay`](crate::Inbox::replay)), across crashes, lease expiries and
    /// retries on any replica; effects outside it (an e-mail, an HTTP call) stay **at
    /// least once**. See the crate docs' example.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn_transactional<F>(self, handler: F) -> WorkerPool
    where
        F: for<'t> Fn(Job, &'t mut Transaction<'static, Postgres>) -> TransactionalFuture<'t>
            + Send
            + Sync
            + 'static,
    {
        let inbox = self.inbox().clone();
        let worker: Arc<str> = self.config().name.as_str().into();
        let handler = Arc::new(handler);
        self.spawn(move |job: Job| {
            let (inbox, worker, handler) =
                (inbox.clone(), Arc::clone(&worker), Arc::clone(&handler));
            async move { run(&inbox, &worker, &*handler, job).await }
        })
    }
}

async fn run<F>(inbox: &Inbox<PostgresBackend>, worker: &str, handler: &F, job: Job) -> Outcome
where
    F: for<'t> Fn(Job, &'t mut Transaction<'static, Postgres>) -> TransactionalFuture<'t>,
{
    let backend = inbox.backend();
    let started = inbox.now();
    let (lease, attempt, committed) = (job.lease(), job.total_attempts(), job.committed_flag());
    let mut tx = match backend.pool().begin().await {
        Ok(tx) => tx,
        Err(err) => {
            return Outcome::retry(format!(
                "could not begin the handler's transaction: {}",
                backend.error(err)
            ));
        }
    };
    let outcome = handler(job, &mut tx).await;
    if outcome != Outcome::Done {
        // Dropping the transaction rolls the handler's writes back.
        return outcome;
    }
    let finish = Finish::new(lease, attempt, started, inbox.now(), worker, Verdict::Done);
    match ops::finish(backend, &mut *tx, &finish).await {
        Ok(Finished::Applied) => {}
        // Rolled back; the pool's own answer records the lost lease.
        Ok(Finished::LeaseLost) => return Outcome::Done,
        Err(err) => {
            return Outcome::retry(format!("recording the event done failed: {err}"));
        }
    }
    match tx.commit().await {
        Ok(()) => {
            committed.store(true, std::sync::atomic::Ordering::Release);
            Outcome::Done
        }
        Err(err) => Outcome::retry(format!(
            "committing the handler's transaction failed: {}",
            backend.error(err)
        )),
    }
}
