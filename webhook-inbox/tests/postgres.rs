//! The PostgreSQL backend beyond the shared contract, on a real server: transactional
//! handlers (their rows commit with the event's "done", or not at all, fenced by the
//! lease), workers woken by `NOTIFY` from another replica, migrations by replicas
//! starting at once, and an unreachable database (503, then the workers resume).

use std::{
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use webhook_core::Scheme;
use webhook_inbox::{
    AttemptOutcome, Backend, ClaimRequest, DeliveryId, EventId, EventState, Finish, Finished,
    Inbox, InboxError, ManualClock, Outcome, PostgresBackend, RetryPolicy, Route, Timestamp,
    Unavailable, Verdict,
    contract::{check_verifications_after_upgrade, stalwart_batch, verified_stalwart},
    sqlx::{self, PgPool},
    testing::PostgresServer,
};

fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

/// A database of its own for one test.
fn database(server: &PostgresServer) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    server.create_database(&format!("t{}", N.fetch_add(1, Ordering::Relaxed)))
}

async fn accept<B: Backend>(
    inbox: &Inbox<B>,
    n: u32,
) -> Result<webhook_inbox::Accepted, InboxError> {
    let (headers, verified) = verified_stalwart(stalwart_batch(&[n]));
    inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
}

async fn effects_table(pool: &PgPool) {
    sqlx::query("CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, event_key BYTEA NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
}

async fn effects(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM effects")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn until<F: AsyncFn() -> bool>(what: &str, timeout: Duration, check: F) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transactional_handler_commits_its_rows_with_the_event() {
    let url = database(server());
    let pool = PgPool::connect(&url).await.unwrap();
    effects_table(&pool).await;
    let inbox = Inbox::new(
        PostgresBackend::with_pool(pool.clone())
            .connect()
            .await
            .unwrap(),
    );
    let accepted = accept(&inbox, 1).await.unwrap();
    let workers = inbox
        .workers()
        .poll_interval(Duration::from_millis(50))
        .spawn_transactional(|job, tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO effects (event_key) VALUES ($1)")
                    .bind(job.key().as_bytes())
                    .execute(&mut **tx)
                    .await
                    .map(|_| ())
                    .into()
            })
        });
    until("the event is done", Duration::from_secs(10), async || {
        inbox.stats().await.unwrap().done == 1
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(effects(&pool).await, 1);
    let id = match accepted.events[0].outcome {
        webhook_inbox::EventAcceptance::Queued(id) => id,
        other => panic!("{other:?}"),
    };
    let event = inbox.event(id).await.unwrap().unwrap();
    let outcomes: Vec<_> = event.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [AttemptOutcome::Done],
        "recorded once, in the commit"
    );
    let key: Vec<u8> = sqlx::query_scalar("SELECT event_key FROM effects")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(key, event.summary.key.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_or_panicking_transactional_handler_rolls_its_rows_back() {
    let url = database(server());
    let pool = PgPool::connect(&url).await.unwrap();
    effects_table(&pool).await;
    let inbox = Inbox::new(
        PostgresBackend::with_pool(pool.clone())
            .connect()
            .await
            .unwrap(),
    );
    accept(&inbox, 1).await.unwrap();
    let retry = RetryPolicy {
        base: Duration::from_millis(10),
        jitter: 0.0,
        ..RetryPolicy::default()
    };
    let workers = inbox
        .workers()
        .poll_interval(Duration::from_millis(20))
        .retry(retry)
        .spawn_transactional(|job, tx| {
            Box::pin(async move {
                sqlx::query("INSERT INTO effects (event_key) VALUES ($1)")
                    .bind(job.key().as_bytes())
                    .execute(&mut **tx)
                    .await
                    .unwrap();
                match job.attempt() {
                    1 => Outcome::retry("not yet"),
                    2 => panic!("the handler broke"),
                    _ => Outcome::Done,
                }
            })
        });
    until("the event is done", Duration::from_secs(10), async || {
        inbox.stats().await.unwrap().done == 1
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        effects(&pool).await,
        1,
        "only the attempt that answered done"
    );
    let listed = inbox
        .list_events(&Default::default(), Default::default())
        .await
        .unwrap();
    let event = inbox.event(listed[0].id).await.unwrap().unwrap();
    let outcomes: Vec<_> = event.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Done
        ]
    );
    assert!(
        event.attempts[1]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("panicked"))
    );
}

/// A handler that outlived its lease, whose event another replica claimed, commits
/// nothing: its rows roll back with the refused completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_whose_lease_was_taken_over_commits_nothing() {
    let url = database(server());
    let pool = PgPool::connect(&url).await.unwrap();
    effects_table(&pool).await;
    let clock = ManualClock::new(Timestamp::from_millis(1_750_000_000_000));
    let first = Inbox::with_clock(
        PostgresBackend::with_pool(pool.clone())
            .connect()
            .await
            .unwrap(),
        clock.clone(),
    );
    let second = Inbox::with_clock(PostgresBackend::connect(&url).await.unwrap(), clock.clone());
    accept(&first, 1).await.unwrap();

    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let gate = Arc::new(tokio::sync::Notify::new());
    let handler_gate = Arc::clone(&gate);
    let workers = first
        .workers()
        .lease(Duration::from_secs(30))
        // No renewal during the test: the lease runs out in virtual time.
        .heartbeat(Duration::from_secs(3600))
        .poll_interval(Duration::from_millis(20))
        .spawn_transactional(move |job, tx| {
            let (started_tx, gate) = (started_tx.clone(), Arc::clone(&handler_gate));
            Box::pin(async move {
                sqlx::query("INSERT INTO effects (event_key) VALUES ($1)")
                    .bind(job.key().as_bytes())
                    .execute(&mut **tx)
                    .await
                    .unwrap();
                started_tx.send(job.id()).unwrap();
                gate.notified().await;
                Outcome::Done
            })
        });
    let id = tokio::time::timeout(Duration::from_secs(10), started.recv())
        .await
        .unwrap()
        .unwrap();
    clock.advance(Duration::from_secs(31));
    let taken = second
        .backend()
        .claim(ClaimRequest::new(
            1,
            second.now(),
            Duration::from_secs(30),
            "second",
        ))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "the expired lease is taken over");
    gate.notify_one();
    until(
        "the first attempt's answer is recorded",
        Duration::from_secs(10),
        async || {
            let event = first.event(id).await.unwrap().unwrap();
            event
                .attempts
                .iter()
                .any(|a| a.outcome == AttemptOutcome::LeaseLost)
        },
    )
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        effects(&pool).await,
        0,
        "the stale attempt's rows rolled back"
    );
    let event = first.event(id).await.unwrap().unwrap();
    assert_eq!(
        event.summary.state,
        EventState::Running,
        "still the second's"
    );
    let now = second.now();
    let done = second
        .backend()
        .finish(Finish::new(
            taken[0].lease,
            taken[0].attempt,
            now,
            now,
            "second",
            Verdict::Done,
        ))
        .await
        .unwrap();
    assert_eq!(done, Finished::Applied);
}

/// An idle replica's workers are woken by another replica's accept (`NOTIFY`), not by
/// their poll interval (an hour here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replicas_accept_wakes_idle_workers() {
    let url = database(server());
    let accepting = Inbox::new(PostgresBackend::connect(&url).await.unwrap());
    let working = Inbox::new(PostgresBackend::connect(&url).await.unwrap());
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let workers = working
        .workers()
        .poll_interval(Duration::from_secs(3600))
        .spawn(move |job| {
            let seen_tx = seen_tx.clone();
            async move {
                seen_tx.send(job.id()).unwrap();
                Outcome::Done
            }
        });
    // Let the pool go idle (its first claim finds nothing), then accept elsewhere.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 0..3 {
        let started = Instant::now();
        accept(&accepting, n).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .expect("woken by NOTIFY well before the poll interval")
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    workers.shutdown(Duration::from_secs(5)).await;
}

/// Eight replicas starting at once on a new database: the advisory lock serialises
/// their migrations; every one starts, and the schema is migrated once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_once() {
    let url = database(server());
    let replicas = futures_util::future::join_all((0..8).map(|_| {
        PostgresBackend::builder(url.as_str())
            .schema("shared")
            .connect()
    }))
    .await;
    for replica in &replicas {
        assert!(replica.is_ok(), "{replica:?}");
    }
    let pool = PgPool::connect(&url).await.unwrap();
    let version: i64 = sqlx::query_scalar("SELECT version FROM shared.schema_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(version, PostgresBackend::schema_version());

    // A schema a newer version migrated is refused, not misread.
    sqlx::query("UPDATE shared.schema_version SET version = 99")
        .execute(&pool)
        .await
        .unwrap();
    let refused = PostgresBackend::builder(url.as_str())
        .schema("shared")
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(refused, InboxError::SchemaTooNew { found: 99, .. }),
        "{refused:?}"
    );
}

/// A schema at version 1 (before the inbox recorded which key verified a delivery) is
/// migrated forward: its deliveries read back with their verification unrecorded, and
/// new ones record it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_schema_is_upgraded_and_records_the_matched_key_from_then_on() {
    let url = database(server());
    let old = PostgresBackend::connect_at_version(
        PostgresBackend::builder(url.as_str()).schema("upgraded"),
        1,
    )
    .await
    .unwrap();
    let pool = old.pool().clone();
    let version = || async {
        sqlx::query_scalar::<_, i64>("SELECT version FROM upgraded.schema_version")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(version().await, 1);
    // A delivery and its event as version 1 wrote them.
    let body = stalwart_batch(&[1]);
    sqlx::query(
        "INSERT INTO upgraded.deliveries (route, scheme, received_at, state, media_type,
            stalwart_key, headers, queued, duplicates, body_len, body)
         VALUES ('stalwart', 'stalwart', 1000, 0, 'application/json', 0, '', 1, 0, $1, $2)",
    )
    .bind(body.len() as i64)
    .bind(&body)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO upgraded.events (delivery_id, route, scheme, event_type, dedup_key,
            media_type, body_start, body_end, state, run_since, run_at, received_at, updated_at)
         VALUES (1, 'stalwart', 'stalwart', 'auth.success', 'k', 'application/json',
            0, $1, 0, 1000, 1000, 1000, 1000)",
    )
    .bind(body.len() as i64)
    .execute(&pool)
    .await
    .unwrap();

    let inbox = Inbox::new(
        PostgresBackend::builder(url.as_str())
            .schema("upgraded")
            .connect()
            .await
            .unwrap(),
    );
    assert_eq!(version().await, PostgresBackend::schema_version());
    assert_eq!(version().await, 2);
    let before = inbox.delivery(DeliveryId(1)).await.unwrap().unwrap();
    assert_eq!(before.body, body);
    check_verifications_after_upgrade(&inbox, DeliveryId(1), EventId(1)).await;
}

/// PostgreSQL down: an accept is unavailable (503 with `Retry-After`, nothing stored),
/// promptly; the workers keep trying and resume on their own once it is back, and
/// nothing acknowledged before the crash is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_503_and_workers_resume() {
    let mut server = PostgresServer::start();
    let url = server.url("postgres");
    let inbox = Inbox::new(
        PostgresBackend::builder(url.as_str())
            .acquire_timeout(Duration::from_secs(1))
            .retry_after(Duration::from_secs(9))
            .connect()
            .await
            .unwrap(),
    );
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    // A claim or an answer lost to the outage is taken up again after the lease.
    let workers = inbox
        .workers()
        .lease(Duration::from_secs(2))
        .poll_interval(Duration::from_millis(100))
        .spawn(move |job| {
            let seen_tx = seen_tx.clone();
            async move {
                seen_tx.send(job.key().clone()).unwrap();
                Outcome::Done
            }
        });
    accept(&inbox, 1).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    for n in 2..5 {
        accept(&inbox, n).await.unwrap();
    }

    server.crash();
    let started = Instant::now();
    let err = accept(&inbox, 100).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered promptly"
    );
    assert_eq!(err.status(), 503);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(9)));
    assert!(
        matches!(
            err,
            InboxError::Unavailable {
                kind: Unavailable::Storage,
                ..
            }
        ),
        "{err:?}"
    );
    // The workers fail to claim for a while.
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.restart();
    accept(&inbox, 5).await.unwrap();
    until(
        "every acknowledged event is done",
        Duration::from_secs(20),
        async || inbox.stats().await.is_ok_and(|stats| stats.done == 5),
    )
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    let stats = inbox.stats().await.unwrap();
    assert_eq!(
        (stats.done, stats.deliveries),
        (5, 5),
        "the refused one was not stored"
    );
}
