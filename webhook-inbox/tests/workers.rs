//! The worker pool on a real SQLite file: every event handled once per attempt by
//! several workers, the backoff schedule in virtual time, fenced late answers, panics,
//! typed handlers and graceful shutdown.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::Notify;
use webhook_core::{EmailApiEvent, Scheme, senders::stalwart::WebhookEvent};
use webhook_inbox::{
    AttemptOutcome, Backend, Clock, EventFilter, EventId, EventState, Inbox, Job, ManualClock,
    Outcome, Page, RetryPolicy, Route, SqliteBackend, Timestamp,
    contract::{stalwart_batch, verified_email_api, verified_stalwart},
};

fn open(dir: &tempfile::TempDir, clock: &ManualClock) -> Inbox<SqliteBackend> {
    let backend = SqliteBackend::open(dir.path().join("inbox.db")).expect("open");
    Inbox::with_clock(backend, clock.clone())
}

fn start() -> ManualClock {
    ManualClock::new(Timestamp::from_millis(1_750_000_000_000))
}

async fn accept_batch(inbox: &Inbox<SqliteBackend>, events: &[u32]) {
    let (headers, verified) = verified_stalwart(stalwart_batch(events));
    inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
        .expect("accept");
}

/// Waits (real time, bounded) until `check` holds.
async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..1000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

type Seen = Arc<Mutex<HashMap<(EventId, u32), usize>>>;

fn counting(seen: &Seen) -> impl Fn(Job) -> std::future::Ready<Outcome> + Send + Sync + 'static {
    let seen = Arc::clone(seen);
    move |job: Job| {
        *seen
            .lock()
            .unwrap()
            .entry((job.id(), job.total_attempts()))
            .or_default() += 1;
        std::future::ready(Outcome::Done)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_workers_on_two_connections_handle_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let a = open(&dir, &clock);
    let b = open(&dir, &clock);
    let seen: Seen = Arc::default();
    let pools = [
        a.workers().concurrency(8).name("a").spawn(counting(&seen)),
        b.workers().concurrency(8).name("b").spawn(counting(&seen)),
    ];
    // Accept while the workers drain, from both connections.
    for round in 0..20u32 {
        let events: Vec<u32> = (round * 10..round * 10 + 10).collect();
        let inbox = if round % 2 == 0 { &a } else { &b };
        accept_batch(inbox, &events).await;
    }
    eventually("200 events done", async || {
        a.stats().await.unwrap().done == 200
    })
    .await;
    for pool in pools {
        pool.shutdown(Duration::from_secs(5)).await;
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 200, "every event handled");
    assert!(
        seen.iter()
            .all(|((_, attempt), &n)| *attempt == 1 && n == 1),
        "each once, on its first attempt: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_backoff_schedule_in_virtual_time_then_die() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let inbox = open(&dir, &clock);
    accept_batch(&inbox, &[1]).await;
    let policy = RetryPolicy {
        base: Duration::from_secs(10),
        max_delay: Duration::from_secs(40),
        jitter: 0.0,
        max_attempts: 5,
        max_age: Duration::from_secs(24 * 3600),
    };
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let pool = inbox
        .workers()
        .retry(policy)
        .poll_interval(Duration::from_millis(10))
        .spawn({
            let attempts = Arc::clone(&attempts);
            move |job: Job| {
                attempts.lock().unwrap().push(job.attempt());
                std::future::ready(Outcome::retry("the database is down"))
            }
        });
    let id = inbox
        .list_events(&EventFilter::default(), Page::default())
        .await
        .unwrap()[0]
        .id;
    // 10, 20, 40, 40 s: doubling from the base, capped at the maximum.
    for (attempt, delay) in [(1, 10), (2, 20), (3, 40), (4, 40)] {
        eventually("the attempt to be recorded", async || {
            inbox.event(id).await.unwrap().unwrap().attempts.len() == attempt
        })
        .await;
        let event = inbox.event(id).await.unwrap().unwrap();
        assert_eq!(event.summary.state, EventState::Retrying);
        let due = clock.now().after(Duration::from_secs(delay));
        assert_eq!(event.summary.due_at, Some(due), "attempt {attempt}");
        // Not a moment early.
        clock.advance(Duration::from_secs(delay) - Duration::from_millis(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            inbox.event(id).await.unwrap().unwrap().attempts.len(),
            attempt
        );
        clock.advance(Duration::from_millis(1));
    }
    eventually("the event to die", async || {
        inbox.event(id).await.unwrap().unwrap().summary.state == EventState::Dead
    })
    .await;
    let event = inbox.event(id).await.unwrap().unwrap();
    assert_eq!(
        event.summary.last_error.as_deref(),
        Some("the database is down (gave up after 5 attempts)")
    );
    assert_eq!(*attempts.lock().unwrap(), [1, 2, 3, 4, 5]);
    let outcomes: Vec<_> = event.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Retry,
            AttemptOutcome::Dead
        ]
    );
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_workers_late_answer_does_not_overwrite_the_new_claim() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let a = open(&dir, &clock);
    let b = open(&dir, &clock);
    accept_batch(&a, &[1]).await;
    let stalled = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    // A's heartbeat never comes round (its first is an hour away): a frozen process. One
    // worker, stuck in the handler, so A's idle workers cannot race B for the re-claim
    // once the lease has run out.
    let pool_a = a
        .workers()
        .name("a")
        .concurrency(1)
        .lease(Duration::from_secs(30))
        .heartbeat(Duration::from_secs(3600))
        .spawn({
            let (stalled, entered) = (Arc::clone(&stalled), Arc::clone(&entered));
            move |_job: Job| {
                let (stalled, entered) = (Arc::clone(&stalled), Arc::clone(&entered));
                async move {
                    entered.notify_one();
                    stalled.notified().await;
                    Outcome::retry("late answer from a stalled worker")
                }
            }
        });
    entered.notified().await;
    clock.advance(Duration::from_secs(31));
    let done_by_b = Arc::new(Mutex::new(Vec::new()));
    let pool_b = b
        .workers()
        .name("b")
        .poll_interval(Duration::from_millis(10))
        .spawn({
            let done_by_b = Arc::clone(&done_by_b);
            move |job: Job| {
                done_by_b.lock().unwrap().push(job.total_attempts());
                std::future::ready(Outcome::Done)
            }
        });
    eventually("b to complete the event", async || {
        b.stats().await.unwrap().done == 1
    })
    .await;
    stalled.notify_one();
    let id = a
        .list_events(&EventFilter::default(), Page::default())
        .await
        .unwrap()[0]
        .id;
    eventually("a's refused answer to be recorded", async || {
        a.event(id).await.unwrap().unwrap().attempts.len() == 3
    })
    .await;
    let event = a.event(id).await.unwrap().unwrap();
    assert_eq!(event.summary.state, EventState::Done, "b's answer stands");
    assert_eq!(event.summary.last_error, None);
    let outcomes: Vec<_> = event
        .attempts
        .iter()
        .map(|a| (a.attempt, a.outcome, a.worker.clone().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, AttemptOutcome::LeaseExpired, "a".to_owned()),
            (2, AttemptOutcome::Done, "b".to_owned()),
            (1, AttemptOutcome::LeaseLost, "a".to_owned()),
        ]
    );
    assert_eq!(*done_by_b.lock().unwrap(), [2]);
    pool_a.shutdown(Duration::from_secs(1)).await;
    pool_b.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_tells_the_handler_its_lease_was_lost() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let a = open(&dir, &clock);
    accept_batch(&a, &[1]).await;
    let lost = Arc::new(Notify::new());
    let pool = a
        .workers()
        .lease(Duration::from_secs(30))
        .heartbeat(Duration::from_millis(20))
        .spawn({
            let lost = Arc::clone(&lost);
            move |job: Job| {
                let lost = Arc::clone(&lost);
                async move {
                    while !job.lease_lost() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    lost.notify_one();
                    Outcome::Done
                }
            }
        });
    // Another claimer takes the event over once the lease has run out; the next
    // heartbeat finds the lease gone and tells the running handler.
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Its claim is made as of two hours later, past any lease the heartbeat renews.
    let other = open(&dir, &clock);
    let taken = other
        .backend()
        .claim(webhook_inbox::ClaimRequest::new(
            1,
            other.now().after(Duration::from_secs(7200)),
            Duration::from_secs(3600),
            "other",
        ))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    tokio::time::timeout(Duration::from_secs(5), lost.notified())
        .await
        .expect("the handler learns its lease is lost");
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_retried_and_a_typed_mismatch_dies() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let inbox = open(&dir, &clock);
    accept_batch(&inbox, &[1]).await;
    let pool = inbox
        .workers()
        .poll_interval(Duration::from_millis(10))
        .spawn(|job: Job| async move {
            if job.attempt() == 1 {
                panic!("boom on attempt {}", job.attempt());
            }
            Outcome::Done
        });
    eventually("the panic to be recorded", async || {
        inbox.stats().await.unwrap().retrying == 1
    })
    .await;
    let listed = inbox
        .list_events(&EventFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        listed[0].last_error.as_deref(),
        Some("the handler panicked: boom on attempt 1")
    );
    clock.advance(Duration::from_secs(13));
    eventually("the retry to succeed", async || {
        inbox.stats().await.unwrap().done == 1
    })
    .await;
    pool.shutdown(Duration::from_secs(1)).await;

    // A typed handler of the wrong sender: the event dies with the reason.
    let (headers, verified) = verified_email_api("evt_1");
    inbox
        .accept(&Route::of(Scheme::EmailApi), &headers, verified)
        .await
        .unwrap();
    let pool = inbox
        .workers()
        .spawn_typed(|_event: WebhookEvent<'static>, _job| async { Outcome::Done });
    eventually("the mismatch to die", async || {
        inbox.stats().await.unwrap().dead == 1
    })
    .await;
    let dead = inbox
        .list_events(
            &EventFilter::default().state(EventState::Dead),
            Page::default(),
        )
        .await
        .unwrap();
    assert!(
        dead[0].last_error.as_deref().unwrap().contains("email-API"),
        "{:?}",
        dead[0].last_error
    );
    pool.shutdown(Duration::from_secs(1)).await;
    // Redriven to a handler of the right type, it is done.
    inbox
        .redrive(webhook_inbox::Selection::Event(dead[0].id))
        .await
        .unwrap();
    let pool = inbox
        .workers()
        .spawn_typed(|event: EmailApiEvent, _job| async move {
            assert_eq!(event.id, "evt_1");
            Outcome::Done
        });
    eventually("the redriven event to be done", async || {
        inbox.stats().await.unwrap().done == 2
    })
    .await;
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_waits_for_quick_handlers_and_gives_back_slow_ones() {
    let dir = tempfile::tempdir().unwrap();
    let clock = start();
    let inbox = open(&dir, &clock);
    accept_batch(&inbox, &[1, 2]).await;
    let started = Arc::new(tokio::sync::Semaphore::new(0));
    let pool = inbox.workers().concurrency(2).spawn({
        let started = Arc::clone(&started);
        move |job: Job| {
            let started = Arc::clone(&started);
            async move {
                started.add_permits(1);
                // The first event's handler is quick, the second never ends.
                let slow = job.bytes().windows(5).any(|w| w == b"user2");
                let wait = if slow { 3600 } else { 0 };
                tokio::time::sleep(Duration::from_millis(100) + Duration::from_secs(wait)).await;
                Outcome::Done
            }
        }
    });
    let _both = started.acquire_many(2).await.unwrap();
    let report = pool.shutdown(Duration::from_millis(500)).await;
    assert_eq!((report.finished, report.released), (1, 1));
    let stats = inbox.stats().await.unwrap();
    assert_eq!((stats.done, stats.pending, stats.running), (1, 0, 0));
    // Given back: due at once (listed retrying, with a `released` attempt).
    let back = inbox
        .list_events(
            &EventFilter::default().state(EventState::Retrying),
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].due_at, Some(inbox.now()));
    let detail = inbox.event(back[0].id).await.unwrap().unwrap();
    assert_eq!(detail.attempts[0].outcome, AttemptOutcome::Released);
    // No claim after shutdown: nothing ran the event again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(inbox.stats().await.unwrap().retrying, 1);
}
