//! Peak memory while the inbox route accepts many concurrent bodies at the limit, in
//! both adapters: the receiver's resident memory grows by no more than the in-flight
//! body budget plus a fixed overhead (issue 18, point 5).
//!
//! The receiver runs in a child process (this test binary, started again in receiver
//! mode), so that the client's bodies do not count; its peak resident set (`VmHWM`) is
//! reset after a warm-up and read after the load. That includes everything the receiver
//! holds: the bodies being read and stored, the events split from them, SQLite's page
//! cache and journal, the connections' buffers, and what the allocator keeps.
//!
//! `cargo test --test inbox_memory -- --nocapture` prints the figures.

mod inbox_support;

use std::{
    io::{BufRead as _, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, SystemTime},
};

use inbox_support::{ADAPTERS, Adapter, Config, HookRoute, Probe, post, start};
use webhook_axum::inbox::{Inbox, Route};
use webhook_core::{
    Scheme, Secret, Verifier,
    capacity::{BodyBudget, ServeLimits},
    senders::stalwart::{DataMap, Key, Value},
};
use webhook_sender::{Body, Endpoint, IdGenerator, IdStyle, StalwartEvent, render_batch};

const SECRET: &str = "stalwart-memory-secret";
/// The body limit, and (about) each body's size.
const LIMIT: usize = 1 << 20;
/// The in-flight budget: eight bodies at the limit.
const BUDGET: usize = 8 * LIMIT;
/// Concurrent senders, each sending `ROUNDS` bodies at the limit.
const SENDERS: usize = 48;
const ROUNDS: usize = 3;
/// Bodies sent one at a time before measuring.
const WARM_UP: usize = 24;
/// What may be held beyond the budget once SQLite's page cache is full: the events split
/// from the bodies being committed (a 1 MiB batch of these small events holds about
/// 8 000, each a range, a type and a key until committed: two to three times the body),
/// which the inbox bounds to 2 MiB of bodies at once whatever the number of requests in
/// flight (about 6 MiB); the allocator's per-thread arenas, hyper's and actix's
/// connection buffers. Measured on the first load, debug build, 2026-12-06: budget +6.1
/// and +7.5 MiB (axum), +10.9 and +14.9 MiB (actix); before the inbox bounded the split,
/// +20.1 MiB (axum) and +28.2 MiB (actix), and this bound was 48 MiB. Without the budget
/// the same load grows the receiver by about 190 MiB.
const OVERHEAD_BOUND: usize = 24 << 20;

/// Distinct signed Stalwart bodies just under `LIMIT`.
fn bodies(count: usize) -> Vec<(http::HeaderMap, Vec<u8>)> {
    let endpoint = Endpoint::new(Scheme::Stalwart, "http://127.0.0.1/hooks/stalwart")
        .unwrap()
        .secret(Secret::new(SECRET))
        .unwrap();
    let ids = IdGenerator::new(IdStyle::Counter);
    (0..count as u64)
        .map(|b| {
            let mut events = Vec::new();
            let mut n = 0u64;
            loop {
                let mut data = DataMap::new();
                data.push(Key::AccountName, Value::from("jdoe@example.org"));
                data.push(Key::AccountId, Value::from(b * 1_000_000 + n));
                data.push(Key::RemoteIp, Value::from("203.0.113.7"));
                events.push(StalwartEvent::from_map("auth.success", &data).with_type_id(37));
                n += 1;
                if n.is_multiple_of(256) {
                    let refs: Vec<&StalwartEvent> = events.iter().collect();
                    if render_batch(&refs, &ids).unwrap().len() > LIMIT - 64 * 1024 {
                        break;
                    }
                }
            }
            let refs: Vec<&StalwartEvent> = events.iter().collect();
            let body = render_batch(&refs, &ids).unwrap();
            assert!(body.len() <= LIMIT);
            let request = endpoint
                .request(&Body::json(body.clone()), None, SystemTime::now())
                .unwrap();
            (request.headers().clone(), body)
        })
        .collect()
}

/// A `/proc/<pid>/status` field, in bytes.
fn status_bytes(pid: u32, field: &str) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|kb| {
            kb.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

const CHILD_ENV: &str = "HOOKWISE_INBOX_MEMORY_RECEIVER";
const INBOX_ENV: &str = "HOOKWISE_INBOX_MEMORY_PATH";

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .max_body_bytes(LIMIT)
        .build()
        .unwrap()
}

/// Receiver mode (only when started by the test below): serves until killed.
#[test]
fn receiver_process() {
    let Ok(adapter) = std::env::var(CHILD_ENV) else {
        return;
    };
    let adapter = match adapter.as_str() {
        "axum" => Adapter::Axum,
        _ => Adapter::Actix,
    };
    let inbox = Inbox::open(std::env::var(INBOX_ENV).unwrap()).unwrap();
    let budget = BodyBudget::new(BUDGET).with_retry_after(Duration::from_secs(1));
    let mut config = Config::new(vec![HookRoute {
        path: "/hooks/stalwart",
        verifier: verifier(),
        route: Route::of(Scheme::Stalwart),
    }]);
    config.limits = ServeLimits::default().with_body_budget(budget);
    let receiver = start(adapter, inbox, config, Probe::with_delay(Duration::ZERO));
    println!("listening on {}", receiver.address);
    std::thread::sleep(Duration::from_secs(600));
}

struct ReceiverProcess(Child);

impl ReceiverProcess {
    fn start(adapter: Adapter, inbox: &Path) -> (Self, SocketAddr) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "receiver_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{adapter:?}").to_lowercase())
            .env(INBOX_ENV, inbox)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let address = stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_once("listening on ")
                    .map(|(_, at)| at.to_owned())
            })
            .expect("the receiver process starts")
            .parse()
            .unwrap();
        (Self(child), address)
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn accepting_many_bodies_at_the_limit_holds_the_budget_plus_a_bounded_overhead() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bodies = Arc::new(bodies(16));
    for adapter in ADAPTERS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.db");
        let (child, address) = ReceiverProcess::start(adapter, &path);
        let pid = child.0.id();
        // Warm up one request at a time: SQLite's page cache (16 MiB) fills with the
        // bodies written, the runtimes and connections start.
        runtime.block_on(async {
            for (headers, body) in bodies.iter().chain(bodies.iter()).take(WARM_UP) {
                let warm = post(address, "/hooks/stalwart", headers, body)
                    .await
                    .unwrap();
                assert_eq!(warm.status, 200);
            }
        });
        let measure = |what: &str| {
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
            let before = status_bytes(pid, "VmRSS:");
            let (stored, busy) = runtime.block_on(send_load(address, &bodies));
            let peak = status_bytes(pid, "VmHWM:");
            let growth = peak.saturating_sub(before);
            println!(
                "{adapter:?}, {what}: {SENDERS} senders x {ROUNDS} bodies of {} KiB, budget {} \
                 MiB: {stored} stored, {busy} answered 503; resident {:.1} MiB before, peak \
                 {:.1} MiB: growth {:.1} MiB (budget + {:.1} MiB)",
                LIMIT >> 10,
                BUDGET >> 20,
                before as f64 / MIB,
                peak as f64 / MIB,
                growth as f64 / MIB,
                growth.saturating_sub(BUDGET) as f64 / MIB,
            );
            assert!(stored > 0, "{adapter:?}: nothing stored");
            (stored, growth)
        };
        let (cold_stored, cold) = measure("first load");
        let (stored, growth) = measure("second load");
        drop(child);
        let deliveries = runtime.block_on(async {
            Inbox::open(&path)
                .unwrap()
                .stats()
                .await
                .unwrap()
                .deliveries
        });
        assert_eq!(
            deliveries,
            (cold_stored + stored + WARM_UP) as u64,
            "{adapter:?}: every 200 is stored"
        );
        assert!(
            cold <= BUDGET + OVERHEAD_BOUND,
            "{adapter:?}: resident memory grew by {cold} bytes on the first load, over the \
             budget {BUDGET} plus {OVERHEAD_BOUND}"
        );
        assert!(
            growth <= BUDGET + OVERHEAD_BOUND,
            "{adapter:?}: resident memory grew by {growth} bytes, over the budget {BUDGET} \
             plus {OVERHEAD_BOUND}"
        );
    }
}

const MIB: f64 = (1 << 20) as f64;

/// `SENDERS` concurrent senders, `ROUNDS` bodies each: how many were stored (200) and
/// refused (503 with `Retry-After`).
async fn send_load(
    address: SocketAddr,
    bodies: &Arc<Vec<(http::HeaderMap, Vec<u8>)>>,
) -> (usize, usize) {
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let bodies = Arc::clone(bodies);
            tokio::spawn(async move {
                let (mut stored, mut busy) = (0, 0);
                for round in 0..ROUNDS {
                    let (headers, body) = &bodies[(s + round) % bodies.len()];
                    // A refused request's connection may be closed before its answer is
                    // read: not acknowledged either.
                    let Ok(response) = post(address, "/hooks/stalwart", headers, body).await else {
                        busy += 1;
                        continue;
                    };
                    match response.status {
                        200 => stored += 1,
                        503 => {
                            assert!(response.header("retry-after").is_some());
                            busy += 1;
                        }
                        other => panic!("{other}: {}", response.body),
                    }
                }
                (stored, busy)
            })
        })
        .collect();
    let (mut stored, mut busy) = (0, 0);
    for sender in senders {
        let (s, b) = sender.await.unwrap();
        stored += s;
        busy += b;
    }
    (stored, busy)
}
