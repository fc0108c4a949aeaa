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
//! Which failures are retried is [`RetryOn`]: every sender's own rule retries them all
//! ([`RetryOn::AnyFailure`], a 400 like a 503, as their documentation and code do);
//! [`RetryOn::Transient`] gives a permanent 4xx up at once, for tools and test harnesses.
//! [`DeliveryPolicy::retry_rule`] says the rule in words for a report.
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
    /// Which failed attempts are retried: every sender's own rule is
    /// [`RetryOn::AnyFailure`] (their documentation and code retry every non-success
    /// answer alike, a `400` as much as a `503`).
    pub retry_on: RetryOn,
}

/// Which failed attempts [`DeliveryPolicy::retry`] applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RetryOn {
    /// Every failure: any answer the success rule refuses, a timeout, a connection
    /// error. What Stalwart, the email-API senders, Mailtrap, WildDuck and Svix do.
    #[default]
    AnyFailure,
    /// Only failures that may pass on their own: a permanent client error (a 4xx other
    /// than 408, 425 and 429: a wrong signature, a body too large, an unsupported media
    /// type) gives the request's items up at once, since resending the same bytes gets
    /// the same answer. For test harnesses and tools, not a real sender's rule.
    Transient,
}

impl RetryOn {
    /// Whether a request that got `status` (a failure under the success rule) may be
    /// retried.
    pub fn retries(self, status: StatusCode) -> bool {
        match self {
            RetryOn::AnyFailure => true,
            RetryOn::Transient => !is_permanent(status),
        }
    }
}

/// A 4xx that resending the same request cannot change (408 Request Timeout, 425 Too
/// Early and 429 Too Many Requests can).
pub(crate) fn is_permanent(status: StatusCode) -> bool {
    status.is_client_error() && ![408, 425, 429].contains(&status.as_u16())
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
            retry_on: RetryOn::AnyFailure,
        }
    }

    /// Sets [`DeliveryPolicy::retry_on`].
    pub fn with_retry_on(mut self, retry_on: RetryOn) -> Self {
        self.retry_on = retry_on;
        self
    }

    /// The retry rule in words, for people reading a delivery report: what is retried,
    /// and how.
    ///
    /// ```
    /// use webhook_sender::{DeliveryPolicy, RetryOn};
    ///
    /// assert_eq!(
    ///     DeliveryPolicy::wildduck().retry_rule(),
    ///     "every failed attempt (any non-2xx answer, a timeout or a connection error) is \
    ///      retried, 4xx included: 5 attempts in all, waits of 2 s, 4 s, 8 s, 16 s"
    /// );
    /// let tool = DeliveryPolicy::wildduck().with_retry_on(RetryOn::Transient);
    /// assert!(tool.retry_rule().starts_with("a permanent 4xx answer is given up at once"));
    /// ```
    pub fn retry_rule(&self) -> String {
        let what = match self.retry_on {
            RetryOn::AnyFailure => format!(
                "every failed attempt (any {} answer, a timeout or a connection error) is \
                 retried, 4xx included",
                match self.success {
                    Success::Any2xx => "non-2xx",
                    Success::Only200 => "non-200",
                }
            ),
            RetryOn::Transient => "a permanent 4xx answer is given up at once; other failures \
                 are retried"
                .to_owned(),
        };
        let how = match &self.retry {
            Retry::Requeue {
                discard_after: Some(age),
            } => format!(
                "the batch is re-queued (no backoff, one request per {} at most) until its \
                 events are {} old",
                seconds(self.throttle),
                seconds(*age)
            ),
            Retry::Requeue {
                discard_after: None,
            } => "the batch is re-queued and retried forever".to_owned(),
            Retry::Schedule(schedule) if schedule.waits().is_empty() => {
                "1 attempt, no retry".to_owned()
            }
            Retry::Schedule(schedule) => {
                let waits: Vec<String> = schedule.waits().iter().map(|w| seconds(*w)).collect();
                let shown = if waits.len() > 6 {
                    format!("{}, … {}", waits[..3].join(", "), waits[waits.len() - 1])
                } else {
                    waits.join(", ")
                };
                format!(
                    "{} attempts in all, waits of {shown}",
                    schedule.max_attempts()
                )
            }
        };
        format!("{what}: {how}")
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

/// A duration in the largest whole unit that fits it (`2 s`, `5 min`, `10 h`).
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else if duration.subsec_millis() == 0 {
        format!("{secs} s")
    } else {
        format!("{:.1} s", duration.as_secs_f64())
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
    fn only_permanent_client_errors_escape_a_transient_rule() {
        for code in [400, 401, 403, 404, 410, 413, 415, 422] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(!RetryOn::Transient.retries(status), "{code}");
            assert!(RetryOn::AnyFailure.retries(status), "{code}");
        }
        for code in [302, 408, 425, 429, 500, 502, 503] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(RetryOn::Transient.retries(status), "{code}");
        }
        assert!(
            DeliveryPolicy::stalwart()
                .retry_rule()
                .ends_with("until its events are 5 min old"),
            "{}",
            DeliveryPolicy::stalwart().retry_rule()
        );
        assert!(
            DeliveryPolicy::mailtrap()
                .retry_rule()
                .starts_with("every failed attempt (any non-200 answer")
        );
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
