//! `webhook_axum::serve` over real loopback sockets, with short limits: each deadline
//! closes what it must (and only that), the cap makes room by closing the connection
//! that waited longest for its head, the budget refuses with 503, and a graceful
//! shutdown lets a request in progress finish.
//!
//! Bounds on elapsed time are generous upper limits on when a deadline fires, never
//! claims about speed.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::{Notify, oneshot},
};
use webhook_axum::Webhook;
use webhook_core::{
    Scheme, Secret, StalwartEvents, Verified, Verifier,
    capacity::{BodyBudget, ServeLimits},
    senders::stalwart,
};

const SECRET: &str = "serve-test-secret";

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

/// Short deadlines, so each test takes about a second.
fn quick() -> ServeLimits {
    ServeLimits::default()
        .with_head_timeout(Duration::from_millis(400))
        .with_idle_timeout(Duration::from_millis(400))
        .with_body_timeout(Duration::from_millis(400))
        .with_min_body_rate(1 << 30)
}

struct Running {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.done)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    }
}

async fn start(app: Router, limits: ServeLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let done = tokio::spawn(
        webhook_axum::serve(listener, app)
            .with_limits(limits)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    Running {
        address,
        stop: Some(stop),
        done,
    }
}

/// A route verifying Stalwart bodies, and a plain one reading the body as `Bytes`.
fn app() -> Router {
    Router::new()
        .route(
            "/hook",
            post(|Webhook(verified): Webhook<Verified<Bytes>>| async move {
                verified.body().len().to_string()
            }),
        )
        .with_state(verifier())
        .route(
            "/plain",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
}

fn signed_request(path: &str, body: &[u8]) -> Vec<u8> {
    let signature = stalwart::sign(&Secret::new(SECRET), body);
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         x-signature: {signature}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn stalwart_body(padding: usize) -> Vec<u8> {
    format!(
        r#"{{"events":[{{"id":"1","createdAt":"{}","type":"auth.success","data":{{"accountName":"{}"}}}}]}}"#,
        chrono_now(),
        "x".repeat(padding)
    )
    .into_bytes()
}

fn chrono_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads until the server closes the connection; returns what it sent and when it
/// closed (`None` if it was still open after `within`).
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = within.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return (String::from_utf8_lossy(&seen).into_owned(), None),
            Ok(Ok(0) | Err(_)) => {
                return (
                    String::from_utf8_lossy(&seen).into_owned(),
                    Some(started.elapsed()),
                );
            }
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends one request on a fresh connection and returns the whole answer (the request
/// asks the server to close afterwards).
async fn roundtrip(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = String::from_utf8_lossy(request).replacen(
        "host: test\r\n",
        "host: test\r\nconnection: close\r\n",
        1,
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "no answer: {answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_trickled_past_its_deadline_is_closed() {
    let server = start(app(), quick()).await;
    let mut slow = TcpStream::connect(server.address).await.unwrap();
    slow.write_all(b"POST /hook HTTP/1.1\r\nhost: te")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    let closed = closed.expect("the slow connection is closed");
    assert!(
        closed >= Duration::from_millis(300),
        "closed early: {closed:?}"
    );
    assert_eq!(answer, "", "nothing is answered to half a head");
    // The server still answers.
    let answer = roundtrip(server.address, &signed_request("/hook", &stalwart_body(10))).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // A head timeout longer than the idle timeout must not delay the idle one.
    let limits = quick()
        .with_head_timeout(Duration::from_secs(30))
        .with_idle_timeout(Duration::from_millis(600));
    let server = start(app(), limits).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(&signed_request("/hook", &stalwart_body(10)))
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let closed = closed.expect("the idle connection is closed");
    assert!(
        closed >= Duration::from_millis(500),
        "closed early: {closed:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_serves_request_after_request() {
    let server = start(app(), quick()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    for _ in 0..3 {
        stream
            .write_all(&signed_request("/hook", &stalwart_body(10)))
            .await
            .unwrap();
        let mut buffer = [0u8; 1024];
        let n = stream.read(&mut buffer).await.unwrap();
        let answer = String::from_utf8_lossy(&buffer[..n]);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // Within the idle timeout: the connection stays open.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    server.shutdown().await;
}

/// Both the verifying extractor and a plain `Bytes` handler are answered 408
/// `body_timeout`, and the connection is closed after the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_slower_than_its_allowance_is_answered_408_and_closed() {
    let server = start(app(), quick()).await;
    for path in ["/hook", "/plain"] {
        let request = signed_request(path, &stalwart_body(10));
        let cut = request.len() - 20;
        let mut slow = TcpStream::connect(server.address).await.unwrap();
        slow.write_all(&request[..cut]).await.unwrap();
        let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "{path}: still open");
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("connection: close"), "{path}: {answer}");
        assert!(
            answer.contains(r#""code":"body_timeout""#),
            "{path}: {answer}"
        );
    }
    server.shutdown().await;
}

/// A body that keeps the minimum rate gets more time than the base timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_keeping_the_minimum_rate_is_read_to_the_end() {
    let limits = quick()
        .with_body_timeout(Duration::from_millis(300))
        .with_min_body_rate(100);
    let server = start(app(), limits).await;
    let request = signed_request("/hook", &stalwart_body(200));
    let (head_and_start, rest) = request.split_at(request.len() - 100);
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(head_and_start).await.unwrap();
    // 400 ms after the start, beyond the 300 ms base, but the 200+ bytes already sent
    // have bought two more seconds.
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream.write_all(rest).await.unwrap();
    let mut buffer = [0u8; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_connection_waiting_longest_for_its_head_makes_room() {
    let limits = quick()
        .with_head_timeout(Duration::from_secs(30))
        .with_max_connections(2);
    let server = start(app(), limits).await;
    let mut oldest = TcpStream::connect(server.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut newer = TcpStream::connect(server.address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let answer = roundtrip(server.address, &signed_request("/hook", &stalwart_body(10))).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (_, closed) = read_until_closed(&mut oldest, Duration::from_secs(2)).await;
    assert!(closed.is_some(), "the oldest idle connection was closed");
    let (_, closed) = read_until_closed(&mut newer, Duration::from_millis(300)).await;
    assert_eq!(closed, None, "the newer one is still open");
    server.shutdown().await;
}

/// At the cap, with every connection's request complete and in its handler, there is
/// nothing to close: the new connection is answered 503 with `Retry-After` and closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_with_every_request_in_progress_a_new_connection_is_refused_503() {
    let (app, hold) = holding_app();
    let server = start(app, quick().with_max_connections(1)).await;
    let address = server.address;
    let busy = tokio::spawn(async move {
        roundtrip(address, &signed_request("/hook", &stalwart_body(10))).await
    });
    hold.entered.notified().await;
    let mut refused = TcpStream::connect(address).await.unwrap();
    let (answer, closed) = read_until_closed(&mut refused, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the refused connection is closed");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    hold.release.notify_one();
    assert!(busy.await.unwrap().starts_with("HTTP/1.1 200"));
    server.shutdown().await;
}

/// Lets a test hold a handler (with its verified body) until it releases it.
struct Hold {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

/// A verifying route whose handler signals `entered` and waits for `release`.
fn holding_app() -> (Router, Hold) {
    let hold = Hold {
        entered: Arc::new(Notify::new()),
        release: Arc::new(Notify::new()),
    };
    let (entered, release) = (hold.entered.clone(), hold.release.clone());
    let app = Router::new()
        .route(
            "/hook",
            post(
                move |Webhook(verified): Webhook<Verified<Bytes>>| async move {
                    entered.notify_one();
                    release.notified().await;
                    verified.body().len().to_string()
                },
            ),
        )
        .with_state(verifier());
    (app, hold)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_beyond_the_budget_is_refused_503_with_retry_after_until_room_is_made() {
    let budget = BodyBudget::new(1500);
    let (app, hold) = holding_app();
    let server = start(app, quick().with_body_budget(budget.clone())).await;
    let body = stalwart_body(900);
    let address = server.address;
    let first = tokio::spawn({
        let request = signed_request("/hook", &body);
        async move { roundtrip(address, &request).await }
    });
    hold.entered.notified().await;
    assert!(budget.in_use() >= body.len(), "{budget:?}");

    let refused = roundtrip(address, &signed_request("/hook", &body)).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("retry-after: 2"), "{refused}");
    assert!(refused.contains(r#""code":"receiver_busy""#), "{refused}");

    hold.release.notify_one();
    assert!(first.await.unwrap().starts_with("HTTP/1.1 200"));
    assert_eq!(
        budget.in_use(),
        0,
        "the bytes are given back with the request"
    );
    let second = tokio::spawn({
        let request = signed_request("/hook", &body);
        async move { roundtrip(address, &request).await }
    });
    hold.entered.notified().await;
    hold.release.notify_one();
    assert!(second.await.unwrap().starts_with("HTTP/1.1 200"));
    server.shutdown().await;
}

/// Issue 22: the events an extractor parses own copies of the body's strings and take
/// its place in memory once it is dropped; its bytes stay counted until the handler has
/// returned, so the budget bounds parsed payloads too, not only bodies being read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parsed_events_stay_counted_against_the_budget_until_the_handler_returns() {
    let budget = BodyBudget::new(1500);
    let counted = budget.clone();
    let app = Router::new()
        .route(
            "/typed",
            post(move |Webhook(events): Webhook<StalwartEvents>| async move {
                format!("{} {}", events.len(), counted.in_use())
            }),
        )
        .with_state(verifier());
    let server = start(app, quick().with_body_budget(budget.clone())).await;
    let body = stalwart_body(900);
    let answer = roundtrip(server.address, &signed_request("/typed", &body)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (_, in_handler) = answer.split_once("\r\n\r\n").unwrap();
    let (events, in_use) = in_handler.split_once(' ').unwrap();
    assert_eq!(events, "1");
    assert!(
        in_use.parse::<usize>().unwrap() >= body.len(),
        "the handler holds the parsed events, yet the budget counted {in_use} bytes"
    );
    assert_eq!(budget.in_use(), 0, "given back once answered");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_closes_idle_connections_and_finishes_requests_in_progress() {
    let (app, hold) = holding_app();
    let limits = quick().with_head_timeout(Duration::from_secs(30));
    let server = start(app, limits).await;
    let mut idle = TcpStream::connect(server.address).await.unwrap();
    let mut busy = TcpStream::connect(server.address).await.unwrap();
    busy.write_all(&signed_request("/hook", &stalwart_body(10)))
        .await
        .unwrap();
    hold.entered.notified().await;

    let address = server.address;
    let stopping = tokio::spawn(server.shutdown());
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the idle connection is closed at once");
    assert!(
        TcpStream::connect(address).await.is_err(),
        "no new connection is accepted"
    );
    assert!(
        !stopping.is_finished(),
        "the request in progress holds the shutdown"
    );
    hold.release.notify_one();
    let (answer, closed) = read_until_closed(&mut busy, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed.is_some());
    stopping.await.unwrap();
}
