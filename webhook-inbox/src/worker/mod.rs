//! The worker pool: claims due events, runs the handler on each under a lease that a
//! heartbeat renews, records the answer, and shuts down gracefully.
//!
//! - **Claiming**: the pool claims as many events as it has free slots (never more, so
//!   nothing waits claimed while a slot is busy), in due order, and while handlers run
//!   it waits until half its slots are free before claiming again: each claim is a
//!   commit, and claims of one event at a time would cost a sync per event. A slot is
//!   free once its handler has answered, so the next claim and the recording of those
//!   answers go to the writer together and share a commit. When nothing is due it
//!   sleeps until this process queues work or the poll interval passes (events queued
//!   by another process, retries coming due).
//! - **Leases**: each claim carries a lease ([`WorkerConfig::lease`], 30 s by default)
//!   that a heartbeat renews every [`WorkerConfig::heartbeat`] while the handler runs.
//!   If the process dies, the lease runs out and another worker (here or in another
//!   process) claims the event again: a new attempt. A worker whose lease was taken
//!   over can neither complete nor retry the event: its answer is refused and recorded
//!   as [`LeaseLost`](crate::AttemptOutcome::LeaseLost).
//! - **Answers**: [`Outcome::Done`] completes the event; [`Outcome::Retry`] schedules
//!   the next attempt by the [`RetryPolicy`] (or the handler's own delay) unless the
//!   policy's attempts or age are spent, which kills it; [`Outcome::Failed`] kills it.
//!   A handler that panics is retried like one that returned an error.
//! - **Shutdown**: [`WorkerPool::shutdown`] stops claiming, lets running handlers
//!   finish within the grace period, then stops the rest and gives their events back
//!   (due at once, for another worker or the next start).

mod answers;
mod job;

use std::{
    collections::HashMap,
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures_util::FutureExt as _;
use tokio::{
    sync::watch,
    task::{JoinHandle, JoinSet},
    time::Instant,
};
use webhook_core::stored::StoredPayload;

use answers::Answers;
pub use job::{Job, Outcome};

use crate::{
    backend::{Backend, ClaimRequest, ClaimedEvent, Finish, Finished, Lease, Verdict},
    inbox::Inbox,
    model::EventId,
    query::Retention,
    retry::{RetryDecision, RetryPolicy},
};

/// How a worker pool runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkerConfig {
    /// Handlers running at once (default 8).
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat (default 30 s).
    pub lease: Duration,
    /// How often running claims are renewed (default a third of the lease).
    pub heartbeat: Duration,
    /// How often to look for work when none was signalled (default 1 s).
    pub poll_interval: Duration,
    /// When to retry and when to give up.
    pub retry: RetryPolicy,
    /// Only events of these routes (default: all).
    pub routes: Vec<String>,
    /// The name recorded with each attempt (default `worker-<pid>-<n>`).
    pub name: String,
    /// A retention policy applied every so often by this pool (default: none; purge
    /// with [`Inbox::purge`] or here).
    pub retention: Option<(Retention, Duration)>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        use std::sync::atomic::AtomicU32;
        static POOLS: AtomicU32 = AtomicU32::new(0);
        let n = POOLS.fetch_add(1, Ordering::Relaxed);
        Self {
            concurrency: 8,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            routes: Vec::new(),
            name: format!("worker-{}-{n}", std::process::id()),
            retention: None,
        }
    }
}

/// Configures a worker pool; [`spawn`](Self::spawn) starts it.
pub struct WorkerPoolBuilder<B: Backend> {
    inbox: Inbox<B>,
    config: WorkerConfig,
}

impl<B: Backend> WorkerPoolBuilder<B> {
    pub(crate) fn new(inbox: Inbox<B>) -> Self {
        Self {
            inbox,
            config: WorkerConfig::default(),
        }
    }

    /// Handlers running at once.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.config.concurrency = concurrency.max(1);
        self
    }

    /// The lease; the heartbeat becomes a third of it.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease;
        self.config.heartbeat = lease / 3;
        self
    }

    /// How often running claims are renewed.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.config.heartbeat = every;
        self
    }

    /// How often to look for work when none was signalled.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.config.poll_interval = every;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// Only events of these routes.
    pub fn routes(mut self, routes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.routes = routes.into_iter().map(Into::into).collect();
        self
    }

    /// The name recorded with each attempt.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    /// Applies `retention` every `every`.
    pub fn retention(mut self, retention: Retention, every: Duration) -> Self {
        self.config.retention = Some((retention, every));
        self
    }

    /// The inbox the pool will work for.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn inbox(&self) -> &Inbox<B> {
        &self.inbox
    }

    /// The configuration as set so far.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Starts the pool on the current tokio runtime, running `handler` on each event.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn<F, Fut>(self, handler: F) -> WorkerPool
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let (stop_tx, stop_rx) = watch::channel(None);
        let running = Arc::new(Mutex::new(HashMap::new()));
        let (answers, recorder) = Answers::start(self.inbox.clone());
        let recorder = tokio::spawn(recorder);
        let shared = Arc::new(PoolShared {
            inbox: self.inbox,
            config: self.config,
            running,
            answers,
        });
        let heartbeat = tokio::spawn(heartbeat(Arc::clone(&shared)));
        let retention = shared
            .config
            .retention
            .map(|(retention, every)| tokio::spawn(purge(Arc::clone(&shared), retention, every)));
        let main = tokio::spawn(run(shared, Arc::new(handler), stop_rx));
        WorkerPool {
            stop: stop_tx,
            main: Some(main),
            helpers: [Some(heartbeat), retention, Some(recorder)],
        }
    }

    /// Starts the pool with a handler of typed events: each event is parsed into `T`
    /// (see [`Job::event`]) before `handler` runs. An event that does not parse into
    /// `T` is dead at once, with the parse error (a redrive after fixing the type runs
    /// it again).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn_typed<T, F, Fut>(self, handler: F) -> WorkerPool
    where
        T: StoredPayload + Send,
        F: Fn(T, Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.spawn(move |job: Job| {
            let handler = Arc::clone(&handler);
            async move {
                match job.event::<T>() {
                    Ok(event) => handler(event, job).await,
                    Err(err) => Outcome::failed(format!(
                        "the stored event does not parse as the handler's type: {err}"
                    )),
                }
            }
        })
    }
}

/// A running worker pool. Stop it with [`shutdown`](Self::shutdown); dropping it stops
/// claiming and gives running events back without waiting for their handlers.
pub struct WorkerPool {
    stop: watch::Sender<Option<Duration>>,
    main: Option<JoinHandle<ShutdownReport>>,
    helpers: [Option<JoinHandle<()>>; 3],
}

/// What a shutdown did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Handlers that finished within the grace period.
    pub finished: usize,
    /// Events given back because their handler was still running at the deadline.
    pub released: u64,
}

impl WorkerPool {
    /// Stops claiming, waits up to `grace` for running handlers, then stops the others
    /// and gives their events back (due at once).
    pub async fn shutdown(mut self, grace: Duration) -> ShutdownReport {
        let _ = self.stop.send(Some(grace));
        let report = match self.main.take() {
            Some(main) => main.await.unwrap_or_default(),
            None => ShutdownReport::default(),
        };
        for helper in self.helpers.iter_mut().filter_map(Option::take) {
            helper.abort();
        }
        report
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        if self.main.is_some() {
            let _ = self.stop.send(Some(Duration::ZERO));
        }
        for helper in self.helpers.iter_mut().filter_map(Option::take) {
            helper.abort();
        }
    }
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPool").finish_non_exhaustive()
    }
}

/// A running handler's claim, for the heartbeat and the shutdown.
struct Running {
    lease: Lease,
    lost: Arc<AtomicBool>,
}

struct PoolShared<B: Backend> {
    inbox: Inbox<B>,
    config: WorkerConfig,
    running: Arc<Mutex<HashMap<EventId, Running>>>,
    answers: Answers,
}

impl<B: Backend> PoolShared<B> {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<EventId, Running>> {
        // A panic while holding the lock leaves a consistent map: keep going.
        self.running
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

async fn run<B, F, Fut>(
    shared: Arc<PoolShared<B>>,
    handler: Arc<F>,
    mut stop: watch::Receiver<Option<Duration>>,
) -> ShutdownReport
where
    B: Backend,
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let backend = shared.inbox.backend();
    let config = &shared.config;
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        if stop.borrow().is_some() {
            break;
        }
        // A slot is free once its handler has answered: the answer's recording then
        // shares a commit with the next claim.
        let handling = shared.answers.handling_count();
        let free = config.concurrency.saturating_sub(handling);
        // Claim in batches: every claim is a commit, so a busy pool waits until half its
        // slots are free rather than claiming one event per finished handler.
        let refill = (config.concurrency / 2).max(1);
        if free < refill && handling > 0 {
            tokio::select! {
                _ = shared.answers.slot_freed() => {}
                Some(_) = tasks.join_next() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let seen = backend.work_generation();
        let request = ClaimRequest::new(free, shared.inbox.now(), config.lease, &config.name)
            .routes(config.routes.clone());
        match backend.claim(request).await {
            Ok(claimed) if !claimed.is_empty() => {
                for event in claimed {
                    let lost = Arc::new(AtomicBool::new(false));
                    shared.running().insert(
                        event.lease.event,
                        Running {
                            lease: event.lease,
                            lost: Arc::clone(&lost),
                        },
                    );
                    let handling = shared.answers.handling();
                    tasks.spawn(attempt(
                        Arc::clone(&shared),
                        Arc::clone(&handler),
                        event,
                        lost,
                        handling,
                    ));
                }
            }
            Ok(_) => {
                tokio::select! {
                    _ = backend.wait_for_work(seen, config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(err) => {
                tracing::warn!(worker = %config.name, error = %err, "claiming events failed");
                tokio::select! {
                    _ = tokio::time::sleep(config.poll_interval) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    let grace = stop.borrow().unwrap_or_default();
    let deadline = Instant::now() + grace;
    let mut report = ShutdownReport::default();
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(_)) => report.finished += 1,
            Ok(None) | Err(_) => break,
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let leases: Vec<Lease> = shared.running().drain().map(|(_, r)| r.lease).collect();
    if !leases.is_empty() {
        match backend
            .release(leases, config.name.clone(), shared.inbox.now())
            .await
        {
            Ok(released) => report.released = released,
            Err(err) => {
                // Their leases run out and they are claimed again then.
                tracing::warn!(worker = %config.name, error = %err, "releasing events failed");
            }
        }
    }
    report
}

/// One attempt: runs the handler, decides, records.
async fn attempt<B, F, Fut>(
    shared: Arc<PoolShared<B>>,
    handler: Arc<F>,
    event: ClaimedEvent,
    lost: Arc<AtomicBool>,
    handling: answers::Handling,
) where
    B: Backend,
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let inbox = &shared.inbox;
    let config = &shared.config;
    let answers = &shared.answers;
    let started = inbox.now();
    let (lease, attempt, attempt_in_run, run_since) = (
        event.lease,
        event.attempt,
        event.attempt_in_run,
        event.run_since,
    );
    let job = Job::new(event, lost);
    let committed = job.committed_flag();
    let outcome = match std::panic::catch_unwind(AssertUnwindSafe(|| handler(job))) {
        Ok(future) => AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Outcome::retry(panic_text(&*panic))),
        Err(panic) => Outcome::retry(panic_text(&*panic)),
    };
    drop(handling);
    if committed.load(Ordering::Acquire) {
        // A transactional handler committed the event done with its own writes.
        shared.running().remove(&lease.event);
        return;
    }
    let now = inbox.now();
    let verdict = match outcome {
        Outcome::Done => Verdict::Done,
        Outcome::Failed { error } => Verdict::Dead { error },
        Outcome::Retry { after, error } => {
            let delay =
                after.unwrap_or_else(|| config.retry.jittered(attempt_in_run, fastrand::f64()));
            match config.retry.decide(attempt_in_run, run_since, now, delay) {
                RetryDecision::RetryAt(at) => Verdict::Retry { at, error },
                RetryDecision::GiveUp(reason) => Verdict::Dead {
                    error: format!("{error} ({reason})"),
                },
            }
        }
    };
    let finish = Finish::new(lease, attempt, started, now, &config.name, verdict);
    // A storage hiccup gets a few tries; after that the lease runs out and the event
    // is claimed again (at least once).
    for retry in 0..3u32 {
        match answers.finish(finish.clone()).await {
            Ok(Finished::Applied) => break,
            Ok(Finished::LeaseLost) => {
                tracing::warn!(event = %lease.event, "the lease was lost: the answer was refused");
                break;
            }
            Err(err) => {
                tracing::warn!(event = %lease.event, error = %err, "recording an attempt failed");
                tokio::time::sleep(Duration::from_millis(100) * (retry + 1)).await;
            }
        }
    }
    shared.running().remove(&lease.event);
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text payload".into());
    format!("the handler panicked: {message}")
}

/// Renews the running claims every heartbeat; flags the lost ones.
async fn heartbeat<B: Backend>(shared: Arc<PoolShared<B>>) {
    // The first tick one period after the pool starts, not at once: at start nothing is
    // running, and a first tick that the scheduler delays until a claim has been made
    // would renew a lease the moment it was taken.
    let every = shared.config.heartbeat.max(Duration::from_millis(10));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let leases: Vec<Lease> = shared.running().values().map(|r| r.lease).collect();
        if leases.is_empty() {
            continue;
        }
        let until = shared.inbox.now().after(shared.config.lease);
        match shared.inbox.backend().heartbeat(leases, until).await {
            Ok(lost) => {
                let running = shared.running();
                for lease in lost {
                    if let Some(entry) = running.get(&lease.event)
                        && entry.lease == lease
                    {
                        entry.lost.store(true, Ordering::Relaxed);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(worker = %shared.config.name, error = %err, "renewing leases failed");
            }
        }
    }
}

/// Applies the retention policy every `every`.
async fn purge<B: Backend>(shared: Arc<PoolShared<B>>, retention: Retention, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_secs(1)));
    loop {
        ticks.tick().await;
        if let Err(err) = shared.inbox.purge(retention).await {
            tracing::warn!(error = %err, "purging the inbox failed");
        }
    }
}
