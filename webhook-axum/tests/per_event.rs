//! Per-event handling over real loopback HTTP (issue 21, point 4): a Stalwart batch
//! whose second event fails is answered non-2xx; Stalwart's redelivery (the same
//! events, with new ids) runs only that event, and the others are duplicates. The same
//! for a Mailtrap JSON Lines batch.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, extract::State, routing::post};
use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
use webhook_axum::{
    EventsAnswer, Scheme, Secret, Verified, Verifier, Webhook, WebhookRejection, WebhookState,
    dispatch::{Event, EventRouter},
    handle_events,
    idempotency::{DedupCounters, DedupOutcome, Deduplicator, MemoryStore},
    senders::{
        mailtrap::{self, MailtrapEvent},
        stalwart::{self, WebhookEvent},
    },
};

const SECRET: &str = "per-event-secret";

#[derive(Clone)]
struct App<Ev> {
    verifier: Verifier,
    dedup: Deduplicator<MemoryStore>,
    router: EventRouter<Ev, String>,
}

impl<Ev> WebhookState for App<Ev> {
    fn verifier(&self) -> Option<&Verifier> {
        Some(&self.verifier)
    }
}

async fn hook<Ev: Event + Send>(
    State(app): State<App<Ev>>,
    Webhook(verified): Webhook<Verified<Bytes>>,
) -> Result<EventsAnswer, WebhookRejection> {
    let router = app.router.clone();
    handle_events(&app.dedup, verified, move |event| router.dispatch(event)).await
}

/// The handlers record every event type they run; the one for `failing` fails while
/// `fail` is set.
struct Harness {
    address: SocketAddr,
    ran: Arc<Mutex<Vec<String>>>,
    fail: Arc<AtomicBool>,
    counters: DedupCounters,
}

async fn start<Ev: Event + Send + Sync + Clone>(scheme: Scheme, failing: &str) -> Harness {
    let ran = Arc::new(Mutex::new(Vec::new()));
    let fail = Arc::new(AtomicBool::new(true));
    let counters = DedupCounters::new();
    let (r1, r2, f) = (ran.clone(), ran.clone(), fail.clone());
    let router = EventRouter::new()
        .on(failing, move |event: Ev| {
            r1.lock().unwrap().push(event.event_type().to_owned());
            let fails = f.load(Ordering::SeqCst);
            async move {
                if fails {
                    Err("the database is down".to_owned())
                } else {
                    Ok(())
                }
            }
        })
        .otherwise(move |event: Ev| {
            r2.lock().unwrap().push(event.event_type().to_owned());
            async { Ok(()) }
        });
    let app = App {
        verifier: Verifier::builder(scheme)
            .secret(Secret::new(SECRET))
            .build()
            .unwrap(),
        dedup: Deduplicator::for_scheme(MemoryStore::new(), scheme).with_observer(counters.clone()),
        router,
    };
    let routes = Router::new()
        .route("/hook", post(hook::<Ev>))
        .with_state(app);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    Harness {
        address,
        ran,
        fail,
        counters,
    }
}

/// Posts `body` with `headers` and returns the status, the `Retry-After` and the body.
async fn post_to(address: SocketAddr, headers: &str, body: &str) -> (u16, String) {
    let request = format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    (status, body.to_owned())
}

fn stalwart_batch(first_id: u64) -> (String, String) {
    let events: Vec<String> = ["auth.success", "delivery.delivered", "queue.queue-message"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"id":"{}","createdAt":"2025-08-21T14:01:4{i}Z","type":"{t}","data":{{"queueId":{i}}}}}"#,
                first_id + i as u64
            )
        })
        .collect();
    let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
    let signature = stalwart::sign(&Secret::new(SECRET), body.as_bytes());
    (
        format!("content-type: application/json\r\nx-signature: {signature}\r\n"),
        body,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalwart_redelivery_runs_only_the_event_that_failed() {
    let server = start::<WebhookEvent<'static>>(Scheme::Stalwart, "delivery.delivered").await;

    let (headers, body) = stalwart_batch(1000);
    let (status, answer) = post_to(server.address, &headers, &body).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"failed","processed":2,"duplicates":0,"failed":1,"in_progress":0}"#
    );
    assert!(
        !answer.contains("database"),
        "the handler's error is not sent"
    );
    assert_eq!(server.ran.lock().unwrap().len(), 3);

    // Stalwart retries the batch with new ids: the content fingerprints still match.
    server.fail.store(false, Ordering::SeqCst);
    server.ran.lock().unwrap().clear();
    let (headers, body) = stalwart_batch(2000);
    let (status, answer) = post_to(server.address, &headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"processed","processed":1,"duplicates":2,"failed":0,"in_progress":0}"#
    );
    assert_eq!(*server.ran.lock().unwrap(), ["delivery.delivered"]);

    // A third delivery: nothing runs.
    let (status, _) = post_to(server.address, &headers, &body).await;
    assert_eq!(status, 200);
    assert_eq!(server.ran.lock().unwrap().len(), 1);
    assert_eq!(server.counters.get(DedupOutcome::Failed), 1);
    assert_eq!(server.counters.get(DedupOutcome::Processed), 3);
    assert_eq!(server.counters.get(DedupOutcome::Duplicate), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailtrap_redelivery_runs_only_the_event_that_failed() {
    let server = start::<MailtrapEvent<'static>>(Scheme::Mailtrap, "bounce").await;
    let body = concat!(
        r#"{"event":"delivery","timestamp":1716070000,"event_id":"e1","message_id":"m1","email":"a@example.com"}"#,
        "\n",
        r#"{"event":"bounce","timestamp":1716070001,"event_id":"e2","message_id":"m2","email":"b@example.com"}"#,
        "\n",
        r#"{"event":"open","timestamp":1716070002,"event_id":"e3","message_id":"m1","email":"a@example.com"}"#,
        "\n",
    );
    let signature = mailtrap::sign(&Secret::new(SECRET), body.as_bytes());
    let headers = format!("content-type: application/jsonl\r\nmailtrap-signature: {signature}\r\n");

    let (status, _) = post_to(server.address, &headers, body).await;
    assert_eq!(status, 500);
    server.fail.store(false, Ordering::SeqCst);
    let (status, _) = post_to(server.address, &headers, body).await;
    assert_eq!(status, 200);
    assert_eq!(
        *server.ran.lock().unwrap(),
        ["delivery", "bounce", "open", "bounce"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_the_senders_payload_is_refused_before_any_handler() {
    let server = start::<WebhookEvent<'static>>(Scheme::Stalwart, "delivery.delivered").await;
    let body = r#"{"events":[]}"#;
    let signature = stalwart::sign(&Secret::new(SECRET), body.as_bytes());
    let headers = format!("content-type: application/json\r\nx-signature: {signature}\r\n");
    let (status, answer) = post_to(server.address, &headers, body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(server.ran.lock().unwrap().is_empty());
}

/// Waits (up to 5 s) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_giving_up_does_not_cancel_the_events_being_handled() {
    let counters = DedupCounters::new();
    let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (s, f) = (started.clone(), finished.clone());
    let app = App {
        verifier: Verifier::builder(Scheme::Stalwart)
            .secret(Secret::new(SECRET))
            .build()
            .unwrap(),
        dedup: Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart)
            .with_observer(counters.clone()),
        router: EventRouter::<WebhookEvent<'static>, String>::new().on(
            "delivery.delivered",
            move |_| {
                let (s, f) = (s.clone(), f.clone());
                async move {
                    s.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    f.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        ),
    };
    let routes = Router::new()
        .route("/hook", post(hook::<WebhookEvent<'static>>))
        .with_state(app);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(webhook_axum::serve(listener, routes).into_future());

    let (headers, body) = stalwart_batch(1000);
    let request = format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut impatient = TcpStream::connect(address).await.unwrap();
    impatient.write_all(request.as_bytes()).await.unwrap();
    eventually("the slow event started", || {
        started.load(Ordering::SeqCst) == 1
    })
    .await;
    // The sender's timeout is shorter than the handler: it hangs up.
    drop(impatient);
    // The operator sees it: the request is reported cancelled, with its events' keys.
    eventually("the cancellation was counted", || {
        counters.get(DedupOutcome::Cancelled) == 1
    })
    .await;

    // Its retry while the event still runs is told to come back later…
    let (status, answer) = post_to(address, &headers, &body).await;
    assert_eq!(status, 409, "{answer}");
    // … the event finishes once and is recorded, and the next retry is a duplicate.
    eventually("the detached event finished", || {
        finished.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (status, answer) = post_to(address, &headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"processed","processed":0,"duplicates":3,"failed":0,"in_progress":0}"#
    );
    assert_eq!(started.load(Ordering::SeqCst), 1, "ran once");
    // Counted once, and the events' own outcomes are there too: three processed (the
    // detached run), three duplicates (the last retry), never abandoned.
    assert_eq!(counters.get(DedupOutcome::Cancelled), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Processed), 3, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Abandoned), 0, "{counters:?}");
}
