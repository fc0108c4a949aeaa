//! What deduplication did with each request, for operators: [`DedupOutcome`], reported
//! to a [`DedupObserver`] (a closure, or the ready-made [`DedupCounters`]).
//!
//! The adapters' middleware (and the `webhook` CLI) settle claims where the user cannot
//! see the result. Every bad result is logged at `warn` with the event keys; an
//! observer set with [`Deduplicator::with_observer`](super::Deduplicator::with_observer)
//! also receives one [`DedupEvent`] per request, so duplicates skipped, runs, failures,
//! lease losses and cancellations can be counted and exported as metrics.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use super::DedupKey;

/// What happened to one request under deduplication.
///
/// Each request is reported once with its final outcome, when the handler has
/// answered (or at once when it does not run). A request whose sender disconnected
/// while its handler ran is reported [`Cancelled`](DedupOutcome::Cancelled) at the
/// disconnect and again with its final outcome when the handler, which goes on running
/// detached, finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DedupOutcome {
    /// Every event was already processed: answered 200 without running the handler.
    Duplicate,
    /// Another delivery holds an event: answered 409, the handler did not run.
    InProgress,
    /// The store could not answer and the policy fails closed: answered 503.
    Unavailable,
    /// The store could not answer and the policy fails open: the handler runs without
    /// deduplication.
    Unguarded,
    /// The handler ran, succeeded, and its events are remembered as done.
    Processed,
    /// The handler ran and failed (a non-2xx answer): the claims were released so the
    /// sender's retry is processed.
    Failed,
    /// The handler succeeded but recording it failed (the store went away): a retry
    /// after the lease may run it again.
    NotRecorded,
    /// A claim's lease was lost while the handler ran (a renewal or the completion was
    /// refused): the event may have been processed twice. Raise the lease, or look at
    /// why the store could not be reached in time.
    LeaseLost,
    /// The request was dropped while its handler ran (the sender timed out or
    /// disconnected). The handler goes on running, detached, and is reported again
    /// when it finishes.
    Cancelled,
    /// The claims were dropped unsettled (the handler panicked, or its future was
    /// dropped where it could not be detached): they were released.
    Abandoned,
}

impl DedupOutcome {
    /// Every outcome, in declaration order.
    pub const ALL: [DedupOutcome; 10] = [
        DedupOutcome::Duplicate,
        DedupOutcome::InProgress,
        DedupOutcome::Unavailable,
        DedupOutcome::Unguarded,
        DedupOutcome::Processed,
        DedupOutcome::Failed,
        DedupOutcome::NotRecorded,
        DedupOutcome::LeaseLost,
        DedupOutcome::Cancelled,
        DedupOutcome::Abandoned,
    ];

    /// A stable lower-case name, for metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            DedupOutcome::Duplicate => "duplicate",
            DedupOutcome::InProgress => "in_progress",
            DedupOutcome::Unavailable => "unavailable",
            DedupOutcome::Unguarded => "unguarded",
            DedupOutcome::Processed => "processed",
            DedupOutcome::Failed => "failed",
            DedupOutcome::NotRecorded => "not_recorded",
            DedupOutcome::LeaseLost => "lease_lost",
            DedupOutcome::Cancelled => "cancelled",
            DedupOutcome::Abandoned => "abandoned",
        }
    }

    /// Whether this is the final outcome of a handler run (so counting these counts
    /// runs): processed, failed, not recorded, lease lost, unguarded or abandoned.
    pub const fn is_run(self) -> bool {
        matches!(
            self,
            DedupOutcome::Processed
                | DedupOutcome::Failed
                | DedupOutcome::NotRecorded
                | DedupOutcome::LeaseLost
                | DedupOutcome::Unguarded
                | DedupOutcome::Abandoned
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for DedupOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One report to a [`DedupObserver`]: the outcome and the keys of the events it
/// concerns (the claimed ones for a run; every event for a duplicate or a refusal).
#[derive(Debug, Clone, Copy)]
pub struct DedupEvent<'a> {
    /// What happened.
    pub outcome: DedupOutcome,
    /// The events' deduplication keys (event ids or content fingerprints, never secrets).
    pub keys: &'a [DedupKey],
}

/// Receives a [`DedupEvent`] for every request the deduplicator decides on. Called on
/// the request path: keep it quick (count, don't block).
///
/// Any `Fn(&DedupEvent<'_>) + Send + Sync + 'static` closure is an observer.
pub trait DedupObserver: Send + Sync + 'static {
    /// Called once per outcome.
    fn observe(&self, event: &DedupEvent<'_>);
}

impl<F> DedupObserver for F
where
    F: Fn(&DedupEvent<'_>) + Send + Sync + 'static,
{
    fn observe(&self, event: &DedupEvent<'_>) {
        self(event);
    }
}

/// A ready-made observer: one atomic counter per [`DedupOutcome`]. Clones share the
/// counters, so keep one clone to read and give another to the deduplicator.
///
/// ```
/// use webhook_core::{Scheme, idempotency::{DedupCounters, DedupOutcome, Deduplicator, MemoryStore}};
///
/// let counters = DedupCounters::new();
/// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap)
///     .with_observer(counters.clone());
/// // … serve requests with `dedup` …
/// # let _ = dedup;
/// for outcome in DedupOutcome::ALL {
///     println!("hookwise_dedup_total{{outcome=\"{outcome}\"}} {}", counters.get(outcome));
/// }
/// assert_eq!(counters.runs(), 0);
/// ```
#[derive(Clone, Default)]
pub struct DedupCounters {
    counts: Arc<[AtomicU64; DedupOutcome::ALL.len()]>,
}

impl DedupCounters {
    /// All counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many requests had `outcome`.
    pub fn get(&self, outcome: DedupOutcome) -> u64 {
        self.counts[outcome.index()].load(Ordering::Relaxed)
    }

    /// How many handler runs finished (the outcomes for which
    /// [`DedupOutcome::is_run`] holds).
    pub fn runs(&self) -> u64 {
        DedupOutcome::ALL
            .into_iter()
            .filter(|o| o.is_run())
            .map(|o| self.get(o))
            .sum()
    }
}

impl fmt::Debug for DedupCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for outcome in DedupOutcome::ALL {
            map.entry(&outcome.as_str(), &self.get(outcome));
        }
        map.finish()
    }
}

impl DedupObserver for DedupCounters {
    fn observe(&self, event: &DedupEvent<'_>) {
        self.counts[event.outcome.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// The observer a deduplicator holds, if any.
#[derive(Clone, Default)]
pub(crate) struct Observer(Option<Arc<dyn DedupObserver>>);

impl Observer {
    pub(crate) fn new(observer: impl DedupObserver) -> Self {
        Self(Some(Arc::new(observer)))
    }

    pub(crate) fn report(&self, outcome: DedupOutcome, keys: &[DedupKey]) {
        if let Some(observer) = &self.0 {
            observer.observe(&DedupEvent { outcome, keys });
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_indices_follow_all() {
        for (i, outcome) in DedupOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome.index(), i, "{outcome}");
        }
    }

    #[test]
    fn counters_count_per_outcome_and_runs() {
        let counters = DedupCounters::new();
        let observer = Observer::new(counters.clone());
        observer.report(DedupOutcome::Duplicate, &[]);
        observer.report(DedupOutcome::Processed, &[]);
        observer.report(DedupOutcome::Failed, &[]);
        observer.report(DedupOutcome::Cancelled, &[]);
        assert_eq!(counters.get(DedupOutcome::Duplicate), 1);
        assert_eq!(counters.get(DedupOutcome::Cancelled), 1);
        assert_eq!(counters.runs(), 2);
    }
}
