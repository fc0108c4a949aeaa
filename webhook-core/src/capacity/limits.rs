//! [`ServeLimits`]: how long a receiver waits for each part of a request, how many
//! connections it keeps open, and how many body bytes it holds. One set of defaults,
//! applied by `webhook_axum::serve` and by `webhook_actix::apply_limits`.
//!
//! A receiver is reachable by anyone before a single signature is checked, so each of
//! these is a way for a client without the secret to hold the receiver's resources:
//!
//! - **the request head** (slowloris): a client that trickles its headers holds a
//!   connection, and a descriptor, for as long as the server waits;
//! - **the body**: the same, a byte at a time, after a complete head;
//! - **idle keep-alive connections**, which hold descriptors between requests;
//! - **connections** in bulk: past the process's descriptor limit, `accept` fails and
//!   the receiver stops answering everyone;
//! - **memory**: bodies are read whole before verifying (see [`BodyBudget`]).
//!
//! The defaults are sized for webhook senders, which are servers on good links sending
//! small requests: every seed sender finishes a request in well under a second and
//! gives up on it after 30 s at most (Stalwart's `timeout`).

use std::time::Duration;

use super::BodyBudget;

/// Time allowed for a complete request head (request line and headers) from the
/// moment the connection is accepted.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a body, before [`DEFAULT_MIN_BODY_RATE`] extends it.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Each this many bytes of a body received extends its deadline by one second: a
/// 1 MiB body may take 10 s + 16 s, a client trickling bytes is cut off after about
/// 10 s.
pub const DEFAULT_MIN_BODY_RATE: u64 = 64 * 1024;
/// Time an idle keep-alive connection is kept waiting for its next request (its head
/// included). Shorter than the connection pools of the senders' HTTP clients (90 s for
/// reqwest, hyper), which reconnect transparently.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The most connections kept open when the descriptor limit would allow more: each
/// costs tens of KiB of buffers, and no webhook sender opens more than a few.
pub const MAX_CONNECTIONS_CEILING: usize = 8192;
/// Descriptors always left for the rest of the process (listener, runtime, logs,
/// database connections) below the descriptor limit; a quarter of the limit when that
/// is more.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// The deadlines, the connection cap and the body budget of a receiver.
///
/// ```
/// use std::time::Duration;
/// use webhook_core::capacity::{BodyBudget, ServeLimits};
///
/// let limits = ServeLimits::default()
///     .with_head_timeout(Duration::from_secs(5))
///     .with_body_budget(BodyBudget::new(16 << 20));
/// assert_eq!(limits.head_timeout(), Duration::from_secs(5));
/// // A body may take its timeout, plus a second per `min_body_rate` bytes received.
/// assert_eq!(limits.body_allowance(128 * 1024), Duration::from_secs(12));
/// // Derived from the descriptor limit, read when asked (at server start-up).
/// assert!(limits.max_connections() >= 1);
/// ```
#[derive(Debug, Clone)]
pub struct ServeLimits {
    head_timeout: Duration,
    body_timeout: Duration,
    min_body_rate: u64,
    idle_timeout: Duration,
    max_connections: Option<usize>,
    body_budget: BodyBudget,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            head_timeout: DEFAULT_HEAD_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            min_body_rate: DEFAULT_MIN_BODY_RATE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: None,
            body_budget: BodyBudget::global().clone(),
        }
    }
}

impl ServeLimits {
    /// Time allowed for the first request's head, from the connection's accept
    /// (default [`DEFAULT_HEAD_TIMEOUT`]). A client that has not sent a complete head by
    /// then is disconnected.
    pub fn with_head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// Time allowed for a body before the minimum rate extends it (default
    /// [`DEFAULT_BODY_TIMEOUT`]). A body later than [`body_allowance`](Self::body_allowance)
    /// is answered 408 `body_timeout` and its connection closed.
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Each `bytes_per_second` bytes of body received extends the body's deadline by one
    /// second (default [`DEFAULT_MIN_BODY_RATE`]; 0 is taken as 1).
    pub fn with_min_body_rate(mut self, bytes_per_second: u64) -> Self {
        self.min_body_rate = bytes_per_second.max(1);
        self
    }

    /// Time an idle keep-alive connection waits for its next complete request head
    /// (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The most connections open at once (at least 1). It is still kept below the
    /// descriptor limit: see [`max_connections`](Self::max_connections).
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = Some(connections.max(1));
        self
    }

    /// The budget request bodies are reserved from (default: [`BodyBudget::global`]).
    pub fn with_body_budget(mut self, budget: BodyBudget) -> Self {
        self.body_budget = budget;
        self
    }

    /// Time allowed for the first request's head.
    pub fn head_timeout(&self) -> Duration {
        self.head_timeout
    }

    /// Time allowed for a body before the minimum rate extends it.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// Bytes of body that buy one more second.
    pub fn min_body_rate(&self) -> u64 {
        self.min_body_rate
    }

    /// Time an idle keep-alive connection waits for its next request.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// The budget request bodies are reserved from.
    pub fn body_budget(&self) -> &BodyBudget {
        &self.body_budget
    }

    /// The connection cap: the configured one, or [`MAX_CONNECTIONS_CEILING`], and in
    /// either case at most what the process's descriptor limit leaves after
    /// [`RESERVED_DESCRIPTORS`] (see [`max_connections_for`]). Reads the limit each call:
    /// servers call it once, at start-up.
    pub fn max_connections(&self) -> usize {
        let limit = descriptor_limit();
        let room = descriptor_room(limit);
        self.max_connections
            .unwrap_or(MAX_CONNECTIONS_CEILING)
            .min(room)
            .max(1)
    }

    /// How long after its start a body that has delivered `received` bytes so far may
    /// still take: [`body_timeout`](Self::body_timeout) plus one second per
    /// [`min_body_rate`](Self::min_body_rate) bytes.
    pub fn body_allowance(&self, received: u64) -> Duration {
        let extra_nanos = u128::from(received) * 1_000_000_000 / u128::from(self.min_body_rate);
        let extra = Duration::from_nanos(u64::try_from(extra_nanos).unwrap_or(u64::MAX));
        self.body_timeout.saturating_add(extra)
    }

    /// The error for a body that had delivered `received` bytes after `waited`, past its
    /// allowance.
    pub fn slow_body(&self, received: u64, waited: Duration) -> SlowBody {
        SlowBody {
            received,
            waited,
            body_timeout: self.body_timeout,
            min_body_rate: self.min_body_rate,
        }
    }
}

/// The soft limit on open file descriptors (`RLIMIT_NOFILE`) of this process, or `None`
/// when it is unlimited or cannot be read (not a Unix).
pub fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap a descriptor limit allows: the limit minus
/// [`RESERVED_DESCRIPTORS`] (or a quarter of it, whichever is more), capped at
/// [`MAX_CONNECTIONS_CEILING`]; the ceiling when there is no limit.
///
/// ```
/// use webhook_core::capacity::max_connections_for;
///
/// assert_eq!(max_connections_for(Some(256)), 192);
/// assert_eq!(max_connections_for(Some(1024)), 768);
/// assert_eq!(max_connections_for(Some(1 << 20)), 8192);
/// ```
pub fn max_connections_for(descriptor_limit: Option<u64>) -> usize {
    descriptor_room(descriptor_limit).min(MAX_CONNECTIONS_CEILING)
}

/// The connections a descriptor limit has room for, without the ceiling.
fn descriptor_room(limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return usize::MAX;
    };
    let reserve = RESERVED_DESCRIPTORS.max(limit / 4);
    let room = if limit > reserve {
        limit - reserve
    } else {
        limit / 2
    };
    usize::try_from(room.max(1)).unwrap_or(usize::MAX)
}

/// A request body arrived more slowly than [`ServeLimits::body_allowance`] allows:
/// answered 408 `body_timeout`, and the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the request body arrived too slowly: {received} bytes after {:.1} s, where the \
     receiver allows {:.1} s plus one second per {min_body_rate} bytes; send the body \
     without pausing",
    .waited.as_secs_f64(),
    .body_timeout.as_secs_f64()
)]
pub struct SlowBody {
    /// Bytes of the body received before the deadline.
    pub received: u64,
    /// Time since the body was first waited for.
    pub waited: Duration,
    /// The receiver's [`ServeLimits::body_timeout`].
    pub body_timeout: Duration,
    /// The receiver's [`ServeLimits::min_body_rate`].
    pub min_body_rate: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_descriptor_limit() {
        assert_eq!(max_connections_for(Some(256)), 192);
        assert_eq!(max_connections_for(Some(100)), 36);
        assert_eq!(max_connections_for(Some(64)), 32);
        assert_eq!(max_connections_for(Some(1)), 1);
        assert_eq!(max_connections_for(Some(20_000)), MAX_CONNECTIONS_CEILING);
        assert_eq!(max_connections_for(None), MAX_CONNECTIONS_CEILING);
    }

    #[test]
    fn a_configured_cap_is_still_kept_below_the_limit() {
        let limits = ServeLimits::default().with_max_connections(usize::MAX);
        let room = descriptor_room(descriptor_limit());
        assert_eq!(limits.max_connections(), room.max(1));
        assert_eq!(
            ServeLimits::default()
                .with_max_connections(0)
                .max_connections(),
            1
        );
    }

    #[test]
    fn the_body_allowance_grows_with_the_bytes_received() {
        let limits = ServeLimits::default()
            .with_body_timeout(Duration::from_secs(2))
            .with_min_body_rate(1000);
        assert_eq!(limits.body_allowance(0), Duration::from_secs(2));
        assert_eq!(limits.body_allowance(1500), Duration::from_millis(3500));
        let huge = limits.with_min_body_rate(0).body_allowance(u64::MAX);
        assert!(
            huge > Duration::from_secs(100 * 365 * 86_400),
            "saturates instead of overflowing"
        );
    }

    #[test]
    fn the_slow_body_message_says_what_the_receiver_allows() {
        let limits = ServeLimits::default();
        let message = limits
            .slow_body(12, Duration::from_millis(10_400))
            .to_string();
        assert!(message.contains("12 bytes after 10.4 s"), "{message}");
        assert!(
            message.contains("10.0 s plus one second per 65536 bytes"),
            "{message}"
        );
    }
}
