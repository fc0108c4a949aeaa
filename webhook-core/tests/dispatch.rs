//! The event router and per-event handling (issue 21, point 4): every sender's events
//! route by type and family prefix, the longest prefix wins, and a batch whose event
//! failed re-runs only that event on redelivery.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use webhook_core::{
    MediaType, ParseContext, Scheme, Secret, Verified, Verifier,
    dispatch::{Event, EventRouter, Route},
    idempotency::{DedupCounters, DedupOutcome, Deduplicator, MemoryStore, RunOutcome},
    senders::{
        email_api::EmailApiPayload,
        mailtrap::{self, MailtrapEvent},
        stalwart::{self, WebhookEvent},
        standard_webhooks::{StandardEvent, StandardWebhook},
        wildduck::WildDuckPayload,
    },
};

/// Which handler saw which event type, in order.
type Seen = Arc<Mutex<Vec<String>>>;

/// A router over `Ev` whose handlers record `"<tag> <type>"`; built from
/// `(pattern, tag)` routes (a `None` pattern is `otherwise`).
fn recording<Ev: Event + Send>(
    routes: &[(Option<&str>, &'static str)],
) -> (EventRouter<Ev, String>, Seen) {
    let seen: Seen = Arc::default();
    let mut router = EventRouter::new();
    for &(pattern, tag) in routes {
        let seen = seen.clone();
        let handler = move |event: Ev| {
            seen.lock()
                .unwrap()
                .push(format!("{tag} {}", event.event_type()));
            async { Ok(()) }
        };
        router = match pattern {
            Some(pattern) => router.on(pattern, handler),
            None => router.otherwise(handler),
        };
    }
    (router, seen)
}

fn run_all<Ev: Event>(router: &EventRouter<Ev, String>, events: Vec<Ev>) {
    for event in events {
        block_on(router.dispatch(event)).unwrap();
    }
}

fn json() -> ParseContext<'static> {
    ParseContext::new(MediaType::Json)
}

fn stalwart_body(types: &[&str]) -> String {
    let events: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(r#"{{"id":"{i}","createdAt":"2025-08-21T14:01:4{i}Z","type":"{t}","data":{{"n":{i}}}}}"#)
        })
        .collect();
    format!(r#"{{"events":[{}]}}"#, events.join(","))
}

fn verified_stalwart(body: &str) -> Verified<Vec<u8>> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-signature",
        stalwart::sign(&Secret::new("k"), body.as_bytes())
            .parse()
            .unwrap(),
    );
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap()
        .verify(&headers, body.as_bytes().to_vec())
        .unwrap()
}

#[test]
fn stalwart_types_route_exact_then_longest_prefix_then_otherwise() {
    // The shorter prefix is registered last: length decides, not order.
    let (router, seen) = recording::<WebhookEvent<'static>>(&[
        (Some("auth.fail*"), "auth-fail"),
        (Some("delivery.delivered"), "delivered"),
        (Some("auth.*"), "auth"),
        (None, "other"),
    ]);
    let body = stalwart_body(&[
        "auth.failure",
        "auth.success",
        "delivery.delivered",
        "delivery.failed",
        "queue.queue-message",
    ]);
    run_all(
        &router,
        WebhookEvent::split(body.as_bytes(), json()).unwrap(),
    );
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "auth-fail auth.failure",
            "auth auth.success",
            "delivered delivery.delivered",
            "other delivery.failed",
            "other queue.queue-message",
        ]
    );
    assert_eq!(router.route("auth.failure"), Route::Prefix("auth.fail"));
    assert_eq!(
        router.route("delivery.delivered"),
        Route::Exact("delivery.delivered")
    );
    assert_eq!(router.route("delivery.delivere"), Route::Otherwise);
}

#[test]
fn an_exact_route_beats_a_prefix_registered_before_it() {
    let (router, seen) = recording::<WebhookEvent<'static>>(&[
        (Some("delivery.*"), "family"),
        (Some("delivery.delivered"), "exact"),
    ]);
    let body = stalwart_body(&["delivery.delivered", "delivery.failed"]);
    run_all(
        &router,
        WebhookEvent::split(body.as_bytes(), json()).unwrap(),
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["exact delivery.delivered", "family delivery.failed"]
    );
}

#[test]
fn email_api_types_route() {
    let (router, seen) = recording::<EmailApiPayload<'static>>(&[
        (Some("bounced"), "bounce"),
        (Some("delivered"), "delivered"),
        (None, "other"),
    ]);
    for t in ["bounced", "delivered", "opened"] {
        let body = format!(
            r#"{{"id":"evt_1","type":"{t}","created_at":"2024-01-15T10:30:05Z","data":{{"email_id":"m","from":"a@x","to":"b@y"}}}}"#
        );
        run_all(
            &router,
            EmailApiPayload::split(body.as_bytes(), json()).unwrap(),
        );
    }
    assert_eq!(
        *seen.lock().unwrap(),
        ["bounce bounced", "delivered delivered", "other opened"]
    );
}

#[test]
fn mailtrap_events_route_by_their_event_name_including_audit_and_unknown_kinds() {
    let (router, seen) = recording::<MailtrapEvent<'static>>(&[
        (Some("soft bounce"), "soft"),
        (Some("bounce"), "hard"),
        (Some("activity_log.user.*"), "audit-user"),
        (Some("activity_log.*"), "audit"),
    ]);
    let body = concat!(
        r#"{"event":"soft bounce","timestamp":1716070000,"event_id":"e1","message_id":"m1","email":"a@x"}"#,
        "\n",
        r#"{"event":"bounce","timestamp":1716070000,"event_id":"e2","message_id":"m2","email":"b@x"}"#,
        "\n",
        r#"{"event":"activity_log.user.updated","description":"d","actor":{"name":"M"},"timestamp":1735830138}"#,
        "\n",
        r#"{"event":"activity_log.domain.created","description":"d","actor":{"name":"M"},"timestamp":1735830138}"#,
        "\n",
        r#"{"event":"teleported","timestamp":1716070000,"event_id":"e3","message_id":"m3","email":"c@x"}"#,
        "\n",
    );
    let events =
        MailtrapEvent::split(body.as_bytes(), ParseContext::new(MediaType::JsonLines)).unwrap();
    assert_eq!(events.len(), 5);
    run_all(&router, events);
    // No `otherwise`: the unknown kind is acknowledged without a handler.
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "soft soft bounce",
            "hard bounce",
            "audit-user activity_log.user.updated",
            "audit activity_log.domain.created",
        ]
    );
    assert_eq!(router.route("teleported"), Route::Unhandled);
}

#[test]
fn wildduck_hierarchical_names_route_by_prefix_and_wildcard() {
    let (router, seen) = recording::<WildDuckPayload<'static>>(&[
        (Some("user.*"), "user"),
        (Some("user.delete.*"), "user-delete"),
        (Some("forward added"), "forward"),
        (Some("*"), "rest"),
    ]);
    for ev in [
        "user.created",
        "user.delete.started",
        "user.password.changed",
        "forward added",
        "mfa.totp.enabled",
    ] {
        let body = format!(
            r#"{{"id":"64d1f0c2a3b4c5d6e7f80912:1","time":1691480000000,"ev":"{ev}","user":"64d1f0c2a3b4c5d6e7f80913"}}"#
        );
        run_all(
            &router,
            WildDuckPayload::split(body.as_bytes(), json()).unwrap(),
        );
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "user user.created",
            "user-delete user.delete.started",
            "user user.password.changed",
            "forward forward added",
            "rest mfa.totp.enabled",
        ]
    );
    assert_eq!(
        router.route("userx"),
        Route::Prefix(""),
        "`*` is the empty prefix"
    );
}

#[test]
fn standard_webhooks_route_on_the_body_type() {
    let context = ParseContext {
        media_type: MediaType::Json,
        message_id: Some("msg_1"),
        signed_at: Some(1_700_000_000),
    };
    let (typed, seen) = recording::<StandardWebhook<StandardEvent<'static>>>(&[
        (Some("email.*"), "email"),
        (None, "other"),
    ]);
    for t in ["email.delivered", "invoice.paid"] {
        let body = format!(r#"{{"type":"{t}","data":{{}}}}"#);
        run_all(
            &typed,
            StandardWebhook::<StandardEvent<'static>>::split(body.as_bytes(), context).unwrap(),
        );
    }
    assert_eq!(
        *seen.lock().unwrap(),
        ["email email.delivered", "other invoice.paid"]
    );

    let (untyped, seen) = recording::<StandardWebhook<serde_json::Value>>(&[
        (Some("invoice.paid"), "paid"),
        (None, "other"),
    ]);
    for body in [r#"{"type":"invoice.paid"}"#, r#"{"kind":"no type at all"}"#] {
        run_all(
            &untyped,
            StandardWebhook::<serde_json::Value>::split(body.as_bytes(), context).unwrap(),
        );
    }
    assert_eq!(*seen.lock().unwrap(), ["paid invoice.paid", "other "]);
}

#[test]
fn a_handler_error_is_the_dispatch_result() {
    let router = EventRouter::new().on("auth.failure", |_: WebhookEvent<'static>| async {
        Err("locked out")
    });
    let mut events = WebhookEvent::split(
        stalwart_body(&["auth.failure", "auth.success"]).as_bytes(),
        json(),
    )
    .unwrap();
    let success = events.pop().unwrap();
    assert_eq!(
        block_on(router.dispatch(events.pop().unwrap())),
        Err("locked out")
    );
    assert_eq!(
        block_on(router.dispatch(success)),
        Ok(()),
        "unhandled: acknowledged"
    );
}

#[test]
#[should_panic(expected = "registered twice")]
fn registering_a_type_twice_panics() {
    let _ = EventRouter::<WebhookEvent<'static>, ()>::new()
        .on("auth.success", |_| async { Ok(()) })
        .on("auth.success", |_| async { Ok(()) });
}

#[test]
#[should_panic(expected = "registered twice")]
fn registering_a_prefix_twice_panics() {
    let _ = EventRouter::<WebhookEvent<'static>, ()>::new()
        .on_prefix("auth.", |_| async { Ok(()) })
        .on("auth.*", |_| async { Ok(()) });
}

#[test]
#[should_panic(expected = "may only end a pattern")]
fn a_star_inside_a_pattern_panics() {
    let _ = EventRouter::<WebhookEvent<'static>, ()>::new().on("auth.*.x", |_| async { Ok(()) });
}

#[test]
fn a_stalwart_batch_whose_second_event_failed_reruns_only_that_event() {
    let body = stalwart_body(&["auth.success", "delivery.delivered", "queue.queue-message"]);
    let verified = verified_stalwart(&body);
    let counters = DedupCounters::new();
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart)
        .with_observer(counters.clone());
    let fail = Arc::new(Mutex::new(true));
    let (seen, router) = {
        let seen: Seen = Arc::default();
        let (s1, s2, fail) = (seen.clone(), seen.clone(), fail.clone());
        let router = EventRouter::new()
            .on("delivery.delivered", move |event: WebhookEvent<'static>| {
                s1.lock().unwrap().push(event.event_type().to_string());
                let failing = *fail.lock().unwrap();
                async move {
                    if failing {
                        Err("database down".to_owned())
                    } else {
                        Ok(())
                    }
                }
            })
            .otherwise(move |event| {
                s2.lock().unwrap().push(event.event_type().to_string());
                async { Ok(()) }
            });
        (seen, router)
    };

    let first = block_on(dedup.run_events(&verified, |event| router.dispatch(event))).unwrap();
    assert_eq!(first.answer().status(), 500);
    assert_eq!((first.processed(), first.failed()), (2, 1));
    assert_eq!(
        first.summary_json(),
        r#"{"status":"failed","processed":2,"duplicates":0,"failed":1,"in_progress":0}"#
    );
    assert_eq!(seen.lock().unwrap().len(), 3);

    *fail.lock().unwrap() = false;
    seen.lock().unwrap().clear();
    let retry = block_on(dedup.run_events(&verified, |event| router.dispatch(event))).unwrap();
    assert_eq!(retry.answer().status(), 200);
    assert_eq!(*seen.lock().unwrap(), ["delivery.delivered"]);
    assert!(matches!(
        retry.outcomes(),
        [
            RunOutcome::Duplicate,
            RunOutcome::Processed { .. },
            RunOutcome::Duplicate
        ]
    ));
    // Counted per event: 2 + 1 processed, 1 failure, 2 duplicates.
    assert_eq!(counters.get(DedupOutcome::Processed), 3);
    assert_eq!(counters.get(DedupOutcome::Failed), 1);
    assert_eq!(counters.get(DedupOutcome::Duplicate), 2);
}

#[test]
fn events_of_another_sender_are_refused_before_any_handler_runs() {
    let verified = verified_stalwart(&stalwart_body(&["auth.success"]));
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
    let ran = Mutex::new(0);
    let result = block_on(dedup.run_events(&verified, |_: MailtrapEvent<'static>| {
        *ran.lock().unwrap() += 1;
        async { Ok::<_, String>(()) }
    }));
    assert!(result.is_err());
    assert_eq!(*ran.lock().unwrap(), 0);
}

#[test]
fn mailtrap_per_event_retry_with_a_signed_json_batch() {
    let body = r#"{"events":[{"event":"delivery","timestamp":1716070000,"event_id":"e1","message_id":"m1","email":"a@x"},{"event":"bounce","timestamp":1716070001,"event_id":"e2","message_id":"m2","email":"b@x"}]}"#;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "mailtrap-signature",
        mailtrap::sign(&Secret::new("k"), body.as_bytes())
            .parse()
            .unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    let verified = Verifier::builder(Scheme::Mailtrap)
        .secret(Secret::new("k"))
        .build()
        .unwrap()
        .verify(&headers, body.as_bytes())
        .unwrap();
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap);
    let mut ran = Vec::new();
    let mut deliver = |fail: bool| {
        let report = block_on(
            dedup.run_events(&verified, |event: MailtrapEvent<'static>| {
                ran.push(event.name().to_owned());
                let result = if fail && event.name() == "bounce" {
                    Err("no")
                } else {
                    Ok(())
                };
                async move { result }
            }),
        )
        .unwrap();
        report.answer().status().as_u16()
    };
    assert_eq!(deliver(true), 500);
    assert_eq!(deliver(false), 200);
    assert_eq!(deliver(false), 200);
    assert_eq!(ran, ["delivery", "bounce", "bounce"]);
}

/// A timer that sleeps on a thread per wait (the core has no runtime).
fn thread_timer() -> webhook_core::idempotency::LeaseTimer {
    webhook_core::idempotency::LeaseTimer::new(|delay| {
        let (done, wait) = futures::channel::oneshot::channel::<()>();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = done.send(());
        });
        Box::pin(async move {
            let _ = wait.await;
        })
    })
}

#[test]
fn a_batch_slower_than_its_lease_keeps_the_claims_of_its_later_events() {
    use std::time::Duration;
    use webhook_core::idempotency::{Claim, DedupKey, DedupPolicy, IdempotencyStore};

    const LEASE: Duration = Duration::from_millis(600);
    let store = MemoryStore::new();
    let dedup = Deduplicator::new(
        store.clone(),
        DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(LEASE),
    )
    .with_lease_timer(thread_timer());
    let key = |n: u8| DedupKey::fingerprint(Scheme::Stalwart, &[n; 32]);
    let batch = std::thread::spawn(move || {
        let clock = thread_timer();
        block_on(dedup.run_batch((0..3).map(|n| (key(n), n)), |_| {
            // Each event takes most of a lease (waiting, as an async handler does):
            // the third starts after 1.2 leases.
            let wait = clock.sleep(LEASE * 5 / 6);
            async move {
                wait.await;
                Ok::<_, String>(())
            }
        }))
    });
    // 1.5 leases after the claims: without renewal the third event's claim would have
    // run out and a redelivery would take it while this batch is still running.
    std::thread::sleep(LEASE * 3 / 2);
    let redelivery = block_on(store.claim(&key(2), LEASE)).unwrap();
    assert!(
        matches!(redelivery, Claim::InProgress { .. }),
        "the later event's claim was kept: {redelivery:?}"
    );
    let report = batch.join().unwrap();
    assert_eq!(report.processed(), 3);
    for outcome in report.outcomes() {
        assert!(
            matches!(outcome, RunOutcome::Processed { completion, .. } if completion.is_recorded()),
            "{outcome:?}"
        );
    }
}

#[test]
fn a_later_event_whose_lease_was_lost_meanwhile_does_not_run() {
    use std::time::Duration;
    use webhook_core::idempotency::{Claim, DedupKey, DedupPolicy, IdempotencyStore, LeaseTimer};

    const LEASE: Duration = Duration::from_millis(200);
    let store = MemoryStore::new();
    // A stalled runtime: renewals come ten times later than asked, after the lease ran out.
    let stalled = LeaseTimer::new(|delay| thread_timer().sleep(delay * 10));
    let dedup = Deduplicator::new(
        store.clone(),
        DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(LEASE),
    )
    .with_lease_timer(stalled);
    let key = |n: u8| DedupKey::fingerprint(Scheme::Stalwart, &[n; 32]);
    let ran = Arc::new(Mutex::new(Vec::new()));
    let batch = std::thread::spawn({
        let ran = ran.clone();
        move || {
            let clock = thread_timer();
            block_on(dedup.run_batch((0..3).map(|n| (key(n), n)), |n| {
                ran.lock().unwrap().push(n);
                let wait = clock.sleep(if n == 0 { LEASE * 6 } else { Duration::ZERO });
                async move {
                    wait.await;
                    Ok::<_, String>(())
                }
            }))
        }
    });
    // The lease ran out unrenewed: a redelivery takes the third event.
    std::thread::sleep(LEASE * 2);
    let taken = block_on(store.claim(&key(2), LEASE * 50)).unwrap();
    assert!(matches!(taken, Claim::Fresh(_)), "{taken:?}");

    let report = batch.join().unwrap();
    assert!(
        !ran.lock().unwrap().contains(&2),
        "the taken event did not run here: {:?}",
        ran.lock().unwrap()
    );
    assert!(
        matches!(report.outcomes()[2], RunOutcome::InProgress { .. }),
        "{:?}",
        report.outcomes()
    );
    assert_eq!(report.answer().status(), 409);
}
