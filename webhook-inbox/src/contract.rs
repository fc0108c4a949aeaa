//! The backend contract as a test suite, written once and run against every backend.
//!
//! Each `pub async fn` is one case, generic over a [`Harness`] that opens inboxes on
//! fresh storage with a [`ManualClock`], so leases, retries and retention run in
//! virtual time. A backend's test file implements the harness and expands
//! [`inbox_contract_tests!`], which writes one `#[test]` per case:
//!
//! ```text
//! fn run<Fut: Future<Output = ()>>(case: impl FnOnce(MyHarness) -> Fut) {
//!     multi_thread_runtime().block_on(case(MyHarness::new()));
//! }
//! webhook_inbox::inbox_contract_tests!(run);
//! ```
//!
//! `webhook-inbox/tests/contract.rs` runs it against the SQLite backend and against the
//! PostgreSQL backend on a real server ([`testing::PostgresServer`], a schema per
//! case); the cases need a multi-threaded tokio runtime (concurrent accepts really
//! race).
//!
//! [`testing::PostgresServer`]: crate::testing::PostgresServer
//!
//! [`inbox_contract_tests!`]: crate::inbox_contract_tests

use std::{future::Future, time::Duration};

use http::HeaderMap;
use webhook_core::{
    Credentials, EmailApiEvent, ParseContext, Scheme, Secret, UrlToken, Verified, Verifier,
    senders::{
        email_api,
        stalwart::{self, StalwartKey, WebhookEvent},
    },
    stored::StoredEvent,
};

use crate::{
    AttemptOutcome, Backend, ClaimRequest, ClaimedEvent, DeliveryFilter, DeliveryState,
    EventAcceptance, EventFilter, EventState, Finish, Finished, Inbox, Lease, ManualClock, Page,
    Retention, Route, Selection, StoredKey, StoredVerification, Timestamp, Verdict,
};

/// What the contract suite needs from a backend's test setup.
pub trait Harness: Send + Sync + 'static {
    /// The backend under test.
    type Backend: Backend;

    /// An inbox on this harness's storage (fresh for each case), reading `clock`.
    fn inbox(&self, clock: ManualClock) -> Inbox<Self::Backend>;

    /// Another inbox on the same storage with its own connections, as a second process
    /// (or replica) would have.
    fn second(&self, clock: ManualClock) -> Inbox<Self::Backend>;
}

/// Expands to one `#[test]` per contract case, each calling `$run` with a closure that
/// takes a freshly built harness and returns the case's future.
#[macro_export]
macro_rules! inbox_contract_tests {
    ($run:path) => {
        $crate::inbox_contract_tests!(@cases $run;
            accept_stores_exact_bytes_and_queues_each_event,
            a_redelivered_batch_queues_only_new_events,
            concurrent_accepts_of_one_event_queue_it_once,
            another_instance_deduplicates_against_the_first,
            a_body_that_does_not_parse_is_quarantined_and_kept,
            claims_are_exclusive_and_a_lost_lease_cannot_finish,
            a_heartbeat_keeps_the_lease,
            a_retry_is_due_at_its_time,
            dead_events_keep_bytes_and_error_until_redriven,
            replay_runs_done_events_from_the_same_bytes,
            release_makes_an_event_due_at_once,
            purge_keeps_live_events_and_keys_for_their_retention,
            listings_filter_and_page_newest_first,
            each_delivery_records_how_it_was_verified,
        );
    };
    (@cases $run:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $run(|harness| $crate::contract::$case(harness));
            }
        )*
    };
}

const SECRET: &str = "contract-secret";
const LEASE: Duration = Duration::from_secs(30);

/// The clock every case starts at.
fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_millis(1_750_000_000_000))
}

/// A Stalwart event whose content (and so key) is set by `n`.
pub fn stalwart_event(n: u32) -> String {
    format!(
        r#"{{"id":"1755784900{n:04}","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"user{n}@example.org","accountId":{n}}}}}"#
    )
}

/// A Stalwart batch of the events numbered `events`.
pub fn stalwart_batch(events: &[u32]) -> Vec<u8> {
    let events: Vec<String> = events.iter().map(|&n| stalwart_event(n)).collect();
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

/// A verified Stalwart request: its headers and verified body.
pub fn verified_stalwart(body: Vec<u8>) -> (HeaderMap, Verified<Vec<u8>>) {
    let mut headers = HeaderMap::new();
    let signature = stalwart::sign(&Secret::new(SECRET), &body);
    headers.insert(
        "x-signature",
        signature.parse().expect("base64 is a header value"),
    );
    headers.insert("content-type", "application/json".parse().expect("header"));
    headers.insert(
        "authorization",
        "Bearer never-stored".parse().expect("header"),
    );
    let verified = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .expect("verifier")
        .verify(&headers, body)
        .expect("a signed body verifies");
    (headers, verified)
}

/// What an inbox records of how [`verified_stalwart`] and [`verified_email_api`]
/// deliveries were verified: the contract's one secret, unlabeled, at position 0.
pub fn contract_verification() -> StoredVerification {
    StoredVerification {
        key: Some(StoredKey {
            index: 0,
            label: None,
        }),
        credentials: false,
        url_token: false,
    }
}

/// A verified email-API request for event `id`.
pub fn verified_email_api(id: &str) -> (HeaderMap, Verified<Vec<u8>>) {
    let body = format!(
        r#"{{"id":"{id}","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{{"email_id":"m","from":"a@x","to":"b@y"}}}}"#
    )
    .into_bytes();
    let mut headers = HeaderMap::new();
    let signature = email_api::sign(&Secret::new(SECRET), &body);
    headers.insert("x-webhook-signature", signature.parse().expect("header"));
    headers.insert("content-type", "application/json".parse().expect("header"));
    let verified = Verifier::builder(Scheme::EmailApi)
        .secret(Secret::new(SECRET))
        .build()
        .expect("verifier")
        .verify(&headers, body)
        .expect("a signed body verifies");
    (headers, verified)
}

async fn accept_stalwart<B: Backend>(inbox: &Inbox<B>, events: &[u32]) -> crate::Accepted {
    let (headers, verified) = verified_stalwart(stalwart_batch(events));
    inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
        .expect("accept")
}

async fn claim<B: Backend>(inbox: &Inbox<B>, max: usize, worker: &str) -> Vec<ClaimedEvent> {
    inbox
        .backend()
        .claim(ClaimRequest::new(max, inbox.now(), LEASE, worker))
        .await
        .expect("claim")
}

async fn finish<B: Backend>(inbox: &Inbox<B>, event: &ClaimedEvent, verdict: Verdict) -> Finished {
    let now = inbox.now();
    inbox
        .backend()
        .finish(Finish::new(
            event.lease,
            event.attempt,
            now,
            now,
            "contract",
            verdict,
        ))
        .await
        .expect("finish")
}

fn queued(accepted: &crate::Accepted) -> Vec<crate::EventId> {
    accepted
        .events
        .iter()
        .filter_map(|e| match e.outcome {
            EventAcceptance::Queued(id) => Some(id),
            EventAcceptance::Duplicate(_) => None,
        })
        .collect()
}

/// An accepted batch is stored whole: exact body, verifying headers (never
/// `Authorization`), one event per element with its exact bytes, type and key.
pub async fn accept_stores_exact_bytes_and_queues_each_event<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    let body = stalwart_batch(&[1, 2, 3]);
    let (headers, verified) = verified_stalwart(body.clone());
    let expected_keys = webhook_core::idempotency::event_keys(
        &verified,
        Route::of(Scheme::Stalwart).namespace(),
        StalwartKey::default(),
    )
    .expect("keys");
    let accepted = inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200);
    assert_eq!((accepted.queued(), accepted.duplicates()), (3, 0));
    assert!(!accepted.is_quarantined());

    let delivery = inbox
        .delivery(accepted.delivery)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(delivery.body, body);
    assert_eq!(delivery.summary.received_at, inbox.now());
    assert_eq!(delivery.summary.route, "stalwart");
    let names: Vec<&str> = delivery.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["x-signature", "content-type"]);
    assert_eq!(
        delivery.headers[0].value,
        headers["x-signature"].as_bytes(),
        "the signature is kept to verify the body again"
    );

    for (n, (id, key)) in queued(&accepted)
        .into_iter()
        .zip(&expected_keys)
        .enumerate()
    {
        let event = inbox.event(id).await.expect("read").expect("stored");
        assert_eq!(
            event.bytes,
            stalwart_event(n as u32 + 1).into_bytes(),
            "exact bytes"
        );
        assert_eq!(&body[event.range.clone()], &event.bytes[..]);
        assert_eq!(event.summary.key.as_bytes(), key.as_bytes());
        assert_eq!(event.summary.event_type.as_deref(), Some("auth.success"));
        assert_eq!(event.summary.state, EventState::Pending);
        assert!(event.attempts.is_empty());
    }

    // A one-event sender: the event is the whole body.
    let (headers, verified) = verified_email_api("evt_1");
    let body = verified.body().clone();
    let accepted = inbox
        .accept(&Route::of(Scheme::EmailApi), &headers, verified)
        .await
        .expect("accept");
    let event = inbox
        .event(queued(&accepted)[0])
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(event.bytes, body);
    assert_eq!(event.summary.key.as_bytes(), b"email-api:id:evt_1");
    assert_eq!(inbox.stats().await.expect("stats").pending, 4);
}

/// A redelivery is accepted (2xx) and queues only the events not seen on the route.
pub async fn a_redelivered_batch_queues_only_new_events<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    let first = accept_stalwart(&inbox, &[1, 2]).await;
    let again = accept_stalwart(&inbox, &[1, 2, 3]).await;
    assert_eq!(again.status(), 200);
    assert_eq!((again.queued(), again.duplicates()), (1, 2));
    let first_ids = queued(&first);
    match (again.events[0].outcome, again.events[1].outcome) {
        (EventAcceptance::Duplicate(a), EventAcceptance::Duplicate(b)) => {
            assert_eq!(
                [a, b],
                [first_ids[0], first_ids[1]],
                "names the known event"
            );
        }
        other => panic!("expected duplicates, got {other:?}"),
    }
    // The same event on another route is another event.
    let (headers, verified) = verified_stalwart(stalwart_batch(&[1]));
    let other = inbox
        .accept(
            &Route::new("stalwart-eu").expect("route"),
            &headers,
            verified,
        )
        .await
        .expect("accept");
    assert_eq!(other.queued(), 1);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.deliveries), (4, 3));
    let deliveries = inbox
        .list_deliveries(&DeliveryFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!((deliveries[1].queued, deliveries[1].duplicates), (1, 2));
}

/// 32 concurrent deliveries of one event queue it once.
pub async fn concurrent_accepts_of_one_event_queue_it_once<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let inbox = inbox.clone();
            tokio::spawn(async move { accept_stalwart(&inbox, &[7]).await })
        })
        .collect();
    let mut queued_total = 0;
    for task in tasks {
        let accepted = task.await.expect("task");
        assert_eq!(accepted.status(), 200);
        queued_total += accepted.queued();
    }
    assert_eq!(queued_total, 1);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.deliveries, stats.keys), (1, 32, 1));
}

/// A second instance on the same storage sees the first's keys.
pub async fn another_instance_deduplicates_against_the_first<H: Harness>(harness: H) {
    let clock = clock();
    let first = harness.inbox(clock.clone());
    let second = harness.second(clock);
    let (a, b) = tokio::join!(
        accept_stalwart(&first, &[1, 2]),
        accept_stalwart(&second, &[2, 3])
    );
    assert_eq!(a.queued() + b.queued(), 3);
    assert_eq!(a.duplicates() + b.duplicates(), 1);
    assert_eq!(second.stats().await.expect("stats").pending, 3);
}

/// A body that verifies but does not parse is stored with its error and no events,
/// answered 2xx, and queued once it splits.
pub async fn a_body_that_does_not_parse_is_quarantined_and_kept<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    // Keyed by id, but the id is longer than a key may be: the split refuses it.
    let long = "9".repeat(300);
    let body = format!(
        r#"{{"events":[{{"id":"{long}","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{}}}}]}}"#
    )
    .into_bytes();
    let (headers, verified) = verified_stalwart(body.clone());
    let by_id = Route::of(Scheme::Stalwart).with_stalwart_key(StalwartKey::Id);
    let accepted = inbox
        .accept(&by_id, &headers, verified)
        .await
        .expect("accept");
    assert_eq!(accepted.status(), 200);
    assert!(accepted.is_quarantined());
    assert_eq!(accepted.queued(), 0);
    let quarantined = inbox
        .list_deliveries(
            &DeliveryFilter::default().state(DeliveryState::Quarantined),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0]
            .parse_error
            .as_deref()
            .is_some_and(|e| e.contains("deduplication key"))
    );
    let stored = inbox
        .delivery(accepted.delivery)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(stored.body, body);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.quarantined, stats.pending), (1, 0));

    // Split the same way again: still refused, still kept.
    let err = inbox
        .retry_quarantined(accepted.delivery, None)
        .await
        .expect_err("still does not split");
    assert_eq!(err.status(), 400);
    assert_eq!(inbox.stats().await.expect("stats").quarantined, 1);
    // Keyed by content (what a fixed version would do): queued.
    let requeued = inbox
        .retry_quarantined(accepted.delivery, Some(&Route::of(Scheme::Stalwart)))
        .await
        .expect("requeue");
    assert_eq!(requeued.queued(), 1);
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.quarantined, stats.pending), (0, 1));
    let event = inbox
        .event(queued(&requeued)[0])
        .await
        .expect("read")
        .expect("stored");
    let parsed: WebhookEvent<'static> = StoredEvent::from_verified_store(
        Scheme::Stalwart,
        &event.bytes,
        ParseContext::new(event.media_type),
    )
    .parse()
    .expect("the stored event parses");
    assert_eq!(parsed.id(), long);
}

/// Two claimers never hold one event; a worker whose lease ran out and was taken over
/// can neither complete nor retry it, and every attempt is recorded.
pub async fn claims_are_exclusive_and_a_lost_lease_cannot_finish<H: Harness>(harness: H) {
    let clock = clock();
    let a = harness.inbox(clock.clone());
    let b = harness.second(clock.clone());
    accept_stalwart(&a, &[1]).await;
    let first = claim(&a, 10, "a").await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].attempt, first[0].attempt_in_run), (1, 1));
    assert!(
        claim(&b, 10, "b").await.is_empty(),
        "held under a live lease"
    );

    clock.advance(LEASE + Duration::from_secs(1));
    let second = claim(&b, 10, "b").await;
    assert_eq!(second.len(), 1, "an expired lease is claimed again");
    assert_eq!(second[0].attempt, 2);
    assert_ne!(second[0].lease.token, first[0].lease.token);
    assert_eq!(second[0].bytes, first[0].bytes);

    // The stalled first worker wakes up: its answers are refused.
    assert_eq!(
        finish(&a, &first[0], Verdict::Done).await,
        Finished::LeaseLost
    );
    let retry = Verdict::Retry {
        at: a.now(),
        error: "late".into(),
    };
    assert_eq!(finish(&a, &first[0], retry).await, Finished::LeaseLost);
    assert_eq!(
        a.backend()
            .heartbeat(vec![first[0].lease], a.now().after(LEASE))
            .await
            .expect("heartbeat"),
        vec![first[0].lease]
    );
    assert_eq!(
        a.backend()
            .release(vec![first[0].lease], "a".into(), a.now())
            .await
            .expect("release"),
        0
    );
    let event = a
        .event(first[0].lease.event)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(event.summary.state, EventState::Running, "still b's");

    assert_eq!(
        finish(&b, &second[0], Verdict::Done).await,
        Finished::Applied
    );
    let event = a
        .event(first[0].lease.event)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(event.summary.state, EventState::Done);
    let outcomes: Vec<AttemptOutcome> = event.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(
        outcomes,
        [
            AttemptOutcome::LeaseExpired,
            AttemptOutcome::LeaseLost,
            AttemptOutcome::LeaseLost,
            AttemptOutcome::Done
        ]
    );
    assert_eq!(event.attempts[0].attempt, 1);
    assert_eq!(event.attempts[0].worker.as_deref(), Some("a"));
    assert_eq!(event.attempts.last().map(|a| a.attempt), Some(2));
}

/// A renewed lease keeps the event; a heartbeat with a wrong token reports it lost.
pub async fn a_heartbeat_keeps_the_lease<H: Harness>(harness: H) {
    let clock = clock();
    let inbox = harness.inbox(clock.clone());
    accept_stalwart(&inbox, &[1]).await;
    let held = claim(&inbox, 1, "a").await;
    for _ in 0..3 {
        clock.advance(LEASE * 2 / 3);
        let lost = inbox
            .backend()
            .heartbeat(vec![held[0].lease], inbox.now().after(LEASE))
            .await
            .expect("heartbeat");
        assert!(lost.is_empty());
    }
    clock.advance(LEASE * 2 / 3);
    assert!(
        claim(&inbox, 1, "b").await.is_empty(),
        "renewed, not expired"
    );
    let forged = Lease {
        token: held[0].lease.token.wrapping_add(1),
        ..held[0].lease
    };
    let lost = inbox
        .backend()
        .heartbeat(vec![forged], inbox.now().after(LEASE))
        .await
        .expect("heartbeat");
    assert_eq!(lost, vec![forged]);
}

/// A retried event is due at the time set, not before; it is listed as retrying.
pub async fn a_retry_is_due_at_its_time<H: Harness>(harness: H) {
    let clock = clock();
    let inbox = harness.inbox(clock.clone());
    accept_stalwart(&inbox, &[1]).await;
    let first = claim(&inbox, 1, "a").await;
    let at = inbox.now().after(Duration::from_secs(10));
    let verdict = Verdict::Retry {
        at,
        error: "database down".into(),
    };
    assert_eq!(finish(&inbox, &first[0], verdict).await, Finished::Applied);
    let listed = inbox
        .list_events(
            &EventFilter::default().state(EventState::Retrying),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].due_at, Some(at));
    assert_eq!(listed[0].last_error.as_deref(), Some("database down"));
    assert_eq!(inbox.stats().await.expect("stats").retrying, 1);

    clock.advance(Duration::from_secs(9));
    assert!(claim(&inbox, 1, "a").await.is_empty());
    clock.advance(Duration::from_secs(1));
    let second = claim(&inbox, 1, "a").await;
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].attempt, second[0].attempt_in_run), (2, 2));
}

/// A dead event keeps its bytes and last error; a redrive runs it again from the same
/// bytes with a fresh attempt budget.
pub async fn dead_events_keep_bytes_and_error_until_redriven<H: Harness>(harness: H) {
    let clock = clock();
    let inbox = harness.inbox(clock.clone());
    accept_stalwart(&inbox, &[1, 2]).await;
    let claimed = claim(&inbox, 2, "a").await;
    for event in &claimed {
        let verdict = Verdict::Dead {
            error: format!("no such account {}", event.lease.event),
        };
        finish(&inbox, event, verdict).await;
    }
    assert!(
        claim(&inbox, 2, "a").await.is_empty(),
        "dead events are not claimed"
    );
    let dead = inbox
        .event(claimed[0].lease.event)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(dead.summary.state, EventState::Dead);
    assert_eq!(dead.bytes, claimed[0].bytes);
    assert_eq!(
        dead.summary.last_error,
        Some(format!("no such account {}", claimed[0].lease.event))
    );
    assert_eq!(inbox.stats().await.expect("stats").dead, 2);

    // Purging does not touch dead events unless asked.
    clock.advance(Duration::from_secs(30 * 24 * 3600));
    inbox.purge(Retention::default()).await.expect("purge");
    assert_eq!(inbox.stats().await.expect("stats").dead, 2);

    // One event, then all the rest.
    assert_eq!(
        inbox
            .redrive(Selection::Event(claimed[0].lease.event))
            .await
            .expect("redrive"),
        1
    );
    assert_eq!(
        inbox
            .redrive(Selection::Event(claimed[0].lease.event))
            .await
            .expect("redrive"),
        0,
        "no longer dead"
    );
    let again = claim(&inbox, 2, "a").await;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].attempt, again[0].attempt_in_run), (2, 1));
    assert_eq!(again[0].run_since, inbox.now());
    assert_eq!(again[0].bytes, claimed[0].bytes, "byte-identical");
    assert_eq!(inbox.redrive(Selection::all()).await.expect("redrive"), 1);
    assert_eq!(inbox.stats().await.expect("stats").dead, 0);
}

/// A replay runs done events again from their stored bytes.
pub async fn replay_runs_done_events_from_the_same_bytes<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    let (headers, verified) = verified_email_api("evt_9");
    let body = verified.body().clone();
    inbox
        .accept(&Route::of(Scheme::EmailApi), &headers, verified)
        .await
        .expect("accept");
    accept_stalwart(&inbox, &[1]).await;
    for event in claim(&inbox, 2, "a").await {
        finish(&inbox, &event, Verdict::Done).await;
    }
    assert_eq!(inbox.stats().await.expect("stats").done, 2);
    let replayed = inbox
        .replay(Selection::Matching(
            EventFilter::default().scheme(Scheme::EmailApi),
        ))
        .await
        .expect("replay");
    assert_eq!(replayed, 1);
    let again = claim(&inbox, 2, "a").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].bytes, body);
    let event: EmailApiEvent = StoredEvent::from_verified_store(
        again[0].scheme,
        &again[0].bytes,
        ParseContext::new(again[0].media_type),
    )
    .parse()
    .expect("the stored event parses");
    assert_eq!(event.id, "evt_9");
}

/// A released event is due at once, for another worker.
pub async fn release_makes_an_event_due_at_once<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());
    accept_stalwart(&inbox, &[1]).await;
    let held = claim(&inbox, 1, "a").await;
    let released = inbox
        .backend()
        .release(vec![held[0].lease], "a".into(), inbox.now())
        .await
        .expect("release");
    assert_eq!(released, 1);
    let again = claim(&inbox, 1, "b").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    let event = inbox
        .event(held[0].lease.event)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(event.attempts[0].outcome, AttemptOutcome::Released);
}

/// Purging removes done events and their deliveries after their retention, never live
/// ones, and keeps keys as long as their own retention says.
pub async fn purge_keeps_live_events_and_keys_for_their_retention<H: Harness>(harness: H) {
    let clock = clock();
    let inbox = harness.inbox(clock.clone());
    accept_stalwart(&inbox, &[1]).await;
    accept_stalwart(&inbox, &[2]).await;
    let claimed = claim(&inbox, 1, "a").await;
    finish(&inbox, &claimed[0], Verdict::Done).await;

    let retention = Retention::default()
        .done_after(Duration::from_secs(3600))
        .keys_after(Duration::from_secs(48 * 3600));
    clock.advance(Duration::from_secs(3599));
    assert_eq!(inbox.purge(retention).await.expect("purge").events, 0);
    clock.advance(Duration::from_secs(2));
    let purged = inbox.purge(retention).await.expect("purge");
    assert_eq!((purged.events, purged.deliveries, purged.keys), (1, 1, 0));
    let stats = inbox.stats().await.expect("stats");
    assert_eq!((stats.done, stats.pending, stats.deliveries), (0, 1, 1));

    // The purged event's key still stops a late redelivery.
    let late = accept_stalwart(&inbox, &[1]).await;
    assert_eq!(late.duplicates(), 1);

    clock.advance(Duration::from_secs(48 * 3600));
    let purged = inbox.purge(retention).await.expect("purge");
    assert_eq!(
        purged.keys, 1,
        "the done event's key only; the pending one's stays"
    );
    assert_eq!(inbox.stats().await.expect("stats").pending, 1);
    let after = accept_stalwart(&inbox, &[1]).await;
    assert_eq!(after.queued(), 1, "past the key retention it is new");
    let still = accept_stalwart(&inbox, &[2]).await;
    assert_eq!(
        still.duplicates(),
        1,
        "a pending event's key is never purged"
    );
}

/// Listings are newest first, filter by state, sender, type, route and time, and page.
pub async fn listings_filter_and_page_newest_first<H: Harness>(harness: H) {
    let clock = clock();
    let inbox = harness.inbox(clock.clone());
    let start = inbox.now();
    accept_stalwart(&inbox, &[1, 2, 3]).await;
    clock.advance(Duration::from_secs(60));
    let middle = inbox.now();
    let (headers, verified) = verified_email_api("evt_1");
    inbox
        .accept(&Route::of(Scheme::EmailApi), &headers, verified)
        .await
        .expect("accept");
    accept_stalwart(&inbox, &[4]).await;

    let all = inbox
        .list_events(&EventFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    let page = inbox
        .list_events(&EventFilter::default(), Page::first(2))
        .await
        .expect("list");
    let next = inbox
        .list_events(&EventFilter::default(), Page::first(2).after(page[1].id.0))
        .await
        .expect("list");
    assert_eq!(
        [page[0].id, page[1].id, next[0].id, next[1].id],
        [all[0].id, all[1].id, all[2].id, all[3].id]
    );

    let email = inbox
        .list_events(
            &EventFilter::default().scheme(Scheme::EmailApi),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(email.len(), 1);
    assert_eq!(email[0].event_type.as_deref(), Some("delivered"));
    let typed = inbox
        .list_events(
            &EventFilter::default().event_type("delivered"),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(typed.len(), 1);
    let early = inbox
        .list_events(
            &EventFilter::default().received(Some(start), Some(middle)),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(early.len(), 3);
    let routed = inbox
        .list_events(&EventFilter::default().route("stalwart"), Page::default())
        .await
        .expect("list");
    assert_eq!(routed.len(), 4);
    let claimed = claim(&inbox, 1, "a").await;
    let running = inbox
        .list_events(
            &EventFilter::default().state(EventState::Running),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].id, claimed[0].lease.event);
    let delivery = inbox
        .list_events(
            &EventFilter::default().delivery(claimed[0].delivery),
            Page::default(),
        )
        .await
        .expect("list");
    assert_eq!(delivery.len(), 3);

    // Deliveries page the same way: three, newest first, two then one.
    let deliveries = inbox
        .list_deliveries(&DeliveryFilter::default(), Page::first(2))
        .await
        .expect("list");
    let rest = inbox
        .list_deliveries(
            &DeliveryFilter::default(),
            Page::first(2).after(deliveries[1].id.0),
        )
        .await
        .expect("list");
    assert_eq!((deliveries.len(), rest.len()), (2, 1));
    assert!(deliveries[0].id.0 > deliveries[1].id.0 && deliveries[1].id.0 > rest[0].id.0);
}

/// Every delivery records how it was verified — which signing secret matched (its
/// position and label, never the secret), or, for a scheme that signs nothing, which
/// credentials — and reads it back in the delivery, its events and the listing.
pub async fn each_delivery_records_how_it_was_verified<H: Harness>(harness: H) {
    let inbox = harness.inbox(clock());

    // Signed with the second of two labeled secrets (a rotation in progress).
    let body = stalwart_batch(&[1]);
    let mut headers = HeaderMap::new();
    let signature = stalwart::sign(&Secret::new("new-key"), &body);
    headers.insert("x-signature", signature.parse().expect("header"));
    let verified = Verifier::builder(Scheme::Stalwart)
        .labeled_secret("2026-q2", Secret::new("old-key"))
        .labeled_secret("2026-q4", Secret::new("new-key"))
        .build()
        .expect("verifier")
        .verify(&headers, body)
        .expect("a signed body verifies");
    let rotated = inbox
        .accept(&Route::of(Scheme::Stalwart), &headers, verified)
        .await
        .expect("accept");

    // One unlabeled secret.
    let (headers, verified) = verified_email_api("evt_key");
    let unlabeled = inbox
        .accept(&Route::of(Scheme::EmailApi), &headers, verified)
        .await
        .expect("accept");

    // WildDuck signs nothing: Basic credentials and a URL token authenticate it.
    let body = br#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"mailbox.created","user":"6561f0c2a1b2c3d4e5f60719","mailbox":"6561f0c2a1b2c3d4e5f6071a","path":"Archive"}"#.to_vec();
    let request = http::Request::builder()
        .uri("/hooks?token=url-token-value")
        .header("authorization", "Basic dTpw")
        .header("content-type", "application/json")
        .body(())
        .expect("request");
    let verified = Verifier::builder(Scheme::WildDuck)
        .credentials(Credentials::basic("u", Secret::new("p")))
        .url_token(UrlToken::new("token", Secret::new("url-token-value")))
        .build()
        .expect("verifier")
        .verify(&request, body)
        .expect("the credentials and token match");
    let unsigned = inbox
        .accept(&Route::of(Scheme::WildDuck), request.headers(), verified)
        .await
        .expect("accept");

    let expected = [
        (
            rotated.delivery,
            StoredVerification {
                key: Some(StoredKey {
                    index: 1,
                    label: Some("2026-q4".into()),
                }),
                credentials: false,
                url_token: false,
            },
        ),
        (unlabeled.delivery, contract_verification()),
        (
            unsigned.delivery,
            StoredVerification {
                key: None,
                credentials: true,
                url_token: true,
            },
        ),
    ];
    let listed = inbox
        .list_deliveries(&DeliveryFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(listed.len(), 3);
    for (id, verification) in expected {
        let delivery = inbox.delivery(id).await.expect("read").expect("stored");
        assert_eq!(delivery.summary.verification.as_ref(), Some(&verification));
        let event = inbox
            .list_events(&EventFilter::default().delivery(id), Page::default())
            .await
            .expect("list")[0]
            .id;
        let event = inbox.event(event).await.expect("read").expect("stored");
        assert_eq!(event.delivery.verification.as_ref(), Some(&verification));
        let summary = listed.iter().find(|d| d.id == id).expect("listed");
        assert_eq!(summary.verification.as_ref(), Some(&verification));
    }
    assert_eq!(
        verification_text(&inbox, rotated.delivery).await,
        r#"key "2026-q4" (#1)"#
    );
    assert_eq!(
        verification_text(&inbox, unlabeled.delivery).await,
        "key #0 (unlabeled)"
    );
    assert_eq!(
        verification_text(&inbox, unsigned.delivery).await,
        "Authorization credentials + URL token"
    );
}

/// For a backend's upgrade test, once an inbox has migrated storage from a schema
/// that did not record verifications: delivery `old` and its event `old_event` read
/// back with theirs unrecorded (`None`), and a new delivery records its own.
pub async fn check_verifications_after_upgrade<B: Backend>(
    inbox: &Inbox<B>,
    old: crate::DeliveryId,
    old_event: crate::EventId,
) {
    let before = inbox.delivery(old).await.expect("read").expect("kept");
    assert_eq!(before.summary.verification, None);
    let event = inbox.event(old_event).await.expect("read").expect("kept");
    assert_eq!(event.delivery.verification, None);
    let new = accept_stalwart(inbox, &[2]).await;
    let listed = inbox
        .list_deliveries(&DeliveryFilter::default(), Page::default())
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, new.delivery);
    assert_eq!(listed[0].verification, Some(contract_verification()));
    assert_eq!((listed[1].id, &listed[1].verification), (old, &None));
}

/// How delivery `id`'s verification reads as text.
async fn verification_text<B: Backend>(inbox: &Inbox<B>, id: crate::DeliveryId) -> String {
    inbox
        .delivery(id)
        .await
        .expect("read")
        .expect("stored")
        .summary
        .verification
        .expect("recorded")
        .to_string()
}

/// Runs a case future to completion on a fresh multi-threaded runtime: a ready-made
/// `$run` body for harnesses without special needs.
pub fn block_on<Fut: Future<Output = ()>>(future: Fut) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future);
}
