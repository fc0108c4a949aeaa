//! Delivery timing under virtual time: every preset's exact attempt times, Stalwart's
//! throttle batching, re-queueing and discard-after, lossy counts, jitter, shutdown.
//! A paused tokio clock and a scripted transport make hours run in milliseconds, with
//! no real I/O to disturb the times.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::StatusCode;
use webhook_core::{
    MediaType, ParseContext, Scheme, Secret, Verifier,
    events::parse_unverified,
    senders::stalwart::{DataMap, Key, Value, WebhookEvents},
};
use webhook_sender::{
    DeliveryOutcome, DeliveryPolicy, Endpoint, IdGenerator, IdStyle, Jitter, Message, Retry,
    RetryOn, Schedule, Sender, StalwartEvent, StalwartFormat, Stats, Status, TokioClock,
    testing::{Reply, ScriptedTransport},
};

const START: u64 = 1_755_784_900;

fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START)
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|&s| Duration::from_secs(s)).collect()
}

fn always(status: u16) -> ScriptedTransport {
    ScriptedTransport::new(Reply::status(StatusCode::from_u16(status).unwrap()))
}

/// Sends one raw message under `policy` to a transport that always answers `status`;
/// returns the attempt times, the final counters and the outcomes.
async fn one_message(
    scheme: Scheme,
    policy: DeliveryPolicy,
    transport: ScriptedTransport,
) -> (Vec<Duration>, Stats, Vec<DeliveryOutcome>) {
    let endpoint = Endpoint::new(scheme, "http://receiver.test/hook").unwrap();
    let endpoint = match scheme {
        Scheme::StandardWebhooks => endpoint
            .secret(Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
            .unwrap(),
        Scheme::WildDuck => endpoint,
        _ => endpoint.secret(Secret::new("k")).unwrap(),
    };
    let sender = Sender::messages(endpoint)
        .policy(policy)
        .transport(transport.clone())
        .clock(TokioClock::starting_at(start()))
        .build()
        .unwrap();
    let mut outcomes = sender.subscribe();
    sender.send(Message::json(r#"{"n":1}"#)).unwrap();
    let stats = sender.close().await;
    let mut seen = Vec::new();
    while let Some(outcome) = outcomes.recv().await {
        seen.push(outcome);
    }
    (transport.sent_at(), stats, seen)
}

#[tokio::test(start_paused = true)]
async fn email_api_retries_after_1_5_and_30_minutes() {
    let (at, stats, outcomes) =
        one_message(Scheme::EmailApi, DeliveryPolicy::email_api(), always(500)).await;
    assert_eq!(at, secs(&[0, 60, 360, 2160]));
    assert_eq!(
        (stats.gave_up, stats.requests, stats.failed_requests),
        (1, 4, 4)
    );
    match &outcomes[..] {
        [
            DeliveryOutcome::GaveUp {
                attempts: 4, error, ..
            },
        ] => assert!(error.contains("500"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn mailtrap_seed_schedule_spans_a_day_and_wants_200() {
    // 204 is a success for most senders, not for Mailtrap.
    let (at, stats, _) =
        one_message(Scheme::Mailtrap, DeliveryPolicy::mailtrap(), always(204)).await;
    let expected_ms = [
        0, 60_000, 198_600, 518_766, 1_258_349, 2_966_787, 6_913_278, 16_029_673, 37_088_545,
        85_734_540,
    ];
    assert_eq!(
        at,
        expected_ms.map(Duration::from_millis).to_vec(),
        "10 attempts, first retry after 1 min, x2.31"
    );
    assert_eq!(stats.gave_up, 1);

    let transport = ScriptedTransport::new(Reply::status(StatusCode::OK))
        .then(Reply::status(StatusCode::ACCEPTED));
    let (at, stats, _) = one_message(Scheme::Mailtrap, DeliveryPolicy::mailtrap(), transport).await;
    assert_eq!(at, secs(&[0, 60]));
    assert_eq!(stats.delivered, 1);
}

#[tokio::test(start_paused = true)]
async fn mailtrap_current_docs_retry_every_5_minutes_40_times() {
    let (at, stats, _) = one_message(
        Scheme::Mailtrap,
        DeliveryPolicy::mailtrap_current(),
        always(503),
    )
    .await;
    assert_eq!(
        at,
        (0..=40)
            .map(|k| Duration::from_secs(300 * k))
            .collect::<Vec<_>>()
    );
    assert_eq!(stats.gave_up, 1);
}

#[tokio::test(start_paused = true)]
async fn wildduck_five_attempts_from_2_seconds() {
    let (at, stats, outcomes) =
        one_message(Scheme::WildDuck, DeliveryPolicy::wildduck(), always(410)).await;
    assert_eq!(at, secs(&[0, 2, 6, 14, 30]));
    assert_eq!(stats.gave_up, 1);
    assert_eq!(outcomes[0].attempts(), 5);
}

#[tokio::test(start_paused = true)]
async fn standard_webhooks_svix_schedule_same_id_fresh_timestamps() {
    let transport = always(500);
    let (at, stats, _) = one_message(
        Scheme::StandardWebhooks,
        DeliveryPolicy::standard_webhooks(),
        transport.clone(),
    )
    .await;
    let offsets = [0, 5, 305, 2105, 9305, 27_305, 63_305, 99_305];
    assert_eq!(at, secs(&offsets));
    assert_eq!(stats.gave_up, 1);
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(Secret::standard_webhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap())
        .build()
        .unwrap();
    let requests = transport.requests();
    let first_id = requests[0].request.headers()["webhook-id"].clone();
    for (seen, offset) in requests.iter().zip(offsets) {
        let headers = seen.request.headers();
        assert_eq!(headers["webhook-id"], first_id);
        let sent_at = START + offset;
        assert_eq!(headers["webhook-timestamp"], sent_at.to_string().as_str());
        let now = UNIX_EPOCH + Duration::from_secs(sent_at);
        verifier
            .verify_at(headers, seen.request.body(), now)
            .expect("each attempt is signed afresh");
    }
}

#[tokio::test(start_paused = true)]
async fn custom_schedule_with_seeded_jitter_is_reproducible() {
    let policy =
        DeliveryPolicy::custom(Retry::Schedule(Schedule::every(Duration::from_secs(10), 5)))
            .with_jitter(Jitter::new(0.5).seeded(42));
    let (a, _, _) = one_message(Scheme::EmailApi, policy.clone(), always(500)).await;
    let (b, _, _) = one_message(Scheme::EmailApi, policy, always(500)).await;
    assert_eq!(a, b);
    assert_eq!(a.len(), 6);
    let waits: Vec<Duration> = a.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        waits.iter().any(|w| *w != Duration::from_secs(10)),
        "{waits:?}"
    );
    for wait in waits {
        assert!(
            wait >= Duration::from_secs(5) && wait <= Duration::from_secs(15),
            "{wait:?}"
        );
    }
}

// ---- Stalwart -------------------------------------------------------------------------

fn event(n: u64) -> StalwartEvent {
    let mut data = DataMap::new();
    data.push(Key::Id, Value::UInt(n));
    StalwartEvent::from_map("auth.failed", &data).with_type_id(36)
}

fn stalwart(policy: DeliveryPolicy, transport: &ScriptedTransport) -> Sender<StalwartFormat> {
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook")
        .unwrap()
        .secret(Secret::new("k"))
        .unwrap();
    Sender::builder(
        endpoint,
        StalwartFormat::new(IdGenerator::new(IdStyle::Counter)),
        policy,
    )
    .transport(transport.clone())
    .clock(TokioClock::starting_at(start()))
    .build()
    .unwrap()
}

fn batches(transport: &ScriptedTransport) -> Vec<WebhookEvents<'static>> {
    transport
        .requests()
        .iter()
        .map(|s| parse_unverified(s.request.body(), ParseContext::new(MediaType::Json)).unwrap())
        .collect()
}

fn data_ids(batch: &WebhookEvents<'_>) -> Vec<u64> {
    batch
        .iter()
        .map(|e| e.fields().unwrap().value("id").unwrap().as_u64().unwrap())
        .collect()
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[tokio::test(start_paused = true)]
async fn stalwart_throttle_batches_events_and_sends_at_once_after_idle() {
    let transport = always(200);
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    sender.send(event(0)).unwrap(); // t=0: goes at once
    sleep_ms(200).await;
    sender.send(event(1)).unwrap();
    sender.send(event(2)).unwrap();
    sleep_ms(300).await;
    sender.send(event(3)).unwrap(); // t=0.5: all three wait for the throttle (t=1)
    sleep_ms(4500).await;
    sender.send(event(4)).unwrap(); // t=5: idle for long, goes at once
    let stats = sender.close().await;
    assert_eq!(transport.sent_at(), secs(&[0, 1, 5]));
    let sizes: Vec<Vec<u64>> = batches(&transport).iter().map(data_ids).collect();
    assert_eq!(sizes, [vec![0], vec![1, 2, 3], vec![4]]);
    assert_eq!((stats.delivered, stats.requests), (5, 3));
}

#[tokio::test(start_paused = true)]
async fn stalwart_keeps_one_post_in_flight() {
    // The first POST takes 2.5 s: what arrives meanwhile leaves when it ends.
    let transport = always(200).then(Reply::after(
        Duration::from_millis(2500),
        Reply::status(StatusCode::OK),
    ));
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    sender.send(event(0)).unwrap();
    sleep_ms(500).await;
    sender.send(event(1)).unwrap();
    sleep_ms(1000).await;
    sender.send(event(2)).unwrap();
    sender.close().await;
    assert_eq!(
        transport.sent_at(),
        [Duration::ZERO, Duration::from_millis(2500)]
    );
    let ids: Vec<Vec<u64>> = batches(&transport).iter().map(data_ids).collect();
    assert_eq!(ids, [vec![0], vec![1, 2]]);
}

#[tokio::test(start_paused = true)]
async fn stalwart_requeues_the_batch_behind_newer_events_with_new_ids() {
    let transport = always(200).then(Reply::after(
        Duration::from_millis(800),
        Reply::status(StatusCode::INTERNAL_SERVER_ERROR),
    ));
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    let first = sender.send(event(0)).unwrap();
    sleep_ms(500).await;
    sender.send(event(1)).unwrap();
    let log = sender.log().clone();
    sender.close().await;
    assert_eq!(transport.sent_at(), secs(&[0, 1]));
    let batches = batches(&transport);
    assert_eq!(
        data_ids(&batches[1]),
        [1, 0],
        "the retried event comes after the newer one"
    );
    let (before, after) = (&batches[0].events[0], &batches[1].events[1]);
    assert_eq!(before.id(), format!("{START}036"));
    assert_eq!(
        after.id(),
        format!("{}236", START),
        "counter 2: a new id for the retry"
    );
    assert_eq!(before.fingerprint(), after.fingerprint());
    assert_eq!(before.created_at_text(), "2025-08-21T14:01:40Z");

    let record = log.get(first).unwrap();
    assert_eq!(record.status, Status::Delivered);
    let attempts: Vec<_> = record
        .attempts
        .iter()
        .map(|a| (a.number, a.status, a.wire_id.clone(), a.batch_size))
        .collect();
    assert_eq!(
        attempts,
        [
            (
                1,
                Some(StatusCode::INTERNAL_SERVER_ERROR),
                Some(format!("{START}036")),
                1
            ),
            (2, Some(StatusCode::OK), Some(format!("{START}236")), 2),
        ]
    );
    assert_eq!(record.attempts[0].latency, Duration::from_millis(800));
    assert_eq!(record.attempts[1].at, start() + Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn stalwart_legacy_ids_are_the_same_on_retry() {
    let transport = always(200).then(Reply::status(StatusCode::BAD_GATEWAY));
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook").unwrap();
    let sender = Sender::builder(
        endpoint,
        StalwartFormat::new(IdGenerator::new(IdStyle::Legacy)),
        DeliveryPolicy::stalwart(),
    )
    .transport(transport.clone())
    .clock(TokioClock::starting_at(start()))
    .build()
    .unwrap();
    sender.send(event(0)).unwrap();
    sender.close().await;
    let ids: Vec<String> = batches(&transport)
        .iter()
        .map(|b| b.events[0].id().to_owned())
        .collect();
    assert_eq!(ids, [format!("{START}36"), format!("{START}36")]);
}

#[tokio::test(start_paused = true)]
async fn stalwart_retries_every_throttle_until_discard_after() {
    let transport = always(500);
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    let mut outcomes = sender.subscribe();
    let ticket = sender.send(event(0)).unwrap();
    let log = sender.log().clone();
    let stats = sender.close().await;
    // One attempt per second; after the attempt at 300 s the event is 5 min old when
    // re-queued, and dropped.
    assert_eq!(
        transport.sent_at(),
        (0..=300).map(Duration::from_secs).collect::<Vec<_>>()
    );
    assert_eq!(stats.discarded, 1);
    assert_eq!(
        outcomes.recv().await,
        Some(DeliveryOutcome::Discarded {
            ticket,
            attempts: 301,
            age: Duration::from_secs(300),
        })
    );
    assert_eq!(log.get(ticket).unwrap().status, Status::Discarded);
}

#[tokio::test(start_paused = true)]
async fn discard_after_drops_only_stale_events_and_reports_them() {
    let transport = always(500);
    let policy = DeliveryPolicy::stalwart().with_discard_after(Some(Duration::from_secs(10)));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook").unwrap();
    let sink = seen.clone();
    let sender = Sender::builder(endpoint, StalwartFormat::default(), policy)
        .transport(transport.clone())
        .clock(TokioClock::starting_at(start()))
        .on_outcome(move |outcome, stats| {
            sink.lock()
                .unwrap()
                .push((outcome.clone(), stats.discarded));
        })
        .build()
        .unwrap();
    let old = sender.send(event(0)).unwrap();
    sleep_ms(4500).await;
    let young = sender.send(event(1)).unwrap();
    // An event already older than discard-after is dropped on arrival.
    let stale = sender
        .send(event(2).created_at(chrono::DateTime::from_timestamp(START as i64 - 60, 0).unwrap()))
        .unwrap();
    let stats = sender.close().await;
    assert_eq!(stats.discarded, 3);
    assert_eq!(stats.delivered, 0);
    let seen = seen.lock().unwrap().clone();
    let order: Vec<_> = seen
        .iter()
        .map(|(o, count)| match o {
            DeliveryOutcome::Discarded {
                ticket,
                attempts,
                age,
            } => (*ticket, *attempts, age.as_secs(), *count),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        order,
        [(stale, 0, 64, 1), (old, 11, 10, 2), (young, 10, 10, 3)]
    );
    // The young event, sent at 4.5 s, has createdAt 4 s (whole seconds): it rode along
    // from 5 s to 14 s, when it turned 10 s old.
    assert_eq!(transport.sent_at().len(), 15);
}

#[tokio::test(start_paused = true)]
async fn lossy_mode_counts_exactly() {
    // Cap 3: ten events submitted together, three fit; the batch fails once and comes
    // back to a queue with room, then is delivered.
    let transport = always(200).then(Reply::after(
        Duration::from_millis(500),
        Reply::status(StatusCode::SERVICE_UNAVAILABLE),
    ));
    let sender = stalwart(DeliveryPolicy::stalwart().with_lossy(3), &transport);
    for n in 0..10 {
        sender.send(event(n)).unwrap();
    }
    sleep_ms(100).await;
    // While the first POST is out, new events fill the queue, and the rest drop.
    for n in 10..15 {
        sender.send(event(n)).unwrap();
    }
    let stats = sender.close().await;
    let ids: Vec<Vec<u64>> = batches(&transport).iter().map(data_ids).collect();
    // First POST: 0,1,2 (3..9 dropped). During it: 10,11,12 queued, 13,14 dropped. Its
    // failure finds the queue full: 0,1,2 dropped too.
    assert_eq!(ids, [vec![0, 1, 2], vec![10, 11, 12]]);
    assert_eq!(
        (stats.submitted, stats.delivered, stats.dropped),
        (15, 3, 12)
    );
    assert_eq!(stats.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn redirects_are_failures_not_followed() {
    let transport = always(200).then(Reply::status(StatusCode::FOUND));
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    let ticket = sender.send(event(0)).unwrap();
    let log = sender.log().clone();
    sender.close().await;
    let record = log.get(ticket).unwrap();
    assert_eq!(record.attempts.len(), 2);
    let error = record.attempts[0].error.clone().unwrap();
    assert!(error.contains("not followed"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn close_within_abandons_what_is_left_and_flush_waits() {
    // WildDuck has no timeout: a hanging receiver holds the delivery forever.
    let transport = ScriptedTransport::new(Reply::status(StatusCode::OK)).then(Reply::Hang);
    let endpoint = Endpoint::new(Scheme::WildDuck, "http://wildduck.test/hook").unwrap();
    let sender = Sender::messages(endpoint)
        .transport(transport.clone())
        .build()
        .unwrap();
    let stuck = sender.send(Message::json("{}")).unwrap();
    let queued = sender.send(Message::json("[]")).unwrap();
    let log = sender.log().clone();
    let stats = sender.close_within(Duration::from_secs(60)).await;
    assert_eq!((stats.abandoned, stats.delivered), (2, 0));
    assert_eq!(log.get(stuck).unwrap().status, Status::Abandoned);
    assert_eq!(log.get(queued).unwrap().status, Status::Abandoned);

    let transport = always(200);
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    sender.send(event(0)).unwrap();
    sender.send(event(1)).unwrap();
    sender.flush().await;
    assert_eq!(sender.stats().delivered, 2);
    sender.send(event(2)).unwrap();
    let stats = sender.close().await;
    assert_eq!(stats.delivered, 3);
}

#[tokio::test(start_paused = true)]
async fn paced_sending_with_progress() {
    let transport = always(200);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook").unwrap();
    // A 700 ms throttle keeps POSTs off the 250 ms grid of submissions.
    let sender = Sender::stalwart(endpoint)
        .policy(DeliveryPolicy::stalwart().with_throttle(Duration::from_millis(700)))
        .transport(transport.clone())
        .clock(TokioClock::starting_at(start()))
        .on_outcome(move |_, stats| sink.lock().unwrap().push(stats.delivered))
        .build()
        .unwrap();
    let tickets = sender.send_paced((0..10).map(event), 4.0).await.unwrap();
    assert_eq!(tickets.len(), 10);
    let stats = sender.close().await;
    assert_eq!(stats.delivered, 10);
    assert_eq!(*progress.lock().unwrap(), (1..=10).collect::<Vec<u64>>());
    // 4 per second over 2.25 s: POSTs at 0, 0.7, 1.4, 2.1 and 2.8 s.
    assert_eq!(
        transport.sent_at(),
        [0, 700, 1400, 2100, 2800].map(Duration::from_millis)
    );
    let sizes: Vec<usize> = batches(&transport).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, [1, 2, 3, 3, 1]);
}

#[tokio::test(start_paused = true)]
async fn sending_after_close_is_refused_with_the_item() {
    let transport = always(200);
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    let handle = sender.handle();
    sender.close().await;
    let err = handle.send(event(7)).unwrap_err();
    assert_eq!(err.into_item().event_type().as_str(), "auth.failed");
}

#[tokio::test]
async fn impossible_policies_are_refused_at_build() {
    let endpoint = || Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook").unwrap();
    let build = |policy: DeliveryPolicy| {
        Sender::stalwart(endpoint())
            .policy(policy)
            .transport(always(200))
            .build()
            .map(|_| ())
    };
    use webhook_sender::ConfigError;
    assert_eq!(
        build(DeliveryPolicy::stalwart().with_max_in_flight(0)),
        Err(ConfigError::ZeroInFlight)
    );
    assert_eq!(
        build(DeliveryPolicy::stalwart().with_max_batch(Some(0))),
        Err(ConfigError::ZeroBatch)
    );
    assert_eq!(
        build(DeliveryPolicy::stalwart().with_lossy(0)),
        Err(ConfigError::ZeroLossyCap)
    );
    assert_eq!(
        build(DeliveryPolicy::stalwart().with_timeout(Some(Duration::ZERO))),
        Err(ConfigError::ZeroTimeout)
    );
}

#[test]
fn building_outside_a_runtime_is_an_error_not_a_panic() {
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://stalwart.test/hook").unwrap();
    let err = Sender::stalwart(endpoint).build().unwrap_err();
    assert_eq!(err, webhook_sender::ConfigError::NoRuntime);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_keeps_the_receivers_problem_and_a_transient_rule_gives_up_on_a_permanent_4xx() {
    let problem =
        r#"{"error":"request body exceeds the 10-byte limit","code":"payload_too_large"}"#;
    let refusing = || {
        ScriptedTransport::new(Reply::body(
            StatusCode::PAYLOAD_TOO_LARGE,
            problem.as_bytes().to_vec(),
        ))
    };
    // The sender's own rule retries every failure, a 413 included (WildDuck: 5 attempts).
    let (sent, stats, outcomes) =
        one_message(Scheme::WildDuck, DeliveryPolicy::wildduck(), refusing()).await;
    assert_eq!(sent.len(), 5);
    assert_eq!(stats.gave_up, 1);
    let DeliveryOutcome::GaveUp { error, .. } = &outcomes[0] else {
        panic!("{outcomes:?}")
    };
    assert!(
        error.contains("413") && error.contains("payload_too_large: request body exceeds"),
        "{error}"
    );
    // A transient-only rule stops at the first permanent 4xx, and still retries a 503.
    let transient = DeliveryPolicy::wildduck().with_retry_on(RetryOn::Transient);
    let (sent, stats, _) = one_message(Scheme::WildDuck, transient.clone(), refusing()).await;
    assert_eq!((sent.len(), stats.gave_up), (1, 1));
    let (sent, _, _) = one_message(Scheme::WildDuck, transient, always(503)).await;
    assert_eq!(sent.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn the_log_keeps_the_start_of_a_refused_answer() {
    let long = format!(
        r#"{{"error":"{}","code":"signature_mismatch"}}"#,
        "x".repeat(5000)
    );
    let transport = ScriptedTransport::new(Reply::status(StatusCode::OK))
        .then(Reply::body(StatusCode::UNAUTHORIZED, long.into_bytes()));
    let sender = stalwart(DeliveryPolicy::stalwart(), &transport);
    let ticket = sender.send(event(0)).unwrap();
    let log = sender.log().clone();
    sender.close().await;
    let record = log.get(ticket).unwrap();
    let answer = record.attempts[0].answer.clone().unwrap();
    assert_eq!(answer.len(), webhook_sender::RESPONSE_EXCERPT_BYTES);
    assert!(answer.starts_with(br#"{"error":"xxx"#));
    // A successful attempt keeps no answer.
    assert_eq!(record.attempts[1].answer, None);
}
