//! The idempotency layer over real loopback HTTP, with a 200 ms lease and a 700 ms
//! handler (issue 21, point 1):
//!
//! - a handler slower than its lease runs once: its lease is renewed while it runs, so
//!   a concurrent redelivery is answered 409 (in progress), and one after it 200
//!   duplicate — with the memory store and with Redis;
//! - a sender that gives up before the handler finishes (its timeout is shorter) is
//!   logged and counted as a cancellation, and the handler is not cancelled with it:
//!   it runs on, detached, finishes once and is recorded, so the retries are answered
//!   409 then duplicate instead of starting it again.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Router, routing::post};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use webhook_axum::{
    VerifyWebhookLayer,
    idempotency::{
        DedupCounters, DedupOutcome, DedupPolicy, Deduplicator, IdempotencyStore, MemoryStore,
    },
};
use webhook_core::{Scheme, Secret, Verifier, senders::stalwart};
use webhook_redis::{RedisConfig, RedisStore, testing::RedisServer};

const SECRET: &str = "lease-test-secret";
const LEASE: Duration = Duration::from_millis(200);
const HANDLER: Duration = Duration::from_millis(700);

/// How many times the handler started and finished.
#[derive(Clone, Default)]
struct Runs {
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

struct Running {
    address: SocketAddr,
    runs: Runs,
    counters: DedupCounters,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start<S: IdempotencyStore + Clone + 'static>(store: S) -> Running {
    let runs = Runs::default();
    let counters = DedupCounters::new();
    let dedup = Deduplicator::new(
        store,
        DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(LEASE),
    )
    .with_observer(counters.clone());
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap();
    let handler_runs = runs.clone();
    let app = Router::new()
        .route(
            "/hook",
            post(move || {
                let runs = handler_runs.clone();
                async move {
                    runs.started.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(HANDLER).await;
                    runs.finished.fetch_add(1, Ordering::SeqCst);
                    "processed"
                }
            }),
        )
        .route_layer(VerifyWebhookLayer::new(verifier).idempotent(dedup));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(
        webhook_axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    Running {
        address,
        runs,
        counters,
        stop: Some(stop),
    }
}

/// One Stalwart event, signed, on a connection the server closes after answering.
fn request() -> Vec<u8> {
    let body = format!(
        r#"{{"events":[{{"id":"1","createdAt":"{}","type":"auth.success","data":{{"accountName":"slow@example.org"}}}}]}}"#,
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    let signature = stalwart::sign(&Secret::new(SECRET), body.as_bytes());
    format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\n\
         x-signature: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends `request` and returns the status and body of the answer.
async fn deliver(address: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// Waits (up to 5 s) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn a_slow_handler_runs_once(server: Running) {
    let request = request();
    let first = tokio::spawn({
        let request = request.clone();
        let address = server.address;
        async move { deliver(address, &request).await }
    });
    eventually("the handler started", || {
        server.runs.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // More than two leases later, the first delivery's claim would have run out
    // without renewal, and this redelivery would run the handler a second time.
    tokio::time::sleep(LEASE * 5 / 2).await;
    let (status, _) = deliver(server.address, &request).await;
    assert_eq!(
        status, 409,
        "a redelivery while the handler runs is in progress"
    );

    let (status, body) = first.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "processed"));
    let (status, body) = deliver(server.address, &request).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));

    assert_eq!(server.runs.started.load(Ordering::SeqCst), 1, "ran once");
    let counters = &server.counters;
    assert_eq!(counters.get(DedupOutcome::Processed), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::InProgress), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Duplicate), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::LeaseLost), 0, "{counters:?}");
    assert_eq!(counters.runs(), 1, "{counters:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_its_lease_runs_once_with_the_memory_store() {
    a_slow_handler_runs_once(start(MemoryStore::new()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_its_lease_runs_once_with_redis() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), RedisConfig::default())
        .await
        .expect("the store connects to the test server");
    a_slow_handler_runs_once(start(store).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_giving_up_is_counted_and_the_handler_finishes_once() {
    let server = start(MemoryStore::new()).await;
    let request = request();
    let mut impatient = TcpStream::connect(server.address).await.unwrap();
    impatient.write_all(&request).await.unwrap();
    eventually("the handler started", || {
        server.runs.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The sender's timeout is shorter than the handler: it hangs up.
    drop(impatient);
    let counters = server.counters.clone();
    eventually("the cancellation was counted", || {
        counters.get(DedupOutcome::Cancelled) == 1
    })
    .await;

    // Its retry while the handler still runs is told to come back later…
    let (status, _) = deliver(server.address, &request).await;
    assert_eq!(status, 409, "{counters:?}");
    // … the handler finishes once and is recorded …
    eventually("the detached handler finished", || {
        server.runs.finished.load(Ordering::SeqCst) == 1
    })
    .await;
    eventually("the detached handler was recorded", || {
        counters.get(DedupOutcome::Processed) == 1
    })
    .await;
    // … and the next retry is a duplicate.
    let (status, body) = deliver(server.address, &request).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    assert_eq!(server.runs.started.load(Ordering::SeqCst), 1);
    assert_eq!(counters.get(DedupOutcome::Abandoned), 0, "{counters:?}");
}
