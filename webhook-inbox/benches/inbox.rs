//! The inbox's costs beside baselines measured in the same run (issue 18):
//!
//! - **accept**: one-event Stalwart deliveries through `Inbox::accept` (no HTTP) from
//!   1, 8 and 32 concurrent tasks, against (a) one SQLite commit per delivery with the
//!   same durability and (b) the same rows written by one connection in groups of 32
//!   per commit. Targets at 32: ≥ 5× (a), ≥ 0.6× (b).
//! - **batch**: accepting one 10 000-event Stalwart batch, against serde_json
//!   validating the same body (splitting it into its elements) plus inserting the same
//!   rows in one transaction. Target ≤ 1.5×.
//! - **drain**: 2 048 pending events through a worker pool with a no-op handler,
//!   against a bare claim-and-complete SQL loop on one connection (claim 32, commit,
//!   complete them with their attempt rows, commit). Target ≥ 0.7×.
//!
//! Every case writes with WAL and `synchronous=FULL`, each into its own file.
//!
//! `cargo bench -p webhook-inbox --bench inbox`; with `RATIOS=1` the cases run
//! interleaved (`benches/support/interleave.rs`), for ratios that hold on a machine
//! whose speed drifts. The drain comparison is interleaved by round in both modes.

use std::{
    hint::black_box,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group};
use http::HeaderMap;
use rusqlite::{Connection, params};
use serde::Deserialize;
use serde_json::value::RawValue;
use webhook_core::{Scheme, Secret, Verified, Verifier, senders::stalwart};
use webhook_inbox::{Inbox, Job, Outcome, Route, SqliteBackend};

#[path = "../../benches/support/interleave.rs"]
mod interleave;

const SECRET: &str = "bench-secret";

/// A distinct event (≈ 330 bytes, the shape of the specification's first example).
fn event(n: u64) -> String {
    format!(
        r#"{{"id":"1755784815{n:010}","createdAt":"2025-08-21T14:00:15Z","type":"queue.message-queued","data":{{"spanId":312845507532341249,"queueId":{n},"from":"bill@example.org","to":["jdoe@example.org","jane@example.net"],"size":1187,"nextRetry":"2025-08-21T14:00:15Z","listenerId":"smtp","localPort":25,"remoteIp":"198.51.100.23","remotePort":40112}}}}"#
    )
}

fn batch(first: u64, count: u64) -> Vec<u8> {
    let events: Vec<String> = (first..first + count).map(event).collect();
    format!(r#"{{"events":[{}]}}"#, events.join(",")).into_bytes()
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn fresh(count: u64) -> u64 {
    NEXT.fetch_add(count, Ordering::Relaxed)
}

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

fn signed(body: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-signature",
        stalwart::sign(&Secret::new(SECRET), body).parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
    headers
}

fn verified(verifier: &Verifier, body: Vec<u8>) -> (HeaderMap, Verified<Vec<u8>>) {
    let headers = signed(&body);
    let verified = verifier.verify(&headers, body).unwrap();
    (headers, verified)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A migrated inbox file opened as a bare connection with the inbox's durability.
fn bare(path: &Path) -> Connection {
    drop(SqliteBackend::open(path).unwrap());
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    // The inbox writer's settings, so that the comparison is of the work done.
    conn.pragma_update(None, "temp_store", "MEMORY").unwrap();
    conn.pragma_update(None, "cache_size", -16 * 1024).unwrap();
    conn
}

/// The rows `Inbox::accept` writes for one delivery, written by hand: the delivery
/// (body, headers), one event per element (its bytes unless it is the whole body) and
/// its key, and the delivery's counts.
fn insert_rows(conn: &Connection, body: &[u8], events: &[(std::ops::Range<usize>, Vec<u8>)]) {
    conn.prepare_cached(
        "INSERT INTO deliveries (route, scheme, received_at, state, media_type, stalwart_key,
            headers, queued, duplicates, body_len, body)
         VALUES ('stalwart', 'stalwart', 1, 0, 'application/json', 0, ?1, 0, 0, ?2, ?3)",
    )
    .unwrap()
    .execute(params![
        &b"x-signature: 0000000000000000000000000000000000000000000=\r\ncontent-type: application/json\r\n"[..],
        body.len() as i64,
        body
    ])
    .unwrap();
    let delivery = conn.last_insert_rowid();
    let mut insert_event = conn
        .prepare_cached(
            "INSERT INTO events (delivery_id, route, scheme, event_type, dedup_key, media_type,
                body_start, body_end, state, run_since, run_at, received_at, updated_at, bytes)
             VALUES (?1, 'stalwart', 'stalwart', 'queue.message-queued', ?2, 'application/json',
                ?3, ?4, 0, 1, 1, 1, 1, ?5)",
        )
        .unwrap();
    let mut insert_key = conn
        .prepare_cached(
            "INSERT INTO event_keys (key, event_id, first_seen) VALUES (?1, ?2, 1)
             ON CONFLICT (key) DO NOTHING",
        )
        .unwrap();
    for (range, key) in events {
        let bytes = &body[range.clone()];
        let own = (bytes.len() != body.len()).then_some(bytes);
        insert_event
            .execute(params![
                delivery,
                key,
                range.start as i64,
                range.end as i64,
                own
            ])
            .unwrap();
        insert_key
            .execute(params![key, conn.last_insert_rowid()])
            .unwrap();
    }
    conn.prepare_cached("UPDATE deliveries SET queued = ?2 WHERE id = ?1")
        .unwrap()
        .execute(params![delivery, events.len() as i64])
        .unwrap();
}

/// A key like the inbox's: `stalwart:fp:` and 64 hex digits of a hash of the event,
/// so that keys land at random places in the key index as fingerprints do (sequential
/// keys would only ever append to its last page).
fn key(n: u64) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let digits: String = (0..4u64)
        .map(|part| {
            let mut hasher =
                std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default().build_hasher();
            hasher.write_u64(part);
            hasher.write_u64(n);
            format!("{:016x}", hasher.finish())
        })
        .collect();
    format!("stalwart:fp:{digits}").into_bytes()
}

/// One-event deliveries written with a commit each (baseline a) or `group` per commit
/// (baseline b).
fn write_deliveries(conn: &Connection, count: u64, group: u64) {
    let first = fresh(count);
    let mut n = first;
    while n < first + count {
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for m in n..(n + group).min(first + count) {
            let body = batch(m, 1);
            let len = body.len();
            insert_rows(conn, &body, &[(0..len, key(m))]);
        }
        conn.execute_batch("COMMIT").unwrap();
        n += group;
    }
}

/// `tasks` deliveries accepted concurrently through the inbox.
fn accept_concurrently(
    rt: &tokio::runtime::Runtime,
    inbox: &Inbox<SqliteBackend>,
    verifier: &Verifier,
    tasks: u64,
) {
    let first = fresh(tasks);
    rt.block_on(async {
        let handles: Vec<_> = (first..first + tasks)
            .map(|n| {
                let (headers, verified) = verified(verifier, batch(n, 1));
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let route = Route::of(Scheme::Stalwart);
                    inbox.accept(&route, &headers, verified).await.unwrap()
                })
            })
            .collect();
        for handle in handles {
            black_box(handle.await.unwrap());
        }
    });
}

#[derive(Deserialize)]
struct Elements<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// Baseline for a batch: serde_json validates the body and finds its elements, then
/// the same rows go in one transaction.
fn bare_batch(conn: &Connection, body: &[u8]) {
    let text = std::str::from_utf8(body).unwrap();
    let elements: Elements<'_> = serde_json::from_str(text).unwrap();
    let base = text.as_ptr() as usize;
    let first = fresh(elements.events.len() as u64);
    let events: Vec<_> = elements
        .events
        .iter()
        .zip(first..)
        .map(|(raw, n)| {
            let start = raw.get().as_ptr() as usize - base;
            (start..start + raw.get().len(), key(n))
        })
        .collect();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    insert_rows(conn, body, &events);
    conn.execute_batch("COMMIT").unwrap();
}

fn inbox_batch(rt: &tokio::runtime::Runtime, inbox: &Inbox<SqliteBackend>, verifier: &Verifier) {
    let body = batch(fresh(BATCH), BATCH);
    let (headers, verified) = verified(verifier, body);
    let accepted = rt
        .block_on(inbox.accept(&Route::of(Scheme::Stalwart), &headers, verified))
        .unwrap();
    assert_eq!(accepted.queued(), BATCH as usize);
}

const BATCH: u64 = 10_000;
const DRAIN: u64 = 2_048;

/// Fills an inbox with `DRAIN` pending events (32 per delivery), not timed.
fn fill(rt: &tokio::runtime::Runtime, inbox: &Inbox<SqliteBackend>, verifier: &Verifier) {
    for _ in 0..DRAIN / 32 {
        let (headers, verified) = verified(verifier, batch(fresh(32), 32));
        rt.block_on(inbox.accept(&Route::of(Scheme::Stalwart), &headers, verified))
            .unwrap();
    }
}

/// Drains through a worker pool with a no-op handler; the time until the last is done.
fn drain_inbox(rt: &tokio::runtime::Runtime, inbox: &Inbox<SqliteBackend>) -> Duration {
    rt.block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let all = Arc::new(tokio::sync::Notify::new());
        let started = Instant::now();
        let pool = inbox.workers().concurrency(32).spawn({
            let (done, all) = (Arc::clone(&done), Arc::clone(&all));
            move |job: Job| {
                black_box(job.bytes());
                if done.fetch_add(1, Ordering::Relaxed) + 1 == DRAIN as usize {
                    all.notify_one();
                }
                std::future::ready(Outcome::Done)
            }
        });
        all.notified().await;
        // The last answers are recorded before the pool stops.
        pool.shutdown(Duration::from_secs(30)).await;
        started.elapsed()
    })
}

/// The bare loop: claim 32 due events (reading their bytes) and commit, then complete
/// them with their attempt rows and commit, until none is due.
fn drain_bare(conn: &Connection) -> Duration {
    let started = Instant::now();
    let mut token = 0i64;
    loop {
        token += 1;
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let ids: Vec<i64> = conn
            .prepare_cached(
                "SELECT id FROM events WHERE state < 2 AND run_at <= ?1 ORDER BY run_at, id LIMIT 32",
            )
            .unwrap()
            .query_map([i64::MAX / 2], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        if ids.is_empty() {
            conn.execute_batch("COMMIT").unwrap();
            break;
        }
        for &id in &ids {
            conn.prepare_cached(
                "UPDATE events SET state = 1, attempts = attempts + 1, lease = ?2, claimed_at = 1,
                    run_at = 2, worker = 'bare', updated_at = 1 WHERE id = ?1",
            )
            .unwrap()
            .execute(params![id, token])
            .unwrap();
            let bytes: Vec<u8> = conn
                .prepare_cached(
                    "SELECT COALESCE(e.bytes, d.body) FROM events e
                     JOIN deliveries d ON d.id = e.delivery_id WHERE e.id = ?1",
                )
                .unwrap()
                .query_row([id], |row| row.get(0))
                .unwrap();
            black_box(bytes);
        }
        conn.execute_batch("COMMIT").unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for &id in &ids {
            conn.prepare_cached(
                "UPDATE events SET state = 2, lease = NULL, finished_at = 3, updated_at = 3
                 WHERE id = ?1 AND lease = ?2 AND state = 1",
            )
            .unwrap()
            .execute(params![id, token])
            .unwrap();
            conn.prepare_cached(
                "INSERT INTO attempts (event_id, attempt, started_at, duration_ms, outcome, worker)
                 VALUES (?1, 1, 1, 0, 'done', 'bare')",
            )
            .unwrap()
            .execute([id])
            .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    started.elapsed()
}

struct Files {
    _dir: tempfile::TempDir,
    inbox: Inbox<SqliteBackend>,
    per_commit: Connection,
    grouped: Connection,
    batch: Connection,
    drain_inbox: Inbox<SqliteBackend>,
    drain_bare_inbox: Inbox<SqliteBackend>,
    drain_bare: Connection,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let drain_bare_inbox = Inbox::open(path("drain-bare.db")).unwrap();
    let drain_bare = Connection::open(path("drain-bare.db")).unwrap();
    drain_bare
        .pragma_update(None, "synchronous", "FULL")
        .unwrap();
    drain_bare
        .pragma_update(None, "temp_store", "MEMORY")
        .unwrap();
    drain_bare
        .pragma_update(None, "cache_size", -16 * 1024)
        .unwrap();
    Files {
        inbox: Inbox::open(path("inbox.db")).unwrap(),
        per_commit: bare(&path("per-commit.db")),
        grouped: bare(&path("grouped.db")),
        batch: bare(&path("batch.db")),
        drain_inbox: Inbox::open(path("drain.db")).unwrap(),
        drain_bare_inbox,
        drain_bare,
        _dir: dir,
    }
}

fn benches_accept(c: &mut Criterion) {
    let rt = runtime();
    let files = files();
    let verifier = verifier();
    let mut group = c.benchmark_group("accept");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for tasks in [1u64, 8, 32] {
        group.bench_function(format!("commit_per_delivery/{tasks}"), |b| {
            b.iter(|| write_deliveries(&files.per_commit, tasks, 1))
        });
        group.bench_function(format!("groups_of_32/{tasks}"), |b| {
            b.iter(|| write_deliveries(&files.grouped, tasks, 32))
        });
        group.bench_function(format!("inbox/{tasks}"), |b| {
            b.iter(|| accept_concurrently(&rt, &files.inbox, &verifier, tasks))
        });
    }
    group.bench_function("batch_10000/serde_json_and_rows", |b| {
        b.iter(|| bare_batch(&files.batch, &batch(fresh(BATCH), BATCH)))
    });
    group.bench_function("batch_10000/inbox", |b| {
        b.iter(|| inbox_batch(&rt, &files.inbox, &verifier))
    });
    group.finish();
    drains(&rt, &files, &verifier, 5);
}

/// The drain comparison, interleaved by round: fill both, drain each, compare.
fn drains(rt: &tokio::runtime::Runtime, files: &Files, verifier: &Verifier, rounds: usize) {
    let mut ratios = Vec::new();
    let mut fastest = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        fill(rt, &files.drain_bare_inbox, verifier);
        fill(rt, &files.drain_inbox, verifier);
        let bare = drain_bare(&files.drain_bare);
        let inbox = drain_inbox(rt, &files.drain_inbox);
        fastest = (fastest.0.min(bare), fastest.1.min(inbox));
        // Throughput ratio: the inbox's events per second over the bare loop's.
        ratios.push(bare.as_secs_f64() / inbox.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "\ndrain {DRAIN} events ({rounds} rounds, interleaved)\n\
         bare claim-and-complete loop: fastest {:.1} ms ({:.0} events/s)\n\
         worker pool, no-op handler:   fastest {:.1} ms ({:.0} events/s)\n\
         pool throughput ÷ bare: median {:.3}×, fastest rounds {:.3}×",
        fastest.0.as_secs_f64() * 1e3,
        DRAIN as f64 / fastest.0.as_secs_f64(),
        fastest.1.as_secs_f64() * 1e3,
        DRAIN as f64 / fastest.1.as_secs_f64(),
        ratios[ratios.len() / 2],
        fastest.0.as_secs_f64() / fastest.1.as_secs_f64(),
    );
}

fn ratios() {
    let rt = runtime();
    let files = files();
    let verifier = verifier();
    for tasks in [1u64, 8, 32] {
        let mut cases = vec![
            interleave::Case::new(format!("commit per delivery ×{tasks}"), || {
                write_deliveries(&files.per_commit, tasks, 1)
            }),
            interleave::Case::new(format!("groups of 32 ×{tasks}"), || {
                write_deliveries(&files.grouped, tasks, 32)
            }),
            interleave::Case::new(format!("inbox, {tasks} concurrent"), || {
                accept_concurrently(&rt, &files.inbox, &verifier, tasks)
            }),
        ];
        interleave::run(
            &format!("accept {tasks} one-event deliveries (time ratio to one commit per delivery)"),
            Duration::from_millis(100),
            &mut cases,
        );
    }
    let mut cases = vec![
        interleave::Case::new("serde_json + same rows, 1 tx", || {
            bare_batch(&files.batch, &batch(fresh(BATCH), BATCH))
        }),
        interleave::Case::new("inbox accept", || inbox_batch(&rt, &files.inbox, &verifier)),
    ];
    interleave::run(
        "accept a 10 000-event Stalwart batch (time ratio)",
        Duration::from_millis(300),
        &mut cases,
    );
    drains(&rt, &files, &verifier, 15);
}

criterion_group!(benches, benches_accept);

fn main() {
    interleave::main(benches, ratios);
}
