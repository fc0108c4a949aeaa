//! The PostgreSQL backend's costs beside raw SQL baselines measured in the same run
//! (issue 19), on a real server this bench starts (`testing::PostgresServer`: loopback,
//! PostgreSQL's durable defaults, `fsync` and `synchronous_commit` on):
//!
//! - **accept**: one-event Stalwart deliveries through `Inbox::accept` (verification
//!   done beforehand, no HTTP) from 1, 8 and 32 concurrent tasks, against the same rows
//!   written by raw SQL with the same grouping (one transaction per delivery, the same
//!   concurrency on a pool of the same size): the delivery, its key with
//!   `INSERT … ON CONFLICT DO NOTHING`, the event. Target ≥ 0.7×.
//! - **drain**: 2 048 pending events through a worker pool with a no-op handler,
//!   against a bare loop on one connection that claims 32 with
//!   `FOR UPDATE SKIP LOCKED` (reading their bytes) and completes them with their
//!   attempt rows. Target ≥ 0.7×.
//!
//! Each case has its own schema (the same tables, migrated by the backend).
//!
//! `cargo bench -p webhook-inbox --features postgres,test-support --bench postgres`;
//! with `RATIOS=1` the accept cases run interleaved (`benches/support/interleave.rs`).
//! The drain comparison is interleaved by round in both modes. With `SCALING=1` it
//! measures instead how draining scales with 1, 2 and 4 worker processes (this bench
//! re-run as children) on one database.

use std::{
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group};
use http::HeaderMap;
use webhook_core::{Scheme, Secret, Verified, Verifier, senders::stalwart};
use webhook_inbox::{
    Inbox, Job, Outcome, PostgresBackend, Route,
    sqlx::{self, PgPool, postgres::PgPoolOptions},
    testing::PostgresServer,
};

#[path = "../../benches/support/interleave.rs"]
mod interleave;

const SECRET: &str = "bench-secret";
const POOL: u32 = 16;

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

fn verified(verifier: &Verifier, body: Vec<u8>) -> (HeaderMap, Verified<Vec<u8>>) {
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-signature",
        stalwart::sign(&Secret::new(SECRET), &body).parse().unwrap(),
    );
    headers.insert("content-type", "application/json".parse().unwrap());
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

/// A key like the inbox's: `stalwart:fp:` and 64 hex digits of a hash of the event.
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

/// The rows `Inbox::accept` writes for a one-event delivery, by hand, in one
/// transaction: the delivery (body, headers), the key (`ON CONFLICT DO NOTHING`), the
/// event, the delivery's counts.
async fn raw_delivery(pool: &PgPool, n: u64) {
    let body = batch(n, 1);
    let mut tx = pool.begin().await.unwrap();
    let delivery: i64 = sqlx::query_scalar(
        "INSERT INTO raw.deliveries (route, scheme, received_at, state, media_type, stalwart_key,
            headers, queued, duplicates, body_len, body)
         VALUES ('stalwart', 'stalwart', 1, 0, 'application/json', 0, $1, 1, 0, $2, $3)
         RETURNING id",
    )
    .bind(&b"x-signature: 0000000000000000000000000000000000000000000=\r\ncontent-type: application/json\r\n"[..])
    .bind(body.len() as i64)
    .bind(&body)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO raw.event_keys (key, event_id, first_seen)
         VALUES ($1, nextval('raw.events_id_seq'), 1)
         ON CONFLICT (key) DO NOTHING RETURNING event_id",
    )
    .bind(key(n))
    .fetch_optional(&mut *tx)
    .await
    .unwrap();
    let id = id.expect("a new key");
    sqlx::query(
        "INSERT INTO raw.events (id, delivery_id, route, scheme, event_type, dedup_key,
            media_type, body_start, body_end, state, run_since, run_at, received_at,
            updated_at)
         VALUES ($1, $2, 'stalwart', 'stalwart', 'queue.message-queued', $3,
            'application/json', 0, $4, 0, 1, 1, 1, 1)",
    )
    .bind(id)
    .bind(delivery)
    .bind(key(n))
    .bind(body.len() as i64)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn raw_concurrently(rt: &tokio::runtime::Runtime, pool: &PgPool, tasks: u64) {
    let first = fresh(tasks);
    rt.block_on(async {
        let handles: Vec<_> = (first..first + tasks)
            .map(|n| {
                let pool = pool.clone();
                tokio::spawn(async move { raw_delivery(&pool, n).await })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn accept_concurrently(
    rt: &tokio::runtime::Runtime,
    inbox: &Inbox<PostgresBackend>,
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

const DRAIN: u64 = 2_048;

/// Fills an inbox with `DRAIN` pending events (32 per delivery), not timed.
fn fill(rt: &tokio::runtime::Runtime, inbox: &Inbox<PostgresBackend>, verifier: &Verifier) {
    for _ in 0..DRAIN / 32 {
        let (headers, verified) = verified(verifier, batch(fresh(32), 32));
        rt.block_on(inbox.accept(&Route::of(Scheme::Stalwart), &headers, verified))
            .unwrap();
    }
}

/// Drains through a worker pool with a no-op handler; the time until the last is done.
fn drain_inbox(rt: &tokio::runtime::Runtime, inbox: &Inbox<PostgresBackend>) -> Duration {
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

/// The bare loop on one connection: claim 32 due events with `FOR UPDATE SKIP LOCKED`
/// (reading their bytes), then complete them with their attempt rows, until none is
/// due. Each statement commits on its own.
fn drain_bare(rt: &tokio::runtime::Runtime, pool: &PgPool) -> Duration {
    rt.block_on(async {
        let mut conn = pool.acquire().await.unwrap();
        let started = Instant::now();
        let mut token = 0i64;
        loop {
            token += 1;
            let claimed: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "WITH due AS (
                    SELECT id FROM bare.events WHERE state < 2 AND run_at <= $1
                    ORDER BY run_at, id LIMIT 32 FOR UPDATE SKIP LOCKED
                )
                UPDATE bare.events e SET state = 1, attempts = e.attempts + 1, lease = $2,
                    claimed_at = 1, run_at = 2, worker = 'bare', updated_at = 1
                FROM due, bare.deliveries d
                WHERE e.id = due.id AND d.id = e.delivery_id
                RETURNING e.id, COALESCE(e.bytes, d.body)",
            )
            .bind(i64::MAX / 2)
            .bind(token)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            if claimed.is_empty() {
                break;
            }
            let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
            black_box(claimed);
            sqlx::query(
                "WITH done AS (
                    UPDATE bare.events SET state = 2, lease = NULL, finished_at = 3,
                        updated_at = 3
                    WHERE id = ANY($1) AND lease = $2 AND state = 1
                    RETURNING id
                )
                INSERT INTO bare.attempts (event_id, attempt, started_at, duration_ms, outcome,
                    worker)
                SELECT id, 1, 1, 0, 'done', 'bare' FROM done",
            )
            .bind(&ids)
            .bind(token)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        started.elapsed()
    })
}

struct Setup {
    _server: PostgresServer,
    inbox: Inbox<PostgresBackend>,
    raw: PgPool,
    drain_inbox: Inbox<PostgresBackend>,
    bare_inbox: Inbox<PostgresBackend>,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let server = PostgresServer::start();
    let url = server.url("postgres");
    rt.block_on(async {
        let schema = |name: &str| {
            PostgresBackend::builder(url.as_str())
                .schema(name)
                .max_connections(POOL)
                .connect()
        };
        let inbox = Inbox::new(schema("inbox").await.unwrap());
        // The raw baseline's tables, migrated as the inbox's are.
        drop(schema("raw").await.unwrap());
        let raw = PgPoolOptions::new()
            .max_connections(POOL)
            .connect(&url)
            .await
            .unwrap();
        Setup {
            inbox,
            raw,
            drain_inbox: Inbox::new(schema("drain").await.unwrap()),
            bare_inbox: Inbox::new(schema("bare").await.unwrap()),
            _server: server,
        }
    })
}

fn benches_accept(c: &mut Criterion) {
    let rt = runtime();
    let setup = setup(&rt);
    let verifier = verifier();
    let mut group = c.benchmark_group("postgres_accept");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for tasks in [1u64, 8, 32] {
        group.bench_function(format!("raw_on_conflict/{tasks}"), |b| {
            b.iter(|| raw_concurrently(&rt, &setup.raw, tasks))
        });
        group.bench_function(format!("inbox/{tasks}"), |b| {
            b.iter(|| accept_concurrently(&rt, &setup.inbox, &verifier, tasks))
        });
    }
    group.finish();
    drains(&rt, &setup, &verifier, 5);
}

/// The drain comparison, interleaved by round: fill both, drain each, compare.
fn drains(rt: &tokio::runtime::Runtime, setup: &Setup, verifier: &Verifier, rounds: usize) {
    let mut ratios = Vec::new();
    let mut fastest = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        fill(rt, &setup.bare_inbox, verifier);
        fill(rt, &setup.drain_inbox, verifier);
        let bare = drain_bare(rt, setup.bare_inbox.backend().pool());
        let inbox = drain_inbox(rt, &setup.drain_inbox);
        fastest = (fastest.0.min(bare), fastest.1.min(inbox));
        // Throughput ratio: the inbox's events per second over the bare loop's.
        ratios.push(bare.as_secs_f64() / inbox.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "\ndrain {DRAIN} events on PostgreSQL ({rounds} rounds, interleaved)\n\
         bare FOR UPDATE SKIP LOCKED claim-and-complete loop: fastest {:.1} ms ({:.0} events/s)\n\
         worker pool, no-op handler:                          fastest {:.1} ms ({:.0} events/s)\n\
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
    let setup = setup(&rt);
    let verifier = verifier();
    for tasks in [1u64, 8, 32] {
        let mut cases = vec![
            interleave::Case::new(format!("raw ON CONFLICT, {tasks} concurrent"), || {
                raw_concurrently(&rt, &setup.raw, tasks)
            }),
            interleave::Case::new(format!("inbox, {tasks} concurrent"), || {
                accept_concurrently(&rt, &setup.inbox, &verifier, tasks)
            }),
        ];
        interleave::run(
            &format!(
                "accept {tasks} one-event deliveries on PostgreSQL (time ratio to raw SQL, one \
                 transaction per delivery)"
            ),
            Duration::from_millis(200),
            &mut cases,
        );
    }
    drains(&rt, &setup, &verifier, 15);
}

criterion_group!(benches, benches_accept);

/// Drain scaling: `DRAIN_SCALE` events queued in one delivery, drained by 1, 2 and 4
/// worker processes (this bench re-run as a child), each a pool of 32 slots with a
/// no-op handler; the time from the accept's commit until every event is done.
const DRAIN_SCALE: u64 = 4_096;
const CHILD: &str = "WEBHOOK_INBOX_BENCH_WORKER";

fn child_worker(url: &str) {
    let rt = runtime();
    rt.block_on(async {
        let inbox = Inbox::new(
            PostgresBackend::builder(url)
                .schema("scale")
                .max_connections(POOL)
                .connect()
                .await
                .unwrap(),
        );
        let pool = inbox.workers().concurrency(32).spawn(|job: Job| {
            std::future::ready({
                black_box(job.bytes());
                Outcome::Done
            })
        });
        println!("ready");
        // Until the parent closes stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
        })
        .await
        .unwrap();
        pool.shutdown(Duration::from_secs(5)).await;
    });
}

fn scaling(rt: &tokio::runtime::Runtime, setup: &Setup, verifier: &Verifier, rounds: usize) {
    use std::io::BufRead;
    let url = setup._server.url("postgres");
    let inbox = rt.block_on(async {
        Inbox::new(
            PostgresBackend::builder(url.as_str())
                .schema("scale")
                .connect()
                .await
                .unwrap(),
        )
    });
    let mut best = [Duration::MAX; 3];
    for _ in 0..rounds {
        for (slot, processes) in [1usize, 2, 4].into_iter().enumerate() {
            let mut children: Vec<_> = (0..processes)
                .map(|_| {
                    std::process::Command::new(std::env::current_exe().unwrap())
                        .env(CHILD, &url)
                        .stdin(std::process::Stdio::piped())
                        .stdout(std::process::Stdio::piped())
                        .spawn()
                        .unwrap()
                })
                .collect();
            for child in &mut children {
                let mut line = String::new();
                std::io::BufReader::new(child.stdout.as_mut().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                assert_eq!(line.trim(), "ready");
            }
            let before = rt.block_on(inbox.stats()).unwrap().done;
            let (headers, verified) = verified(verifier, batch(fresh(DRAIN_SCALE), DRAIN_SCALE));
            rt.block_on(inbox.accept(&Route::of(Scheme::Stalwart), &headers, verified))
                .unwrap();
            let started = Instant::now();
            while rt.block_on(inbox.stats()).unwrap().done < before + DRAIN_SCALE {
                std::thread::sleep(Duration::from_millis(2));
            }
            best[slot] = best[slot].min(started.elapsed());
            for mut child in children {
                drop(child.stdin.take());
                child.wait().unwrap();
            }
        }
    }
    println!("\ndrain {DRAIN_SCALE} events by worker processes ({rounds} rounds, fastest)");
    for (slot, processes) in [1usize, 2, 4].into_iter().enumerate() {
        println!(
            "{processes} process(es): {:.1} ms, {:.0} events/s, {:.2}× one process",
            best[slot].as_secs_f64() * 1e3,
            DRAIN_SCALE as f64 / best[slot].as_secs_f64(),
            best[0].as_secs_f64() / best[slot].as_secs_f64()
        );
    }
}

fn main() {
    if let Ok(url) = std::env::var(CHILD) {
        child_worker(&url);
        return;
    }
    if std::env::var_os("SCALING").is_some_and(|v| v != "0") {
        let rt = runtime();
        let setup = setup(&rt);
        scaling(&rt, &setup, &verifier(), 5);
        return;
    }
    interleave::main(benches, ratios);
}
