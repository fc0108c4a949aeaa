//! A verified request under deduplication: `Deduplicator::run_verified`, the one entry
//! point of the adapters' middleware and of the CLI.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt as _, executor::block_on};
use http::{HeaderMap, StatusCode};
use webhook_core::{
    MediaType, ParseContext, Rejection, Scheme, Secret, Verified, Verifier,
    events::parse_unverified_borrowed,
    idempotency::{
        BatchReport, Claim, ClaimToken, DUPLICATE_BODY, DedupCounters, DedupEvent, DedupKey,
        DedupObserver, DedupOutcome, DedupPolicy, Deduplicator, Detached, DetachedEvents,
        FailurePolicy, Handled, IdempotencyStore, LeaseTimer, MemoryStore, StoreError,
    },
    senders::{
        mailtrap, stalwart,
        stalwart::{StalwartKey, WebhookEvent, WebhookEvents},
        standard_webhooks,
    },
};

fn event(n: u32) -> String {
    format!(
        r#"{{"id":"17557849{n:05}37","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"user{n}@example.org","spanId":312845863712866304}}}}"#
    )
}

fn batch(events: &[u32]) -> Vec<u8> {
    let events: Vec<String> = events.iter().map(|&n| event(n)).collect();
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

fn verify(body: Vec<u8>) -> Verified<Vec<u8>> {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-signature",
        stalwart::sign(&Secret::new("k"), &body).parse().unwrap(),
    );
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap()
        .verify(&headers, body)
        .unwrap()
}

fn dedup() -> Observed<MemoryStore> {
    observed(Deduplicator::for_scheme(
        MemoryStore::new(),
        Scheme::Stalwart,
    ))
}

/// A deduplicator, and every outcome it reported, in order.
struct Observed<S> {
    dedup: Deduplicator<S>,
    log: Arc<Mutex<Vec<DedupOutcome>>>,
}

/// `dedup`, logging every outcome it reports.
fn observed<S: IdempotencyStore>(dedup: Deduplicator<S>) -> Observed<S> {
    observed_with(dedup, DedupCounters::new())
}

/// `dedup`, logging every outcome it reports and counting them in `counters`.
fn observed_with<S: IdempotencyStore>(
    dedup: Deduplicator<S>,
    counters: DedupCounters,
) -> Observed<S> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let dedup = dedup.with_observer(move |event: &DedupEvent<'_>| {
        seen.lock().unwrap().push(event.outcome);
        counters.observe(event);
    });
    Observed { dedup, log }
}

impl<S> Observed<S> {
    fn last(&self) -> Option<DedupOutcome> {
        self.log.lock().unwrap().last().copied()
    }
}

/// What a delivery came to.
#[derive(Debug)]
enum Delivery {
    /// The handler ran; `reduced`: on a body rewritten to fewer events (`None`: on the
    /// very bytes received).
    Run { reduced: Option<Verified<Vec<u8>>> },
    /// Every event was processed before: the handler was not called.
    Duplicate,
}

/// Awaits the handler's run in place, as a caller without a runtime does.
async fn in_place<S: IdempotencyStore, Fut: Future>(
    run: Detached<S, Fut>,
) -> std::thread::Result<Option<Fut::Output>> {
    Ok(Some(run.run().await))
}

/// Delivers `verified` to a handler that succeeds or fails as told; checks that a run
/// that held claims settled them accordingly.
async fn deliver<S: IdempotencyStore + Clone>(
    observed: &Observed<S>,
    verified: &Verified<Vec<u8>>,
    success: bool,
) -> Result<Delivery, Rejection> {
    let verified = verified.clone();
    let received = verified.body().as_ptr() as usize;
    let handled = observed
        .dedup
        .run_verified(
            verified,
            in_place,
            |given: Verified<Vec<u8>>| async move {
                let reduced = (given.body().as_ptr() as usize != received).then_some(given);
                (success, reduced)
            },
            |&(success, _)| success,
        )
        .await;
    match handled {
        Handled::Ran((_, reduced)) => {
            // A run without claims (the store was down, failing open) settles nothing.
            if observed.last() != Some(DedupOutcome::Unguarded) {
                let expected = if success {
                    DedupOutcome::Processed
                } else {
                    DedupOutcome::Failed
                };
                assert_eq!(observed.last(), Some(expected));
            }
            Ok(Delivery::Run { reduced })
        }
        Handled::Duplicate => Ok(Delivery::Duplicate),
        Handled::Refused(rejection) => Err(rejection),
        Handled::Interrupted => panic!("a run awaited in place is never interrupted"),
    }
}

fn run(dedup: &Observed<MemoryStore>, verified: &Verified<Vec<u8>>, success: bool) -> Delivery {
    block_on(deliver(dedup, verified, success)).unwrap()
}

/// Delivers `verified` to a handler that panics: its claims are dropped unsettled.
fn panicking<S: IdempotencyStore + Clone>(observed: &Observed<S>, verified: &Verified<Vec<u8>>) {
    let handled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        block_on(observed.dedup.run_verified(
            verified.clone(),
            |run| {
                AssertUnwindSafe(run.run())
                    .catch_unwind()
                    .map(|answer| answer.map(Some))
            },
            |_| async { panic!("the handler panicked") },
            |&()| true,
        ))
    }));
    assert!(handled.is_err(), "the panic goes on");
}

#[test]
fn a_retried_batch_runs_only_its_new_events_byte_for_byte() {
    let dedup = dedup();
    assert!(matches!(
        run(&dedup, &verify(batch(&[1, 2, 3, 4, 5, 6, 7, 8, 9])), true),
        Delivery::Run { reduced: None }
    ));
    // The sender retries with one new event merged in (and new ids for the old ones:
    // the fingerprint does not care).
    let retried = verify(batch(&[1, 2, 3, 4, 10, 5, 6, 7, 8, 9]));
    let Delivery::Run {
        reduced: Some(reduced),
    } = run(&dedup, &retried, true)
    else {
        panic!("expected a reduced batch");
    };
    assert_eq!(
        reduced.body(),
        &batch(&[10]),
        "the new event exactly as sent"
    );
    let events: WebhookEvents<'_> = reduced.parse_borrowed().unwrap();
    assert_eq!(events.len(), 1);
    // Everything seen: the handler is not called at all.
    assert!(matches!(run(&dedup, &retried, true), Delivery::Duplicate));
    assert_eq!(DUPLICATE_BODY, r#"{"status":"duplicate"}"#);
}

#[test]
fn a_failed_handler_releases_so_the_retry_runs() {
    let dedup = dedup();
    let body = verify(batch(&[1, 2]));
    assert!(matches!(run(&dedup, &body, false), Delivery::Run { .. }));
    assert!(matches!(
        run(&dedup, &body, true),
        Delivery::Run { reduced: None }
    ));
    assert!(matches!(run(&dedup, &body, true), Delivery::Duplicate));
}

#[test]
fn a_dropped_gate_releases_its_claims() {
    let dedup = dedup();
    let body = verify(batch(&[1]));
    // The handler panicked: its claims are dropped unsettled.
    panicking(&dedup, &body);
    assert!(matches!(run(&dedup, &body, true), Delivery::Run { .. }));
}

#[test]
fn an_event_in_progress_refuses_the_whole_batch_and_keeps_nothing() {
    let dedup = dedup();
    // While the handler of a delivery of event 1 runs, …
    let first = block_on(dedup.dedup.run_verified(
        verify(batch(&[1])),
        in_place,
        |_| async {
            // … a batch with event 1 in it is refused whole, …
            let err = deliver(&dedup, &verify(batch(&[2, 1])), true)
                .await
                .unwrap_err();
            match &err {
                Rejection::InProgress { retry_after_secs } => assert!(*retry_after_secs >= 1),
                other => panic!("{other:?}"),
            }
            assert_eq!(err.status(), StatusCode::CONFLICT);
            assert!(err.headers().iter().any(|(name, _)| *name == "retry-after"));
            // … and event 2 was given back, not held: another delivery of it runs now.
            assert!(matches!(
                deliver(&dedup, &verify(batch(&[2])), true).await,
                Ok(Delivery::Run { .. })
            ));
        },
        |&()| true,
    ));
    assert!(matches!(first, Handled::Ran(())));
}

#[test]
fn an_event_repeated_within_a_batch_runs_once() {
    let dedup = dedup();
    let Delivery::Run {
        reduced: Some(reduced),
    } = run(&dedup, &verify(batch(&[1, 1, 2])), true)
    else {
        panic!("expected a reduced batch");
    };
    assert_eq!(reduced.body(), &batch(&[1, 2]));
}

#[test]
fn stalwart_ids_as_keys_when_asked() {
    let dedup = observed(
        Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart)
            .with_stalwart_key(StalwartKey::Id),
    );
    assert!(matches!(
        run(&dedup, &verify(batch(&[1])), true),
        Delivery::Run { .. }
    ));
    // Same content, new id (a v0.16.11+ retry): with id keys it is not recognised.
    let same_content_new_id = String::from_utf8(batch(&[1]))
        .unwrap()
        .replace("1755784900001", "1755784900002");
    assert!(matches!(
        run(&dedup, &verify(same_content_new_id.into_bytes()), true),
        Delivery::Run { .. }
    ));
}

#[test]
fn mailtrap_json_lines_stay_json_lines() {
    let lines = |ids: &[&str]| -> Vec<u8> {
        ids.iter()
            .map(|id| format!(r#"{{"event":"delivery","timestamp":1728669700,"message_id":"m","email":"a@x","event_id":"{id}"}}"#))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    };
    let verify_jsonl = |body: Vec<u8>| {
        let mut headers = HeaderMap::new();
        headers.insert(
            "mailtrap-signature",
            mailtrap::sign(&Secret::new("k"), &body).parse().unwrap(),
        );
        headers.insert("content-type", "application/jsonl".parse().unwrap());
        Verifier::builder(Scheme::Mailtrap)
            .secret(Secret::new("k"))
            .build()
            .unwrap()
            .verify(&headers, body)
            .unwrap()
    };
    let dedup = observed(Deduplicator::for_scheme(
        MemoryStore::new(),
        Scheme::Mailtrap,
    ));
    let _ = run(&dedup, &verify_jsonl(lines(&["a", "b"])), true);
    let Delivery::Run {
        reduced: Some(reduced),
    } = run(&dedup, &verify_jsonl(lines(&["a", "c", "b"])), true)
    else {
        panic!("expected a reduced batch");
    };
    let text = String::from_utf8(reduced.body().clone()).unwrap();
    assert!(
        text.contains(r#""event_id":"c""#) && !text.contains(r#""event_id":"a""#),
        "{text}"
    );
    assert_eq!(reduced.verification().media_type(), MediaType::JsonLines);
    let _: webhook_core::MailtrapEvents = reduced.parse().unwrap();
}

#[test]
fn standard_webhooks_are_keyed_by_message_id() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(secret.clone())
        .build()
        .unwrap();
    let dedup = observed(Deduplicator::for_scheme(
        MemoryStore::new(),
        Scheme::StandardWebhooks,
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let attempt = |ts: i64| {
        // Svix re-signs every attempt with a fresh timestamp; the id stays.
        let body = br#"{"type":"email.sent","data":{}}"#.to_vec();
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().unwrap());
        headers.insert("webhook-timestamp", ts.to_string().parse().unwrap());
        headers.insert(
            "webhook-signature",
            standard_webhooks::sign(&secret, "msg_1", ts, &body)
                .parse()
                .unwrap(),
        );
        verifier.verify(&headers, body).unwrap()
    };
    assert!(matches!(
        run(&dedup, &attempt(now), true),
        Delivery::Run { .. }
    ));
    assert!(matches!(
        run(&dedup, &attempt(now - 60), true),
        Delivery::Duplicate
    ));
}

/// A store that is down.
#[derive(Clone)]
struct Down;

impl IdempotencyStore for Down {
    async fn claim(&self, _: &DedupKey, _: Duration) -> Result<Claim, StoreError> {
        Err(StoreError::Unavailable {
            detail: "connection refused".into(),
        })
    }
    async fn complete(&self, _: &DedupKey, _: &ClaimToken, _: Duration) -> Result<(), StoreError> {
        unreachable!("nothing was claimed")
    }
    async fn release(&self, _: &DedupKey, _: &ClaimToken) -> Result<(), StoreError> {
        unreachable!("nothing was claimed")
    }
    async fn renew(&self, _: &DedupKey, _: &ClaimToken, _: Duration) -> Result<(), StoreError> {
        unreachable!("nothing was claimed")
    }
}

#[test]
fn a_store_outage_fails_closed_by_default_or_open_when_asked() {
    let body = verify(batch(&[1]));
    let closed = observed(Deduplicator::for_scheme(Down, Scheme::Stalwart));
    let err = block_on(deliver(&closed, &body, true)).unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    assert!(err.headers().iter().any(|(name, _)| *name == "retry-after"));

    let open = observed(Deduplicator::new(
        Down,
        DedupPolicy::for_scheme(Scheme::Stalwart).with_failure_policy(FailurePolicy::FailOpen),
    ));
    // The handler runs on the body as received, without claims: nothing to settle (the
    // store's `complete` and `release` would panic).
    assert!(matches!(
        block_on(deliver(&open, &body, true)).unwrap(),
        Delivery::Run { reduced: None }
    ));
    assert_eq!(open.last(), Some(DedupOutcome::Unguarded));
}

#[test]
fn an_unparsable_body_is_a_parse_rejection_and_claims_nothing() {
    let dedup = dedup();
    let err = block_on(deliver(&dedup, &verify(br#"{"events":[]}"#.to_vec()), true)).unwrap_err();
    assert_eq!(err.code(), "empty_batch");
    let _: Option<WebhookEvents<'_>> =
        parse_unverified_borrowed(&batch(&[1]), ParseContext::new(MediaType::Json)).ok();
}

/// A timer on a thread per wait: the core has no runtime of its own.
fn thread_timer() -> LeaseTimer {
    LeaseTimer::new(|delay| Box::pin(thread_sleep(delay)))
}

fn thread_sleep(delay: Duration) -> impl std::future::Future<Output = ()> + Send {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        let _ = done.send(());
    });
    async move {
        let _ = wait.await;
    }
}

/// A memory store whose claims cannot be renewed, as if another delivery had taken
/// each one over as soon as its lease ran out.
#[derive(Clone)]
struct LosesLeases(MemoryStore);

impl IdempotencyStore for LosesLeases {
    async fn claim(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        self.0.claim(key, lease).await
    }
    async fn complete(
        &self,
        k: &DedupKey,
        t: &ClaimToken,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.0.complete(k, t, ttl).await
    }
    async fn release(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        self.0.release(key, token).await
    }
    async fn renew(&self, _: &DedupKey, _: &ClaimToken, _: Duration) -> Result<(), StoreError> {
        Err(StoreError::LeaseLost)
    }
}

#[test]
fn a_refused_renewal_makes_the_run_a_lost_lease() {
    let counters = DedupCounters::new();
    let policy = DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(Duration::from_millis(30));
    let dedup = observed_with(
        Deduplicator::new(LosesLeases(MemoryStore::new()), policy).with_lease_timer(thread_timer()),
        counters.clone(),
    );
    // A handler several renewal periods long: the first renewal is refused.
    let handled = block_on(dedup.dedup.run_verified(
        verify(batch(&[1])),
        in_place,
        |_| thread_sleep(Duration::from_millis(150)),
        |&()| true,
    ));
    assert!(matches!(handled, Handled::Ran(())), "a new event runs");
    // The store accepts the completion (nobody else holds the key), but the lease was
    // lost meanwhile: the run is reported as such, never as a clean "processed".
    assert_eq!(dedup.last(), Some(DedupOutcome::LeaseLost));
    assert_eq!(counters.get(DedupOutcome::LeaseLost), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Processed), 0, "{counters:?}");
    assert_eq!(counters.runs(), 1);
}

#[test]
fn every_decision_and_settlement_is_reported_to_the_observer() {
    let counters = DedupCounters::new();
    let dedup = observed_with(
        Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart),
        counters.clone(),
    );
    let one = verify(batch(&[1]));

    let first = block_on(dedup.dedup.run_verified(
        one.clone(),
        in_place,
        |_| async {
            let busy = deliver(&dedup, &one, true).await.unwrap_err();
            assert_eq!(busy.status(), StatusCode::CONFLICT);
        },
        |&()| true,
    ));
    assert!(matches!(first, Handled::Ran(())));
    assert_eq!(dedup.last(), Some(DedupOutcome::Processed));
    assert!(matches!(run(&dedup, &one, true), Delivery::Duplicate));

    let two = verify(batch(&[2]));
    assert!(matches!(run(&dedup, &two, false), Delivery::Run { .. }));
    // A handler that panicked: its claims go unsettled.
    panicking(&dedup, &two);

    let expected = [
        (DedupOutcome::Processed, 1),
        (DedupOutcome::InProgress, 1),
        (DedupOutcome::Duplicate, 1),
        (DedupOutcome::Failed, 1),
        (DedupOutcome::Abandoned, 1),
        (DedupOutcome::LeaseLost, 0),
        (DedupOutcome::Cancelled, 0),
    ];
    for (outcome, count) in expected {
        assert_eq!(counters.get(outcome), count, "{outcome}: {counters:?}");
    }
    assert_eq!(counters.runs(), 3);
}

#[test]
fn run_once_with_a_timer_renews_a_slow_handlers_claim() {
    let counters = DedupCounters::new();
    let lease = Duration::from_millis(60);
    let dedup = Deduplicator::new(
        MemoryStore::new(),
        DedupPolicy::for_scheme(Scheme::Mailtrap).with_lease(lease),
    )
    .with_lease_timer(thread_timer())
    .with_observer(counters.clone());
    let key = DedupKey::event_id(Scheme::Mailtrap, "slow-event").unwrap();
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let deliver = || {
        dedup.run_once(&key, || async {
            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Four leases long.
            thread_sleep(lease * 4).await;
            Ok::<_, ()>(())
        })
    };
    std::thread::scope(|scope| {
        let first = scope.spawn(|| block_on(deliver()));
        // Well past the first lease: without renewal this delivery would run too.
        std::thread::sleep(lease * 2);
        let second = block_on(deliver());
        assert!(
            matches!(
                second,
                webhook_core::idempotency::RunOutcome::InProgress { .. }
            ),
            "{second:?}"
        );
        let first = first.join().unwrap();
        assert!(first.answer().is_success(), "{first:?}");
    });
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(counters.get(DedupOutcome::Processed), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::InProgress), 1, "{counters:?}");
}

#[test]
fn a_request_dropped_while_its_events_run_detached_is_reported_cancelled() {
    let counters = DedupCounters::new();
    let dedup = observed_with(
        Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart),
        counters.clone(),
    );
    let verified = verify(batch(&[1, 2]));
    // The events run on a thread of their own, as a runtime's task would.
    let on_a_thread = |run: DetachedEvents<_, _, _>| {
        let (done, report) = futures::channel::oneshot::channel();
        std::thread::spawn(move || {
            let _ = done.send(block_on(async move { run.run().await }));
        });
        async move { Ok(report.await.ok()) }
    };
    let slow =
        |_: WebhookEvent<'static>| thread_sleep(Duration::from_millis(50)).map(Ok::<_, String>);
    let request = dedup
        .dedup
        .run_events_detached(&verified, on_a_thread, slow);
    // The sender gives up: its request is dropped while the events run.
    assert!(request.now_or_never().is_none());
    assert_eq!(counters.get(DedupOutcome::Cancelled), 1, "{counters:?}");

    // The events run on, each is recorded once, and the retry finds them done.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while counters.get(DedupOutcome::Processed) < 2 {
        assert!(std::time::Instant::now() < deadline, "{counters:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let retry = block_on(dedup.dedup.run_events(&verified, slow)).unwrap();
    assert_eq!(retry.duplicates(), 2);
    assert_eq!(counters.get(DedupOutcome::Abandoned), 0, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Cancelled), 1, "{counters:?}");
}

#[test]
fn events_whose_task_the_runtime_stopped_are_answered_503_and_keep_no_claim() {
    let dedup = dedup();
    let verified = verify(batch(&[1]));
    let stopped = |run: DetachedEvents<MemoryStore, WebhookEvent<'static>, _>| {
        // The runtime shuts down before the task starts.
        drop(run);
        async { Ok::<Option<BatchReport<(), String>>, _>(None) }
    };
    let handled = block_on(dedup.dedup.run_events_detached(
        &verified,
        stopped,
        |_: WebhookEvent<'static>| async { Ok::<_, String>(()) },
    ));
    let (answer, body) = handled.into_events_answer().unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"status":"unavailable"}"#);
    // Nothing ran and nothing is held: the sender's retry runs the event.
    assert!(matches!(run(&dedup, &verified, true), Delivery::Run { .. }));
}
