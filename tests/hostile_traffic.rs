//! Hostile and heavy traffic against both adapters' servers. Each receiver is a child
//! process (this test binary, re-run as `child_server`) under a real descriptor limit
//! set by `prlimit --nofile=256:256`, served the way the examples serve:
//! `webhook_axum::serve` with `ServeLimits`, or actix-web's `HttpServer` through
//! `webhook_actix::apply_limits` with the limits as app data.
//!
//! - **Slowloris**: hundreds of connections trickle their head (then, separately, their
//!   body) a byte at a time and reconnect when closed, while the reference sender
//!   delivers Stalwart batches: every event is delivered, and every slow connection is
//!   closed by the receiver within a bound derived from its deadlines.
//! - **Connection flood**: far more connections than the cap, held open silently: the
//!   receiver never runs out of descriptors and answers again as soon as they go.
//! - **Many bodies at the limit**: 1 MiB bodies, many at once, against an 8 MiB budget:
//!   the excess is answered 503 with `Retry-After` (and delivered on retry), and the
//!   receiver's peak memory stays within the budget plus a fixed overhead, where without
//!   the budget it does not.
//!
//! Time bounds are upper limits on when a deadline fires (with slack for a loaded
//! 2-core machine), never claims about speed. The figures each test prints (with
//! `--nocapture`) are the ones reported in BENCHMARKS.md.

use std::{
    io::{BufRead as _, BufReader, Read as _},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};
use webhook_core::{
    Scheme, Secret, Verified, Verifier,
    capacity::{BodyBudget, ServeLimits, descriptor_limit},
    senders::stalwart::{self, DataMap, Key, Value},
};
use webhook_sender::{DeliveryLog, Endpoint, Sender, StalwartEvent, Stats};

const CHILD: &str = "HOOKWISE_TRAFFIC_CHILD";
const SECRET: &str = "traffic-secret";
const PATH: &str = "/hooks/stalwart";
/// The same verification, without parsing: the handler gets the raw verified bytes.
const RAW_PATH: &str = "/hooks/raw";
/// The receivers' descriptor limit: a common default, and low enough to be reached.
const NOFILE: u64 = 256;
/// More slow connections than the cap the limit allows (192).
const ATTACKERS: usize = 300;
/// The head, body and idle deadlines of the attacked receivers.
const DEADLINE: Duration = Duration::from_secs(2);
const ATTACK: Duration = Duration::from_secs(8);

/// One heavy test at a time: each saturates a child on a 2-core machine.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------- the receivers

/// The receiver half, run by [`Receiver::start`] in a child process; returns at once
/// when run by hand.
#[test]
#[ignore = "the receiver half of this file's tests, which run it as a child process"]
fn child_server() {
    let Ok(adapter) = std::env::var(CHILD) else {
        return;
    };
    // The parent holds our stdin: exit with it.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter("warn")
        .init();
    let settings = Settings::from_env();
    match adapter.as_str() {
        "axum" => serve_axum(settings),
        "actix" => serve_actix(settings),
        other => panic!("unknown adapter {other}"),
    }
}

struct Settings {
    limits: ServeLimits,
    max_body: usize,
    handler: Duration,
}

impl Settings {
    fn from_env() -> Self {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let millis = |name: &str, default: u64| Duration::from_millis(number(name, default));
        let budget = BodyBudget::new(number("BUDGET", 64 << 20) as usize)
            .with_retry_after(millis("RETRY_MS", 2000));
        let limits = ServeLimits::default()
            .with_head_timeout(millis("HEAD_MS", 10_000))
            .with_body_timeout(millis("BODY_MS", 10_000))
            .with_idle_timeout(millis("IDLE_MS", 30_000))
            .with_body_budget(budget);
        Self {
            limits,
            max_body: number("MAX_BODY", 1 << 20) as usize,
            handler: millis("HANDLER_MS", 0),
        }
    }

    fn verifier(&self) -> Verifier {
        Verifier::builder(Scheme::Stalwart)
            .secret(Secret::new(SECRET))
            .max_body_bytes(self.max_body)
            .build()
            .unwrap()
    }
}

fn announce(address: SocketAddr, limits: &ServeLimits) {
    println!(
        "listening on {address} nofile={} max_connections={}",
        descriptor_limit().unwrap_or(0),
        limits.max_connections()
    );
}

fn serve_axum(settings: Settings) {
    use axum::{Router, routing::post};
    use webhook_axum::Webhook;
    use webhook_core::StalwartEvents;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let wait = settings.handler;
        let app = Router::new()
            .route(
                PATH,
                post(move |Webhook(events): Webhook<StalwartEvents>| async move {
                    tokio::time::sleep(wait).await;
                    events.len().to_string()
                }),
            )
            .route(
                RAW_PATH,
                post(move |Webhook(raw): Webhook<Verified<Bytes>>| async move {
                    tokio::time::sleep(wait).await;
                    raw.body().len().to_string()
                }),
            )
            .with_state(settings.verifier());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        announce(listener.local_addr().unwrap(), &settings.limits);
        webhook_axum::serve(listener, app)
            .with_limits(settings.limits)
            .await
            .unwrap();
    });
}

fn serve_actix(settings: Settings) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use webhook_actix::{Webhook, WebhookConfig};
    use webhook_core::StalwartEvents;

    actix_web::rt::System::new().block_on(async move {
        let (limits, verifier, wait) = (
            settings.limits.clone(),
            settings.verifier(),
            settings.handler,
        );
        let server = HttpServer::new(move || {
            App::new()
                .app_data(limits.clone())
                .app_data(WebhookConfig::new(verifier.clone()))
                .route(
                    PATH,
                    web::post().to(move |Webhook(events): Webhook<StalwartEvents>| async move {
                        actix_web::rt::time::sleep(wait).await;
                        HttpResponse::Ok().body(events.len().to_string())
                    }),
                )
                .route(
                    RAW_PATH,
                    web::post().to(move |Webhook(raw): Webhook<Verified<Bytes>>| async move {
                        actix_web::rt::time::sleep(wait).await;
                        HttpResponse::Ok().body(raw.body().len().to_string())
                    }),
                )
        });
        let server = webhook_actix::apply_limits(server, &settings.limits, 2)
            .bind("127.0.0.1:0")
            .unwrap();
        announce(server.addrs()[0], &settings.limits);
        server.run().await.unwrap();
    });
}

/// A receiver child process, killed when dropped.
struct Receiver {
    child: Child,
    address: SocketAddr,
    max_connections: usize,
    stderr: Arc<Mutex<String>>,
}

impl Receiver {
    fn start(adapter: &str, nofile: u64, env: &[(&str, String)]) -> Self {
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg(std::env::current_exe().unwrap())
            .args(["child_server", "--exact", "--ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD, adapter)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prlimit (util-linux) runs the receiver; scripts/ensure-tools.sh installs it");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest prints `test child_server ... ` before the test's own output.
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let _ = tx.send(rest.to_owned());
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                collected
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "the {adapter} receiver did not start: {}",
                    stderr.lock().unwrap()
                )
            });
        let mut words = line.split_whitespace();
        let address = words.next().unwrap().parse().unwrap();
        let field = |words: &mut std::str::SplitWhitespace<'_>, name: &str| -> u64 {
            words
                .next()
                .and_then(|w| w.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap()
        };
        let limit = field(&mut words, "nofile=");
        assert_eq!(limit, nofile, "the descriptor limit is really in force");
        let max_connections = field(&mut words, "max_connections=") as usize;
        assert!(max_connections < nofile as usize);
        Self {
            child,
            address,
            max_connections,
            stderr,
        }
    }

    fn url(&self) -> String {
        format!("http://{}{PATH}", self.address)
    }

    fn status(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Resident memory now, KiB.
    fn rss_kib(&self) -> u64 {
        self.status("VmRSS:")
    }

    /// Peak resident memory so far, KiB.
    fn peak_rss_kib(&self) -> u64 {
        self.status("VmHWM:")
    }

    fn open_descriptors(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    fn assert_healthy(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the receiver died: {}",
            self.stderr.lock().unwrap()
        );
        let log = self.stderr.lock().unwrap();
        for sign in ["accept failed", "Too many open files", "panicked"] {
            assert!(!log.contains(sign), "the receiver logged {sign:?}: {log}");
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lets this process open the connections the tests need (its own limit, not the
/// receivers').
fn raise_own_descriptor_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum {
        limit.current = Some(hard.min(1 << 16));
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 16)
}

// ---------------------------------------------------------------- the sender

/// The reference sender with Stalwart's policy (one POST a second with every pending
/// event, a failed batch re-queued), sending one event every 250 ms for `duration`.
async fn deliver_for(url: &str, duration: Duration) -> (Stats, DeliveryLog) {
    let endpoint = Endpoint::new(Scheme::Stalwart, url)
        .unwrap()
        .secret(Secret::new(SECRET))
        .unwrap();
    let sender = Sender::stalwart(endpoint).build().unwrap();
    let log = sender.log().clone();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        n += 1;
        let mut data = DataMap::new();
        data.push(
            Key::AccountName,
            Value::from(format!("user{n}@example.org")),
        );
        sender
            .send(StalwartEvent::from_map("auth.success", &data))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stats = sender.close_within(Duration::from_secs(60)).await;
    (stats, log)
}

/// Checks every event was delivered; returns (failed attempts, slowest attempt).
fn assert_all_delivered(stats: &Stats, log: &DeliveryLog) -> (u64, Duration) {
    assert!(stats.submitted > 0);
    assert_eq!(
        stats.delivered, stats.submitted,
        "undelivered events: {stats:?}"
    );
    let slowest = log
        .records()
        .iter()
        .flat_map(|record| record.attempts.iter().map(|a| a.latency))
        .max()
        .unwrap_or_default();
    (stats.failed_requests, slowest)
}

// ---------------------------------------------------------------- slowloris

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Trickle {
    Head,
    Body,
}

impl Trickle {
    /// What the client sends at once; then one byte every 500 ms, never finishing.
    fn opening(self) -> Vec<u8> {
        match self {
            Trickle::Head => {
                format!("POST {PATH} HTTP/1.1\r\nhost: receiver\r\nx-slow: ").into_bytes()
            }
            Trickle::Body => format!(
                "POST {PATH} HTTP/1.1\r\nhost: receiver\r\ncontent-type: application/json\r\n\
                 x-signature: {}=\r\ncontent-length: 100000\r\n\r\n{{",
                "A".repeat(43)
            )
            .into_bytes(),
        }
    }
}

/// How one slow connection ended.
#[derive(Debug)]
struct Closed {
    lifetime: Duration,
    status: Option<u16>,
}

/// One attacker: connects, trickles, and when the receiver closes the connection,
/// records how long it lived and reconnects, until `stop`.
async fn attacker(address: SocketAddr, trickle: Trickle, stop: Arc<AtomicBool>) -> Vec<Closed> {
    let mut closed = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(address).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let connected = Instant::now();
        let _ = stream.write_all(&trickle.opening()).await;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut answer = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            tokio::select! {
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buffer[..n]),
                },
                _ = tick.tick() => {
                    let _ = stream.write_all(b"a").await;
                }
            }
        }
        let status = std::str::from_utf8(&answer)
            .ok()
            .and_then(|a| a.strip_prefix("HTTP/1.1 "))
            .and_then(|a| a.get(..3))
            .and_then(|code| code.parse().ok());
        closed.push(Closed {
            lifetime: connected.elapsed(),
            status,
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    closed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn slowloris(adapter: &str, trickle: Trickle) {
    let _serial = SERIAL.lock().await;
    raise_own_descriptor_limit();
    let millis = DEADLINE.as_millis().to_string();
    let mut receiver = Receiver::start(
        adapter,
        NOFILE,
        &[
            ("HEAD_MS", millis.clone()),
            ("BODY_MS", millis.clone()),
            ("IDLE_MS", millis),
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|_| tokio::spawn(attacker(receiver.address, trickle, Arc::clone(&stop))))
        .collect();
    // Let the slow connections fill the receiver before the first delivery.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deliveries = tokio::spawn({
        let url = receiver.url();
        async move { deliver_for(&url, ATTACK).await }
    });
    let mut most_descriptors = 0;
    let started = Instant::now();
    while started.elapsed() < ATTACK {
        most_descriptors = most_descriptors.max(receiver.open_descriptors());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (stats, log) = deliveries.await.unwrap();

    // The attackers stop reconnecting; each last connection must still be closed by the
    // receiver. A connection may first wait in the listen backlog (actix stops
    // accepting at its cap) or be closed early to make room (axum): the bound is two
    // deadlines plus slack, from the client's connect.
    let bound = DEADLINE * 2 + Duration::from_secs(3);
    let mut closed = Vec::new();
    for attacker in attackers {
        let ended = tokio::time::timeout(bound + Duration::from_secs(2), attacker)
            .await
            .expect("a slow connection was never closed by the receiver");
        closed.extend(ended.unwrap());
    }
    receiver.assert_healthy();
    let (failed, slowest) = assert_all_delivered(&stats, &log);
    let mut lifetimes: Vec<Duration> = closed.iter().map(|c| c.lifetime).collect();
    lifetimes.sort();
    let longest = *lifetimes.last().unwrap();
    let timed_out = closed.iter().filter(|c| c.status == Some(408)).count();
    eprintln!(
        "{adapter} slow {trickle:?}: {} slow connections over {:?} ({ATTACKERS} at a time, \
         cap {}), closed after p50 {:?} / p99 {:?} / max {:?}, {timed_out} answered 408; \
         most descriptors open {most_descriptors}/{NOFILE}; sender: {} events in {} \
         requests, {failed} failed attempts, slowest attempt {slowest:?}",
        closed.len(),
        ATTACK,
        receiver.max_connections,
        percentile(&lifetimes, 0.5),
        percentile(&lifetimes, 0.99),
        longest,
        stats.delivered,
        stats.requests,
    );
    assert!(
        longest <= bound,
        "a slow connection lived {longest:?}, beyond {bound:?}"
    );
    assert!(
        closed.len() > ATTACKERS,
        "every attacker was closed at least once"
    );
    if trickle == Trickle::Body && adapter == "actix" {
        // Every actix slow body reached the extractor's deadline.
        assert!(timed_out > 0, "no 408 for a slow body");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_slow_heads_are_closed_and_deliveries_go_on() {
    slowloris("axum", Trickle::Head).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_slow_bodies_are_closed_and_deliveries_go_on() {
    slowloris("axum", Trickle::Body).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_slow_heads_are_closed_and_deliveries_go_on() {
    slowloris("actix", Trickle::Head).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_slow_bodies_are_closed_and_deliveries_go_on() {
    slowloris("actix", Trickle::Body).await;
}

// ---------------------------------------------------------------- idle

/// A keep-alive connection that carried one delivery and then idles is closed after
/// the idle timeout, and not before.
async fn idle_connections_are_closed(adapter: &str) {
    let _serial = SERIAL.lock().await;
    let receiver = Receiver::start(adapter, NOFILE, &[("IDLE_MS", "1000".to_owned())]);
    let body = r#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;
    let request = format!(
        "POST {PATH} HTTP/1.1\r\nhost: receiver\r\ncontent-type: application/json\r\n\
         x-signature: {}\r\ncontent-length: {}\r\n\r\n{body}",
        stalwart::sign(&Secret::new(SECRET), body.as_bytes()),
        body.len()
    );
    let mut stream = TcpStream::connect(receiver.address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    let answered = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(1..) = stream.read(&mut buffer).await {}
    })
    .await;
    let idle = answered.elapsed();
    eprintln!(
        "{adapter}: an idle keep-alive connection was closed after {idle:?} (idle timeout 1 s)"
    );
    assert!(closed.is_ok(), "still open after 10 s");
    assert!(idle >= Duration::from_millis(900), "closed early: {idle:?}");
    assert!(idle < Duration::from_secs(4), "{idle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_closes_idle_keep_alive_connections() {
    idle_connections_are_closed("axum").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_closes_idle_keep_alive_connections() {
    idle_connections_are_closed("actix").await;
}

// ---------------------------------------------------------------- flood

/// One signed one-event delivery on a fresh connection; the status, or `None` when the
/// connection failed or no answer came within `patience`.
async fn deliver_once(address: SocketAddr, patience: Duration) -> Option<u16> {
    let body = r#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"flood@example.org"}}]}"#;
    let request = format!(
        "POST {PATH} HTTP/1.1\r\nhost: receiver\r\ncontent-type: application/json\r\n\
         x-signature: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        stalwart::sign(&Secret::new(SECRET), body.as_bytes()),
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        std::str::from_utf8(&answer)
            .ok()?
            .strip_prefix("HTTP/1.1 ")?
            .get(..3)?
            .parse()
            .ok()
    };
    tokio::time::timeout(patience, exchange)
        .await
        .ok()
        .flatten()
}

async fn flood(adapter: &str) {
    let _serial = SERIAL.lock().await;
    let own_limit = raise_own_descriptor_limit();
    let millis = DEADLINE.as_millis().to_string();
    let mut receiver = Receiver::start(
        adapter,
        NOFILE,
        &[("HEAD_MS", millis.clone()), ("IDLE_MS", millis)],
    );
    let size = 1000.min(own_limit.saturating_sub(200) as usize);
    assert!(
        size > 2 * receiver.max_connections,
        "too few descriptors here for a flood"
    );

    // The flood: connections opened as fast as the receiver's backlog takes them, and
    // held open silently.
    let started = Instant::now();
    let mut connects = Vec::with_capacity(size);
    for _ in 0..size {
        connects.push(tokio::spawn(tokio::time::timeout(
            Duration::from_secs(5),
            TcpStream::connect(receiver.address),
        )));
    }
    let mut held = Vec::new();
    for connect in connects {
        if let Ok(Ok(Ok(stream))) = connect.await {
            held.push(stream);
        }
    }
    let opened = started.elapsed();
    // Under the flood: a delivery goes through (axum: by closing the longest-waiting
    // connection; actix: once the head timeout frees a slot).
    let under_flood = Instant::now();
    let status = deliver_once(receiver.address, Duration::from_secs(20)).await;
    let under_flood = under_flood.elapsed();
    let most_descriptors = receiver.open_descriptors();
    receiver.assert_healthy();

    // How many of the flood's connections the receiver has already closed (or
    // answered, as actix answers 408 at its head timeout before closing).
    let mut closed_by_receiver = 0;
    for stream in &held {
        let mut byte = [0u8; 1];
        if let Ok(Ok(_) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), stream.peek(&mut byte)).await
        {
            closed_by_receiver += 1;
        }
    }

    // The flood stops: the next delivery is answered at once.
    drop(held);
    let stopped = Instant::now();
    let mut recovered = None;
    while stopped.elapsed() < Duration::from_secs(10) {
        if deliver_once(receiver.address, Duration::from_secs(2)).await == Some(200) {
            recovered = Some(stopped.elapsed());
            break;
        }
    }
    receiver.assert_healthy();
    eprintln!(
        "{adapter} flood: {size} connections (cap {}) in {opened:?}, {closed_by_receiver} \
         closed (or answered 408) by the receiver after the delivery below; a delivery during the flood: {status:?} after \
         {under_flood:?}; most descriptors open {most_descriptors}/{NOFILE}; after the \
         flood, answered again after {recovered:?}",
        receiver.max_connections
    );
    assert_eq!(status, Some(200), "a delivery during the flood");
    let recovered = recovered.expect("the receiver answers again after the flood");
    assert!(recovered < Duration::from_secs(5), "{recovered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_survives_a_connection_flood_and_answers_as_soon_as_it_stops() {
    flood("axum").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_survives_a_connection_flood_and_answers_as_soon_as_it_stops() {
    flood("actix").await;
}

// ---------------------------------------------------------------- memory

const BODIES: usize = 64;
const BODY_LIMIT: usize = 1 << 20;
const BUDGET: usize = 8 << 20;
/// What the receiver may hold beyond the budget: hyper's or actix's per-connection
/// buffers for the connections in flight, the runtime, the allocator's slack.
const OVERHEAD_KIB: u64 = 16 * 1024;

/// A signed Stalwart batch just under 1 MiB, for `path`.
fn large_request(path: &str) -> Vec<u8> {
    let padding = "x".repeat(BODY_LIMIT - 200);
    let body = format!(
        r#"{{"events":[{{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"{padding}"}}}}]}}"#
    );
    assert!(body.len() <= BODY_LIMIT);
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: receiver\r\ncontent-type: application/json\r\n\
         x-signature: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        stalwart::sign(&Secret::new(SECRET), body.as_bytes()),
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

/// Posts `request` until it is answered 200; returns how many 503s (each with
/// `Retry-After`) came first.
async fn post_until_accepted(address: SocketAddr, request: Arc<Vec<u8>>) -> usize {
    let head_len = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut refused = 0;
    loop {
        let mut stream = TcpStream::connect(address).await.unwrap();
        // The head first: a refusal comes before the body is read, and once the
        // receiver closes with body bytes unread, the kernel resets the connection
        // and the answer may be lost. A sender that cannot wait this way sees a reset
        // and retries just the same.
        stream.write_all(&request[..head_len]).await.unwrap();
        let mut answer = Vec::new();
        let mut buffer = vec![0u8; 4096];
        let early = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buffer)).await;
        match early {
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Ok(Err(_)) => {}
            Err(_) => {
                let _ = stream.write_all(&request[head_len..]).await;
            }
        }
        let _ = stream.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        if answer.starts_with("HTTP/1.1 200") {
            return refused;
        }
        assert!(
            answer.starts_with("HTTP/1.1 503") && answer.contains("retry-after: 1"),
            "{answer}"
        );
        assert!(answer.contains(r#""code":"receiver_busy""#), "{answer}");
        refused += 1;
        assert!(refused < 1000, "never accepted");
        tokio::time::sleep(Duration::from_millis(100 + fastrand::u64(..200))).await;
    }
}

/// Sends `BODIES` bodies at the limit at once to `path`, each handler holding its
/// body for 300 ms; returns the receiver's peak memory growth (KiB) and how many
/// answers were 503.
async fn many_bodies(adapter: &str, budget: usize, path: &str) -> (u64, usize) {
    let receiver = Receiver::start(
        adapter,
        1024,
        &[
            ("BUDGET", budget.to_string()),
            ("MAX_BODY", BODY_LIMIT.to_string()),
            ("RETRY_MS", "500".to_owned()),
            ("HANDLER_MS", "300".to_owned()),
        ],
    );
    // Warm up (runtime, buffers, first allocations), then take the baseline.
    let request = Arc::new(large_request(path));
    post_until_accepted(receiver.address, Arc::clone(&request)).await;
    let baseline = receiver.rss_kib().max(receiver.peak_rss_kib());
    let tasks: Vec<_> = (0..BODIES)
        .map(|_| tokio::spawn(post_until_accepted(receiver.address, Arc::clone(&request))))
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += task.await.unwrap();
    }
    let grown = receiver.peak_rss_kib().saturating_sub(baseline);
    (grown, refused)
}

async fn memory_stays_within_the_budget(adapter: &str) {
    let _serial = SERIAL.lock().await;
    let budget_kib = (BUDGET / 1024) as u64;
    let (raw, refused) = many_bodies(adapter, BUDGET, RAW_PATH).await;
    let (unbounded, refused_unbounded) = many_bodies(adapter, 1 << 30, RAW_PATH).await;
    let (parsed, _) = many_bodies(adapter, BUDGET, PATH).await;
    eprintln!(
        "{adapter}: {BODIES} bodies of 1 MiB at once, each held 300 ms: peak memory \
         +{} MiB with an {} MiB budget ({refused} answers 503, then retried), +{} MiB \
         without one ({refused_unbounded} answers 503); parsed into typed events: +{} MiB",
        raw / 1024,
        BUDGET >> 20,
        unbounded / 1024,
        parsed / 1024,
    );
    assert!(refused > 0, "the budget refused some bodies");
    assert_eq!(refused_unbounded, 0);
    assert!(
        raw <= budget_kib + OVERHEAD_KIB,
        "peak memory grew by {raw} KiB with an {budget_kib} KiB budget"
    );
    assert!(
        unbounded > 2 * (budget_kib + OVERHEAD_KIB),
        "without a budget the same load should hold far more ({unbounded} KiB)"
    );
    // Typed events own copies of the body's strings and take the body's place once it is
    // parsed; the body's reservation is kept in the request's holds until the handler
    // has returned, so the next body is admitted only when the events are gone and the
    // parsed path is held to the same bound as raw bodies: what the budget counts, plus
    // the fixed overhead (parsing's temporaries included: at most one parse per worker
    // thread at a time). Measured 2026-12-06, debug build: +13 to +19 MiB (both
    // adapters); before the holds, +22 to +30 MiB here (three runs of four over this
    // bound) and +30 to +45 MiB in issue 22. The adapters' own tests check the mechanism
    // exactly (`parsed_events_stay_counted…`).
    assert!(
        parsed <= budget_kib + OVERHEAD_KIB,
        "peak memory grew by {parsed} KiB parsing bodies within an {budget_kib} KiB budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_memory_stays_within_the_body_budget() {
    memory_stays_within_the_budget("axum").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_memory_stays_within_the_body_budget() {
    memory_stays_within_the_budget("actix").await;
}
