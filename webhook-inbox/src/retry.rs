//! [`RetryPolicy`]: when a failed attempt runs again, and when the inbox gives up.
//!
//! Delays grow exponentially from [`base`](RetryPolicy::base), doubling per attempt up
//! to [`max_delay`](RetryPolicy::max_delay), and each is stretched by a random amount up
//! to [`jitter`](RetryPolicy::jitter) so that events that failed together do not all
//! come back together. An event dies after [`max_attempts`](RetryPolicy::max_attempts)
//! attempts, or when its next attempt would start more than
//! [`max_age`](RetryPolicy::max_age) after it arrived (or was last redriven).
//!
//! # Why these defaults
//!
//! The inbox takes over the sender's job of retrying, so its own schedule must last at
//! least as long as the longest sender's would have: otherwise an application whose
//! database is down for a day loses events the sender would have kept trying. The
//! senders' retry horizons (`Scheme::retry_horizon`, from `../shared/spec/`):
//!
//! | sender | its retries |
//! |---|---|
//! | Stalwart | until events are `discardAfter` old: 5 min (+ 30 s timeout) |
//! | email-API | 3 attempts, after 1, 5 and 30 min: 36 min |
//! | Mailtrap | 10 attempts over 24 h (older docs); 40 × 5 min ≈ 3 h 20 (current) |
//! | WildDuck | 5 attempts within about 30 s |
//! | Standard Webhooks | Svix: 5 s … 10 h, about 27.5 h |
//!
//! The default — 10 s doubling to a 1 h cap, 40 attempts — spaces its attempts over
//! 10 + 20 + … + 2560 s (9 delays, 85 min) and then 30 hourly ones: **31.4 h** before
//! jitter, which only lengthens delays. That outlasts the longest horizon (27.5 h); the
//! 72 h maximum age bounds how long a redriven event may keep trying.

use std::time::Duration;

use crate::time::Timestamp;

/// When to retry a failed attempt, and when to give up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Each delay is stretched by up to this fraction (0.2: up to 20 % longer).
    pub jitter: f64,
    /// Attempts before the event dies (the first attempt counts).
    pub max_attempts: u32,
    /// The event dies when its next attempt would start later than this after it
    /// arrived or was redriven.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    /// 10 s doubling to 1 h, up to 20 % jitter, 40 attempts, 72 h (see the module
    /// docs).
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            jitter: 0.2,
            max_attempts: 40,
            max_age: Duration::from_secs(72 * 3600),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Run again at this time.
    RetryAt(Timestamp),
    /// Give up: the event dies.
    GiveUp(GiveUpReason),
}

/// Why the policy gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// Out of attempts.
    Attempts(u32),
    /// The next attempt would be past the maximum age.
    Age(Duration),
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1-based), before jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_inbox::RetryPolicy;
    ///
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay(1), Duration::from_secs(10));
    /// assert_eq!(policy.delay(4), Duration::from_secs(80));
    /// assert_eq!(policy.delay(30), Duration::from_secs(3600));
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let millis = u64::try_from(self.base.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(factor);
        Duration::from_millis(millis).min(self.max_delay)
    }

    /// The delay after attempt `attempt` with jitter, `unit` being a random number in
    /// `[0, 1)`.
    pub fn jittered(&self, attempt: u32, unit: f64) -> Duration {
        let unit = unit.clamp(0.0, 1.0);
        self.delay(attempt)
            .mul_f64(1.0 + self.jitter.max(0.0) * unit)
    }

    /// What to do after failed attempt `attempt` of an event whose run started at
    /// `since`, at `now`, retrying after `delay` (the policy's, or the handler's own).
    pub fn decide(
        &self,
        attempt: u32,
        since: Timestamp,
        now: Timestamp,
        delay: Duration,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp(GiveUpReason::Attempts(attempt));
        }
        let at = now.after(delay);
        let age = at.since(since);
        if age > self.max_age {
            return RetryDecision::GiveUp(GiveUpReason::Age(self.max_age));
        }
        RetryDecision::RetryAt(at)
    }

    /// The shortest time from the first attempt to the last that this policy allows
    /// (every delay unjittered, no maximum age): how long it keeps retrying at least.
    pub fn min_horizon(&self) -> Duration {
        (1..self.max_attempts)
            .map(|attempt| self.delay(attempt))
            .sum()
    }
}

impl std::fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Attempts(n) => write!(f, "gave up after {n} attempts"),
            Self::Age(age) => write!(
                f,
                "gave up: the next attempt would be more than {} h after the event arrived",
                age.as_secs() / 3600
            ),
        }
    }
}
