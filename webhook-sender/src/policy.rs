//! Delivery policies as data: batching, in-flight limit, retries, success rule, timeout.
//!
//! Each real sender retries in its own way, and a receiver must survive all of them, so
//! the policies are plain values with one preset per sender ([`DeliveryPolicy::stalwart`],
//! [`DeliveryPolicy::email_api`], [`DeliveryPolicy::mailtrap`], [`DeliveryPolicy::mailtrap_current`],
//! [`DeliveryPolicy::wildduck`], [`DeliveryPolicy::standard_webhooks`]) and every field public for a
//! custom one. Two retry models cover them:
//!
//! - [`Retry::Requeue`] (Stalwart): a failed batch goes back in the queue, whole, and leaves
//!   with a later POST (possibly merged with newer events); no backoff beyond the throttle,
//!   no attempt limit; events older than `discard_after` are dropped, and reported, when
//!   their batch is re-queued.
//! - [`Retry::Schedule`] (every other sender): the same request is sent again after each
//!   wait of a fixed list; when the list is used up the request's items are given up.
//!
//! Waits are measured from the end of the failed attempt (its response, error or
//! timeout), as a queue that re-schedules a failed job does.

use std::time::Duration;

use http::StatusCode;

/// How the sender paces, batches, retries and judges its requests.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeliveryPolicy {
    /// Least time between the starts of two requests (new or retried). Stalwart: 1 s, and
    /// the first delivery after an idle period goes out at once. Zero: no pacing.
    pub throttle: Duration,
    /// Most requests in flight at once (at least 1). Stalwart and WildDuck: 1.
    pub max_in_flight: usize,
    /// Most items in one request, on top of the body format's own limit (a raw message is
    /// always alone). `None`: all pending items, as Stalwart does.
    pub max_batch: Option<usize>,
    /// What happens after a failed attempt.
    pub retry: Retry,
    /// Lossy mode: the most items allowed to wait; an item arriving (or coming back
    /// after a failure) when the backlog is full is dropped and counted. `None`: the
    /// backlog grows without bound (Stalwart's default, non-lossy). The backlog is the
    /// items waiting, not those in flight. Stalwart keeps `Error`-level events past its
    /// cap; items here carry no level, so all are treated alike: those already waiting
    /// stay, newcomers are dropped.
    pub lossy: Option<usize>,
    /// Which answers count as delivered.
    pub success: Success,
    /// Overall time allowed for one attempt (connect, send, response). `None`: wait
    /// forever, as WildDuck's HTTP client does.
    pub timeout: Option<Duration>,
    /// Random spread applied to scheduled waits (not to the throttle).
    pub jitter: Option<Jitter>,
}

/// What to do with a failed request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Retry {
    /// Put the items back in the queue (behind newer ones) for a later batch.
    Requeue {
        /// Drop items at least this old (by their creation time) when their batch is
        /// re-queued, reporting each as [`DeliveryOutcome::Discarded`](crate::DeliveryOutcome::Discarded).
        /// `None`: retry forever.
        discard_after: Option<Duration>,
    },
    /// Send the same request again after each wait of the schedule.
    Schedule(Schedule),
}

/// The waits between the attempts of one request: attempt 1 goes at once, attempt
/// `k + 1` goes `waits[k - 1]` after attempt `k` failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    waits: Vec<Duration>,
}

impl Schedule {
    /// One attempt, no retry.
    pub fn once() -> Self {
        Self::default()
    }

    /// Exactly these waits.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_sender::Schedule;
    ///
    /// let s = Schedule::fixed([60, 300, 1800].map(Duration::from_secs));
    /// assert_eq!(s.max_attempts(), 4);
    /// ```
    pub fn fixed(waits: impl IntoIterator<Item = Duration>) -> Self {
        Self {
            waits: waits.into_iter().collect(),
        }
    }

    /// `retries` retries, each `wait` after the previous failure.
    pub fn every(wait: Duration, retries: usize) -> Self {
        Self::fixed(std::iter::repeat_n(wait, retries))
    }

    /// `attempts` attempts in all; the first retry waits `first`, each later wait is
    /// `factor` times the previous one (rounded to whole milliseconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_sender::Schedule;
    ///
    /// let s = Schedule::exponential(Duration::from_secs(2), 2.0, 5);
    /// assert_eq!(s.waits(), [2, 4, 8, 16].map(Duration::from_secs));
    /// ```
    pub fn exponential(first: Duration, factor: f64, attempts: usize) -> Self {
        let first_ms = first.as_secs_f64() * 1000.0;
        let retries = attempts.saturating_sub(1);
        Self::fixed((0..retries).map(|k| {
            let ms = first_ms * factor.powi(i32::try_from(k).unwrap_or(i32::MAX));
            // Saturate rather than overflow for absurd factors.
            Duration::from_millis(if ms.is_finite() && ms < 1e15 {
                ms.round() as u64
            } else {
                u64::MAX / 1000
            })
        }))
    }

    /// The waits, in order.
    pub fn waits(&self) -> &[Duration] {
        &self.waits
    }

    /// Attempts in all (first one included).
    pub fn max_attempts(&self) -> usize {
        self.waits.len() + 1
    }

    /// When each attempt starts, relative to the first, if every attempt fails at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_sender::DeliveryPolicy;
    ///
    /// let offsets = DeliveryPolicy::email_api().schedule().unwrap().offsets();
    /// assert_eq!(offsets, [0, 60, 360, 2160].map(Duration::from_secs));
    /// ```
    pub fn offsets(&self) -> Vec<Duration> {
        let mut at = Duration::ZERO;
        std::iter::once(at)
            .chain(self.waits.iter().map(|wait| {
                at += *wait;
                at
            }))
            .collect()
    }

    /// The wait after failed attempt number `attempt` (1-based), if another is allowed.
    pub(crate) fn wait_after(&self, attempt: u32) -> Option<Duration> {
        let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
        self.waits.get(index).copied()
    }
}

/// Which HTTP answers count as delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Success {
    /// Any 2xx status (Stalwart, email-API senders, WildDuck, Svix).
    Any2xx,
    /// `200 OK` only (Mailtrap's documented rule).
    Only200,
}

impl Success {
    /// Whether `status` counts as delivered.
    pub fn accepts(self, status: StatusCode) -> bool {
        match self {
            Success::Any2xx => status.is_success(),
            Success::Only200 => status == StatusCode::OK,
        }
    }
}

/// Random spread of scheduled waits: each wait is multiplied by a factor drawn
/// uniformly from `[1 - ratio, 1 + ratio]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    /// Half-width of the spread, between 0 and 1.
    pub ratio: f64,
    /// Seed of the random sequence, for reproducible schedules in tests. `None`: seeded
    /// from the process's randomness.
    pub seed: Option<u64>,
}

impl Jitter {
    /// A spread of `ratio` (clamped to `0..=1`), randomly seeded.
    pub fn new(ratio: f64) -> Self {
        Self {
            ratio: if ratio.is_finite() {
                ratio.clamp(0.0, 1.0)
            } else {
                0.0
            },
            seed: None,
        }
    }

    /// The same spread with a fixed seed: the same waits on every run.
    pub fn seeded(self, seed: u64) -> Self {
        Self {
            seed: Some(seed),
            ..self
        }
    }

    pub(crate) fn apply(&self, wait: Duration, rng: &mut fastrand::Rng) -> Duration {
        let factor = 1.0 + self.ratio * (2.0 * rng.f64() - 1.0);
        Duration::from_secs_f64((wait.as_secs_f64() * factor).max(0.0))
    }
}

impl DeliveryPolicy {
    /// A custom policy: `retry`, one request at a time, no throttle, success on any 2xx,
    /// 30 s timeout. Adjust the public fields or use the `with_*` methods.
    pub fn custom(retry: Retry) -> Self {
        Self {
            throttle: Duration::ZERO,
            max_in_flight: 1,
            max_batch: None,
            retry,
            lossy: None,
            success: Success::Any2xx,
            timeout: Some(Duration::from_secs(30)),
            jitter: None,
        }
    }

    /// The retry schedule, if this policy uses one.
    pub fn schedule(&self) -> Option<&Schedule> {
        match &self.retry {
            Retry::Schedule(schedule) => Some(schedule),
            Retry::Requeue { .. } => None,
        }
    }

    /// Sets [`DeliveryPolicy::throttle`].
    pub fn with_throttle(mut self, throttle: Duration) -> Self {
        self.throttle = throttle;
        self
    }

    /// Sets [`DeliveryPolicy::timeout`].
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Turns on lossy mode with a backlog cap of `cap` items ([`STALWART_LOSSY_CAP`](crate::STALWART_LOSSY_CAP) for
    /// Stalwart's).
    pub fn with_lossy(mut self, cap: usize) -> Self {
        self.lossy = Some(cap);
        self
    }

    /// Sets the discard-after age of a [`Retry::Requeue`] policy (no effect otherwise).
    pub fn with_discard_after(mut self, age: Option<Duration>) -> Self {
        if let Retry::Requeue { discard_after } = &mut self.retry {
            *discard_after = age;
        }
        self
    }

    /// Sets [`DeliveryPolicy::jitter`].
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Sets [`DeliveryPolicy::success`].
    pub fn with_success(mut self, success: Success) -> Self {
        self.success = success;
        self
    }

    /// Sets [`DeliveryPolicy::max_in_flight`].
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Sets [`DeliveryPolicy::max_batch`].
    pub fn with_max_batch(mut self, max: Option<usize>) -> Self {
        self.max_batch = max;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::ConfigError;
        if self.max_in_flight == 0 {
            return Err(ConfigError::ZeroInFlight);
        }
        if self.max_batch == Some(0) {
            return Err(ConfigError::ZeroBatch);
        }
        if self.lossy == Some(0) {
            return Err(ConfigError::ZeroLossyCap);
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroTimeout);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &[f64]) -> Vec<Duration> {
        s.iter().map(|&s| Duration::from_secs_f64(s)).collect()
    }

    #[test]
    fn preset_schedules() {
        assert_eq!(
            DeliveryPolicy::wildduck().schedule().unwrap().offsets(),
            secs(&[0.0, 2.0, 6.0, 14.0, 30.0])
        );
        let mailtrap = DeliveryPolicy::mailtrap();
        let schedule = mailtrap.schedule().unwrap();
        assert_eq!(schedule.max_attempts(), 10);
        assert_eq!(schedule.waits()[0], Duration::from_secs(60));
        let last = *schedule.offsets().last().unwrap();
        assert!(last <= Duration::from_secs(24 * 3600), "{last:?}");
        assert!(last >= Duration::from_secs(23 * 3600), "{last:?}");
        // 2.32 would pass 24 h: 2.31 is the largest two-decimal factor that fits.
        let over = Schedule::exponential(Duration::from_secs(60), 2.32, 10);
        assert!(*over.offsets().last().unwrap() > Duration::from_secs(24 * 3600));
        let current = DeliveryPolicy::mailtrap_current();
        assert_eq!(current.schedule().unwrap().max_attempts(), 41);
        assert_eq!(current.success, Success::Only200);
        assert!(DeliveryPolicy::stalwart().schedule().is_none());
    }

    #[test]
    fn success_rules() {
        assert!(Success::Any2xx.accepts(StatusCode::NO_CONTENT));
        assert!(!Success::Only200.accepts(StatusCode::NO_CONTENT));
        assert!(Success::Only200.accepts(StatusCode::OK));
        assert!(!Success::Any2xx.accepts(StatusCode::FOUND));
    }

    #[test]
    fn jitter_is_reproducible_and_bounded() {
        let jitter = Jitter::new(0.5).seeded(7);
        let draw = || {
            let mut rng = fastrand::Rng::with_seed(7);
            (0..50)
                .map(|_| jitter.apply(Duration::from_secs(10), &mut rng))
                .collect::<Vec<_>>()
        };
        let a = draw();
        assert_eq!(a, draw());
        assert!(
            a.iter()
                .all(|d| *d >= Duration::from_secs(5) && *d <= Duration::from_secs(15))
        );
        assert!(a.iter().any(|d| *d != Duration::from_secs(10)));
    }
}
