//! The delivery engine: one tokio task per sender that batches, paces, sends and
//! retries.
//!
//! State: a queue of pending items, a heap of requests waiting for a scheduled retry,
//! and the requests in flight (each a spawned task around [`Transport::send`] and the
//! policy's timeout). Each turn of the loop starts whatever the policy allows, then
//! waits for the first of: a command, a finished request, the next timer (throttle gate,
//! retry due, close deadline).
//!
//! Starting rules: at most `max_in_flight` requests at once; no start before the
//! throttle gate (the last start plus `throttle`), so the first request after an idle
//! period goes at once and items arriving meanwhile wait for the next one; a due retry
//! goes before new items; a new request takes the oldest pending items, as many as the
//! format and policy allow (Stalwart: all of them).
//!
//! Stalwart quirk not reproduced: when a failed batch comes back while its in-flight
//! flag is still set, Stalwart may not re-arm its timer and waits for the next event;
//! here the retry goes as soon as the throttle allows.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, VecDeque},
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::StatusCode;
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinSet,
    time::Instant,
};

use crate::{
    Attempt, DeliveryOutcome, DeliveryPolicy, Format, Retry, Status, Ticket, Transport,
    TransportError, new_message_id, shared::Shared,
};

/// What the handle tells the engine.
pub(crate) enum Command<I> {
    Submit { ticket: Ticket, item: I },
    Flush(oneshot::Sender<()>),
    Close { deadline: Option<Duration> },
}

struct Entry<I> {
    ticket: Ticket,
    item: I,
    attempts: u32,
}

struct Request<I> {
    entries: Vec<Entry<I>>,
    /// Attempts of this request (scheduled retries keep the request whole).
    attempts: u32,
    /// The Standard Webhooks id made for it when the format gives none: stable across
    /// its retries.
    message_id: Option<String>,
}

struct Flight<I> {
    request: Request<I>,
    started: SystemTime,
    wire_ids: Vec<String>,
    message_id: Option<String>,
}

/// A request waiting for its retry, ordered by due time then by arrival.
struct Parked<I> {
    due: Instant,
    seq: u64,
    request: Request<I>,
}

impl<I> PartialEq for Parked<I> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<I> Eq for Parked<I> {}
impl<I> PartialOrd for Parked<I> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<I> Ord for Parked<I> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

type Done = (Duration, Result<http::Response<Bytes>, TransportError>);

pub(crate) struct Engine<F: Format> {
    shared: Arc<Shared<F>>,
    policy: DeliveryPolicy,
    transport: Arc<dyn Transport>,
    rx: mpsc::UnboundedReceiver<Command<F::Item>>,
    rx_open: bool,
    pending: VecDeque<Entry<F::Item>>,
    parked: BinaryHeap<Reverse<Parked<F::Item>>>,
    flights: HashMap<tokio::task::Id, Flight<F::Item>>,
    in_flight: JoinSet<Done>,
    next_id: u64,
    gate: Instant,
    batch_cap: usize,
    rng: fastrand::Rng,
    flush_waiters: Vec<oneshot::Sender<()>>,
    closing: bool,
    deadline: Option<Instant>,
}

impl<F: Format> Engine<F> {
    pub(crate) fn new(
        shared: Arc<Shared<F>>,
        policy: DeliveryPolicy,
        transport: Arc<dyn Transport>,
        rx: mpsc::UnboundedReceiver<Command<F::Item>>,
    ) -> Self {
        let batch_cap = shared
            .format
            .max_batch()
            .min(policy.max_batch.unwrap_or(usize::MAX))
            .max(1);
        let rng = match policy.jitter.and_then(|j| j.seed) {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        Self {
            shared,
            policy,
            transport,
            rx,
            rx_open: true,
            pending: VecDeque::new(),
            parked: BinaryHeap::new(),
            flights: HashMap::new(),
            in_flight: JoinSet::new(),
            next_id: 0,
            gate: Instant::now(),
            batch_cap,
            rng,
            flush_waiters: Vec::new(),
            closing: false,
            deadline: None,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.start_ready();
            if self.idle() {
                for waiter in self.flush_waiters.drain(..) {
                    let _ = waiter.send(());
                }
                if self.closing && !self.rx_open {
                    break;
                }
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.abandon_all();
                break;
            }
            let wake = self.next_wake();
            let far = Instant::now() + Duration::from_secs(86_400 * 365);
            tokio::select! {
                biased;
                Some(done) = self.in_flight.join_next_with_id(), if !self.in_flight.is_empty() => {
                    match done {
                        Ok((id, (latency, result))) => self.complete(id, latency, result),
                        // A panicking transport fails its request like any other error.
                        Err(err) => self.complete(
                            err.id(),
                            Duration::ZERO,
                            Err(TransportError::Request("the transport panicked".into())),
                        ),
                    }
                }
                command = self.rx.recv(), if self.rx_open => match command {
                    Some(command) => {
                        self.command(command);
                        // Everything submitted at the same moment joins the same batch,
                        // as events a collector drains together do.
                        self.drain_commands();
                    }
                    None => self.rx_ended(),
                },
                () = tokio::time::sleep_until(wake.unwrap_or(far)), if wake.is_some() => {}
            }
        }
        // Nothing more will be reported: let subscribers see the end of the stream.
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn drain_commands(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(command) => self.command(command),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.rx_ended();
                    return;
                }
            }
        }
    }

    /// Every handle is gone (or the sender closed): deliver what is held, then stop.
    fn rx_ended(&mut self) {
        self.rx_open = false;
        self.closing = true;
    }

    fn idle(&self) -> bool {
        self.pending.is_empty() && self.parked.is_empty() && self.in_flight.is_empty()
    }

    fn command(&mut self, command: Command<F::Item>) {
        match command {
            Command::Submit { ticket, item } => {
                let entry = Entry {
                    ticket,
                    item,
                    attempts: 0,
                };
                if let Some(entry) = self.discard_if_stale(entry) {
                    self.enqueue(entry);
                }
            }
            Command::Flush(waiter) => self.flush_waiters.push(waiter),
            Command::Close { deadline } => {
                self.closing = true;
                self.deadline = deadline.map(|d| Instant::now() + d);
                // Later sends fail; those already queued are still received and delivered.
                self.rx.close();
            }
        }
    }

    /// Adds an item to the back of the queue, unless lossy mode's backlog is full.
    fn enqueue(&mut self, entry: Entry<F::Item>) {
        if let Some(cap) = self.policy.lossy
            && self.pending.len() >= cap
        {
            self.shared.log.dropped(entry.ticket);
            return;
        }
        self.pending.push_back(entry);
    }

    /// Discard-after, checked as Stalwart does when events arrive on its channel (new or
    /// re-queued): at least `discard_after` old by `createdAt` means dropped and reported.
    fn discard_if_stale(&mut self, entry: Entry<F::Item>) -> Option<Entry<F::Item>> {
        let Retry::Requeue {
            discard_after: Some(limit),
        } = self.policy.retry
        else {
            return Some(entry);
        };
        let age = self
            .shared
            .format
            .created_at(&entry.item)
            .and_then(|created| self.shared.clock.now().duration_since(created).ok());
        match age {
            Some(age) if age >= limit => {
                self.shared.report(
                    DeliveryOutcome::Discarded {
                        ticket: entry.ticket,
                        attempts: entry.attempts,
                        age,
                    },
                    Status::Discarded,
                );
                None
            }
            _ => Some(entry),
        }
    }

    fn start_ready(&mut self) {
        loop {
            let now = Instant::now();
            if self.in_flight.len() >= self.policy.max_in_flight || now < self.gate {
                return;
            }
            let request = match self.parked.peek() {
                Some(Reverse(parked)) if parked.due <= now => match self.parked.pop() {
                    Some(Reverse(parked)) => parked.request,
                    None => return,
                },
                _ if !self.pending.is_empty() => {
                    let take = self.batch_cap.min(self.pending.len());
                    Request {
                        entries: self.pending.drain(..take).collect(),
                        attempts: 0,
                        message_id: None,
                    }
                }
                _ => return,
            };
            self.gate = now + self.policy.throttle;
            self.launch(request);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let mut wake = if self.closing { self.deadline } else { None };
        if self.in_flight.len() < self.policy.max_in_flight {
            let mut consider = |at: Instant| {
                wake = Some(wake.map_or(at, |w| w.min(at)));
            };
            if !self.pending.is_empty() {
                consider(self.gate);
            }
            if let Some(Reverse(parked)) = self.parked.peek() {
                consider(parked.due.max(self.gate));
            }
        }
        wake
    }

    fn launch(&mut self, mut request: Request<F::Item>) {
        request.attempts += 1;
        for entry in &mut request.entries {
            entry.attempts += 1;
        }
        let started = self.shared.clock.now();
        let items: Vec<&F::Item> = request.entries.iter().map(|e| &e.item).collect();
        let built = self.shared.format.render(&items).and_then(|rendered| {
            let message_id = match rendered.message_id {
                Some(id) => Some(id),
                None if self.shared.endpoint.scheme().stamps_message_id() => Some(
                    request
                        .message_id
                        .get_or_insert_with(new_message_id)
                        .clone(),
                ),
                None => None,
            };
            let http =
                self.shared
                    .endpoint
                    .request(&rendered.body, message_id.as_deref(), started)?;
            Ok((http, rendered.wire_ids, message_id))
        });
        let (http, wire_ids, message_id) = match built {
            Ok(built) => built,
            Err(err) => {
                // Rendering is deterministic: retrying cannot help.
                let error = format!("the request could not be built: {err}");
                self.log_attempts(
                    &request,
                    started,
                    &[],
                    (None, None),
                    Duration::ZERO,
                    Some(&error),
                    true,
                );
                self.give_up(request, error);
                return;
            }
        };
        let send = self.transport.send(http);
        let timeout = self.policy.timeout;
        let task = self.in_flight.spawn(async move {
            let start = Instant::now();
            let result = match timeout {
                Some(limit) => tokio::time::timeout(limit, send)
                    .await
                    .unwrap_or(Err(TransportError::Timeout(limit))),
                None => send.await,
            };
            (start.elapsed(), result)
        });
        self.flights.insert(
            task.id(),
            Flight {
                request,
                started,
                wire_ids,
                message_id,
            },
        );
    }

    fn complete(
        &mut self,
        id: tokio::task::Id,
        latency: Duration,
        result: Result<http::Response<Bytes>, TransportError>,
    ) {
        let Some(flight) = self.flights.remove(&id) else {
            return;
        };
        let (status, error, answer) = match result {
            Ok(response) => {
                let status = response.status();
                if self.policy.success.accepts(status) {
                    (Some(status), None, None)
                } else {
                    let error = describe_status(status, &response);
                    let body = response.into_body();
                    (
                        Some(status),
                        Some(error),
                        (!body.is_empty()).then_some(body),
                    )
                }
            }
            Err(err) => (None, Some(err.to_string()), None),
        };
        let wire_ids: Vec<Option<String>> = if flight.wire_ids.is_empty() {
            vec![flight.message_id.clone(); flight.request.entries.len()]
        } else {
            flight.wire_ids.into_iter().map(Some).collect()
        };
        self.log_attempts(
            &flight.request,
            flight.started,
            &wire_ids,
            (status, answer),
            latency,
            error.as_deref(),
            error.is_some(),
        );
        match error {
            // A permanent client error under a rule that does not retry it.
            Some(error) if status.is_some_and(|s| !self.policy.retry_on.retries(s)) => {
                self.give_up(flight.request, error);
            }
            None => {
                for entry in flight.request.entries {
                    self.shared.report(
                        DeliveryOutcome::Delivered {
                            ticket: entry.ticket,
                            attempts: entry.attempts,
                        },
                        Status::Delivered,
                    );
                }
            }
            Some(error) => self.failed(flight.request, error),
        }
    }

    fn failed(&mut self, request: Request<F::Item>, error: String) {
        match &self.policy.retry {
            Retry::Requeue { .. } => {
                // Stalwart pushes the whole batch back into its channel, behind whatever
                // arrived meanwhile; stale events are dropped on the way in.
                for entry in request.entries {
                    if let Some(entry) = self.discard_if_stale(entry) {
                        self.enqueue(entry);
                    }
                }
            }
            Retry::Schedule(schedule) => match schedule.wait_after(request.attempts) {
                Some(wait) => {
                    let wait = match &self.policy.jitter {
                        Some(jitter) => jitter.apply(wait, &mut self.rng),
                        None => wait,
                    };
                    let seq = self.next_id;
                    self.next_id += 1;
                    self.parked.push(Reverse(Parked {
                        due: Instant::now() + wait,
                        seq,
                        request,
                    }));
                }
                None => self.give_up(request, error),
            },
        }
    }

    fn give_up(&self, request: Request<F::Item>, error: String) {
        for entry in request.entries {
            self.shared.report(
                DeliveryOutcome::GaveUp {
                    ticket: entry.ticket,
                    attempts: entry.attempts,
                    error: error.clone(),
                },
                Status::GaveUp,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log_attempts(
        &self,
        request: &Request<F::Item>,
        at: SystemTime,
        wire_ids: &[Option<String>],
        (status, answer): (Option<StatusCode>, Option<Bytes>),
        latency: Duration,
        error: Option<&str>,
        failed: bool,
    ) {
        let batch_size = request.entries.len();
        let attempts: Vec<(Ticket, Attempt)> = request
            .entries
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                (
                    entry.ticket,
                    Attempt {
                        number: entry.attempts,
                        at,
                        wire_id: wire_ids.get(i).cloned().flatten(),
                        status,
                        latency,
                        error: error.map(str::to_owned),
                        answer: answer.clone(),
                        batch_size,
                    },
                )
            })
            .collect();
        self.shared.log.attempted(&attempts, failed);
    }

    fn abandon_all(&mut self) {
        self.in_flight.abort_all();
        let mut entries: Vec<Entry<F::Item>> = self.pending.drain(..).collect();
        entries.extend(self.parked.drain().flat_map(|Reverse(p)| p.request.entries));
        entries.extend(self.flights.drain().flat_map(|(_, f)| f.request.entries));
        entries.sort_by_key(|e| e.ticket);
        for entry in entries {
            self.shared.report(
                DeliveryOutcome::Abandoned {
                    ticket: entry.ticket,
                    attempts: entry.attempts,
                },
                Status::Abandoned,
            );
        }
        // Submissions still in the channel were accepted too.
        while let Ok(command) = self.rx.try_recv() {
            if let Command::Submit { ticket, .. } = command {
                self.shared.report(
                    DeliveryOutcome::Abandoned {
                        ticket,
                        attempts: 0,
                    },
                    Status::Abandoned,
                );
            }
        }
        for waiter in self.flush_waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}

fn describe_status(status: StatusCode, response: &http::Response<Bytes>) -> String {
    if status.is_redirection() {
        let to = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("?");
        format!("HTTP {status}: redirect to `{to}` not followed (a POST must not be redirected)")
    } else {
        match crate::problem::ReceiverProblem::parse(response.body()) {
            Some(problem) => format!("HTTP {status}: {problem}"),
            None => format!("HTTP {status}: not a success under this policy"),
        }
    }
}
