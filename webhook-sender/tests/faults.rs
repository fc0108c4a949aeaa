//! Delivery through a misbehaving receiver over real loopback HTTP: errors, rate
//! limiting, a receiver slower than the client's timeout, dropped connections, a receiver
//! that is down and comes up. Non-lossy: every event arrives at least once. Lossy: what is
//! missing is exactly what was counted as dropped.

mod common;

use std::{collections::HashSet, time::Duration};

use common::{Fault, Receiver};
use webhook_core::{
    Scheme, Secret, Verifier,
    senders::stalwart::{DataMap, Fingerprint, Key, Value},
};
use webhook_sender::{
    DeliveryPolicy, Endpoint, Message, Retry, Schedule, Sender, StalwartEvent, Status, Ticket,
};

const KEY: &str = "fault-key";

fn verifier(scheme: Scheme) -> Verifier {
    Verifier::builder(scheme)
        .secret(Secret::new(KEY))
        .build()
        .unwrap()
}

fn endpoint(receiver: &Receiver) -> Endpoint {
    Endpoint::new(Scheme::Stalwart, &receiver.url("/hooks"))
        .unwrap()
        .no_proxy()
        .secret(Secret::new(KEY))
        .unwrap()
}

/// Stalwart's policy with test-sized times.
fn quick_stalwart() -> DeliveryPolicy {
    DeliveryPolicy::stalwart()
        .with_throttle(Duration::from_millis(20))
        .with_timeout(Some(Duration::from_millis(150)))
}

/// `n` distinct events (distinct data, so distinct fingerprints).
fn events(n: u64) -> Vec<StalwartEvent> {
    (0..n)
        .map(|i| {
            let mut data = DataMap::new();
            data.push(Key::Id, Value::UInt(i))
                .push(Key::RemoteIp, Value::from("192.0.2.1"));
            StalwartEvent::from_map("auth.failed", &data)
        })
        .collect()
}

#[tokio::test]
async fn every_event_arrives_through_errors_timeouts_and_dropped_connections() {
    let receiver = Receiver::start(verifier(Scheme::Stalwart)).await;
    receiver.faults([
        Fault::Status(500),
        Fault::Status(429),
        Fault::Sleep(Duration::from_millis(400)),
        Fault::Close,
        Fault::Status(503),
    ]);
    let sender = Sender::stalwart(endpoint(&receiver))
        .policy(quick_stalwart())
        .build()
        .unwrap();
    let sent = events(40);
    // Events are stamped (createdAt) when submitted, so they are compared by data below.
    sender.send_paced(sent.clone(), 400.0).await.unwrap();
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert_eq!(stats.submitted, 40);
    assert_eq!(stats.delivered, 40, "{stats:?}");
    assert_eq!(stats.gave_up + stats.discarded + stats.dropped, 0);
    assert!(stats.failed_requests >= 5, "{stats:?}");

    // Distinct events received (by fingerprint: ids change on retry) = events sent.
    let received = receiver.distinct_fingerprints();
    assert_eq!(received.len(), 40);
    let mut data_seen: HashSet<String> = HashSet::new();
    for batch in receiver.stalwart_batches() {
        for event in batch.iter() {
            data_seen.insert(event.data().as_str().to_owned());
        }
    }
    let data_sent: HashSet<String> = sent.iter().map(|e| e.data().as_str().to_owned()).collect();
    assert_eq!(data_seen, data_sent);

    // The batch the receiver took but answered too late came again, with new ids.
    let mut ids_by_print: std::collections::HashMap<Fingerprint, Vec<String>> = Default::default();
    for batch in receiver.stalwart_batches() {
        for event in batch.iter() {
            ids_by_print
                .entry(event.fingerprint())
                .or_default()
                .push(event.id().to_owned());
        }
    }
    let repeated: Vec<_> = ids_by_print.values().filter(|ids| ids.len() > 1).collect();
    assert!(
        !repeated.is_empty(),
        "the slow answer should cause redelivery"
    );
    for ids in repeated {
        let distinct: HashSet<_> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "a retried event got a new id: {ids:?}"
        );
    }

    // Every failure is in the log, with its cause.
    let errors: Vec<String> = log
        .records()
        .iter()
        .flat_map(|r| r.attempts.iter().filter_map(|a| a.error.clone()))
        .collect();
    assert!(errors.iter().any(|e| e.contains("500")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("429")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("no response within")),
        "{errors:?}"
    );
    assert!(log.records().iter().all(|r| r.status == Status::Delivered));
}

#[tokio::test]
async fn a_receiver_that_is_down_then_comes_up_gets_everything() {
    let receiver = Receiver::start_down(verifier(Scheme::Stalwart)).await;
    let sender = Sender::stalwart(endpoint(&receiver))
        .policy(quick_stalwart())
        .build()
        .unwrap();
    let sent = events(10);
    for event in sent.clone() {
        sender.send(event).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sender.stats().delivered, 0);
    assert!(sender.stats().failed_requests >= 2);
    receiver.come_up().await;
    let stats = sender.close().await;
    assert_eq!(stats.delivered, 10, "{stats:?}");
    assert_eq!(receiver.distinct_fingerprints().len(), 10);
}

#[tokio::test]
async fn lossy_mode_drops_exactly_what_it_counts() {
    let receiver = Receiver::start_down(verifier(Scheme::Stalwart)).await;
    let sender = Sender::stalwart(endpoint(&receiver))
        .policy(quick_stalwart().with_lossy(8))
        .build()
        .unwrap();
    let sent = events(30);
    let tickets = sender.send_paced(sent.clone(), 300.0).await.unwrap();
    receiver.come_up().await;
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.delivered + stats.dropped, 30, "{stats:?}");
    assert_eq!(stats.gave_up + stats.discarded + stats.abandoned, 0);

    // What arrived is exactly what was not dropped.
    let delivered: HashSet<Ticket> = log
        .records()
        .iter()
        .filter(|r| r.status == Status::Delivered)
        .map(|r| r.ticket)
        .collect();
    assert_eq!(delivered.len() as u64, stats.delivered);
    let expected: HashSet<String> = tickets
        .iter()
        .zip(&sent)
        .filter(|(t, _)| delivered.contains(t))
        .map(|(_, e)| e.data().as_str().to_owned())
        .collect();
    let arrived: HashSet<String> = receiver
        .stalwart_batches()
        .iter()
        .flat_map(|b| {
            b.iter()
                .map(|e| e.data().as_str().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(arrived, expected);
    assert_eq!(
        receiver.distinct_fingerprints().len() as u64,
        stats.delivered
    );
}

#[tokio::test]
async fn scheduled_retries_survive_faults_and_keep_the_standard_webhooks_id() {
    let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(Secret::standard_webhooks(text).unwrap())
        .build()
        .unwrap();
    let receiver = Receiver::start(verifier).await;
    receiver.faults([
        Fault::Status(500),
        Fault::Close,
        Fault::Sleep(Duration::from_millis(300)),
    ]);
    let endpoint = Endpoint::new(Scheme::StandardWebhooks, &receiver.url("/svix"))
        .unwrap()
        .no_proxy()
        .secret(Secret::standard_webhooks(text).unwrap())
        .unwrap();
    let mut policy =
        DeliveryPolicy::standard_webhooks().with_timeout(Some(Duration::from_millis(100)));
    policy.retry = Retry::Schedule(Schedule::every(Duration::from_millis(20), 5));
    let sender = Sender::messages(endpoint).policy(policy).build().unwrap();
    let ticket = sender
        .send(Message::json(r#"{"type":"email.sent"}"#))
        .unwrap();
    let log = sender.log().clone();
    let stats = sender.close().await;
    assert_eq!(stats.delivered, 1, "{stats:?}");
    let record = log.get(ticket).unwrap();
    assert_eq!(record.attempts.len(), 4, "{record:?}");
    let received = receiver.received();
    // The slow one and the final one were verified; the 500 too (it was answered).
    assert_eq!(received.len(), 3);
    let ids: HashSet<_> = received
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1, "webhook-id is stable across retries");
    assert!(received.iter().all(|r| r.verified.is_ok()));
    let wire_ids: HashSet<_> = record.attempts.iter().map(|a| a.wire_id.clone()).collect();
    assert_eq!(wire_ids.len(), 1);
}

#[tokio::test]
async fn transport_errors_in_the_log_never_show_url_secrets() {
    let receiver = Receiver::start_down(
        Verifier::builder(Scheme::WildDuck)
            .insecure_accept_unauthenticated()
            .build()
            .unwrap(),
    )
    .await;
    let url = receiver.url_with_userinfo("hook:pa55word", "/wd?token=t0ps3cret");
    let endpoint = Endpoint::new(Scheme::WildDuck, &url).unwrap().no_proxy();
    assert!(!format!("{endpoint:?}").contains("pa55word"));
    assert!(!endpoint.url().contains("t0ps3cret"));
    let sender = Sender::messages(endpoint).build().unwrap();
    let ticket = sender.send(Message::json("{}")).unwrap();
    let log = sender.log().clone();
    let stats = sender.close_within(Duration::from_millis(300)).await;
    assert_eq!(stats.abandoned, 1);
    let record = log.get(ticket).unwrap();
    assert!(!record.attempts.is_empty());
    for attempt in &record.attempts {
        let error = attempt.error.as_deref().unwrap();
        assert!(error.starts_with("could not connect"), "{error}");
        assert!(
            !error.contains("pa55word") && !error.contains("t0ps3cret"),
            "{error}"
        );
        assert_eq!(attempt.status, None);
    }
}
