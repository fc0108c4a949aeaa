//! The store contract suite (`webhook_core::idempotency::contract`), the same cases as
//! the memory store's, against a real `redis-server` on loopback, with tokio tasks
//! racing on a multi-threaded runtime.

use std::{future::Future, time::Duration};

use webhook_core::idempotency::contract::{Harness, Task};
use webhook_redis::testing::RedisServer;
use webhook_redis::{RedisConfig, RedisStore};

struct RedisHarness {
    server: RedisServer,
    store: RedisStore,
}

impl Harness for RedisHarness {
    type Store = RedisStore;

    fn store(&self) -> RedisStore {
        self.store.clone()
    }

    fn replica(&self) -> impl Future<Output = RedisStore> + Send {
        // Another store instance with its own connection: another replica.
        let url = self.server.url();
        async move {
            RedisStore::connect(&url, RedisConfig::default())
                .await
                .expect("a replica connects")
        }
    }

    fn short_lease(&self) -> Duration {
        // Redis expires keys to the millisecond; long enough to be set and read back
        // before it runs out on a busy machine.
        Duration::from_millis(300)
    }

    fn pass(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn run_concurrently<T: Send + 'static>(&self, tasks: Vec<Task<T>>) -> Vec<T> {
        let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await.expect("a concurrent task panicked"));
        }
        results
    }
}

fn run<Fut: Future<Output = ()>>(case: impl FnOnce(RedisHarness) -> Fut) {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let store = RedisStore::connect(&server.url(), RedisConfig::default())
            .await
            .expect("the store connects to the test server");
        case(RedisHarness { server, store }).await;
    });
}

webhook_core::idempotency_contract_tests!(run);
