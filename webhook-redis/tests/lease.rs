//! A handler slower than its lease, on a real `redis-server`: with a lease timer the
//! deduplicator renews the claim while the handler runs (the Redis `renew` script), so
//! a redelivery on another replica is answered "in progress" and the handler runs once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use webhook_core::{
    Scheme,
    idempotency::{
        Completion, DedupCounters, DedupKey, DedupOutcome, DedupPolicy, Deduplicator, LeaseTimer,
        RunOutcome,
    },
};
use webhook_redis::{RedisConfig, RedisStore, testing::RedisServer};

const LEASE: Duration = Duration::from_millis(200);
const HANDLER: Duration = Duration::from_millis(700);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_its_lease_runs_once_across_replicas() {
    let server = RedisServer::start();
    let counters = DedupCounters::new();
    let replica = |counters: DedupCounters| {
        let url = server.url();
        async move {
            let store = RedisStore::connect(&url, RedisConfig::default())
                .await
                .expect("the store connects to the test server");
            Deduplicator::new(
                store,
                DedupPolicy::for_scheme(Scheme::Mailtrap).with_lease(LEASE),
            )
            .with_lease_timer(LeaseTimer::new(|delay| Box::pin(tokio::time::sleep(delay))))
            .with_observer(counters)
        }
    };
    let one = replica(counters.clone()).await;
    let two = replica(counters.clone()).await;
    let key = DedupKey::event_id(Scheme::Mailtrap, "bede7236-2284-43d6-a953-1fdcafd0fdbc").unwrap();
    let runs = Arc::new(AtomicUsize::new(0));

    let first = tokio::spawn({
        let (key, runs) = (key.clone(), runs.clone());
        async move {
            one.run_once(&key, || async {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(HANDLER).await;
                Ok::<_, ()>(())
            })
            .await
        }
    });
    // Well past two leases: without renewal the key would have expired in Redis.
    tokio::time::sleep(LEASE * 5 / 2).await;
    let handler = || async {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok::<_, ()>(())
    };
    let redelivery = two.run_once(&key, handler).await;
    assert!(
        matches!(redelivery, RunOutcome::InProgress { .. }),
        "{redelivery:?}"
    );
    let first = first.await.unwrap();
    assert!(
        matches!(
            first,
            RunOutcome::Processed {
                completion: Completion::Recorded,
                ..
            }
        ),
        "{first:?}"
    );
    let later = two.run_once(&key, handler).await;
    assert!(matches!(later, RunOutcome::Duplicate), "{later:?}");

    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(counters.get(DedupOutcome::Processed), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::InProgress), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::Duplicate), 1, "{counters:?}");
    assert_eq!(counters.get(DedupOutcome::LeaseLost), 0, "{counters:?}");
}
