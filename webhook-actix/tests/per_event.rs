//! Per-event handling over real loopback HTTP (issue 21, point 4): a Stalwart batch
//! whose second event fails is answered non-2xx; Stalwart's redelivery (the same
//! events, with new ids) runs only that event, and the others are duplicates. The same
//! for a Mailtrap JSON Lines batch. Handlers here are not `Send` (they share an `Rc`),
//! as actix-web allows.

use std::{
    cell::Cell,
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    rc::Rc,
    sync::{Arc, Mutex},
    time::Duration,
};

use actix_web::{App, HttpServer, dev::ServerHandle, web};
use bytes::Bytes;
use webhook_actix::{
    EventsAnswer, Scheme, Secret, Verified, Verifier, Webhook, WebhookConfig, WebhookRejection,
    dispatch::Event,
    handle_events,
    idempotency::{DedupCounters, DedupOutcome, Deduplicator, MemoryStore},
    senders::{
        mailtrap::{self, MailtrapEvent},
        stalwart::{self, WebhookEvent},
    },
};

const SECRET: &str = "per-event-secret";

/// What the handlers saw, shared with the test thread.
#[derive(Clone, Default)]
struct Shared {
    ran: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<bool>>,
    /// How many runs of the `failing` type's handler finished.
    finished: Arc<Mutex<usize>>,
}

struct Settings {
    shared: Shared,
    failing: &'static str,
    /// How long the `failing` type's handler takes.
    slow: Duration,
}

async fn hook<Ev: Event>(
    dedup: web::Data<Deduplicator<MemoryStore>>,
    settings: web::Data<Settings>,
    Webhook(verified): Webhook<Verified<Bytes>>,
) -> Result<EventsAnswer, WebhookRejection> {
    let shared = settings.shared.clone();
    let failing = settings.failing;
    let slow = settings.slow;
    // Not `Send`: counts this request's runs, to show actix handlers may hold an `Rc`.
    let runs = Rc::new(Cell::new(0));
    handle_events(&dedup, verified, move |event: Ev| {
        runs.set(runs.get() + 1);
        let name = event.event_type().to_owned();
        shared.ran.lock().unwrap().push(name.clone());
        let fails = *shared.fail.lock().unwrap() && name == failing;
        let finished = shared.finished.clone();
        async move {
            if name == failing {
                actix_web::rt::time::sleep(slow).await;
                *finished.lock().unwrap() += 1;
            }
            if fails {
                Err("the database is down")
            } else {
                Ok(())
            }
        }
    })
    .await
}

struct Running {
    address: SocketAddr,
    shared: Shared,
    counters: DedupCounters,
    handle: ServerHandle,
}

fn start<Ev: Event>(scheme: Scheme, failing: &'static str) -> Running {
    start_with::<Ev>(scheme, failing, Duration::ZERO, true)
}

/// With `allow_half_closed` off, actix drops a request's future as soon as its client
/// hangs up (with it on, its default, the request runs to its end anyway).
fn start_with<Ev: Event>(
    scheme: Scheme,
    failing: &'static str,
    slow: Duration,
    allow_half_closed: bool,
) -> Running {
    let shared = Shared::default();
    *shared.fail.lock().unwrap() = slow.is_zero();
    let counters = DedupCounters::new();
    let dedup = web::Data::new(
        Deduplicator::for_scheme(MemoryStore::new(), scheme).with_observer(counters.clone()),
    );
    let settings = web::Data::new(Settings {
        shared: shared.clone(),
        failing,
        slow,
    });
    let verifier = Verifier::builder(scheme)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(WebhookConfig::new(verifier.clone()))
            .app_data(dedup.clone())
            .app_data(settings.clone())
            .route("/hook", web::post().to(hook::<Ev>))
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
        shared,
        counters,
        handle,
    }
}

/// Posts `body` on a thread (the server runs on this one) and returns the status and
/// body of the answer.
async fn post_to(address: SocketAddr, headers: String, body: String) -> (u16, String) {
    let thread = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let request = format!(
            "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    });
    while !thread.is_finished() {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    let answer = thread.join().unwrap();
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

#[actix_web::test]
async fn a_stalwart_redelivery_runs_only_the_event_that_failed() {
    let server = start::<WebhookEvent<'static>>(Scheme::Stalwart, "delivery.delivered");

    let (headers, body) = stalwart_batch(1000);
    let (status, answer) = post_to(server.address, headers, body).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"failed","processed":2,"duplicates":0,"failed":1,"in_progress":0}"#
    );
    assert_eq!(server.shared.ran.lock().unwrap().len(), 3);

    // Stalwart retries the batch with new ids: the content fingerprints still match.
    *server.shared.fail.lock().unwrap() = false;
    server.shared.ran.lock().unwrap().clear();
    let (headers, body) = stalwart_batch(2000);
    let (status, answer) = post_to(server.address, headers, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"processed","processed":1,"duplicates":2,"failed":0,"in_progress":0}"#
    );
    assert_eq!(*server.shared.ran.lock().unwrap(), ["delivery.delivered"]);
    assert_eq!(server.counters.get(DedupOutcome::Failed), 1);
    assert_eq!(server.counters.get(DedupOutcome::Processed), 3);
    assert_eq!(server.counters.get(DedupOutcome::Duplicate), 2);
    server.handle.stop(true).await;
}

#[actix_web::test]
async fn a_mailtrap_redelivery_runs_only_the_event_that_failed() {
    let server = start::<MailtrapEvent<'static>>(Scheme::Mailtrap, "bounce");
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

    let (status, _) = post_to(server.address, headers.clone(), body.to_owned()).await;
    assert_eq!(status, 500);
    *server.shared.fail.lock().unwrap() = false;
    let (status, _) = post_to(server.address, headers, body.to_owned()).await;
    assert_eq!(status, 200);
    assert_eq!(
        *server.shared.ran.lock().unwrap(),
        ["delivery", "bounce", "open", "bounce"]
    );
    server.handle.stop(true).await;
}

#[actix_web::test]
async fn a_sender_giving_up_does_not_cancel_the_events_being_handled() {
    let server = start_with::<WebhookEvent<'static>>(
        Scheme::Stalwart,
        "delivery.delivered",
        Duration::from_millis(500),
        false,
    );
    let (headers, body) = stalwart_batch(1000);
    let request = format!(
        "POST /hook HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (hang_up, hung_up) = std::sync::mpsc::channel::<()>();
    let address = server.address;
    let impatient = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let _ = hung_up.recv();
        // The sender's timeout is shorter than the handler: it hangs up.
        drop(stream);
    });
    let ran = server.shared.ran.clone();
    eventually("the slow event started", || {
        ran.lock()
            .unwrap()
            .iter()
            .any(|t| t == "delivery.delivered")
    })
    .await;
    hang_up.send(()).unwrap();
    impatient.join().unwrap();
    // The operator sees it: the request is reported cancelled, with its events' keys.
    let counters = server.counters.clone();
    eventually("the cancellation was counted", || {
        counters.get(DedupOutcome::Cancelled) == 1
    })
    .await;

    // Its retry while the event still runs is told to come back later…
    let (status, answer) = post_to(server.address, headers.clone(), body.clone()).await;
    assert_eq!(status, 409, "{answer}");
    // … the event finishes once and is recorded, and the next retry is a duplicate.
    let finished = server.shared.finished.clone();
    eventually("the detached event finished", || {
        *finished.lock().unwrap() == 1
    })
    .await;
    actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    let (status, answer) = post_to(server.address, headers, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        r#"{"status":"processed","processed":0,"duplicates":3,"failed":0,"in_progress":0}"#
    );
    let delivered = ran
        .lock()
        .unwrap()
        .iter()
        .filter(|t| *t == "delivery.delivered")
        .count();
    assert_eq!(delivered, 1, "ran once");
    // Counted once; the detached events were recorded (three processed), never abandoned.
    assert_eq!(counters.get(DedupOutcome::Cancelled), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Processed), 3, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Abandoned), 0, "{counters:?}");
    server.handle.stop(true).await;
}

/// Waits (up to 5 s) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}
