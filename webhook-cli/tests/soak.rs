//! `webhook listen` under sustained load and under attack, as a real process.
//!
//! - **Soak**: 32 concurrent senders (the reference sender's signing and HTTP
//!   transport) post one-event Stalwart batches for the whole run, against `listen` and,
//!   interleaved in the same run, against a bare axum handler that only reads the body,
//!   served by `webhook_axum::serve` and by `axum::serve`. No delivery may fail;
//!   `listen`'s resident memory is sampled after each of its phases and must be flat
//!   after the warm-up; latency percentiles are printed with their ratio to the bare
//!   handler's. `SOAK_SECS` sets the length (24 s by default, what CI runs); the
//!   benchmark-length run is
//!   `SOAK_SECS=300 cargo test --release -p webhook-cli --test soak -- --nocapture`.
//!   The same soak runs against `listen --inbox` (a fresh SQLite file, every delivery
//!   synced before its 200, the workers printing each event).
//! - **Slowloris at 256 descriptors**: the measurement behind issue 22, repeated:
//!   `listen` under `prlimit --nofile=256:256` while 370 clients trickle their heads;
//!   every delivery of the reference sender succeeds, and every slow connection is
//!   closed within the head timeout.

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};
use webhook_core::{Scheme, Secret};
use webhook_sender::{Body, Endpoint, HttpTransport, Transport as _};

const SECRET: &str = "soak-secret";
const SENDERS: usize = 32;
const CHILD: &str = "HOOKWISE_SOAK_CHILD";

/// One test at a time: each loads the 2-core machine fully.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------- receivers

/// The bare handlers' half, started by the soak as a child process; returns at once
/// when run by hand.
#[test]
#[ignore = "the bare receivers of the soak, which runs them as child processes"]
fn bare_server() {
    let Ok(kind) = std::env::var(CHILD) else {
        return;
    };
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let app = axum::Router::new().fallback(|body: bytes::Bytes| async move {
            std::hint::black_box(body.len());
            "ok"
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on http://{}/", listener.local_addr().unwrap());
        match kind.as_str() {
            "webhook-axum" => webhook_axum::serve(listener, app).await.unwrap(),
            "axum" => axum::serve(listener, app).await.unwrap(),
            other => panic!("unknown bare server {other}"),
        }
    });
}

/// A receiver process, killed on drop; its address read from what it prints.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the receiver starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut url = None;
        let mut line = String::new();
        while url.is_none() && stdout.read_line(&mut line).unwrap() > 0 {
            url = line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(str::to_owned);
            line.clear();
        }
        let url = url.expect("the receiver prints its address");
        // `listen` prints every event: keep reading so it never blocks on the pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self { child, url }
    }

    /// `webhook listen` for the Stalwart scheme; `inbox` is the hook for the inbox of
    /// issue 18: with one, the soak runs against `listen --inbox PATH` unchanged.
    fn listen(inbox: Option<&Path>, prlimit: Option<u64>) -> Self {
        let mut command = match prlimit {
            Some(nofile) => {
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--nofile={nofile}:{nofile}"))
                    .arg(assert_cmd::cargo::cargo_bin("webhook"));
                command
            }
            None => Command::new(assert_cmd::cargo::cargo_bin("webhook")),
        };
        command.args(["listen", "--scheme", "stalwart", "--secret", SECRET]);
        command.args(["--port", "0"]);
        if let Some(path) = inbox {
            command.arg("--inbox").arg(path);
        }
        Self::start(command)
    }

    fn bare(kind: &str) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["bare_server", "--exact", "--ignored", "--nocapture"])
            .env(CHILD, kind);
        Self::start(command)
    }

    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap()
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn assert_alive(&mut self) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the receiver died"
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- the soak

/// A one-event Stalwart batch with a fresh event id.
fn batch(n: u64) -> Body {
    let now = chrono::Utc::now();
    Body::json(format!(
        r#"{{"events":[{{"id":"{}{n:06}","createdAt":"{}","type":"auth.success","data":{{"accountName":"soak{n}@example.org","remoteIp":"203.0.113.7"}}}}]}}"#,
        now.timestamp_millis(),
        now.format("%Y-%m-%dT%H:%M:%SZ")
    ))
}

#[derive(Default)]
struct Samples {
    latencies: Mutex<Vec<Vec<Duration>>>,
    failures: AtomicU64,
}

/// One sender: posts to whichever target is current, one request at a time.
async fn sender(
    urls: Arc<Vec<String>>,
    current: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    counter: Arc<AtomicU64>,
    samples: Arc<Samples>,
) {
    let endpoints: Vec<Endpoint> = urls
        .iter()
        .map(|url| {
            Endpoint::new(Scheme::Stalwart, url)
                .unwrap()
                .secret(Secret::new(SECRET))
                .unwrap()
        })
        .collect();
    let transport = HttpTransport::for_endpoint(&endpoints[0]).unwrap();
    let mut mine: Vec<Vec<Duration>> = vec![Vec::new(); urls.len()];
    while !stop.load(Ordering::Relaxed) {
        let target = current.load(Ordering::Relaxed);
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let request = endpoints[target]
            .request(&batch(n), None, SystemTime::now())
            .unwrap();
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(30), transport.send(request)).await;
        match answer {
            Ok(Ok(response)) if response.status() == 200 => {
                mine[target].push(started.elapsed());
            }
            _ => {
                samples.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let mut all = samples.latencies.lock().unwrap();
    for (target, latencies) in mine.into_iter().enumerate() {
        all[target].extend(latencies);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The soak against `listen`, or with `inbox` against `listen --inbox` (a fresh SQLite
/// file; its workers print each event, as `listen` does without it).
fn soak_for(total: Duration, inbox: bool) {
    let _serial = SERIAL.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let inbox_path = inbox.then(|| dir.path().join("inbox.db"));
    // Interleaved phases, so every target sees the same machine: each round gives each
    // target `PHASE`. The first round is the warm-up.
    const PHASE: Duration = Duration::from_secs(2);
    let names = [
        if inbox { "listen --inbox" } else { "listen" },
        "bare on webhook_axum::serve",
        "bare on axum::serve",
    ];
    let mut listen = Process::listen(inbox_path.as_deref(), None);
    let bare_serve = Process::bare("webhook-axum");
    let bare_axum = Process::bare("axum");
    let urls = Arc::new(vec![
        listen.url.clone(),
        bare_serve.url.clone(),
        bare_axum.url.clone(),
    ]);
    let rounds = (total.as_secs_f64() / (PHASE.as_secs_f64() * 3.0))
        .ceil()
        .max(2.0) as usize;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let current = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(Samples {
        latencies: Mutex::new(vec![Vec::new(); 3]),
        failures: AtomicU64::new(0),
    });
    let mut memory = Vec::new();
    let mut requests_after_warmup = 0;
    let started = Instant::now();
    runtime.block_on(async {
        let senders: Vec<_> = (0..SENDERS)
            .map(|_| {
                tokio::spawn(sender(
                    Arc::clone(&urls),
                    Arc::clone(&current),
                    Arc::clone(&stop),
                    Arc::clone(&counter),
                    Arc::clone(&samples),
                ))
            })
            .collect();
        for round in 0..rounds {
            if round == 1 {
                // The warm-up's samples are dropped.
                for latencies in samples.latencies.lock().unwrap().iter_mut() {
                    latencies.clear();
                }
                requests_after_warmup = counter.load(Ordering::Relaxed);
            }
            for target in 0..3 {
                current.store(target, Ordering::Relaxed);
                tokio::time::sleep(PHASE).await;
                if target == 0 {
                    memory.push((counter.load(Ordering::Relaxed), listen.rss_kib()));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for sender in senders {
            sender.await.unwrap();
        }
    });
    listen.assert_alive();
    let elapsed = started.elapsed();
    let total_requests = counter.load(Ordering::Relaxed);
    let failures = samples.failures.load(Ordering::Relaxed);
    // Per-round latencies were gathered after the warm-up only.
    let mut latencies = samples.latencies.lock().unwrap().clone();
    for list in &mut latencies {
        list.sort();
    }
    let stats: Vec<[Duration; 3]> = latencies
        .iter()
        .map(|l| [0.5, 0.9, 0.99].map(|p| percentile(l, p)))
        .collect();
    let after_warmup = memory[0].1;
    let last = memory.last().unwrap().1;
    let peak = memory.iter().map(|m| m.1).max().unwrap();
    eprintln!(
        "soak: {SENDERS} senders, {elapsed:.0?}, {rounds} rounds of {PHASE:?} per target, \
         {total_requests} requests ({} after warm-up), {failures} failed",
        total_requests - requests_after_warmup
    );
    for (name, (list, [p50, p90, p99])) in names.iter().zip(latencies.iter().zip(&stats)) {
        let base = stats[2];
        eprintln!(
            "  {name:<30} {:>7} requests  p50 {p50:>9.2?} ({:.2}×)  p90 {p90:>9.2?} ({:.2}×)  \
             p99 {p99:>9.2?} ({:.2}×)",
            list.len(),
            p50.as_secs_f64() / base[0].as_secs_f64(),
            p90.as_secs_f64() / base[1].as_secs_f64(),
            p99.as_secs_f64() / base[2].as_secs_f64(),
        );
    }
    eprintln!(
        "  listen resident memory: {} KiB after warm-up, {last} KiB at the end ({:+} KiB), \
         peak {peak} KiB; samples (requests, KiB): {memory:?}",
        after_warmup,
        last as i64 - after_warmup as i64
    );
    assert_eq!(failures, 0, "every delivery succeeds");
    assert!(
        latencies.iter().all(|l| l.len() > 100),
        "each target was loaded"
    );
    // Flat: what `listen` keeps per request is its deduplication store, capped at
    // 100 000 events (about 120 bytes each); beyond that, nothing may accumulate. With
    // the inbox, nothing is kept in memory per event; SQLite's page cache (16 MiB for
    // the writer, as webhook-inbox sets it, 2 MiB for the reader) fills as the file
    // grows, and the WAL's shared index is mapped.
    let allowed_kib = if inbox { 40 * 1024 } else { 16 * 1024 };
    assert!(
        last.saturating_sub(after_warmup) < allowed_kib,
        "listen grew by {} KiB after the warm-up",
        last - after_warmup
    );
}

#[test]
fn soak_listen_with_32_senders() {
    soak_for(soak_length(), false);
}

/// Issue 22's soak with the inbox of issue 18: every delivery committed and synced
/// before its 200, events printed by the workers.
#[test]
fn soak_listen_inbox_with_32_senders() {
    soak_for(soak_length(), true);
}

fn soak_length() -> Duration {
    let secs = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    Duration::from_secs(secs)
}

// ---------------------------------------------------------------- slowloris

/// Lets this process open the connections the test needs (its own limit, not the
/// receiver's).
fn raise_own_descriptor_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum {
        limit.current = Some(hard.min(1 << 16));
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// The issue's measurement: `listen` at a 256-descriptor limit, 370 clients trickling
/// their heads a byte every 2 s, and a real sender. Before `webhook_axum::serve`, every
/// delivery timed out and no slow connection was ever closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_keeps_answering_through_370_slow_clients_at_256_descriptors() {
    let _serial = SERIAL.lock().await;
    raise_own_descriptor_limit();
    let listen = Process::listen(None, Some(256));
    let address = listen
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let slow: Vec<_> = (0..370)
        .map(|_| {
            let address = address.clone();
            tokio::spawn(async move {
                let connected = Instant::now();
                let mut stream = TcpStream::connect(&address).await.unwrap();
                let _ = stream
                    .write_all(b"POST / HTTP/1.1\r\nhost: receiver\r\nx-slow: ")
                    .await;
                let mut tick = tokio::time::interval(Duration::from_secs(2));
                let mut buffer = [0u8; 64];
                loop {
                    tokio::select! {
                        read = stream.read(&mut buffer) => if matches!(read, Ok(0) | Err(_)) {
                            return connected.elapsed();
                        },
                        _ = tick.tick() => { let _ = stream.write_all(b"a").await; }
                        () = tokio::time::sleep(Duration::from_secs(30)) => {
                            panic!("a slow connection was still open after 30 s");
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let endpoint = Endpoint::new(Scheme::Stalwart, &listen.url)
        .unwrap()
        .secret(Secret::new(SECRET))
        .unwrap();
    let transport = HttpTransport::for_endpoint(&endpoint).unwrap();
    let mut slowest = Duration::ZERO;
    for n in 0..20 {
        let request = endpoint
            .request(&batch(n), None, SystemTime::now())
            .unwrap();
        let started = Instant::now();
        let response = tokio::time::timeout(Duration::from_secs(30), transport.send(request))
            .await
            .expect("listen answers within the sender's timeout")
            .expect("the delivery goes through");
        assert_eq!(response.status(), 200);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut lifetimes = Vec::new();
    for task in slow {
        lifetimes.push(task.await.unwrap());
    }
    lifetimes.sort();
    let longest = *lifetimes.last().unwrap();
    eprintln!(
        "listen at 256 descriptors: 20 deliveries through 370 slow clients, slowest \
         {slowest:?}; slow connections closed after p50 {:?}, max {longest:?} \
         (head timeout 10 s)",
        lifetimes[lifetimes.len() / 2]
    );
    // The head timeout (10 s), plus slack for a loaded machine.
    assert!(longest < Duration::from_secs(13), "{longest:?}");
}
