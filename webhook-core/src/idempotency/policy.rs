//! How long claims and completions last, and what to do when the store cannot answer:
//! [`DedupPolicy`], with per-sender defaults, and [`FailurePolicy`].

use std::time::Duration;

use crate::Scheme;

/// What to do when the store cannot answer a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailurePolicy {
    /// Do not run the handler; answer 503 so the sender retries. Never processes an
    /// event twice because of the outage. The default.
    #[default]
    FailClosed,
    /// Run the handler without deduplication. Keeps events flowing while the store is
    /// down; **duplicates are processed** (every retry in that time runs the handler).
    FailOpen,
}

/// Lease, ttl and failure policy for one sender's events.
///
/// # Lease
///
/// How long a claim protects an event while its handler runs. The adapters renew it
/// every third of the lease while the handler runs (given a [`LeaseTimer`](super::LeaseTimer)),
/// so it need only outlast a renewal's round trip there (as in
/// [`Deduplicator::run_once`](super::Deduplicator::run_once) with a timer); the free
/// [`run_once`](super::run_once) and [`run_batch`](super::run_batch) do not renew, so
/// there it must be longer than the
/// handler's slowest run (or a slow handler's event can be claimed and run a second
/// time). It should be short enough that a crashed holder does not block the sender's retries
/// for long: a retry that arrives within the lease is answered 409 and retried later.
/// The default, 30 s, matches the 30 s request timeout of Stalwart and Mailtrap: a
/// handler slower than that is retried by the sender anyway. WildDuck gets 10 s because
/// all five of its attempts happen within about 30 s.
///
/// # TTL
///
/// How long a completed event is remembered. It must cover the sender's whole retry
/// horizon, or a late retry of a processed event runs again:
///
/// | sender | retry horizon | default ttl |
/// |---|---|---|
/// | Stalwart | until events are `discardAfter` old (5 min), `timeout` 30 s | 10 min |
/// | email-API | 1, 5 and 30 min: about 36 min | 1 h |
/// | Mailtrap | 10 attempts over 24 h (older docs); 40 × 5 min ≈ 3 h 20 (current) | 25 h |
/// | WildDuck | 5 attempts within about 30 s; failed jobs may be re-queued by hand | 1 h |
/// | Standard Webhooks | Svix: 5 s … 10 h, about 27.5 h in all, plus manual resends | 72 h |
///
/// A Stalwart operator who raises `discardAfter` must raise the ttl with it. Memory
/// cost grows with event rate × ttl: size the memory store's capacity accordingly.
///
/// # Failure policy
///
/// [`FailurePolicy::FailClosed`] (the default) does not run the handler when the store
/// cannot answer: the caller answers 503 and the sender retries later, so no event is
/// lost and none is processed twice, at the price of delay while the store is down.
/// [`FailurePolicy::FailOpen`] runs the handler without deduplication: events keep
/// flowing, but every retry the sender makes in that time is processed again.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::{Scheme, idempotency::{FailurePolicy, DedupPolicy}};
///
/// let policy = DedupPolicy::for_scheme(Scheme::Mailtrap).with_lease(Duration::from_secs(10));
/// assert_eq!(policy.ttl(), Duration::from_secs(25 * 3600));
/// assert_eq!(policy.on_store_error(), FailurePolicy::FailClosed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupPolicy {
    lease: Duration,
    ttl: Duration,
    on_store_error: FailurePolicy,
    unavailable_retry_after: Duration,
}

impl DedupPolicy {
    /// The lease used when none is chosen: the senders' 30 s request timeout.
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
    /// The ttl used when none is chosen: covers every sender but Standard Webhooks.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(25 * 3600);
    /// The Retry-After suggested when the store is unavailable.
    pub const DEFAULT_UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

    /// A policy with this lease and ttl, failing closed.
    pub const fn new(lease: Duration, ttl: Duration) -> Self {
        Self {
            lease,
            ttl,
            on_store_error: FailurePolicy::FailClosed,
            unavailable_retry_after: Self::DEFAULT_UNAVAILABLE_RETRY_AFTER,
        }
    }

    /// The defaults for one sender (see the table above; each sender's module gives
    /// its reasons).
    pub fn for_scheme(scheme: Scheme) -> Self {
        let facts = scheme.rules();
        Self::new(facts.lease, facts.ttl)
    }

    /// The same policy with another lease.
    pub const fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The same policy with another ttl.
    pub const fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same policy with another failure policy.
    pub const fn with_failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.on_store_error = policy;
        self
    }

    /// The same policy with another Retry-After suggestion for store outages.
    pub const fn with_unavailable_retry_after(mut self, retry_after: Duration) -> Self {
        self.unavailable_retry_after = retry_after;
        self
    }

    /// How long a claim protects an event while its handler runs.
    pub const fn lease(&self) -> Duration {
        self.lease
    }

    /// How long a completed event is remembered.
    pub const fn ttl(&self) -> Duration {
        self.ttl
    }

    /// What to do when the store cannot answer a claim.
    pub const fn on_store_error(&self) -> FailurePolicy {
        self.on_store_error
    }

    /// The Retry-After suggested when the store is unavailable.
    pub const fn unavailable_retry_after(&self) -> Duration {
        self.unavailable_retry_after
    }
}

impl Default for DedupPolicy {
    /// 30 s lease, 25 h ttl, fail closed.
    fn default() -> Self {
        Self::new(Self::DEFAULT_LEASE, Self::DEFAULT_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ttl_covers_its_senders_retry_horizon() {
        // The horizons as each sender documents them, independent of the senders' rules.
        let documented = [
            // discardAfter + timeout + throttle
            (Scheme::Stalwart, Duration::from_secs(5 * 60 + 30 + 1)),
            (Scheme::EmailApi, Duration::from_secs(36 * 60)),
            (Scheme::Mailtrap, Duration::from_secs(24 * 3600)),
            (
                Scheme::StandardWebhooks,
                Duration::from_secs(27 * 3600 + 35 * 60),
            ),
            (Scheme::WildDuck, Duration::from_secs(30)),
        ];
        assert_eq!(documented.len(), Scheme::ALL.len());
        for (scheme, horizon) in documented {
            let policy = DedupPolicy::for_scheme(scheme);
            assert_eq!(scheme.retry_horizon(), horizon, "{scheme}");
            assert!(policy.ttl() > horizon, "{scheme}");
            assert!(policy.lease() < policy.ttl(), "{scheme}");
            assert_eq!(policy.on_store_error(), FailurePolicy::FailClosed);
        }
        // WildDuck's five attempts span ~30 s: a crashed holder's lease must end before.
        assert!(DedupPolicy::for_scheme(Scheme::WildDuck).lease() < Duration::from_secs(14));
    }
}
