//! The durable inbox behind both adapters (`webhook_axum::inbox::accept`,
//! `webhook_actix::inbox::accept`), over real loopback HTTP, with a real SQLite file and
//! the reference sender (issue 18, points 5 and 6):
//!
//! - each sender's documented worst-case batch is accepted by the default limits and
//!   every event reaches the worker;
//! - a redelivered batch queues nothing new;
//! - an inbox that cannot write (full, read-only file) is answered 503 with
//!   `Retry-After`, and nothing is acknowledged that is not stored;
//! - beyond the in-flight body budget, 503 with `Retry-After`, never a 2xx for
//!   something not stored;
//! - graceful shutdown lets a running handler finish, and gives back what outlives the
//!   grace period;
//! - a request that fails verification gets the extractors' problem, and nothing is
//!   stored.

mod inbox_support;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use inbox_support::{
    ADAPTERS, Config, HookRoute, Probe, RawRequest, RawResponse, Receiver, post, start,
};
use webhook_axum::inbox::{DeliveryId, Inbox, Route, SqliteBackend, Stats};
use webhook_core::{
    Scheme, Secret, Verifier,
    capacity::{BodyBudget, ServeLimits},
    senders::{
        mailtrap::EventKind,
        stalwart::{DataMap, Key, Value},
    },
};
use webhook_sender::{
    Body, Endpoint, Format as _, IdGenerator, IdStyle, MailtrapEncoding, MailtrapFormat,
    MailtrapItem, StalwartEvent, render_batch,
};

const STALWART_SECRET: &str = "stalwart-inbox-secret";
const MAILTRAP_SECRET: &str = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";

fn stalwart_verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(STALWART_SECRET))
        .build()
        .unwrap()
}

fn stalwart_route() -> HookRoute {
    HookRoute {
        path: "/hooks/stalwart",
        verifier: stalwart_verifier(),
        route: Route::of(Scheme::Stalwart),
    }
}

fn mailtrap_route() -> HookRoute {
    HookRoute {
        path: "/hooks/mailtrap",
        verifier: Verifier::builder(Scheme::Mailtrap)
            .secret(Secret::new(MAILTRAP_SECRET))
            .build()
            .unwrap(),
        route: Route::of(Scheme::Mailtrap),
    }
}

/// Distinct Stalwart events (distinct content, so distinct fingerprint keys).
fn stalwart_events(numbers: std::ops::Range<u64>) -> Vec<StalwartEvent> {
    numbers
        .map(|n| {
            let mut data = DataMap::new();
            data.push(Key::AccountName, Value::from("jdoe@example.org"));
            data.push(Key::AccountId, Value::from(n));
            data.push(Key::SpanId, Value::from(312_845_863_712_866_304 + n));
            data.push(Key::ListenerId, Value::from("imaps"));
            data.push(Key::LocalPort, Value::from(993u64));
            data.push(Key::RemoteIp, Value::from("203.0.113.7"));
            data.push(Key::RemotePort, Value::from(60_211u64));
            StalwartEvent::from_map("auth.success", &data).with_type_id(37)
        })
        .collect()
}

/// A signed Stalwart request for `events`, ids from `ids` (fresh ones on each render,
/// as Stalwart v0.16.11+ makes them): its headers and body.
fn stalwart_request(events: &[StalwartEvent], ids: &IdGenerator) -> (http::HeaderMap, Vec<u8>) {
    let refs: Vec<&StalwartEvent> = events.iter().collect();
    let body = render_batch(&refs, ids).unwrap();
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://127.0.0.1/hooks/stalwart")
        .unwrap()
        .secret(Secret::new(STALWART_SECRET))
        .unwrap();
    let request = endpoint
        .request(&Body::json(body.clone()), None, SystemTime::now())
        .unwrap();
    (request.headers().clone(), body)
}

fn new_inbox(dir: &Path) -> (Inbox, PathBuf) {
    let path = dir.join("inbox.db");
    (Inbox::open(&path).unwrap(), path)
}

async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn queued(response: &RawResponse) -> u64 {
    response.json()["queued"].as_u64().unwrap()
}

fn events_stored(stats: &Stats) -> u64 {
    stats.pending + stats.running + stats.retrying + stats.done + stats.dead
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worst_case_batches_are_accepted_by_the_defaults_and_every_event_is_handled() {
    // Stalwart: one POST holding every pending event, far beyond the 1 MiB that was the
    // default before per-sender limits (its default is 48 MiB).
    const STALWART_EVENTS: u64 = 20_000;
    // Mailtrap: up to 500 events per request; long message ids make each event the
    // ~4 KB of the documented worst case (the default limit allows 4 KiB each).
    const MAILTRAP_EVENTS: usize = 500;
    let stalwart = stalwart_events(0..STALWART_EVENTS);
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = new_inbox(dir.path());
        let probe = Probe::with_delay(Duration::ZERO);
        let mut config = Config::new(vec![stalwart_route(), mailtrap_route()]);
        config.concurrency = 32;
        let receiver = start(adapter, inbox.clone(), config, probe.clone());

        let (headers, body) = stalwart_request(&stalwart, &IdGenerator::new(IdStyle::Counter));
        assert!(body.len() > 4 << 20, "{} bytes", body.len());
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{adapter:?}: {}", response.body);
        assert_eq!(queued(&response), STALWART_EVENTS);

        // One request of 500 events, made by the reference sender's Mailtrap format.
        let format = MailtrapFormat::new(MailtrapEncoding::Json);
        let items: Vec<MailtrapItem> = (0..MAILTRAP_EVENTS)
            .map(|n| {
                let message_id = format!("msg-{n}-{}", "m".repeat(3700));
                let mut item = MailtrapItem::new(EventKind::Delivery, message_id, "to@example.com");
                format.prepare(&mut item, SystemTime::now(), Scheme::Mailtrap);
                item
            })
            .collect();
        let refs: Vec<&MailtrapItem> = items.iter().collect();
        let rendered = format.render(&refs).unwrap();
        let endpoint = Endpoint::new(Scheme::Mailtrap, &receiver.url("/hooks/mailtrap"))
            .unwrap()
            .secret(Secret::new(MAILTRAP_SECRET))
            .unwrap();
        let request = endpoint
            .request(&rendered.body, None, SystemTime::now())
            .unwrap();
        let body = request.body();
        assert!((1_900_000..2 << 20).contains(&body.len()), "{}", body.len());
        let response = post(receiver.address, "/hooks/mailtrap", request.headers(), body)
            .await
            .unwrap();
        assert_eq!(response.status, 200, "{adapter:?}: {}", response.body);
        assert_eq!(queued(&response), MAILTRAP_EVENTS as u64);

        let total = STALWART_EVENTS as usize + MAILTRAP_EVENTS;
        wait_until("every event is handled", Duration::from_secs(180), || {
            probe.finished() >= total
        })
        .await;
        let seen = probe.seen();
        let distinct: BTreeSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), distinct.len()), (total, total), "{adapter:?}");
        let on_mailtrap = seen.iter().filter(|(route, _)| route == "mailtrap").count();
        assert_eq!(on_mailtrap, MAILTRAP_EVENTS);

        let report = receiver.shutdown().await;
        assert_eq!(report.released, 0);
        let stats = inbox.stats().await.unwrap();
        assert_eq!(
            (stats.done, stats.deliveries),
            (total as u64, 2),
            "{adapter:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_batch_queues_nothing_new() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = new_inbox(dir.path());
        let probe = Probe::with_delay(Duration::ZERO);
        let receiver = start(
            adapter,
            inbox.clone(),
            Config::new(vec![stalwart_route()]),
            probe.clone(),
        );
        // Stalwart gives the events of a retried batch new ids: the receiver knows them
        // again by their content.
        let ids = IdGenerator::new(IdStyle::Counter);
        let first = stalwart_events(0..50);
        let (headers, body) = stalwart_request(&first, &ids);
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(
            (response.status, queued(&response)),
            (200, 50),
            "{adapter:?}"
        );

        let (headers, again) = stalwart_request(&first, &ids);
        assert_ne!(body, again, "the retry carries new ids");
        let response = post(receiver.address, "/hooks/stalwart", &headers, &again)
            .await
            .unwrap();
        assert_eq!(response.status, 200, "a redelivery is acknowledged");
        assert_eq!(
            (queued(&response), response.json()["duplicates"].as_u64()),
            (0, Some(50))
        );

        // The retry merged with newer events: only those are queued.
        let (headers, merged) = stalwart_request(&stalwart_events(40..60), &ids);
        let response = post(receiver.address, "/hooks/stalwart", &headers, &merged)
            .await
            .unwrap();
        assert_eq!((response.status, queued(&response)), (200, 10));

        wait_until("60 events are handled", Duration::from_secs(30), || {
            probe.finished() >= 60
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(probe.finished(), 60, "{adapter:?}: each event once");
        receiver.shutdown().await;
        let stats = inbox.stats().await.unwrap();
        assert_eq!((stats.done, stats.deliveries), (60, 3));
    }
}

/// A 503 from the inbox: `Retry-After`, the inbox's code, nothing about the storage.
fn assert_unavailable(response: &RawResponse, code: &str, retry_after: &str, path: &Path) {
    assert_eq!(response.status, 503, "{}", response.body);
    assert_eq!(response.header("retry-after"), Some(retry_after));
    assert_eq!(response.json()["code"], code);
    let dir = path.parent().unwrap().to_str().unwrap();
    assert!(!response.body.contains(dir), "{}", response.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbox_answers_503_with_retry_after_and_acknowledges_only_what_it_stored() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        // SQLite's page cap fails writes exactly as a full disk does.
        let backend = SqliteBackend::builder(&path)
            .max_size_bytes(256 * 1024)
            .retry_after(Duration::from_secs(7))
            .open()
            .unwrap();
        let inbox = Inbox::new(backend);
        let probe = Probe::with_delay(Duration::ZERO);
        let receiver = start(
            adapter,
            inbox.clone(),
            Config::new(vec![stalwart_route()]),
            probe.clone(),
        );
        let ids = IdGenerator::new(IdStyle::Counter);
        let mut acknowledged = Vec::new();
        let mut refused = 0;
        for round in 0..400u64 {
            let (headers, body) =
                stalwart_request(&stalwart_events(round * 20..round * 20 + 20), &ids);
            let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
                .await
                .unwrap();
            if response.status == 200 {
                assert_eq!(queued(&response), 20);
                acknowledged.push(DeliveryId(response.json()["delivery"].as_i64().unwrap()));
            } else {
                assert_unavailable(&response, "inbox_full", "7", &path);
                refused += 1;
                if refused == 3 {
                    break;
                }
            }
        }
        assert!(!acknowledged.is_empty() && refused == 3, "{adapter:?}");
        // A full inbox cannot record claims either: the workers wait for room.
        receiver.shutdown().await;

        // Read the file afresh, without the cap: every acknowledged delivery is there,
        // nothing else, and a restarted receiver handles each of its events.
        let stored = 20 * acknowledged.len() as u64;
        let reopened = Inbox::new(SqliteBackend::open(&path).unwrap());
        let stats = reopened.stats().await.unwrap();
        assert_eq!(stats.deliveries, acknowledged.len() as u64, "{adapter:?}");
        assert_eq!(events_stored(&stats), stored);
        for delivery in acknowledged {
            assert!(reopened.delivery(delivery).await.unwrap().is_some());
        }
        let restarted = Probe::with_delay(Duration::ZERO);
        let receiver = start(
            adapter,
            reopened.clone(),
            Config::new(vec![stalwart_route()]),
            restarted.clone(),
        );
        wait_until(
            "the stored events are handled",
            Duration::from_secs(60),
            || (probe.finished() + restarted.finished()) as u64 >= stored,
        )
        .await;
        receiver.shutdown().await;
        let stats = reopened.stats().await.unwrap();
        assert_eq!((stats.done, events_stored(&stats)), (stored, stored));
    }
}

/// Marks files immutable (`chattr +i`): not even root can write them, unlike a file
/// whose mode is read-only. Undone on drop, so the temporary directory can go.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn set(paths: Vec<PathBuf>) -> Self {
        for path in &paths {
            let status = std::process::Command::new("chattr")
                .arg("+i")
                .arg(path)
                .status()
                .expect("chattr (e2fsprogs) runs");
            assert!(
                status.success(),
                "`chattr +i {}` failed: the test needs a file system with attributes and \
                 CAP_LINUX_IMMUTABLE",
                path.display()
            );
        }
        Self(paths)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(path)
                .status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_inbox_file_answers_503_with_retry_after_and_a_retry_is_stored() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let inbox = Inbox::new(
            SqliteBackend::builder(&path)
                .retry_after(Duration::from_secs(3))
                .open()
                .unwrap(),
        );
        let probe = Probe::with_delay(Duration::ZERO);
        let receiver = start(
            adapter,
            inbox.clone(),
            Config::new(vec![stalwart_route()]),
            probe.clone(),
        );
        let ids = IdGenerator::new(IdStyle::Counter);
        let events = stalwart_events(0..5);
        let wal = dir.path().join("inbox.db-wal");
        let files: Vec<PathBuf> = [path.clone(), wal]
            .into_iter()
            .filter(|file| file.exists())
            .collect();
        let immutable = Immutable::set(files);
        for _ in 0..3 {
            let (headers, body) = stalwart_request(&events, &ids);
            let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
                .await
                .unwrap();
            assert_eq!(response.status, 503, "{adapter:?}: {}", response.body);
            assert_eq!(response.header("retry-after"), Some("3"));
            let code = response.json()["code"].as_str().unwrap().to_owned();
            assert!(code.starts_with("inbox_"), "{code}");
        }
        drop(immutable);

        // The sender's retry, once the file is writable again, is stored and handled.
        let (headers, body) = stalwart_request(&events, &ids);
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(
            (response.status, queued(&response)),
            (200, 5),
            "{adapter:?}"
        );
        wait_until("5 events are handled", Duration::from_secs(30), || {
            probe.finished() >= 5
        })
        .await;
        receiver.shutdown().await;
        let stats = inbox.stats().await.unwrap();
        assert_eq!((stats.deliveries, stats.done), (1, 5), "{adapter:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_in_flight_budget_bodies_get_503_and_no_2xx_goes_unstored() {
    const CONNECTIONS: usize = 24;
    const ADMITTED: usize = 4;
    let ids = IdGenerator::new(IdStyle::Counter);
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = new_inbox(dir.path());
        // Bodies at the limit: each request is a distinct batch of exactly the limit.
        let requests: Vec<(http::HeaderMap, Vec<u8>)> = (0..CONNECTIONS as u64)
            .map(|n| stalwart_request(&stalwart_events(n * 1000..n * 1000 + 700), &ids))
            .collect();
        let limit = requests.iter().map(|(_, body)| body.len()).max().unwrap();
        let budget = BodyBudget::new(ADMITTED * limit);
        let mut route = stalwart_route();
        route.verifier = Verifier::builder(Scheme::Stalwart)
            .secret(Secret::new(STALWART_SECRET))
            .max_body_bytes(limit)
            .build()
            .unwrap();
        let mut config = Config::new(vec![route]);
        config.limits = ServeLimits::default().with_body_budget(budget.clone());
        let probe = Probe::with_delay(Duration::ZERO);
        let receiver = start(adapter, inbox.clone(), config, probe.clone());

        // Every head first: the first bodies reserve the budget, the others are refused
        // before a byte of theirs is read.
        let mut pending = Vec::new();
        for (headers, body) in &requests {
            let request =
                RawRequest::head(receiver.address, "/hooks/stalwart", headers, body.len())
                    .await
                    .unwrap();
            pending.push((request, body));
        }
        wait_until("the budget is spent", Duration::from_secs(10), || {
            budget.in_use() > (ADMITTED - 1) * limit
        })
        .await;
        let mut refused = 0;
        let mut admitted = Vec::new();
        for (mut request, body) in pending {
            match tokio::time::timeout(Duration::from_millis(500), request.response()).await {
                Ok(response) => {
                    let response = response.unwrap();
                    assert_eq!(response.status, 503, "{adapter:?}: {}", response.body);
                    assert_eq!(response.json()["code"], "receiver_busy");
                    assert!(response.header("retry-after").is_some());
                    refused += 1;
                }
                Err(_) => admitted.push((request, body)),
            }
        }
        assert!(budget.in_use() <= budget.capacity());
        let mut stored = Vec::new();
        for (mut request, body) in admitted {
            request.body(body).await.unwrap();
            let response = request.response().await.unwrap();
            assert_eq!(response.status, 200, "{adapter:?}: {}", response.body);
            stored.push(DeliveryId(response.json()["delivery"].as_i64().unwrap()));
        }
        assert_eq!(stored.len(), ADMITTED, "{adapter:?}");
        assert_eq!(refused, CONNECTIONS - ADMITTED);
        assert_eq!(budget.in_use(), 0, "every reservation is given back");

        let stats = inbox.stats().await.unwrap();
        assert_eq!(stats.deliveries, ADMITTED as u64, "{adapter:?}");
        for delivery in stored {
            assert!(inbox.delivery(delivery).await.unwrap().is_some());
        }
        receiver.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_a_running_handler_finish() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = new_inbox(dir.path());
        let probe = Probe::with_delay(Duration::from_millis(800));
        let receiver = start(
            adapter,
            inbox.clone(),
            Config::new(vec![stalwart_route()]),
            probe.clone(),
        );
        let (headers, body) =
            stalwart_request(&stalwart_events(0..1), &IdGenerator::new(IdStyle::Counter));
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        wait_until("the handler runs", Duration::from_secs(10), || {
            probe.started() == 1
        })
        .await;
        let report = receiver.shutdown().await;
        assert_eq!((report.finished, report.released), (1, 0), "{adapter:?}");
        assert_eq!(probe.finished(), 1);
        assert_eq!(inbox.stats().await.unwrap().done, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_gives_back_what_outlives_the_grace_period() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, path) = new_inbox(dir.path());
        let probe = Probe::with_delay(Duration::from_secs(60));
        let mut config = Config::new(vec![stalwart_route()]);
        config.grace = Duration::from_millis(200);
        let receiver = start(adapter, inbox.clone(), config, probe.clone());
        let (headers, body) =
            stalwart_request(&stalwart_events(0..1), &IdGenerator::new(IdStyle::Counter));
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(response.status, 200);
        wait_until("the handler runs", Duration::from_secs(10), || {
            probe.started() == 1
        })
        .await;
        let started = Instant::now();
        let report = receiver.shutdown().await;
        assert!(started.elapsed() < Duration::from_secs(30));
        assert_eq!((report.finished, report.released), (0, 1), "{adapter:?}");
        assert_eq!(probe.finished(), 0);
        // Released: due at once for the next start.
        let stats = Inbox::open(&path).unwrap().stats().await.unwrap();
        assert_eq!(
            (stats.pending + stats.retrying, stats.running),
            (1, 0),
            "{stats:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_failing_verification_gets_the_extractors_problem_and_nothing_is_stored() {
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = new_inbox(dir.path());
        let probe = Probe::with_delay(Duration::ZERO);
        let receiver: Receiver = start(
            adapter,
            inbox.clone(),
            Config::new(vec![stalwart_route()]),
            probe.clone(),
        );
        let (mut headers, body) =
            stalwart_request(&stalwart_events(0..3), &IdGenerator::new(IdStyle::Counter));
        let (good, _) =
            stalwart_request(&stalwart_events(5..6), &IdGenerator::new(IdStyle::Counter));
        headers.insert("x-signature", good["x-signature"].clone());
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(response.status, 401, "{adapter:?}");
        assert_eq!(response.json()["code"], "signature_mismatch");
        assert!(!response.body.contains(STALWART_SECRET));

        headers.remove("x-signature");
        let response = post(receiver.address, "/hooks/stalwart", &headers, &body)
            .await
            .unwrap();
        assert_eq!(
            (response.status, response.json()["code"].as_str()),
            (401, Some("missing_signature"))
        );
        receiver.shutdown().await;
        let stats = inbox.stats().await.unwrap();
        assert_eq!(
            (stats.deliveries, events_stored(&stats)),
            (0, 0),
            "{adapter:?}"
        );
        assert_eq!(probe.started(), 0);
    }
}
