//! The store contract suite (`webhook_core::idempotency::contract`) against the memory
//! store: a manual clock stands in for time, OS threads race each other.

use std::{
    future::Future,
    sync::{Arc, Barrier},
    time::Duration,
};

use webhook_core::idempotency::{
    ManualClock, MemoryStore,
    contract::{Harness, Task},
};

struct MemoryHarness {
    store: MemoryStore<ManualClock>,
    clock: ManualClock,
}

impl Harness for MemoryHarness {
    type Store = MemoryStore<ManualClock>;

    fn store(&self) -> Self::Store {
        self.store.clone()
    }

    fn replica(&self) -> impl Future<Output = Self::Store> + Send {
        // One process, one memory: a replica is the same store.
        std::future::ready(self.store.clone())
    }

    fn short_lease(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn pass(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.clock.advance(duration);
        std::future::ready(())
    }

    fn run_concurrently<T: Send + 'static>(
        &self,
        tasks: Vec<Task<T>>,
    ) -> impl Future<Output = Vec<T>> + Send {
        let start = Arc::new(Barrier::new(tasks.len()));
        let threads: Vec<_> = tasks
            .into_iter()
            .map(|task| {
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    futures::executor::block_on(task)
                })
            })
            .collect();
        let results = threads
            .into_iter()
            .map(|thread| thread.join().expect("a concurrent task panicked"))
            .collect();
        std::future::ready(results)
    }
}

fn run<Fut: Future<Output = ()>>(case: impl FnOnce(MemoryHarness) -> Fut) {
    let clock = ManualClock::new();
    let store = MemoryStore::builder()
        .clock(clock.clone())
        .build()
        .expect("valid configuration");
    futures::executor::block_on(case(MemoryHarness { store, clock }));
}

webhook_core::idempotency_contract_tests!(run);
