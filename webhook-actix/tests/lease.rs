//! The idempotency middleware over real loopback HTTP, with a 200 ms lease and a
//! 700 ms handler (issue 21, point 1): a handler slower than its lease runs once (its
//! lease is renewed while it runs, so a concurrent redelivery is answered 409), and a
//! sender that hangs up before the handler finishes is counted as a cancellation while
//! the handler runs on, detached, finishes once and is recorded.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use webhook_actix::{
    VerifyWebhook,
    idempotency::{DedupCounters, DedupOutcome, DedupPolicy, Deduplicator, MemoryStore},
};
use webhook_core::{Scheme, Secret, Verifier, senders::stalwart};

const SECRET: &str = "lease-test-secret";
const LEASE: Duration = Duration::from_millis(200);
const HANDLER: Duration = Duration::from_millis(700);
const BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"slow@example.org"}}]}"#;

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
    handle: ServerHandle,
}

async fn slow(runs: web::Data<Runs>) -> HttpResponse {
    runs.started.fetch_add(1, Ordering::SeqCst);
    actix_web::rt::time::sleep(HANDLER).await;
    runs.finished.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body("processed")
}

/// A server on a loopback port. With `allow_half_closed` (actix's default), a client
/// that closes its side does not stop the request: the handler runs to its end in the
/// request's own future. Without it, actix drops the request's future at once, as
/// hyper does: the middleware's detached task is what keeps the handler running.
fn start(allow_half_closed: bool) -> Running {
    let runs = Runs::default();
    let counters = DedupCounters::new();
    let dedup = Deduplicator::new(
        MemoryStore::new(),
        DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(LEASE),
    )
    .with_observer(counters.clone());
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let data = web::Data::new(runs.clone());
    let server = HttpServer::new(move || {
        App::new().app_data(data.clone()).service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(verifier.clone()).idempotent(dedup.clone()))
                .route(web::post().to(slow)),
        )
    })
    .workers(1)
    .h1_allow_half_closed(allow_half_closed)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Running {
        address,
        runs,
        counters,
        handle,
    }
}

fn request() -> Vec<u8> {
    let signature = stalwart::sign(&Secret::new(SECRET), BODY.as_bytes());
    format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\ncontent-type: application/json\r\n\
         x-signature: {signature}\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

/// Sends the request on a thread (the server runs on its own) and returns the status
/// and body of the answer.
async fn deliver(address: SocketAddr) -> (u16, String) {
    let thread = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(&request()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    });
    while !thread.is_finished() {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let answer = thread.join().unwrap();
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
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_handler_slower_than_its_lease_runs_once() {
    let server = start(true);
    let address = server.address;
    let first = actix_web::rt::spawn(deliver(address));
    eventually("the handler started", || {
        server.runs.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // More than two leases later, the first delivery's claim would have run out
    // without renewal, and this redelivery would run the handler a second time.
    actix_web::rt::time::sleep(LEASE * 5 / 2).await;
    let (status, _) = deliver(address).await;
    assert_eq!(
        status, 409,
        "a redelivery while the handler runs is in progress"
    );

    let (status, body) = first.await.unwrap();
    assert_eq!((status, body.as_str()), (200, "processed"));
    let (status, body) = deliver(address).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));

    assert_eq!(server.runs.started.load(Ordering::SeqCst), 1, "ran once");
    let counters = &server.counters;
    assert_eq!(counters.get(DedupOutcome::Processed), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::InProgress), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Duplicate), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::LeaseLost), 0, "{counters:?}");
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn a_sender_giving_up_when_actix_drops_the_request_is_counted_and_the_handler_finishes_once()
{
    a_sender_gives_up(false).await;
}

#[actix_web::test]
async fn a_sender_giving_up_when_actix_keeps_the_request_lets_the_handler_finish_once() {
    a_sender_gives_up(true).await;
}

async fn a_sender_gives_up(allow_half_closed: bool) {
    let server = start(allow_half_closed);
    let address = server.address;
    let mut impatient = TcpStream::connect(address).unwrap();
    impatient.write_all(&request()).unwrap();
    eventually("the handler started", || {
        server.runs.started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The sender's timeout is shorter than the handler: it hangs up.
    drop(impatient);
    let counters = server.counters.clone();
    if !allow_half_closed {
        eventually("the cancellation was counted", || {
            counters.get(DedupOutcome::Cancelled) == 1
        })
        .await;
    }

    let (status, _) = deliver(address).await;
    assert_eq!(status, 409, "{counters:?}");
    eventually("the detached handler finished", || {
        server.runs.finished.load(Ordering::SeqCst) == 1
    })
    .await;
    eventually("the detached handler was recorded", || {
        counters.get(DedupOutcome::Processed) == 1
    })
    .await;
    let (status, body) = deliver(address).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    assert_eq!(server.runs.started.load(Ordering::SeqCst), 1);
    assert_eq!(counters.get(DedupOutcome::Abandoned), 0, "{counters:?}");
    // actix with half-closed connections allowed never dropped the request: nothing
    // was cancelled.
    let cancelled = u64::from(!allow_half_closed);
    assert_eq!(
        counters.get(DedupOutcome::Cancelled),
        cancelled,
        "{counters:?}"
    );
    server.handle.stop(false).await;
}
