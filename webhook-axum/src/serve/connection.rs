//! Each connection's phase, and the registry that caps how many are open (the task that
//! serves a connection and enforces its head and idle deadlines is `server::drive`).
//!
//! A connection is in one of three phases: **awaiting a head** (just accepted, or idle
//! between keep-alive requests), **receiving a body**, or **handling** (the request is
//! in, the handler runs, the response goes out). hyper reports none of these, so the
//! per-connection service records them: the request's arrival, the end of its body,
//! the drop of its response body. When the cap is reached, the registry makes room by
//! closing, oldest first: a connection still sending its first head, then one still
//! sending its first body, then an idle keep-alive connection, then one sending a later
//! body. A connection that has already carried a complete request is likelier a real
//! sender's (its pooled connection between deliveries), so it goes after the ones that
//! never have. A connection whose request is complete is never cut off; with nothing
//! to close, the new connection is refused.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{sync::Notify, time::Instant};
use webhook_core::capacity::SlowBody;

const AWAITING_HEAD: u8 = 0;
const RECEIVING_BODY: u8 = 1;
const HANDLING: u8 = 2;

/// What one connection's service, bodies and task share.
#[derive(Debug)]
pub(super) struct Connection {
    id: u64,
    epoch: Instant,
    phase: AtomicU8,
    /// When the current phase began, in nanoseconds since `epoch`.
    since: AtomicU64,
    /// Whether a request has been answered: the next head is then an idle wait.
    served: AtomicBool,
    evicted: AtomicBool,
    /// Wakes the connection's task when it is evicted.
    wake: Notify,
    /// The current request's body was cut off for being too slow.
    slow_body: Mutex<Option<SlowBody>>,
}

impl Connection {
    fn new(id: u64, epoch: Instant) -> Self {
        Self {
            id,
            epoch,
            phase: AtomicU8::new(AWAITING_HEAD),
            since: AtomicU64::new(nanos_since(epoch)),
            served: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
            slow_body: Mutex::new(None),
        }
    }

    fn enter(&self, phase: u8) {
        self.since.store(nanos_since(self.epoch), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Release);
    }

    /// A request head arrived; `has_body` if a body follows.
    pub(super) fn request_started(&self, has_body: bool) {
        self.enter(if has_body { RECEIVING_BODY } else { HANDLING });
    }

    /// The request's body has been received whole.
    pub(super) fn body_finished(&self) {
        let _ = self.phase.compare_exchange(
            RECEIVING_BODY,
            HANDLING,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    /// The response has been handed to hyper: the connection waits for its next head.
    pub(super) fn request_finished(&self) {
        self.served.store(true, Ordering::Relaxed);
        self.enter(AWAITING_HEAD);
    }

    pub(super) fn record_slow_body(&self, slow: SlowBody) {
        *self
            .slow_body
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(slow);
    }

    pub(super) fn take_slow_body(&self) -> Option<SlowBody> {
        self.slow_body
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// When the connection must have sent a complete head, if it is awaiting one: the
    /// head timeout after the accept, the idle timeout after a response.
    pub(super) fn head_deadline(&self, head: Duration, idle: Duration) -> Option<Instant> {
        if self.phase.load(Ordering::Acquire) != AWAITING_HEAD {
            return None;
        }
        let since = self.epoch + Duration::from_nanos(self.since.load(Ordering::Relaxed));
        let wait = if self.served.load(Ordering::Relaxed) {
            idle
        } else {
            head
        };
        Some(since + wait)
    }

    pub(super) fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Waits until the task should look at the connection again.
    pub(super) async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Where the connection stands in the eviction order, lowest first: never served
    /// before served, head before body, oldest first; `None` if it must not be closed
    /// (its request is complete) or is closing already.
    fn eviction_order(&self) -> Option<(bool, u8, u64)> {
        let phase = self.phase.load(Ordering::Acquire);
        if phase == HANDLING || self.is_evicted() {
            return None;
        }
        Some((
            self.served.load(Ordering::Relaxed),
            phase,
            self.since.load(Ordering::Relaxed),
        ))
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The open connections: at most `cap` live ones, and at most [`Registry::ceiling`]
/// counting those told to close whose tasks have not dropped them yet.
#[derive(Debug)]
pub(super) struct Registry {
    cap: usize,
    epoch: Instant,
    state: Mutex<Open>,
    /// Notified each time a connection is dropped.
    room: Notify,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Connection>>,
    /// Connections told to close whose tasks have not ended yet.
    evicting: usize,
}

impl Registry {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            epoch: Instant::now(),
            state: Mutex::new(Open::default()),
            room: Notify::new(),
        }
    }

    pub(super) fn cap(&self) -> usize {
        self.cap
    }

    /// The most descriptors connections may hold at once: the cap, plus a few closing
    /// connections. An evicted connection closes when its task next runs; under a
    /// flood, new ones can arrive faster than that, and without this ceiling the
    /// closing ones would add up past the descriptor limit.
    fn ceiling(&self) -> usize {
        self.cap + (self.cap / 16).clamp(1, 64)
    }

    /// Waits until a new connection would not take the open descriptors past the
    /// ceiling; meanwhile new connections wait in the listen backlog.
    pub(super) async fn room(&self) {
        loop {
            let notified = self.room.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.len() < self.ceiling() {
                return;
            }
            notified.await;
        }
    }

    /// A slot for a new connection, closing another one if the cap is reached and one
    /// is still sending its request; `None` refuses the new connection.
    pub(super) fn admit(&self) -> Option<Arc<Connection>> {
        let mut open = self.lock();
        if open.connections.len() - open.evicting >= self.cap && !open.evict_one() {
            return None;
        }
        open.next_id += 1;
        let connection = Arc::new(Connection::new(open.next_id, self.epoch));
        open.connections
            .insert(connection.id, Arc::clone(&connection));
        Some(connection)
    }

    /// Closes one connection still sending its request, if any: the way to free a
    /// descriptor when `accept` finds none left.
    pub(super) fn evict_one(&self) -> bool {
        self.lock().evict_one()
    }

    pub(super) fn remove(&self, connection: &Connection) {
        let mut open = self.lock();
        if open.connections.remove(&connection.id).is_some() && connection.is_evicted() {
            open.evicting -= 1;
        }
        drop(open);
        self.room.notify_waiters();
    }

    /// Connections open right now (those told to close included).
    pub(super) fn len(&self) -> usize {
        self.lock().connections.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Open {
    /// Tells the connection to close that comes first in the order of the module
    /// documentation.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .connections
            .values()
            .filter_map(|connection| Some((connection.eviction_order()?, connection)))
            .min_by_key(|(order, _)| *order);
        let Some((_, connection)) = victim else {
            return false;
        };
        connection.evict();
        self.evicting += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_longest_wait_for_a_head_goes_first() {
        let registry = Registry::new(3);
        let idle = registry.admit().unwrap();
        let body = registry.admit().unwrap();
        let handling = registry.admit().unwrap();
        body.request_started(true);
        handling.request_started(true);
        handling.body_finished();

        let fourth = registry.admit().expect("the idle connection makes room");
        assert!(idle.is_evicted() && !body.is_evicted() && !handling.is_evicted());

        fourth.request_started(false);
        let fifth = registry
            .admit()
            .expect("then the one still receiving a body");
        assert!(body.is_evicted() && !handling.is_evicted());

        fifth.request_started(false);
        assert!(
            registry.admit().is_none(),
            "every request is complete: refuse"
        );
        assert_eq!(registry.len(), 5);

        registry.remove(&idle);
        registry.remove(&body);
        assert!(registry.admit().is_none(), "still three live connections");
        registry.remove(&handling);
        assert!(registry.admit().is_some());
    }

    #[test]
    fn a_connection_that_carried_a_request_goes_after_those_that_never_did() {
        let registry = Registry::new(2);
        let pooled = registry.admit().unwrap();
        pooled.request_started(false);
        pooled.request_finished();
        let slow_body = registry.admit().unwrap();
        slow_body.request_started(true);
        let _third = registry.admit().unwrap();
        assert!(slow_body.is_evicted() && !pooled.is_evicted());
    }

    #[test]
    fn the_deadline_is_the_head_timeout_then_the_idle_timeout() {
        let registry = Registry::new(1);
        let connection = registry.admit().unwrap();
        let (head, idle) = (Duration::from_secs(1), Duration::from_secs(60));
        let first = connection.head_deadline(head, idle).unwrap();
        assert!(first <= Instant::now() + head);
        connection.request_started(true);
        assert_eq!(connection.head_deadline(head, idle), None);
        connection.request_finished();
        let next = connection.head_deadline(head, idle).unwrap();
        assert!(next > Instant::now() + Duration::from_secs(59));
    }
}
