//! The middleware admission protocol: `Deduplicator::decide` and its `Gate`.

use std::time::Duration;

use futures::executor::block_on;
use http::{HeaderMap, StatusCode};
use webhook_core::{
    MediaType, ParseContext, Rejection, Scheme, Secret, Verified, Verifier,
    events::parse_unverified_borrowed,
    idempotency::{
        Claim, ClaimToken, DUPLICATE_BODY, Decision, DedupCounters, DedupKey, DedupOutcome,
        DedupPolicy, Deduplicator, FailurePolicy, IdempotencyStore, LeaseTimer, MemoryStore,
        StoreError,
    },
    senders::{
        mailtrap, stalwart,
        stalwart::{StalwartKey, WebhookEvents},
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

fn dedup() -> Deduplicator<MemoryStore> {
    Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart)
}

fn run(
    dedup: &Deduplicator<MemoryStore>,
    verified: &Verified<Vec<u8>>,
    success: bool,
) -> Decision<MemoryStore> {
    block_on(dedup.decide(verified)).unwrap().settled(success)
}

/// Settles a `Run` decision's gate and hands back the decision's shape.
trait Settle {
    fn settled(self, success: bool) -> Self;
}

impl Settle for Decision<MemoryStore> {
    fn settled(self, success: bool) -> Self {
        match self {
            Decision::Run { reduced, gate } => {
                if let Some(gate) = gate {
                    let expected = if success {
                        DedupOutcome::Processed
                    } else {
                        DedupOutcome::Failed
                    };
                    assert_eq!(block_on(gate.settle(success)), expected);
                }
                Decision::Run {
                    reduced,
                    gate: None,
                }
            }
            other => other,
        }
    }
}

#[test]
fn a_retried_batch_runs_only_its_new_events_byte_for_byte() {
    let dedup = dedup();
    assert!(matches!(
        run(&dedup, &verify(batch(&[1, 2, 3, 4, 5, 6, 7, 8, 9])), true),
        Decision::Run { reduced: None, .. }
    ));
    // The sender retries with one new event merged in (and new ids for the old ones:
    // the fingerprint does not care).
    let retried = verify(batch(&[1, 2, 3, 4, 10, 5, 6, 7, 8, 9]));
    let Decision::Run {
        reduced: Some(reduced),
        ..
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
    assert!(matches!(run(&dedup, &retried, true), Decision::Duplicate));
    assert_eq!(DUPLICATE_BODY, r#"{"status":"duplicate"}"#);
}

#[test]
fn a_failed_handler_releases_so_the_retry_runs() {
    let dedup = dedup();
    let body = verify(batch(&[1, 2]));
    assert!(matches!(run(&dedup, &body, false), Decision::Run { .. }));
    assert!(matches!(
        run(&dedup, &body, true),
        Decision::Run { reduced: None, .. }
    ));
    assert!(matches!(run(&dedup, &body, true), Decision::Duplicate));
}

#[test]
fn a_dropped_gate_releases_its_claims() {
    let dedup = dedup();
    let body = verify(batch(&[1]));
    // The handler panicked or its request was cancelled: the gate is dropped unsettled.
    drop(block_on(dedup.decide(&body)).unwrap());
    assert!(matches!(run(&dedup, &body, true), Decision::Run { .. }));
}

#[test]
fn an_event_in_progress_refuses_the_whole_batch_and_keeps_nothing() {
    let dedup = dedup();
    let first = block_on(dedup.decide(&verify(batch(&[1])))).unwrap();
    let err = block_on(dedup.decide(&verify(batch(&[2, 1])))).unwrap_err();
    match &err {
        Rejection::InProgress { retry_after_secs } => assert!(*retry_after_secs >= 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.status(), StatusCode::CONFLICT);
    assert!(err.headers().iter().any(|(name, _)| *name == "retry-after"));
    // Event 2 was given back, not held: another delivery of it runs now.
    assert!(matches!(
        run(&dedup, &verify(batch(&[2])), true),
        Decision::Run { .. }
    ));
    drop(first);
}

#[test]
fn an_event_repeated_within_a_batch_runs_once() {
    let dedup = dedup();
    let Decision::Run {
        reduced: Some(reduced),
        ..
    } = run(&dedup, &verify(batch(&[1, 1, 2])), true)
    else {
        panic!("expected a reduced batch");
    };
    assert_eq!(reduced.body(), &batch(&[1, 2]));
}

#[test]
fn stalwart_ids_as_keys_when_asked() {
    let dedup = dedup().with_stalwart_key(StalwartKey::Id);
    assert!(matches!(
        run(&dedup, &verify(batch(&[1])), true),
        Decision::Run { .. }
    ));
    // Same content, new id (a v0.16.11+ retry): with id keys it is not recognised.
    let same_content_new_id = String::from_utf8(batch(&[1]))
        .unwrap()
        .replace("1755784900001", "1755784900002");
    assert!(matches!(
        run(&dedup, &verify(same_content_new_id.into_bytes()), true),
        Decision::Run { .. }
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
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap);
    let _ = run_mailtrap(&dedup, &verify_jsonl(lines(&["a", "b"])));
    let Decision::Run {
        reduced: Some(reduced),
        ..
    } = run_mailtrap(&dedup, &verify_jsonl(lines(&["a", "c", "b"])))
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

fn run_mailtrap(
    dedup: &Deduplicator<MemoryStore>,
    verified: &Verified<Vec<u8>>,
) -> Decision<MemoryStore> {
    block_on(dedup.decide(verified)).unwrap().settled(true)
}

#[test]
fn standard_webhooks_are_keyed_by_message_id() {
    let secret = Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(secret.clone())
        .build()
        .unwrap();
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::StandardWebhooks);
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
        block_on(dedup.decide(&attempt(now))).unwrap().settled(true),
        Decision::Run { .. }
    ));
    assert!(matches!(
        block_on(dedup.decide(&attempt(now - 60))).unwrap(),
        Decision::Duplicate
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
    let closed = Deduplicator::for_scheme(Down, Scheme::Stalwart);
    let err = block_on(closed.decide(&body)).unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    assert!(err.headers().iter().any(|(name, _)| *name == "retry-after"));

    let open = Deduplicator::new(
        Down,
        DedupPolicy::for_scheme(Scheme::Stalwart).with_failure_policy(FailurePolicy::FailOpen),
    );
    assert!(matches!(
        block_on(open.decide(&body)).unwrap(),
        Decision::Run {
            gate: None,
            reduced: None
        }
    ));
}

#[test]
fn an_unparsable_body_is_a_parse_rejection_and_claims_nothing() {
    let dedup = dedup();
    let err = block_on(dedup.decide(&verify(br#"{"events":[]}"#.to_vec()))).unwrap_err();
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
    let dedup = Deduplicator::new(LosesLeases(MemoryStore::new()), policy)
        .with_lease_timer(thread_timer())
        .with_observer(counters.clone());
    let Decision::Run {
        gate: Some(mut gate),
        ..
    } = block_on(dedup.decide(&verify(batch(&[1])))).unwrap()
    else {
        panic!("a new event runs");
    };
    // A handler several renewal periods long: the first renewal is refused.
    block_on(gate.hold_while(thread_sleep(Duration::from_millis(150))));
    // The store accepts the completion (nobody else holds the key), but the lease was
    // lost meanwhile: the run is reported as such, never as a clean "processed".
    assert_eq!(block_on(gate.settle(true)), DedupOutcome::LeaseLost);
    assert_eq!(counters.get(DedupOutcome::LeaseLost), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Processed), 0, "{counters:?}");
    assert_eq!(counters.runs(), 1);
}

#[test]
fn every_decision_and_settlement_is_reported_to_the_observer() {
    let counters = DedupCounters::new();
    let dedup = dedup().with_observer(counters.clone());
    let one = verify(batch(&[1]));

    let first = block_on(dedup.decide(&one)).unwrap();
    let busy = block_on(dedup.decide(&one)).unwrap_err();
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    assert!(matches!(first.settled(true), Decision::Run { .. }));
    assert!(matches!(
        block_on(dedup.decide(&one)).unwrap(),
        Decision::Duplicate
    ));

    let two = verify(batch(&[2]));
    assert!(matches!(run(&dedup, &two, false), Decision::Run { .. }));
    // A handler that panicked or was dropped: its gate goes unsettled.
    drop(block_on(dedup.decide(&two)).unwrap());

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
