//! [`BodyBudget`]: a bound on the request-body bytes held across all concurrent requests.
//!
//! A receiver reads each body whole before verifying it (the MAC covers every byte), so
//! the per-request limit alone does not bound memory: a thousand concurrent bodies at a
//! 1 MiB limit hold a gigabyte. The budget is the second bound. Before reading a body the
//! adapter reserves what the body can take (its declared `Content-Length`, else the whole
//! limit); a reservation that does not fit is refused with [`OverBudget`], which the
//! adapters answer 503 with `Retry-After` (every seed sender retries a 503). The bytes are
//! released when the last handle on the body is dropped **and** the request it came with
//! has been answered: see [`ReservationHold`] and [`RequestHolds`].
//!
//! Accounting is one atomic counter: no lock, no runtime. A request that is read takes
//! two small allocations for its holds (its list, each body's shared reservation); a
//! refusal takes none.

use std::{
    fmt,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

/// The budget [`BodyBudget::global`] starts with: 64 MiB of request bodies in flight.
///
/// Sixty-four bodies at the verifier's default 1 MiB limit, or a couple of very large
/// Stalwart batches, at once; what does not fit waits for the sender's retry.
pub const DEFAULT_BODY_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// The `Retry-After` an over-budget request is answered with, by default.
pub const DEFAULT_BUDGET_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The request-body bytes a receiver may hold at once, shared by every request that
/// reserves from it (clones share one counter).
///
/// A reservation fits when the bytes already reserved plus the new ones stay within the
/// capacity, **or when nothing else is reserved**: one body larger than the whole budget
/// still goes through alone, so a budget smaller than some route's limit slows that
/// route down instead of refusing it forever. Peak memory is therefore at most the
/// larger of the capacity and the largest single body, plus the adapters' fixed
/// per-connection buffers.
///
/// ```
/// use webhook_core::capacity::BodyBudget;
///
/// let budget = BodyBudget::new(1000);
/// let first = budget.reserve(600)?;
/// assert!(budget.reserve(600).is_err()); // 1200 > 1000: answered 503 by the adapters
/// let second = budget.reserve(400)?;
/// assert_eq!(budget.in_use(), 1000);
/// drop((first, second));
/// assert_eq!(budget.in_use(), 0);
/// # Ok::<(), webhook_core::capacity::OverBudget>(())
/// ```
#[derive(Clone)]
pub struct BodyBudget {
    counter: Arc<Counter>,
    retry_after: Duration,
}

struct Counter {
    capacity: usize,
    in_use: AtomicUsize,
}

impl BodyBudget {
    /// A budget of `capacity` bytes, answering over-budget requests with
    /// [`DEFAULT_BUDGET_RETRY_AFTER`].
    pub fn new(capacity: usize) -> Self {
        Self {
            counter: Arc::new(Counter {
                capacity,
                in_use: AtomicUsize::new(0),
            }),
            retry_after: DEFAULT_BUDGET_RETRY_AFTER,
        }
    }

    /// The process-wide budget of [`DEFAULT_BODY_BUDGET_BYTES`]: what the adapters reserve
    /// from when a request carries no budget of its own, so every receiver in the process
    /// is bounded even if none was configured.
    pub fn global() -> &'static BodyBudget {
        static GLOBAL: OnceLock<BodyBudget> = OnceLock::new();
        GLOBAL.get_or_init(|| BodyBudget::new(DEFAULT_BODY_BUDGET_BYTES))
    }

    /// The same budget (same counter), answering over-budget requests with `wait` in
    /// `Retry-After` (rounded up to whole seconds, at least 1).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// The capacity in bytes.
    pub fn capacity(&self) -> usize {
        self.counter.capacity
    }

    /// The bytes reserved right now.
    pub fn in_use(&self) -> usize {
        self.counter.in_use.load(Ordering::Relaxed)
    }

    /// Reserves `bytes`, or says why not. The reservation is released when dropped.
    pub fn reserve(&self, bytes: usize) -> Result<BodyReservation, OverBudget> {
        let counter = &self.counter;
        let mut current = counter.in_use.load(Ordering::Relaxed);
        loop {
            let fits = current == 0 || current.saturating_add(bytes) <= counter.capacity;
            if !fits {
                return Err(OverBudget {
                    requested: bytes,
                    in_use: current,
                    capacity: counter.capacity,
                    retry_after_secs: retry_after_secs(self.retry_after),
                });
            }
            match counter.in_use.compare_exchange_weak(
                current,
                current + bytes,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(BodyReservation {
                        counter: Arc::clone(counter),
                        bytes,
                    });
                }
                Err(now) => current = now,
            }
        }
    }

    /// Reserves what a body can take before it is read: its declared `Content-Length`
    /// when there is one (the adapters have already refused one above `limit` with 413),
    /// otherwise the whole `limit`, since a chunked body may grow to it. Reserving up
    /// front means that when many bodies arrive at once, some are read whole and the rest
    /// are refused at once, instead of all being read halfway and none finishing.
    pub fn reserve_body(
        &self,
        declared: Option<u64>,
        limit: usize,
    ) -> Result<BodyReservation, OverBudget> {
        let bytes = declared.map_or(limit, |declared| {
            usize::try_from(declared).map_or(limit, |declared| declared.min(limit))
        });
        self.reserve(bytes)
    }
}

fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Two handles are equal when they share one counter (clones of one budget).
impl PartialEq for BodyBudget {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.counter, &other.counter)
    }
}

impl Eq for BodyBudget {}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

/// Bytes reserved from a [`BodyBudget`], given back when this is dropped.
///
/// The adapters attach it to the body's bytes (`Bytes::from_owner`), so the bytes count
/// against the budget for exactly as long as anything still holds them.
pub struct BodyReservation {
    counter: Arc<Counter>,
    bytes: usize,
}

impl BodyReservation {
    /// The bytes reserved.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Gives back all but `bytes` (no-op if already at or below): once a body is read,
    /// only what it really holds stays reserved.
    pub fn shrink_to(&mut self, bytes: usize) {
        if bytes < self.bytes {
            self.counter
                .in_use
                .fetch_sub(self.bytes - bytes, Ordering::AcqRel);
            self.bytes = bytes;
        }
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.counter.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

impl fmt::Debug for BodyReservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReservation")
            .field("bytes", &self.bytes)
            .finish()
    }
}

/// A shared hold on a read body's [`BodyReservation`]: the bytes stay counted until
/// the body and every hold on it are dropped. Taken with
/// [`ReservedBody::hold`](super::ReservedBody::hold) before the body is handed on, and
/// kept in the request's [`RequestHolds`], so what is parsed from the body stays counted
/// after the body's bytes are gone.
///
/// ```
/// use webhook_core::capacity::{BodyBudget, ReservationHold};
///
/// let budget = BodyBudget::new(1000);
/// let hold = ReservationHold::new(budget.reserve(600)?);
/// let second = hold.clone();
/// drop(hold);
/// assert_eq!(budget.in_use(), 600, "one hold is left");
/// drop(second);
/// assert_eq!(budget.in_use(), 0);
/// # Ok::<(), webhook_core::capacity::OverBudget>(())
/// ```
#[derive(Clone)]
pub struct ReservationHold(Arc<BodyReservation>);

impl ReservationHold {
    /// Shares `reservation`: given back when the last clone is dropped.
    pub fn new(reservation: BodyReservation) -> Self {
        Self(Arc::new(reservation))
    }

    /// The bytes held.
    pub fn bytes(&self) -> usize {
        self.0.bytes
    }
}

impl fmt::Debug for ReservationHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReservationHold")
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// The budget holds of one request, kept until it is answered: the server puts one in
/// each request and drops its own clone once the handler has returned; the body
/// readers [`keep`](Self::keep) the hold of each body they read in it.
///
/// This is what makes the budget bound parsed payloads too: an extractor parses the
/// body and drops it, but the handler still holds the typed events (owned copies of
/// the body's strings); the body's reservation, kept here, counts them until the
/// handler returns. Clones share one list; the holds are given back when the last
/// clone is dropped.
///
/// ```
/// use webhook_core::capacity::{BodyBudget, RequestHolds, ReservationHold};
///
/// let budget = BodyBudget::new(1000);
/// let request = RequestHolds::new();
/// let in_the_request = request.clone(); // e.g. in the request's extensions
/// in_the_request.keep(ReservationHold::new(budget.reserve(600)?));
/// drop(in_the_request); // the extractor is done with the request
/// assert_eq!(budget.in_use(), 600, "the handler is still running");
/// drop(request); // answered
/// assert_eq!(budget.in_use(), 0);
/// # Ok::<(), webhook_core::capacity::OverBudget>(())
/// ```
#[derive(Clone, Default)]
pub struct RequestHolds(Arc<Mutex<Vec<ReservationHold>>>);

impl RequestHolds {
    /// An empty list for a new request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `hold` until the last clone of this list is dropped.
    pub fn keep(&self, hold: ReservationHold) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(hold);
    }

    /// The bytes held for this request.
    pub fn bytes(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(ReservationHold::bytes)
            .sum()
    }
}

impl fmt::Debug for RequestHolds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHolds")
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// A body did not fit in the [`BodyBudget`]: answered 503 `receiver_busy` with
/// `Retry-After`; nothing of the request was read or kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the receiver is already holding {in_use} bytes of request bodies out of its budget of \
     {capacity}, and this one may take {requested}: retry after {retry_after_secs} s"
)]
pub struct OverBudget {
    /// The bytes this request asked for.
    pub requested: usize,
    /// The bytes already reserved by other requests.
    pub in_use: usize,
    /// The budget's capacity.
    pub capacity: usize,
    /// Seconds the sender should wait (`Retry-After`).
    pub retry_after_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_fits_until_the_capacity_and_is_given_back_on_drop() {
        let budget = BodyBudget::new(100);
        let a = budget.reserve(60).unwrap();
        let b = budget.reserve(40).unwrap();
        let refused = budget.reserve(1).unwrap_err();
        assert_eq!(
            refused,
            OverBudget {
                requested: 1,
                in_use: 100,
                capacity: 100,
                retry_after_secs: 2,
            }
        );
        drop(a);
        assert_eq!(budget.in_use(), 40);
        let c = budget.reserve(60).unwrap();
        drop((b, c));
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_body_larger_than_the_budget_goes_through_alone_only() {
        let budget = BodyBudget::new(10);
        let big = budget.reserve(1000).unwrap();
        assert!(budget.reserve(1).is_err());
        drop(big);
        let small = budget.reserve(5).unwrap();
        assert!(budget.reserve(1000).is_err(), "not alone any more");
        drop(small);
    }

    #[test]
    fn clones_share_one_counter() {
        let budget = BodyBudget::new(10);
        let clone = budget.clone().with_retry_after(Duration::from_millis(1500));
        assert_eq!(budget, clone);
        assert_ne!(budget, BodyBudget::new(10));
        let _held = budget.reserve(10).unwrap();
        assert_eq!(clone.in_use(), 10);
        assert_eq!(clone.reserve(1).unwrap_err().retry_after_secs, 2);
    }

    #[test]
    fn a_body_reserves_its_declared_length_or_the_whole_limit() {
        let budget = BodyBudget::new(1 << 20);
        assert_eq!(budget.reserve_body(Some(300), 1000).unwrap().bytes(), 300);
        assert_eq!(budget.reserve_body(None, 1000).unwrap().bytes(), 1000);
        assert_eq!(
            budget.reserve_body(Some(u64::MAX), 1000).unwrap().bytes(),
            1000
        );
    }

    #[test]
    fn shrinking_gives_back_the_rest() {
        let budget = BodyBudget::new(100);
        let mut held = budget.reserve(100).unwrap();
        held.shrink_to(30);
        assert_eq!((held.bytes(), budget.in_use()), (30, 30));
        held.shrink_to(50);
        assert_eq!(held.bytes(), 30, "shrinking never grows");
        drop(held);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn retry_after_rounds_up_to_a_whole_second() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(3100)), 4);
    }

    #[test]
    fn concurrent_reservations_never_exceed_the_capacity() {
        let budget = BodyBudget::new(1000);
        let peak = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (budget, peak) = (budget.clone(), Arc::clone(&peak));
                scope.spawn(move || {
                    for _ in 0..20_000 {
                        if let Ok(held) = budget.reserve(300) {
                            peak.fetch_max(budget.in_use(), Ordering::Relaxed);
                            drop(held);
                        }
                    }
                });
            }
        });
        assert!(peak.load(Ordering::Relaxed) <= 1000);
        assert_eq!(budget.in_use(), 0);
    }
}
