//! [`Sender`]: the handle applications hold. It stamps and logs each item, hands it to
//! the delivery engine (a tokio task), and gives access to the log, the counters, the
//! outcome stream and shutdown.
//!
//! Submitting never blocks and never waits for the network: items go through an
//! unbounded channel into the engine's queue. Memory therefore grows with the backlog
//! when the receiver is slower than the producer or down; under Stalwart's policy the
//! backlog is bounded in time by discard-after (5 min of events), and lossy mode bounds
//! it in count.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

use crate::{
    ConfigError, DeliveryLog, DeliveryOutcome, DeliveryPolicy, Endpoint, Format, HttpTransport,
    MessageFormat, Outcomes, SendError, StalwartFormat, Stats, Ticket, Transport,
    clock::{SystemClock, WallClock},
    engine::{Command, Engine},
    log::DEFAULT_LOG_RETENTION,
    shared::{Callback, Shared},
};

/// Configures a [`Sender`]. Start from [`Sender::stalwart`], [`Sender::email_api`],
/// [`Sender::mailtrap`], [`Sender::wildduck`], [`Sender::messages`] or
/// [`Sender::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct SenderBuilder<F: Format> {
    endpoint: Endpoint,
    format: F,
    policy: DeliveryPolicy,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn WallClock>,
    callbacks: Vec<Callback>,
    retention: usize,
}

impl<F: Format> SenderBuilder<F> {
    /// Replaces the delivery policy.
    pub fn policy(mut self, policy: DeliveryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sends through `transport` instead of a real HTTP client (tests, custom clients).
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Reads wall time from `clock` (default: the system clock).
    pub fn clock(mut self, clock: impl WallClock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `callback` with each outcome and the counters right after it, on the
    /// engine's task (for [`DeliveryOutcome::Filtered`], on the task that submitted the item):
    /// keep it short (a progress line, a counter), never block in it.
    pub fn on_outcome(
        mut self,
        callback: impl Fn(&DeliveryOutcome, &Stats) + Send + Sync + 'static,
    ) -> Self {
        self.callbacks.push(Arc::new(callback));
        self
    }

    /// Keeps at most `finished` records of finished items in the log (default
    /// [`DEFAULT_LOG_RETENTION`]); records of items in progress are always kept.
    pub fn log_retention(mut self, finished: usize) -> Self {
        self.retention = finished;
        self
    }

    /// Checks the configuration and starts the engine on the current tokio runtime.
    pub fn build(self) -> Result<Sender<F>, ConfigError> {
        self.policy.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => Arc::new(HttpTransport::for_endpoint(&self.endpoint)?),
        };
        let shared = Arc::new(Shared {
            format: self.format,
            endpoint: self.endpoint,
            clock: self.clock,
            log: DeliveryLog::new(self.retention),
            callbacks: self.callbacks,
            subscribers: Mutex::new(Vec::new()),
            next_ticket: AtomicU64::new(0),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = Engine::new(shared.clone(), self.policy, transport, rx);
        let task = runtime.spawn(engine.run());
        Ok(Sender {
            handle: SendHandle { shared, tx },
            task,
        })
    }
}

impl<F: Format> std::fmt::Debug for SenderBuilder<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderBuilder")
            .field("endpoint", &self.endpoint)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A running webhook sender for one endpoint.
///
/// Items go in with [`send`](Sender::send); the engine batches, signs, sends and retries
/// them under the [`DeliveryPolicy`]; every item ends in a [`DeliveryOutcome`], recorded in the
/// [`DeliveryLog`]. [`close`](Sender::close) waits until all are finished.
///
/// Dropping a `Sender` without closing it lets the engine finish what it holds in the
/// background (as long as the runtime lives), but nobody learns how it went.
pub struct Sender<F: Format> {
    handle: SendHandle<F>,
    task: tokio::task::JoinHandle<()>,
}

impl Sender<StalwartFormat> {
    /// A Stalwart sender: [`StalwartFormat`] batches under [`DeliveryPolicy::stalwart`], ids from
    /// the process-wide counter.
    pub fn stalwart(endpoint: Endpoint) -> SenderBuilder<StalwartFormat> {
        Sender::builder(
            endpoint,
            StalwartFormat::default(),
            DeliveryPolicy::stalwart(),
        )
    }
}

impl Sender<MessageFormat> {
    /// A sender of raw messages, one per request, under the preset of the endpoint's
    /// scheme ([`DeliveryPolicy::for_scheme`]).
    pub fn messages(endpoint: Endpoint) -> SenderBuilder<MessageFormat> {
        let policy = DeliveryPolicy::for_scheme(endpoint.scheme());
        Sender::builder(endpoint, MessageFormat, policy)
    }
}

impl<F: Format> Sender<F> {
    /// A sender of `format` bodies to `endpoint` under `policy`.
    pub fn builder(endpoint: Endpoint, format: F, policy: DeliveryPolicy) -> SenderBuilder<F> {
        SenderBuilder {
            endpoint,
            format,
            policy,
            transport: None,
            clock: Arc::new(SystemClock),
            callbacks: Vec::new(),
            retention: DEFAULT_LOG_RETENTION,
        }
    }

    /// Submits an item; returns its ticket at once. See [`SendHandle::send`].
    pub fn send(&self, item: F::Item) -> Result<Ticket, SendError<F::Item>> {
        self.handle.send(item)
    }

    /// Submits items at `per_second` (evenly spaced from the first, which goes at once;
    /// `0` or less: all at once), for load tests and demos. Returns their tickets.
    ///
    /// ```no_run
    /// use webhook_core::{Scheme, Secret, senders::stalwart::{DataMap, Key, Value}};
    /// use webhook_sender::{Endpoint, Sender, StalwartEvent};
    ///
    /// # async fn demo(url: &str, n: u64, rate: f64) -> Result<(), Box<dyn std::error::Error>> {
    /// let endpoint = Endpoint::new(Scheme::Stalwart, url)?.secret(Secret::new("my-secret-key"))?;
    /// let sender = Sender::stalwart(endpoint)
    ///     .on_outcome(|outcome, stats| eprintln!("{outcome:?}: {}/{} delivered", stats.delivered, stats.submitted))
    ///     .build()?;
    /// let events = (0..n).map(|i| {
    ///     let mut data = DataMap::new();
    ///     data.push(Key::Id, Value::UInt(i));
    ///     StalwartEvent::from_map("auth.success", &data)
    /// });
    /// sender.send_paced(events, rate).await?;
    /// let stats = sender.close().await;
    /// println!("{} delivered, {} given up, {} discarded", stats.delivered, stats.gave_up, stats.discarded);
    /// # Ok(()) }
    /// ```
    pub async fn send_paced(
        &self,
        items: impl IntoIterator<Item = F::Item>,
        per_second: f64,
    ) -> Result<Vec<Ticket>, SendError<F::Item>> {
        let period = (per_second.is_finite() && per_second > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / per_second));
        let start = tokio::time::Instant::now();
        let mut tickets = Vec::new();
        for (n, item) in items.into_iter().enumerate() {
            if let Some(period) = period {
                tokio::time::sleep_until(start + period.mul_f64(n as f64)).await;
            }
            tickets.push(self.send(item)?);
        }
        Ok(tickets)
    }

    /// A cloneable handle that can submit items from other tasks.
    pub fn handle(&self) -> SendHandle<F> {
        self.handle.clone()
    }

    /// The delivery log.
    pub fn log(&self) -> &DeliveryLog {
        &self.handle.shared.log
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        self.handle.shared.log.stats()
    }

    /// Every outcome from now on.
    pub fn subscribe(&self) -> Outcomes {
        let (tx, rx) = mpsc::unbounded_channel();
        self.handle
            .shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
        Outcomes { rx }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.handle.shared.endpoint
    }

    /// Waits until every item submitted so far has a final outcome; the sender stays open.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.handle.tx.send(Command::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Stops accepting items, delivers everything held (retries included) and returns the
    /// final counters. Under a policy that retries forever (Stalwart's without
    /// discard-after) against a dead receiver this never returns: use
    /// [`close_within`](Sender::close_within).
    pub async fn close(self) -> Stats {
        self.shutdown(None).await
    }

    /// Like [`close`](Sender::close), but items still undelivered after `deadline` are
    /// reported as [`DeliveryOutcome::Abandoned`].
    pub async fn close_within(self, deadline: Duration) -> Stats {
        self.shutdown(Some(deadline)).await
    }

    async fn shutdown(self, deadline: Option<Duration>) -> Stats {
        let _ = self.handle.tx.send(Command::Close { deadline });
        let log = self.handle.shared.log.clone();
        drop(self.handle);
        // A panicking engine still leaves its counters behind.
        let _ = self.task.await;
        log.stats()
    }
}

impl<F: Format> std::fmt::Debug for Sender<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("endpoint", &self.handle.shared.endpoint)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Submits items to a [`Sender`] from anywhere. Cheap to clone.
pub struct SendHandle<F: Format> {
    shared: Arc<Shared<F>>,
    tx: mpsc::UnboundedSender<Command<F::Item>>,
}

impl<F: Format> Clone for SendHandle<F> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            tx: self.tx.clone(),
        }
    }
}

impl<F: Format> SendHandle<F> {
    /// Submits an item: stamps it (Stalwart's `createdAt`, a Standard Webhooks message
    /// id), opens its log record and queues it. Never blocks. Fails only once the sender
    /// is closing, handing the item back.
    ///
    /// An item the format's filter refuses ([`Format::accepts`]) still gets a ticket and
    /// a record: it ends at once in [`DeliveryOutcome::Filtered`] (reported on this task),
    /// counted in [`Stats::filtered`], and is never sent.
    pub fn send(&self, mut item: F::Item) -> Result<Ticket, SendError<F::Item>> {
        if self.tx.is_closed() {
            return Err(SendError::Closed(item));
        }
        let shared = &*self.shared;
        shared
            .format
            .prepare(&mut item, shared.clock.now(), shared.endpoint.scheme());
        let ticket = Ticket(shared.next_ticket.fetch_add(1, Ordering::Relaxed));
        shared.log.submitted(ticket, shared.format.label(&item));
        if !shared.format.accepts(&item) {
            // Not for this endpoint: finished at once, counted, never queued.
            shared.report(
                DeliveryOutcome::Filtered { ticket },
                crate::Status::Filtered,
            );
            return Ok(ticket);
        }
        match self.tx.send(Command::Submit { ticket, item }) {
            Ok(()) => Ok(ticket),
            Err(mpsc::error::SendError(command)) => {
                shared.log.retract(ticket);
                match command {
                    Command::Submit { item, .. } => Err(SendError::Closed(item)),
                    _ => unreachable!("the command sent was a submission"),
                }
            }
        }
    }
}

impl<F: Format> std::fmt::Debug for SendHandle<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendHandle").finish_non_exhaustive()
    }
}
