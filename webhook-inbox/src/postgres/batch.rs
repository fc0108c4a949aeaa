//! Work done for many callers at once, as the SQLite writer groups its commits: every
//! commit here waits for PostgreSQL's WAL flush, so handlers' answers that arrive
//! together are recorded by **one** statement, and the wake-up `NOTIFY` is sent
//! outside the callers' transactions, coalesced.
//!
//! - **Answers**: [`Finisher`] queues each finish; one task takes everything queued
//!   and records it in one statement (each answer still fenced by its own lease, and
//!   logged as applied or `lease_lost` on its own). While that statement runs, new
//!   answers queue for the next. A failed statement fails every answer of the batch:
//!   none was recorded.
//! - **Wake-ups**: a transaction that sends `NOTIFY` takes a database-wide lock at
//!   commit and holds it through its WAL flush, which serialises every such commit
//!   (measured here: 32 concurrent accepts 3.5× slower than the same rows without
//!   it). So accepts commit without it, and then poke [`Notifier`], whose task sends
//!   one `NOTIFY` (in a transaction of its own, with `synchronous_commit` off: a
//!   notification lost to a crash only delays workers to their poll) for however many
//!   pokes came while the previous one was being sent or in the 5 ms after it: other
//!   replicas hear of new work at most that much later, and a steady stream of
//!   accepts costs at most 200 `NOTIFY`s a second per replica instead of one each.

use std::sync::Arc;

use sqlx::{PgPool, Row};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{Names, error::sql_error};
use crate::{
    backend::{Finish, Finished, Verdict},
    error::{InboxError, Unavailable},
    model::AttemptOutcome,
    sqlite::codec::{DEAD, DONE, PENDING, RUNNING},
};

/// The shortest time between two `NOTIFY`s of one backend.
const NOTIFY_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// The most answers one statement records.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<Finished, InboxError>>;

/// Where `finish` calls queue.
#[derive(Clone)]
pub(crate) struct Finisher {
    queue: mpsc::UnboundedSender<(Finish, Reply)>,
}

impl Finisher {
    /// The queue, and its task (to spawn).
    pub(crate) fn start(
        pool: PgPool,
        names: Names,
        retry_after: std::time::Duration,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (queue, answers) = mpsc::unbounded_channel();
        (Self { queue }, record(pool, names, retry_after, answers))
    }

    pub(crate) async fn finish(
        &self,
        finish: Finish,
        retry_after: std::time::Duration,
    ) -> Result<Finished, InboxError> {
        let closed = || {
            InboxError::unavailable(
                Unavailable::Closed,
                "the inbox's PostgreSQL backend has stopped",
                retry_after,
            )
        };
        let (reply, answer) = oneshot::channel();
        self.queue.send((finish, reply)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn record(
    pool: PgPool,
    names: Names,
    retry_after: std::time::Duration,
    mut answers: mpsc::UnboundedReceiver<(Finish, Reply)>,
) {
    let sql = names.sql(&format!(
        "WITH input AS (
            SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
                $5::bigint[], $6::bigint[], $7::text[], $8::bigint[], $9::bigint[],
                $10::bigint[], $11::text[], $12::text[])
                WITH ORDINALITY AS u(id, token, state, run_at, now, finished_at, error, attempt,
                    started_at, duration, outcome, worker, n)
        ), locked AS (
            -- In id order, as the heartbeat locks them: never a lock cycle between the
            -- two.
            SELECT e.id FROM §.events e JOIN input i ON e.id = i.id
            WHERE e.lease = i.token AND e.state = {RUNNING}
            ORDER BY e.id
            FOR UPDATE OF e
        ), changed AS (
            UPDATE §.events e SET state = i.state, run_at = i.run_at, lease = NULL,
                updated_at = i.now, finished_at = i.finished_at, last_error = i.error
            FROM input i, locked
            WHERE e.id = locked.id AND e.id = i.id AND e.lease = i.token
                AND e.state = {RUNNING}
            RETURNING i.n
        ), logged AS (
            INSERT INTO §.attempts (event_id, attempt, started_at, duration_ms, outcome, error,
                worker)
            SELECT i.id, i.attempt, i.started_at, i.duration,
                CASE WHEN i.n IN (SELECT n FROM changed) THEN i.outcome ELSE '{lost}' END,
                i.error, i.worker
            FROM input i ORDER BY i.n
        )
        SELECT n FROM changed",
        lost = AttemptOutcome::LeaseLost.as_str(),
    ));
    while let Some(first) = answers.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match answers.try_recv() {
                Ok(answer) => batch.push(answer),
                Err(_) => break,
            }
        }
        let mut columns = Columns::default();
        for (finish, _) in &batch {
            columns.push(finish);
        }
        let result = sqlx::query(sqlx::AssertSqlSafe(sql.0.as_str()))
            .bind(&columns.ids)
            .bind(&columns.tokens)
            .bind(&columns.states)
            .bind(&columns.run_at)
            .bind(&columns.now)
            .bind(&columns.finished_at)
            .bind(&columns.errors)
            .bind(&columns.attempts)
            .bind(&columns.started_at)
            .bind(&columns.durations)
            .bind(&columns.outcomes)
            .bind(&columns.workers)
            .fetch_all(&pool)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|row| row.try_get::<i64, _>(0))
                    .collect::<Result<Vec<i64>, _>>()
            });
        match result {
            Ok(applied) => {
                for (n, (_, reply)) in batch.into_iter().enumerate() {
                    // WITH ORDINALITY counts from 1.
                    let finished = if applied.contains(&(n as i64 + 1)) {
                        Finished::Applied
                    } else {
                        Finished::LeaseLost
                    };
                    let _ = reply.send(Ok(finished));
                }
            }
            Err(err) => {
                let err = sql_error(err, retry_after);
                for (_, reply) in batch {
                    let _ = reply.send(Err(err.clone()));
                }
            }
        }
    }
}

/// A batch of finishes as columns.
#[derive(Default)]
struct Columns {
    ids: Vec<i64>,
    tokens: Vec<i64>,
    states: Vec<i64>,
    run_at: Vec<i64>,
    now: Vec<i64>,
    finished_at: Vec<Option<i64>>,
    errors: Vec<Option<String>>,
    attempts: Vec<i64>,
    started_at: Vec<i64>,
    durations: Vec<i64>,
    outcomes: Vec<&'static str>,
    workers: Vec<String>,
}

impl Columns {
    fn push(&mut self, finish: &Finish) {
        let now = finish.now.as_millis();
        let (state, run_at, finished_at) = match &finish.verdict {
            Verdict::Done => (DONE, now, Some(now)),
            Verdict::Retry { at, .. } => (PENDING, at.as_millis(), None),
            Verdict::Dead { .. } => (DEAD, now, Some(now)),
        };
        self.ids.push(finish.lease.event.0);
        self.tokens.push(finish.lease.token);
        self.states.push(state);
        self.run_at.push(run_at);
        self.now.push(now);
        self.finished_at.push(finished_at);
        self.errors.push(finish.verdict.error().map(str::to_owned));
        self.attempts.push(i64::from(finish.attempt));
        self.started_at.push(finish.started_at.as_millis());
        self.durations
            .push(finish.now.since(finish.started_at).as_millis() as i64);
        self.outcomes.push(finish.verdict.outcome().as_str());
        self.workers.push(finish.worker.clone());
    }
}

/// Pokes the task that sends the inbox's `NOTIFY`.
#[derive(Clone)]
pub(crate) struct Notifier {
    poke: Arc<Notify>,
}

impl Notifier {
    /// The notifier, and its task (to spawn).
    pub(crate) fn start(
        pool: PgPool,
        names: &Names,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let poke = Arc::new(Notify::new());
        // The channel is the validated schema name and `.work`: nothing to escape.
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit TO OFF; SELECT pg_notify('{}', ''); COMMIT;",
            names.channel
        );
        let task = {
            let poke = Arc::clone(&poke);
            async move {
                loop {
                    poke.notified().await;
                    if let Err(err) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.as_str()))
                        .execute(&pool)
                        .await
                    {
                        // Other replicas find the work at their next poll.
                        tracing::debug!(error = %err, "sending the inbox's NOTIFY failed");
                    }
                    // Pokes until then share the next NOTIFY: one per pause at most,
                    // however many accepts commit (this process's workers are woken
                    // without waiting for it).
                    tokio::time::sleep(NOTIFY_PAUSE).await;
                }
            }
        };
        (Self { poke }, task)
    }

    /// Asks for a `NOTIFY` soon (after this call's caller committed).
    pub(crate) fn poke(&self) {
        self.poke.notify_one();
    }
}
