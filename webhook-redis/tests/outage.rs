//! What the Redis store does when Redis goes away, stalls, restarts or holds foreign
//! data: failures are typed, bounded in time, and the failure policy decides whether
//! the handler runs. Against a real `redis-server` on loopback.

use std::{
    net::TcpListener,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use webhook_core::{
    Scheme,
    idempotency::{
        Claim, Completion, DedupKey, DedupPolicy, FailurePolicy, IdempotencyStore, RunOutcome,
        StoreError, run_batch, run_once,
    },
};
use webhook_redis::testing::RedisServer;
use webhook_redis::{ConnectError, RedisConfig, RedisStore};

/// Generous: the bound proves "does not hang", not a latency.
const NO_HANG: Duration = Duration::from_secs(5);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn config() -> RedisConfig {
    RedisConfig::default()
        .with_timeout(Duration::from_millis(300))
        .with_connect_timeout(Duration::from_millis(300))
}

fn key(id: &str) -> DedupKey {
    DedupKey::event_id(Scheme::EmailApi, id).expect("a valid id")
}

#[test]
fn redis_killed_fails_closed_by_default_and_open_when_asked() {
    let mut server = RedisServer::start();
    runtime().block_on(async {
        let store = RedisStore::connect(&server.url(), config()).await.unwrap();
        let runs = AtomicUsize::new(0);
        let handler = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(())
        };
        let closed = DedupPolicy::for_scheme(Scheme::EmailApi);
        let open = closed.with_failure_policy(FailurePolicy::FailOpen);

        let before = run_once(&store, &key("evt_before"), &closed, handler).await;
        assert!(matches!(
            before,
            RunOutcome::Processed {
                completion: Completion::Recorded,
                ..
            }
        ));

        server.kill();

        let started = Instant::now();
        let outcome = run_once(&store, &key("evt_during"), &closed, handler).await;
        assert!(started.elapsed() < NO_HANG, "took {:?}", started.elapsed());
        assert!(
            matches!(
                outcome,
                RunOutcome::Unavailable {
                    error: StoreError::Unavailable { .. },
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.answer().status(), 503);
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "fail closed: the handler did not run"
        );

        let report = run_batch(&store, &closed, [(key("b1"), ()), (key("b2"), ())], |()| {
            handler()
        })
        .await;
        assert_eq!(report.answer().status(), 503);
        assert_eq!(runs.load(Ordering::SeqCst), 1);

        let outcome = run_once(&store, &key("evt_during"), &open, handler).await;
        assert!(
            matches!(
                outcome,
                RunOutcome::Processed {
                    completion: Completion::Unguarded(StoreError::Unavailable { .. }),
                    ..
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.answer().status(), 200);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "fail open: the handler ran");
    });
}

/// Redis dies while the handler runs: the event was processed (answer 200) but is not
/// recorded, never reported done without processing.
#[test]
fn redis_killed_mid_handler_reports_processed_but_not_recorded() {
    let mut server = RedisServer::start();
    runtime().block_on(async {
        let store = RedisStore::connect(&server.url(), config()).await.unwrap();
        let server = &mut server;
        let outcome = run_once(
            &store,
            &key("evt_mid"),
            &DedupPolicy::default(),
            || async move {
                server.kill();
                Ok::<_, ()>("side effect applied")
            },
        )
        .await;
        assert!(
            matches!(
                outcome,
                RunOutcome::Processed {
                    value: "side effect applied",
                    completion: Completion::NotRecorded(StoreError::Unavailable { .. })
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.answer().status(), 200);
    });
}

/// After Redis comes back, the connection manager reconnects and deduplication
/// resumes without restarting the receiver.
#[test]
fn store_recovers_when_redis_restarts() {
    let mut server = RedisServer::start();
    runtime().block_on(async {
        let store = RedisStore::connect(&server.url(), config()).await.unwrap();
        server.kill();
        assert!(matches!(
            store.claim(&key("evt_x"), Duration::from_secs(30)).await,
            Err(StoreError::Unavailable { .. })
        ));
        server.restart();
        let deadline = Instant::now() + NO_HANG;
        let claim = loop {
            match store.claim(&key("evt_x"), Duration::from_secs(30)).await {
                Ok(claim) => break claim,
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("no reconnection: {error}"),
            }
        };
        assert!(matches!(claim, Claim::Fresh(_)));
    });
}

/// A server that accepts connections and never answers: operations and connection
/// attempts give up within their timeouts instead of hanging the request.
#[test]
fn stalled_redis_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    // Accepts (the kernel completes the handshake) and never reads or writes.
    let _stall = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            held.push(stream);
        }
    });
    runtime().block_on(async {
        let started = Instant::now();
        let connected = RedisStore::connect(&url, config()).await;
        assert!(
            matches!(connected, Err(ConnectError::Unreachable { .. })),
            "{connected:?}"
        );
        assert!(
            started.elapsed() < NO_HANG,
            "connect took {:?}",
            started.elapsed()
        );

        let store = RedisStore::connect_lazy(&url, config()).unwrap();
        let started = Instant::now();
        let outcome = run_once(
            &store,
            &key("evt_stall"),
            &DedupPolicy::default(),
            || async { Ok::<_, ()>(()) },
        )
        .await;
        assert!(
            started.elapsed() < NO_HANG,
            "claim took {:?}",
            started.elapsed()
        );
        assert!(
            matches!(outcome, RunOutcome::Unavailable { .. }),
            "{outcome:?}"
        );
    });
}

#[test]
fn bad_urls_and_refused_connections_are_typed_errors() {
    runtime().block_on(async {
        assert!(matches!(
            RedisStore::connect("http://example.invalid/", config()).await,
            Err(ConnectError::InvalidUrl { .. })
        ));
        // A port nobody listens on: bind, note the port, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let refused =
            RedisStore::connect(&format!("redis://:secret@127.0.0.1:{port}/"), config()).await;
        let Err(error) = refused else {
            panic!("connected to a closed port")
        };
        assert!(matches!(error, ConnectError::Unreachable { .. }));
        assert!(!error.to_string().contains("secret"), "{error}");
    });
}

/// Keys live under the configured prefix: two applications with different prefixes
/// never see each other's events, and a value this library did not write is reported,
/// not overwritten.
#[test]
fn prefixes_isolate_and_foreign_values_are_refused() {
    let server = RedisServer::start();
    runtime().block_on(async {
        let billing = RedisStore::connect(&server.url(), config().with_key_prefix("billing:"))
            .await
            .unwrap();
        let support = RedisStore::connect(&server.url(), config().with_key_prefix("support:"))
            .await
            .unwrap();
        let k = key("evt_shared");
        assert!(matches!(
            billing.claim(&k, Duration::from_secs(30)).await,
            Ok(Claim::Fresh(_))
        ));
        assert!(matches!(
            support.claim(&k, Duration::from_secs(30)).await,
            Ok(Claim::Fresh(_))
        ));
        assert_eq!(billing.redis_key(&k), b"billing:email-api:id:evt_shared");

        let client = redis::Client::open(server.url()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        let foreign = key("evt_foreign");
        let _: () = redis::cmd("SET")
            .arg(billing.redis_key(&foreign))
            .arg("someone else's data")
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(matches!(
            billing.claim(&foreign, Duration::from_secs(30)).await,
            Err(StoreError::Protocol { .. })
        ));
        let value: String = redis::cmd("GET")
            .arg(billing.redis_key(&foreign))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(value, "someone else's data");

        // What a claim and a completion look like on the server.
        let fresh = key("evt_wire");
        let Ok(Claim::Fresh(token)) = billing.claim(&fresh, Duration::from_secs(30)).await else {
            panic!("fresh")
        };
        let held: String = redis::cmd("GET")
            .arg(billing.redis_key(&fresh))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(held.starts_with("p:") && held.len() == 34, "{held}");
        let lease: i64 = redis::cmd("PTTL")
            .arg(billing.redis_key(&fresh))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!((1..=30_000).contains(&lease), "{lease}");
        billing
            .complete(&fresh, &token, Duration::from_secs(3600))
            .await
            .unwrap();
        let done: String = redis::cmd("GET")
            .arg(billing.redis_key(&fresh))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(done, "d");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(billing.redis_key(&fresh))
            .query_async(&mut raw)
            .await
            .unwrap();
        assert!(ttl > 3_500_000, "{ttl}");
    });
}
