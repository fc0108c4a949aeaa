//! Redis store throughput on loopback: claim + complete pairs per second, one after
//! another and with many requests in flight, against a `redis-server` the bench starts
//! itself (like the tests).
//!
//! Baselines measured in the same run: a `PING` round trip (the floor of any remote
//! operation) and a store without scripts, `SET NX PX` then `SET PX` (two plain
//! commands, no token check). Run with `cargo bench -p webhook-redis --bench redis`.

use std::{
    hint::black_box,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redis::aio::MultiplexedConnection;
use webhook_core::{
    Scheme,
    idempotency::{Claim, DedupKey, DedupPolicy, IdempotencyStore, run_once},
};
use webhook_redis::testing::RedisServer;
use webhook_redis::{RedisConfig, RedisStore};

const LEASE: Duration = Duration::from_secs(30);
/// Short enough that the server's memory stays small over a long run.
const TTL: Duration = Duration::from_secs(60);
const IN_FLIGHT: u64 = 32;
const BATCH: u64 = 100;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn keys(n: u64) -> Vec<DedupKey> {
    let start = NEXT.fetch_add(n, Ordering::Relaxed);
    (start..start + n)
        .map(|i| {
            let mut fp = [0u8; 32];
            fp[..8].copy_from_slice(&i.to_le_bytes());
            DedupKey::fingerprint(Scheme::Stalwart, &fp)
        })
        .collect()
}

async fn pair(store: &RedisStore, key: &DedupKey) {
    if let Ok(Claim::Fresh(token)) = store.claim(key, LEASE).await {
        let _ = black_box(store.complete(key, &token, TTL).await);
    }
}

async fn plain_pair(connection: &mut MultiplexedConnection, key: &[u8]) {
    let _: Option<String> = redis::cmd("SET")
        .arg(key)
        .arg("p:0123456789abcdef0123456789abcdef")
        .arg("NX")
        .arg("PX")
        .arg(LEASE.as_millis() as u64)
        .query_async(connection)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("d")
        .arg("PX")
        .arg(TTL.as_millis() as u64)
        .query_async(connection)
        .await
        .unwrap();
}

fn benches(c: &mut Criterion) {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = runtime
        .block_on(RedisStore::connect(&server.url(), RedisConfig::default()))
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let raw = runtime
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();

    let mut group = c.benchmark_group("redis");
    group.throughput(Throughput::Elements(1));

    group.bench_function("baseline/ping", |b| {
        b.iter_custom(|iters| {
            let mut connection = raw.clone();
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let _: String = redis::cmd("PING")
                        .query_async(&mut connection)
                        .await
                        .unwrap();
                }
                started.elapsed()
            })
        })
    });

    group.bench_function("baseline/set_nx_then_set/sequential", |b| {
        b.iter_custom(|iters| {
            let batch: Vec<Vec<u8>> = keys(iters).iter().map(|k| store.redis_key(k)).collect();
            let mut connection = raw.clone();
            runtime.block_on(async {
                let started = Instant::now();
                for key in &batch {
                    plain_pair(&mut connection, key).await;
                }
                started.elapsed()
            })
        })
    });

    group.bench_function("store/claim_complete/sequential", |b| {
        b.iter_custom(|iters| {
            let batch = keys(iters);
            runtime.block_on(async {
                let started = Instant::now();
                for key in &batch {
                    pair(&store, key).await;
                }
                started.elapsed()
            })
        })
    });

    group.bench_function("baseline/set_nx_then_set/32_in_flight", |b| {
        b.iter_custom(|iters| {
            let batch: Vec<Vec<u8>> = keys(iters).iter().map(|k| store.redis_key(k)).collect();
            runtime.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = batch
                    .chunks(iters.div_ceil(IN_FLIGHT) as usize)
                    .map(|chunk| {
                        let chunk = chunk.to_vec();
                        let mut connection = raw.clone();
                        tokio::spawn(async move {
                            for key in &chunk {
                                plain_pair(&mut connection, key).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                started.elapsed()
            })
        })
    });

    group.bench_function("store/claim_complete/32_in_flight", |b| {
        b.iter_custom(|iters| {
            let batch = keys(iters);
            runtime.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = batch
                    .chunks(iters.div_ceil(IN_FLIGHT) as usize)
                    .map(|chunk| {
                        let chunk = chunk.to_vec();
                        let store = store.clone();
                        tokio::spawn(async move {
                            for key in &chunk {
                                pair(&store, key).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                started.elapsed()
            })
        })
    });

    group.bench_function("store/claim_many_100_then_complete/per_event", |b| {
        b.iter_custom(|iters| {
            let batch = keys(iters);
            runtime.block_on(async {
                let started = Instant::now();
                for chunk in batch.chunks(BATCH as usize) {
                    let claims = store.claim_many(chunk, LEASE).await.unwrap();
                    // In flight together: the multiplexed connection pipelines them.
                    let mut completions = tokio::task::JoinSet::new();
                    for (key, claim) in chunk.iter().zip(claims) {
                        if let Claim::Fresh(token) = claim {
                            let (store, key) = (store.clone(), key.clone());
                            completions.spawn(async move {
                                let _ = store.complete(&key, &token, TTL).await;
                            });
                        }
                    }
                    completions.join_all().await;
                }
                started.elapsed()
            })
        })
    });

    let policy = DedupPolicy::for_scheme(Scheme::Stalwart).with_ttl(TTL);
    group.bench_function("store/run_once/sequential", |b| {
        b.iter_custom(|iters| {
            let batch = keys(iters);
            runtime.block_on(async {
                let started = Instant::now();
                for key in &batch {
                    let outcome =
                        run_once(&store, key, &policy, || async { Ok::<_, ()>(()) }).await;
                    let _ = black_box(outcome);
                }
                started.elapsed()
            })
        })
    });

    group.finish();
    drop(server);
}

criterion_group!(redis_benches, benches);
criterion_main!(redis_benches);
