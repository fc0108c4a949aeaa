//! What the inbox tests share: `webhook listen --inbox` as a child process, a forward
//! target on loopback that records what it receives, and signed Stalwart deliveries.
#![allow(dead_code, unreachable_pub)]

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{extract::State, response::IntoResponse};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use webhook_core::{Scheme, Secret, Verifier};
use webhook_sender::{Body, Endpoint, HttpTransport, Transport as _};

pub(crate) const SECRET: &str = "inbox-test-secret";
/// The Standard Webhooks specification's example secret.
pub(crate) const FORWARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) fn webhook() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("webhook"))
}

/// `webhook listen --inbox` (or any `webhook` command that prints its address), killed
/// on drop; everything it prints is kept.
pub(crate) struct Listener {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) output: Arc<Mutex<String>>,
}

impl Listener {
    /// `webhook listen --scheme stalwart --secret SECRET --inbox PATH` with `extra`.
    pub(crate) fn start(inbox: &Path, port: u16, extra: &[&str]) -> Self {
        let mut command = webhook();
        command
            .args(["listen", "--scheme", "stalwart", "--secret", SECRET])
            .args(["--port", &port.to_string()])
            .arg("--inbox")
            .arg(inbox)
            .args(extra);
        Self::spawn(command)
    }

    pub(crate) fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("webhook starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = None;
        let mut line = String::new();
        while url.is_none() && stdout.read_line(&mut line).unwrap() > 0 {
            // `listening on http://…/ for …`, or `{"status":"listening","url":"http://…/"}`.
            url = line.find("http://").map(|at| {
                line[at..]
                    .split(|c: char| c.is_whitespace() || c == '"')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            });
            line.clear();
        }
        let url = url.expect("listen prints its address");
        let output = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut line = String::new();
            while matches!(stdout.read_line(&mut line), Ok(n) if n > 0) {
                kept.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Self { child, url, output }
    }

    pub(crate) fn printed(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// SIGKILL, and reap.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound, then released for the child to take).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request the forward target received.
#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    pub(crate) id: String,
    pub(crate) body: Bytes,
    pub(crate) headers: HeaderMap,
    /// Whether it verified as a Standard Webhooks message with [`FORWARD_SECRET`].
    pub(crate) verified: bool,
    pub(crate) status: StatusCode,
    /// When the request arrived.
    pub(crate) started: Instant,
}

/// How the target answers.
pub(crate) type Answer = dyn Fn(&Bytes) -> (StatusCode, Duration) + Send + Sync;

/// An HTTP server on loopback standing for the application: it verifies each forwarded
/// event with the core's Standard Webhooks verifier, records it, and answers as told.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Vec<Forwarded>>>,
    /// Requests being handled now.
    pub(crate) in_flight: Arc<std::sync::atomic::AtomicUsize>,
    answer: Arc<Mutex<Arc<Answer>>>,
}

impl Target {
    pub(crate) async fn start(
        answer: impl Fn(&Bytes) -> (StatusCode, Duration) + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = Self {
            url: format!("http://{}/events", listener.local_addr().unwrap()),
            seen: Arc::default(),
            in_flight: Arc::default(),
            answer: Arc::new(Mutex::new(Arc::new(answer))),
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(target.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        target
    }

    pub(crate) fn answer_with(
        &self,
        answer: impl Fn(&Bytes) -> (StatusCode, Duration) + Send + Sync + 'static,
    ) {
        *self.answer.lock().unwrap() = Arc::new(answer);
    }

    pub(crate) fn seen(&self) -> Vec<Forwarded> {
        self.seen.lock().unwrap().clone()
    }
}

async fn receive(
    State(target): State<Target>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let started = Instant::now();
    let verifier = Verifier::builder(Scheme::StandardWebhooks)
        .secret(
            Scheme::StandardWebhooks
                .secret_from(FORWARD_SECRET)
                .unwrap(),
        )
        .build()
        .unwrap();
    let verified = verifier.verify(&headers, body.clone()).is_ok();
    let answer = Arc::clone(&target.answer.lock().unwrap());
    let (status, delay) = answer(&body);
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    // The effect counts when the request arrives, whether or not its sender lives to
    // read the answer.
    target.seen.lock().unwrap().push(Forwarded {
        id,
        body,
        headers,
        verified,
        status,
        started,
    });
    let _handling = InFlight::enter(&target.in_flight);
    tokio::time::sleep(delay).await;
    status
}

/// Counts a request being handled until dropped (also when its client goes away).
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One Stalwart event's JSON, identified by `name` (in its data, so that content
/// fingerprints differ) and padded with `pad` bytes.
pub(crate) fn stalwart_event(name: &str, event_type: &str, pad: usize) -> String {
    format!(
        r#"{{"id":"{}","createdAt":"2026-01-02T03:04:05Z","type":"{event_type}","data":{{"accountName":"{name}@example.org","remoteIp":"203.0.113.7","pad":"{}"}}}}"#,
        fastrand_id(name),
        "x".repeat(pad)
    )
}

fn fastrand_id(name: &str) -> u64 {
    name.bytes()
        .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 1_000_000_000
}

pub(crate) fn batch(events: &[String]) -> Bytes {
    Bytes::from(format!(r#"{{"events":[{}]}}"#, events.join(",")))
}

/// Posts a signed Stalwart body; returns the answer's status and headers.
pub(crate) async fn post(url: &str, body: Bytes) -> (StatusCode, HeaderMap) {
    let endpoint = Endpoint::new(Scheme::Stalwart, url)
        .unwrap()
        .secret(Secret::new(SECRET))
        .unwrap();
    let transport = HttpTransport::for_endpoint(&endpoint).unwrap();
    let request = endpoint
        .request(&Body::json(body), None, SystemTime::now())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), transport.send(request))
        .await
        .expect("an answer within 20 s")
        .expect("the request goes through");
    (response.status(), response.headers().clone())
}

/// `webhook inbox <args> --inbox PATH --json`, parsed.
pub(crate) fn inbox_json(inbox: &Path, args: &[&str]) -> serde_json::Value {
    let output = webhook()
        .arg("inbox")
        .args(args)
        .arg("--inbox")
        .arg(inbox)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "webhook inbox {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

/// Waits until `done` holds of the inbox's stats, for at most `within`.
pub(crate) async fn wait_for_stats(
    inbox: &Path,
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let stats = inbox_json(inbox, &["stats"]);
        if done(&stats) {
            return stats;
        }
        assert!(started.elapsed() < within, "stats never got there: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
