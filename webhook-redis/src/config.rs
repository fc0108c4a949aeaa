//! How a [`RedisStore`](crate::RedisStore) names its keys and how long it waits, and
//! why connecting can fail.

use std::time::Duration;

/// The key prefix used when none is configured.
pub const DEFAULT_KEY_PREFIX: &str = "hookwise:idem:";

/// How long an operation may take before the store reports Redis unavailable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings of a [`RedisStore`](crate::RedisStore).
///
/// ```
/// use std::time::Duration;
/// use webhook_redis::RedisConfig;
///
/// let config = RedisConfig::default()
///     .with_key_prefix("billing:webhooks:")
///     .with_timeout(Duration::from_millis(250));
/// assert_eq!(config.key_prefix(), "billing:webhooks:");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    key_prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
}

impl Default for RedisConfig {
    /// Prefix [`DEFAULT_KEY_PREFIX`], 1 s operation and connection timeouts.
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl RedisConfig {
    /// Puts every key under `prefix` (the default is [`DEFAULT_KEY_PREFIX`]). Give each
    /// application sharing a Redis its own. With Redis Cluster, a hash tag such as
    /// `{hookwise}:` keeps a batch's keys in one slot, as the batch claim needs.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one operation may take before it fails as
    /// [`StoreError::Unavailable`](webhook_core::idempotency::StoreError::Unavailable)
    /// (default 1 s): a dead or stalled Redis must not hang the request, whose sender
    /// has its own timeout (30 s for Stalwart and Mailtrap).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long one connection attempt may take (default 1 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The operation timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connection timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
}

/// A [`RedisStore`](crate::RedisStore) could not be set up. The messages never repeat
/// the URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL.
    #[error(
        "the Redis URL is invalid ({detail}): expected redis://[user:password@]host[:port][/db]"
    )]
    InvalidUrl {
        /// Why it was refused.
        detail: String,
    },
    /// Redis did not answer.
    #[error(
        "could not connect to Redis ({detail}): check that it runs and is reachable, or use \
         `connect_lazy` to start without it"
    )]
    Unreachable {
        /// What failed.
        detail: String,
    },
}
