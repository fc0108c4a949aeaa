//! The demo's inbox act: what the durable inbox changes, in a few seconds, on a
//! temporary SQLite file.
//!
//! 1. A Stalwart batch arrives at a receiver with the inbox: the sender is answered
//!    once the delivery is on disk, in milliseconds, while the handler takes
//!    [`SLOW`] per event.
//! 2. The handler fails one event twice ("database unavailable"): the inbox retries it
//!    with backoff until it succeeds.
//! 3. Two more events arrive; the process "stops" while their handlers run (the worker
//!    pool is shut down with no grace and the inbox closed). The file is re-opened and
//!    a new worker pool runs what was pending.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use serde_json::json;
use webhook_core::{Scheme, Secret, Verifier};
use webhook_inbox::{Inbox, Job, Outcome, RetryPolicy, Route, WorkerPool};
use webhook_sender::{
    Body, Endpoint as SenderEndpoint, HttpTransport, IdGenerator, IdStyle, Transport as _,
    render_batch,
};

use crate::{
    error::CliError,
    inbox::Intake,
    receiver::{Endpoint, Receiver, Tally},
    senders::stalwart,
};

/// How long the demo's handler takes per event.
const SLOW: Duration = Duration::from_millis(400);
const SECRET: &str = "demo-inbox-secret";
/// The event type the handler fails on its first two attempts.
const FLAKY: &str = "delivery.delivered";

/// What the act showed, for the summary.
#[derive(Debug, Default)]
pub(crate) struct InboxDemo {
    /// The slowest answer the sender got.
    pub(crate) slowest_answer: Duration,
    /// Events whose handler finished.
    pub(crate) handled: u64,
    /// Failed attempts that were retried.
    pub(crate) retried: u64,
    /// Events pending when the inbox was re-opened after the stop.
    pub(crate) pending_at_restart: u64,
    /// Of those, handled by the new worker pool.
    pub(crate) recovered: u64,
}

impl InboxDemo {
    /// Whether the act showed what it should (the answer's latency is shown, not judged:
    /// a loaded machine's disk may take longer to sync).
    pub(crate) fn as_expected(&self) -> bool {
        self.handled == 5
            && self.retried == 2
            && self.pending_at_restart == 2
            && self.recovered == 2
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        json!({
            "slowest_answer_ms": self.slowest_answer.as_millis(),
            "handler_ms_per_event": SLOW.as_millis(),
            "handled_events": self.handled,
            "retried_attempts": self.retried,
            "pending_at_restart": self.pending_at_restart,
            "recovered_after_restart": self.recovered,
        })
    }
}

/// The handler's side of the story, shared with the demo.
#[derive(Default)]
struct Log {
    handled: u64,
    retried: u64,
}

fn say(json: bool, started: Instant, text: &str) {
    if !json {
        println!("  {:>5.2} s  {text}", started.elapsed().as_secs_f64());
    }
}

/// Runs the act; `heading` prints a section title.
pub(crate) async fn act(json: bool, heading: impl Fn(&str)) -> Result<InboxDemo, CliError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("inbox.db");
    let started = Instant::now();
    let log = Arc::new(Mutex::new(Log::default()));
    let mut demo = InboxDemo::default();

    heading(
        "durable inbox: the sender is answered once the delivery is on disk; a slow, failing handler runs later, with retries",
    );
    let inbox = Inbox::open(&path)?;
    let (address, server) = serve(&inbox, json).await?;
    let workers = spawn(&inbox, Arc::clone(&log), started, json);
    let answer = deliver(
        address,
        &["auth.success", FLAKY, "security.authentication-ban"],
        0,
    )
    .await?;
    demo.slowest_answer = answer;
    say(
        json,
        started,
        &format!(
            "sender answered 200 in {} ms for 3 events, stored in {} (the handler takes {} ms per event)",
            answer.as_millis(),
            path.display(),
            SLOW.as_millis()
        ),
    );
    wait(&inbox, |stats| stats.done == 3, Duration::from_secs(15)).await?;

    heading("restart: two more events arrive, and the process stops while their handlers run");
    let answer = deliver(address, &["auth.failed", "queue.message-queued"], 10).await?;
    demo.slowest_answer = demo.slowest_answer.max(answer);
    say(
        json,
        started,
        &format!(
            "sender answered 200 in {} ms for 2 events",
            answer.as_millis()
        ),
    );
    tokio::time::sleep(SLOW / 4).await;
    let report = workers.shutdown(Duration::ZERO).await;
    server.abort();
    let _ = server.await;
    drop(inbox);
    say(
        json,
        started,
        &format!(
            "stopped mid-handler: {} event(s) given back to the inbox, unhandled",
            report.released
        ),
    );
    let inbox = Inbox::open(&path)?;
    let stats = inbox.stats().await?;
    demo.pending_at_restart = stats.pending + stats.retrying;
    say(
        json,
        started,
        &format!(
            "re-opened {}: {} event(s) pending; a new worker pool takes them",
            path.display(),
            demo.pending_at_restart
        ),
    );
    let handled_before = log.lock().map(|l| l.handled).unwrap_or_default();
    let workers = spawn(&inbox, Arc::clone(&log), started, json);
    wait(&inbox, |stats| stats.done == 5, Duration::from_secs(15)).await?;
    workers.shutdown(Duration::from_secs(1)).await;
    let log = log
        .lock()
        .map(|l| (l.handled, l.retried))
        .unwrap_or_default();
    demo.handled = log.0;
    demo.retried = log.1;
    demo.recovered = log.0 - handled_before;
    Ok(demo)
}

/// A receiver storing into `inbox` (no workers: the demo runs its own).
async fn serve(
    inbox: &Inbox,
    json: bool,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), CliError> {
    let receiver = Arc::new(Receiver {
        endpoints: vec![Endpoint {
            path: None,
            scheme: Scheme::Stalwart,
            verifier: Verifier::builder(Scheme::Stalwart)
                .secret(Secret::new(SECRET))
                .build()?,
            dedup: None,
            inbox: Some(Intake {
                inbox: inbox.clone().into(),
                route: Route::of(Scheme::Stalwart),
            }),
        }],
        json,
        tally: Tally::default(),
        save: None,
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = socket.local_addr()?;
    let app = receiver.router();
    let server = tokio::spawn(async move {
        let _ = webhook_axum::serve(socket, app).await;
    });
    Ok((address, server))
}

/// Sends one signed Stalwart batch; returns how long the answer took.
async fn deliver(address: SocketAddr, types: &[&str], n: u64) -> Result<Duration, CliError> {
    let endpoint = SenderEndpoint::new(
        Scheme::Stalwart,
        &format!("http://{address}/hooks/stalwart"),
    )?
    .secret(Secret::new(SECRET))?;
    let transport = HttpTransport::for_endpoint(&endpoint)?;
    let events: Vec<_> = types
        .iter()
        .enumerate()
        .map(|(i, kind)| stalwart::sample(kind, n + i as u64))
        .collect();
    let body = render_batch(
        &events.iter().collect::<Vec<_>>(),
        &IdGenerator::new(IdStyle::Counter),
    )
    .map_err(|err| CliError::Usage(err.to_string()))?;
    let request = endpoint
        .request(&Body::json(body), None, SystemTime::now())
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let sent = Instant::now();
    let response = transport
        .send(request)
        .await
        .map_err(|err| CliError::Usage(err.to_string()))?;
    if !response.status().is_success() {
        return Err(CliError::Usage(format!(
            "the inbox answered {}",
            response.status()
        )));
    }
    Ok(sent.elapsed())
}

/// The demo's handler: slow, and failing [`FLAKY`] events on their first two attempts.
fn spawn(inbox: &Inbox, log: Arc<Mutex<Log>>, started: Instant, json: bool) -> WorkerPool {
    inbox
        .workers()
        .concurrency(4)
        .poll_interval(Duration::from_millis(50))
        .retry(RetryPolicy {
            base: Duration::from_millis(150),
            max_delay: Duration::from_millis(300),
            ..RetryPolicy::default()
        })
        .spawn(move |job: Job| {
            let log = Arc::clone(&log);
            async move {
                tokio::time::sleep(SLOW).await;
                let kind = job.event_type().unwrap_or("event").to_owned();
                if kind == FLAKY && job.attempt() < 3 {
                    if let Ok(mut log) = log.lock() {
                        log.retried += 1;
                    }
                    say(json, started, &format!(
                        "handler: {kind} failed (attempt {}: database unavailable), the inbox retries it",
                        job.attempt()
                    ));
                    return Outcome::retry("database unavailable");
                }
                if let Ok(mut log) = log.lock() {
                    log.handled += 1;
                }
                say(json, started, &format!("handler: {kind} done (attempt {})", job.attempt()));
                Outcome::Done
            }
        })
}

/// Waits until the inbox's stats satisfy `done`.
async fn wait(
    inbox: &Inbox,
    done: impl Fn(&webhook_inbox::Stats) -> bool,
    within: Duration,
) -> Result<(), CliError> {
    let deadline = Instant::now() + within;
    loop {
        if done(&inbox.stats().await?) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(CliError::Usage(
                "the inbox demo did not finish in time".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
