//! Receiver replicas as real processes on one PostgreSQL database: this test binary
//! re-run as a child (`child_replica`) that accepts the deliveries the parent writes on
//! its stdin (printing `ack` only after the commit) and runs a transactional handler
//! that writes one effect row per attempt in the inbox's transaction.
//!
//! - Two and four replicas under a stream of deliveries (overlapping batches, and
//!   deliveries retried on another replica), one SIGKILLed several times while a
//!   handler is mid-transaction: every acknowledged event is handled, each effect is
//!   committed exactly once, and a retried delivery queues nothing new.
//! - PostgreSQL crashed (immediate shutdown) and restarted under the same load:
//!   nothing acknowledged is lost, accepts refused meanwhile are retried by the
//!   "sender", and effects are still exactly once.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use webhook_core::Scheme;
use webhook_inbox::{
    AttemptOutcome, EventFilter, Inbox, Outcome, Page, PostgresBackend, Route,
    contract::{stalwart_batch, verified_stalwart},
    sqlx::{self, PgPool},
    testing::PostgresServer,
};

const URL: &str = "WEBHOOK_INBOX_PG_URL";
/// How long a child's handler holds its transaction open after writing its effect: the
/// parent kills the child inside that window.
const HANDLER_PAUSE: Duration = Duration::from_millis(60);

/// The event number a stored Stalwart test event carries (its `accountId`).
fn number(bytes: &[u8]) -> u32 {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    text.split("\"accountId\":")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .and_then(|n| n.parse().ok())
        .expect("a test event")
}

#[test]
#[ignore = "run as a child process by the tests below"]
fn child_replica() {
    let Ok(url) = std::env::var(URL) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let backend = PostgresBackend::builder(url)
            .acquire_timeout(Duration::from_secs(1))
            .connect()
            .await
            .unwrap();
        let inbox = Inbox::new(backend);
        let pid = i64::from(std::process::id());
        let workers = inbox
            .workers()
            .concurrency(4)
            .lease(Duration::from_secs(1))
            .poll_interval(Duration::from_millis(100))
            .name(format!("replica-{pid}"))
            .spawn_transactional(move |job, tx| {
                Box::pin(async move {
                    let n = number(job.bytes());
                    let written =
                        sqlx::query("INSERT INTO effects (event_key, n, pid) VALUES ($1, $2, $3)")
                            .bind(job.key().as_bytes())
                            .bind(i64::from(n))
                            .bind(pid)
                            .execute(&mut **tx)
                            .await;
                    if let Err(err) = written {
                        return Outcome::retry(err);
                    }
                    println!("handling {n}");
                    tokio::time::sleep(HANDLER_PAUSE).await;
                    Outcome::Done
                })
            });
        let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(line) = lines.recv().await {
            // `accept <id> <n>,<n>,…`
            let mut parts = line.split(' ');
            let (Some("accept"), Some(id), Some(events)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let id = id.to_owned();
            let events: Vec<u32> = events.split(',').map(|n| n.parse().unwrap()).collect();
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let (headers, verified) = verified_stalwart(stalwart_batch(&events));
                match inbox
                    .accept(&Route::of(Scheme::Stalwart), &headers, verified)
                    .await
                {
                    // The sender's 2xx: only after the commit returned.
                    Ok(accepted) => {
                        println!("ack {id} {} {}", accepted.queued(), accepted.duplicates())
                    }
                    Err(err) => {
                        assert_eq!(err.status(), 503, "{err}");
                        println!("fail {id}");
                    }
                }
            });
        }
        workers.shutdown(Duration::from_secs(5)).await;
    });
}

/// One line a child printed: which slot, which incarnation of it.
struct Line {
    slot: usize,
    generation: u32,
    text: Option<String>,
}

struct Replica {
    child: Child,
    stdin: ChildStdin,
    generation: u32,
}

fn spawn_replica(url: &str, slot: usize, generation: u32, lines: &mpsc::Sender<Line>) -> Replica {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_replica",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env(URL, url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = lines.clone();
    std::thread::spawn(move || {
        for text in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(Line {
                slot,
                generation,
                text: Some(text),
            });
        }
        // The end of this incarnation's output.
        let _ = lines.send(Line {
            slot,
            generation,
            text: None,
        });
    });
    let stdin = child.stdin.take().unwrap();
    Replica {
        child,
        stdin,
        generation,
    }
}

/// A delivery: its events.
type Delivery = Vec<u32>;

/// Drives the replicas as a sender would: sends each delivery to a replica, resends it
/// (to another) when that replica refused it or died before acknowledging it.
struct Sender {
    url: String,
    replicas: Vec<Replica>,
    lines: mpsc::Receiver<Line>,
    lines_tx: mpsc::Sender<Line>,
    /// Sent and not yet answered: delivery id → (delivery, slot, generation).
    in_flight: HashMap<u32, (Delivery, usize, u32)>,
    /// Deliveries to send again.
    resend: Vec<(u32, Delivery)>,
    /// Acknowledged deliveries: id → (queued, duplicates), the last answer.
    acked: BTreeMap<u32, (usize, usize)>,
    /// Every event of an acknowledged delivery.
    acked_events: BTreeSet<u32>,
    /// Slot → generation → whether a handler said it started.
    handling: HashMap<(usize, u32), bool>,
    next_id: u32,
    kills: u32,
}

impl Sender {
    fn new(url: String, count: usize) -> Self {
        let (lines_tx, lines) = mpsc::channel();
        let replicas = (0..count)
            .map(|slot| spawn_replica(&url, slot, 0, &lines_tx))
            .collect();
        Self {
            url,
            replicas,
            lines,
            lines_tx,
            in_flight: HashMap::new(),
            resend: Vec::new(),
            acked: BTreeMap::new(),
            acked_events: BTreeSet::new(),
            handling: HashMap::new(),
            next_id: 0,
            kills: 0,
        }
    }

    fn send(&mut self, id: u32, delivery: Delivery, slot: usize) {
        let replica = &mut self.replicas[slot];
        let events: Vec<String> = delivery.iter().map(u32::to_string).collect();
        // A replica that just died fails the write: its answer never comes and the
        // delivery is resent when its output ends.
        let _ = writeln!(replica.stdin, "accept {id} {}", events.join(","));
        let _ = replica.stdin.flush();
        self.in_flight
            .insert(id, (delivery, slot, replica.generation));
    }

    fn send_new(&mut self, delivery: Delivery) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let slot = id as usize % self.replicas.len();
        self.send(id, delivery, slot);
        id
    }

    /// Handles one line; false when nothing came within `timeout`.
    fn pump(&mut self, timeout: Duration) -> bool {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.handle(line);
                true
            }
            Err(_) => false,
        }
    }

    fn handle(&mut self, line: Line) {
        let Some(text) = line.text else {
            // That incarnation is gone: what it did not acknowledge is resent.
            let lost: Vec<u32> = self
                .in_flight
                .iter()
                .filter(|(_, (_, slot, generation))| {
                    (*slot, *generation) == (line.slot, line.generation)
                })
                .map(|(id, _)| *id)
                .collect();
            for id in lost {
                let (delivery, _, _) = self.in_flight.remove(&id).unwrap();
                self.resend.push((id, delivery));
            }
            return;
        };
        let mut parts = text.split(' ');
        match parts.next() {
            Some("ack") => {
                let id: u32 = parts.next().unwrap().parse().unwrap();
                let queued: usize = parts.next().unwrap().parse().unwrap();
                let duplicates: usize = parts.next().unwrap().parse().unwrap();
                if let Some((delivery, _, _)) = self.in_flight.remove(&id) {
                    self.acked_events.extend(delivery.iter().copied());
                }
                self.acked.insert(id, (queued, duplicates));
            }
            Some("fail") => {
                let id: u32 = parts.next().unwrap().parse().unwrap();
                if let Some((delivery, _, _)) = self.in_flight.remove(&id) {
                    self.resend.push((id, delivery));
                }
            }
            Some("handling") => {
                self.handling.insert((line.slot, line.generation), true);
            }
            _ => {}
        }
    }

    /// Sends again what was refused or lost, each to the next replica.
    fn resend_lost(&mut self) {
        for (id, delivery) in std::mem::take(&mut self.resend) {
            let slot = (id as usize + 1 + self.kills as usize) % self.replicas.len();
            self.send(id, delivery, slot);
        }
    }

    /// Kills replica `slot` with SIGKILL while one of its handlers is inside its
    /// transaction, waits for the end of its output, and starts it again.
    fn kill_mid_handler(&mut self, slot: usize) {
        let generation = self.replicas[slot].generation;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.handling.contains_key(&(slot, generation)) {
            assert!(
                Instant::now() < deadline,
                "replica {slot} never ran a handler"
            );
            self.pump(Duration::from_millis(50));
        }
        // A handler of this replica has written its effect and holds its
        // transaction open for HANDLER_PAUSE: kill it now.
        self.replicas[slot].child.kill().unwrap();
        self.replicas[slot].child.wait().unwrap();
        self.kills += 1;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                Instant::now() < deadline,
                "the killed replica's output never ended"
            );
            let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) else {
                continue;
            };
            let ended = line.text.is_none() && (line.slot, line.generation) == (slot, generation);
            self.handle(line);
            if ended {
                break;
            }
        }
        self.replicas[slot] = spawn_replica(&self.url, slot, generation + 1, &self.lines_tx);
    }

    /// Waits until every delivery sent was acknowledged (resending what was refused).
    fn settle(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.in_flight.is_empty() || !self.resend.is_empty() {
            assert!(
                Instant::now() < deadline,
                "deliveries never acknowledged: {:?}",
                self.in_flight.keys().collect::<Vec<_>>()
            );
            if !self.pump(Duration::from_millis(100)) || !self.resend.is_empty() {
                // A sender waits a little before retrying.
                std::thread::sleep(Duration::from_millis(50));
                self.resend_lost();
            }
        }
    }

    fn shutdown(mut self) {
        for replica in &mut self.replicas {
            let _ = replica.child.kill();
            let _ = replica.child.wait();
        }
        self.replicas.clear();
    }
}

fn server() -> &'static PostgresServer {
    static SERVER: OnceLock<PostgresServer> = OnceLock::new();
    SERVER.get_or_init(PostgresServer::start)
}

fn database(server: &PostgresServer) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    server.create_database(&format!("replicas{}", N.fetch_add(1, Ordering::Relaxed)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn prepare(url: &str) -> PgPool {
    let pool = PgPool::connect(url).await.unwrap();
    // No unique constraint: a second effect of an event would be a second row (a
    // unique key would turn it into an error and hide it), and is counted below.
    sqlx::query(
        "CREATE TABLE effects (id BIGSERIAL PRIMARY KEY, event_key BYTEA NOT NULL, n BIGINT NOT \
         NULL, pid BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The replicas migrate the inbox schema themselves; this one first, so the
    // parent's own backend below can read it.
    pool
}

/// Waits (the replicas still running) until every stored event is done, then checks: every acknowledged event is
/// stored and done, and each has exactly one committed effect.
async fn check_exactly_once(url: &str, pool: &PgPool, acked_events: &BTreeSet<u32>) {
    let inbox = Inbox::new(PostgresBackend::connect(url).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = inbox.stats().await.unwrap();
        if stats.pending + stats.running + stats.retrying == 0 {
            assert_eq!(stats.dead, 0);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "events never finished: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stored = BTreeSet::new();
    let mut page = Page::first(Page::MAX_LIMIT);
    loop {
        let events = inbox
            .list_events(&EventFilter::default(), page)
            .await
            .unwrap();
        let Some(last) = events.last() else { break };
        page = page.after(last.id.0);
        for event in &events {
            let detail = inbox.event(event.id).await.unwrap().unwrap();
            assert!(stored.insert(number(&detail.bytes)), "one event per key");
        }
    }
    let lost: Vec<_> = acked_events.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");

    let duplicated: Vec<(i64, i64)> =
        sqlx::query_as("SELECT n, count(*) FROM effects GROUP BY n HAVING count(*) > 1")
            .fetch_all(pool)
            .await
            .unwrap();
    assert!(
        duplicated.is_empty(),
        "effects committed twice: {duplicated:?}"
    );
    let effects: Vec<i64> = sqlx::query_scalar("SELECT n FROM effects")
        .fetch_all(pool)
        .await
        .unwrap();
    let effects: BTreeSet<u32> = effects.into_iter().map(|n| n as u32).collect();
    assert_eq!(
        effects, stored,
        "one effect for every stored event, none other"
    );
}

/// How many attempts ended with their lease run out (a replica died holding them).
async fn expired_leases(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM webhook_inbox.attempts WHERE outcome = $1")
        .bind(AttemptOutcome::LeaseExpired.as_str())
        .fetch_one(pool)
        .await
        .unwrap()
}

fn replicas_killed_mid_handler(count: usize) {
    let url = database(server());
    let rt = runtime();
    let pool = rt.block_on(prepare(&url));
    let started = Instant::now();
    let mut sender = Sender::new(url.clone(), count);
    let mut retried_elsewhere = Vec::new();
    for round in 0..3u32 {
        for i in 0..40u32 {
            let n = round * 40 + i;
            // Overlapping batches: each event comes in two deliveries, which usually
            // reach different replicas.
            sender.send_new(vec![2 * n, 2 * n + 1, 2 * n + 2]);
            while sender.in_flight.len() >= 8 * count {
                sender.pump(Duration::from_millis(100));
            }
        }
        sender.kill_mid_handler(0);
        sender.settle(Duration::from_secs(30));
        // A delivery the sender retries on another replica (its answer was lost, say).
        let first = round * 40 + 5;
        let (delivery, _) = (vec![2 * first, 2 * first + 1, 2 * first + 2], ());
        let id = sender.next_id;
        sender.next_id += 1;
        sender.send(id, delivery, 1);
        sender.settle(Duration::from_secs(30));
        retried_elsewhere.push(id);
    }
    let acked_events = sender.acked_events.clone();
    for id in &retried_elsewhere {
        assert_eq!(
            sender.acked[id],
            (0, 3),
            "a delivery retried on another replica queues nothing new"
        );
    }
    assert_eq!(sender.kills, 3);
    rt.block_on(async {
        check_exactly_once(&url, &pool, &acked_events).await;
        assert!(
            expired_leases(&pool).await >= 1,
            "a replica was killed holding a claim: its event ran again elsewhere"
        );
    });
    sender.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn two_replicas_one_killed_mid_handler_lose_nothing_and_commit_each_effect_once() {
    replicas_killed_mid_handler(2);
}

#[test]
fn four_replicas_one_killed_mid_handler_lose_nothing_and_commit_each_effect_once() {
    replicas_killed_mid_handler(4);
}

#[test]
fn a_postgres_restart_under_load_loses_nothing_acknowledged() {
    let mut server = PostgresServer::start();
    let url = server.url("postgres");
    let rt = runtime();
    let pool = rt.block_on(prepare(&url));
    let mut sender = Sender::new(url.clone(), 2);
    for n in 0..120u32 {
        sender.send_new(vec![n]);
        if n == 60 {
            // In the middle of the stream, with deliveries in flight and handlers in
            // their transactions: an immediate shutdown, as a crash.
            server.crash_and_restart();
        }
        while sender.in_flight.len() >= 16 {
            if !sender.pump(Duration::from_millis(100)) || !sender.resend.is_empty() {
                std::thread::sleep(Duration::from_millis(50));
                sender.resend_lost();
            }
        }
    }
    sender.settle(Duration::from_secs(30));
    let acked_events = sender.acked_events.clone();
    assert_eq!(
        acked_events.len(),
        120,
        "every delivery acknowledged in the end"
    );
    drop(pool);
    // The pool from before the restart may hold dead connections: a fresh one.
    let pool = rt.block_on(PgPool::connect(&url)).unwrap();
    rt.block_on(check_exactly_once(&url, &pool, &acked_events));
    sender.shutdown();
}
