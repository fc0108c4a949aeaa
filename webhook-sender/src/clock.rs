//! Wall-clock time for the sender, injectable so that hours-long schedules run in
//! milliseconds under test.
//!
//! The sender needs two kinds of time. Waiting (throttle, retry waits, timeouts) always
//! goes through `tokio::time`, which a test can pause and advance. Wall time (Stalwart's
//! `createdAt`, the Standard Webhooks timestamp, the age checked by discard-after, the
//! time in the delivery log) comes from a [`WallClock`]: [`SystemClock`] in production, and
//! [`TokioClock`], which follows `tokio::time`, in tests, so that a paused runtime moves
//! both kinds together.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};

/// A source of wall-clock time.
pub trait WallClock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Wall time that advances with `tokio::time`: `start` plus the time elapsed on tokio's
/// clock since this value was made. Under a paused runtime
/// (`#[tokio::test(start_paused = true)]`) it jumps with every auto-advance.
///
/// Make it inside the runtime whose clock it should follow.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use webhook_sender::{WallClock, TokioClock};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_755_784_900);
/// let clock = TokioClock::starting_at(start);
/// tokio::time::sleep(Duration::from_secs(3600)).await; // instant under paused time
/// assert_eq!(clock.now(), start + Duration::from_secs(3600));
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: SystemTime,
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start` now.
    pub fn starting_at(start: SystemTime) -> Self {
        Self {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    /// Time elapsed on tokio's clock since this clock was made.
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }
}

impl WallClock for TokioClock {
    fn now(&self) -> SystemTime {
        self.start + self.origin.elapsed()
    }
}

/// `time` as whole Unix seconds (negative before 1970), saturating.
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// `now` truncated to the second, as the senders that write whole-second times do.
pub(crate) fn whole_seconds(now: SystemTime) -> DateTime<Utc> {
    let at = DateTime::<Utc>::from(now);
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}
