//! [`RedisStore`]: the idempotency store shared by every replica of a receiver.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use redis::{
    Client, ErrorKind, RedisError, ServerErrorKind,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use webhook_core::idempotency::{Claim, ClaimToken, DedupKey, IdempotencyStore, StoreError};

use crate::{
    config::{ConnectError, RedisConfig},
    scripts::Scripts,
};

/// An idempotency store in Redis, shared by every replica that points at the same
/// server and key prefix.
///
/// Cheap to clone: clones share one multiplexed connection (a `redis`
/// [`ConnectionManager`], which reconnects by itself). Its futures run on a tokio
/// runtime with the time driver enabled (`#[tokio::main]`, axum and actix-web's
/// runtimes all have it): the timeouts use it. Every operation is one atomic Lua script and is bounded by the configured
/// timeout: a dead or stalled Redis yields [`StoreError::Unavailable`] within it, and
/// the [`DedupPolicy`](webhook_core::idempotency::DedupPolicy)'s failure policy decides what
/// happens to the event (by default: not processed, 503, the sender retries).
///
/// ```no_run
/// use webhook_core::{Scheme, idempotency::{DedupKey, Deduplicator}};
/// use webhook_redis::{RedisConfig, RedisStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect("redis://127.0.0.1:6379/", RedisConfig::default()).await?;
/// let dedup = Deduplicator::for_scheme(store, Scheme::Mailtrap);
///
/// let key = DedupKey::event_id(Scheme::Mailtrap, "bede7236-2284-43d6-a953-1fdcafd0fdbc")?;
/// let outcome = dedup.run_once(&key, || async {
///     // the handler's side effects
///     Ok::<_, std::io::Error>(())
/// }).await;
/// let answer = outcome.answer(); // 200, 409 or 503 (+ Retry-After), or 500
/// # let _ = answer;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    shared: Arc<Shared>,
}

struct Shared {
    config: RedisConfig,
    scripts: Scripts,
    /// Random per store instance: tokens from different replicas never collide, even
    /// across restarts.
    instance: [u8; 8],
    counter: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to Redis at `url` (`redis://[user:password@]host[:port][/db]`) and
    /// fails if it does not answer within the connection timeout.
    pub async fn connect(url: &str, config: RedisConfig) -> Result<Self, ConnectError> {
        let client = client(url)?;
        let manager = ConnectionManager::new_with_config(client, manager_config(&config));
        let connection = tokio::time::timeout(config.connect_timeout(), manager)
            .await
            .map_err(|_| ConnectError::Unreachable {
                detail: format!("no answer within {:?}", config.connect_timeout()),
            })?
            .map_err(|error| ConnectError::Unreachable {
                detail: error.to_string(),
            })?;
        Self::from_manager(connection, config)
    }

    /// A store that connects on first use, so the receiver can start while Redis is
    /// down (operations fail as unavailable until it is up). Must be called within a
    /// tokio runtime.
    pub fn connect_lazy(url: &str, config: RedisConfig) -> Result<Self, ConnectError> {
        let client = client(url)?;
        let connection = ConnectionManager::new_lazy_with_config(client, manager_config(&config))
            .map_err(|error| ConnectError::Unreachable {
            detail: error.to_string(),
        })?;
        Self::from_manager(connection, config)
    }

    /// A store over a connection manager the application already has.
    pub fn from_manager(
        connection: ConnectionManager,
        config: RedisConfig,
    ) -> Result<Self, ConnectError> {
        let mut instance = [0; 8];
        getrandom::fill(&mut instance).map_err(|error| ConnectError::Unreachable {
            detail: format!("no randomness for claim tokens: {error}"),
        })?;
        Ok(Self {
            connection,
            shared: Arc::new(Shared {
                config,
                scripts: Scripts::new(),
                instance,
                counter: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// The Redis key for an event: the prefix, then the key's bytes.
    pub fn redis_key(&self, key: &DedupKey) -> Vec<u8> {
        let prefix = self.shared.config.key_prefix().as_bytes();
        let mut out = Vec::with_capacity(prefix.len() + key.as_bytes().len());
        out.extend_from_slice(prefix);
        out.extend_from_slice(key.as_bytes());
        out
    }

    fn new_token(&self) -> ClaimToken {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.shared.instance);
        let count = self.shared.counter.fetch_add(1, Ordering::Relaxed);
        bytes[8..].copy_from_slice(&count.to_be_bytes());
        ClaimToken::from_bytes(bytes)
    }

    /// Runs one script invocation within the timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        let timeout = self.shared.config.timeout();
        match tokio::time::timeout(timeout, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(&error)),
            Err(_) => Err(StoreError::unavailable(format_args!(
                "Redis did not answer within {timeout:?}"
            ))),
        }
    }

    async fn claim_keys(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> Result<Vec<Claim>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let tokens: Vec<ClaimToken> = keys.iter().map(|_| self.new_token()).collect();
        let mut invocation = self.shared.scripts.claim.prepare_invoke();
        invocation.arg(millis(lease));
        for (key, token) in keys.iter().zip(&tokens) {
            invocation.key(self.redis_key(key)).arg(held_value(token));
        }
        let reply: Vec<i64> = self.run(&invocation).await?;
        if reply.len() != 2 * keys.len() {
            return Err(StoreError::Protocol {
                detail: format!(
                    "the claim script answered {} values for {} keys",
                    reply.len(),
                    keys.len()
                ),
            });
        }
        let mut claims = Vec::with_capacity(keys.len());
        for ((pair, token), key) in reply.chunks_exact(2).zip(tokens).zip(keys) {
            claims.push(match pair[0] {
                0 => Claim::Fresh(token),
                1 => Claim::InProgress {
                    remaining: u64::try_from(pair[1]).ok().map(Duration::from_millis),
                },
                2 => Claim::Done,
                _ => return Err(foreign(key)),
            });
        }
        Ok(claims)
    }

    async fn complete_key(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut invocation = self.shared.scripts.complete.prepare_invoke();
        invocation
            .key(self.redis_key(key))
            .arg(held_value(token))
            .arg(millis(ttl));
        match self.run::<i64>(&invocation).await? {
            1 => Ok(()),
            0 => Err(StoreError::LeaseLost),
            _ => Err(foreign(key)),
        }
    }

    async fn release_key(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        let mut invocation = self.shared.scripts.release.prepare_invoke();
        invocation.key(self.redis_key(key)).arg(held_value(token));
        match self.run::<i64>(&invocation).await? {
            1 => Ok(()),
            0 => Err(StoreError::LeaseLost),
            _ => Err(foreign(key)),
        }
    }

    async fn renew_key(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let mut invocation = self.shared.scripts.renew.prepare_invoke();
        invocation
            .key(self.redis_key(key))
            .arg(held_value(token))
            .arg(millis(lease));
        match self.run::<i64>(&invocation).await? {
            1 => Ok(()),
            0 => Err(StoreError::LeaseLost),
            _ => Err(foreign(key)),
        }
    }
}

impl IdempotencyStore for RedisStore {
    async fn claim(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        let mut claims = self.claim_keys(std::slice::from_ref(key), lease).await?;
        claims.pop().ok_or_else(|| StoreError::Protocol {
            detail: "the claim script answered nothing".to_owned(),
        })
    }

    /// One round trip for the whole batch (one script over all keys, atomic).
    fn claim_many(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send {
        self.claim_keys(keys, lease)
    }

    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.complete_key(key, token, ttl)
    }

    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.release_key(key, token)
    }

    /// One script: `PEXPIRE` only while the value is still this claim's `p:<token>`.
    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.renew_key(key, token, lease)
    }

    /// Spawns the release on the current tokio runtime, if there is one; otherwise the
    /// lease running out frees the key.
    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, key, token) = (self.clone(), key.clone(), token.clone());
        runtime.spawn(async move {
            // Best effort: if this fails too, the lease runs out.
            let _ = store.release_key(&key, &token).await;
        });
    }
}

fn client(url: &str) -> Result<Client, ConnectError> {
    Client::open(url).map_err(|error| ConnectError::InvalidUrl {
        detail: error.to_string(),
    })
}

fn manager_config(config: &RedisConfig) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout()))
        .set_response_timeout(Some(config.timeout()))
        // Reconnect quickly and give up soon: the next operation starts a new attempt,
        // and meanwhile requests are answered 503 rather than held.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// What a claim in progress stores: `p:` and the token in hex.
fn held_value(token: &ClaimToken) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = token.to_bytes();
    let mut value = String::with_capacity(2 + 2 * bytes.len());
    value.push_str("p:");
    for byte in bytes {
        value.push(char::from(DIGITS[usize::from(byte >> 4)]));
        value.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    value
}

/// Redis expiries are whole milliseconds and must be positive.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn foreign(key: &DedupKey) -> StoreError {
    StoreError::Protocol {
        detail: format!("the Redis key for {key} holds a value hookwise did not write"),
    }
}

/// Connection trouble means unavailable (retry later); a refusal of the command itself
/// means something is wrong with the data or the server's setup.
fn classify(error: &RedisError) -> StoreError {
    let protocol = match error.kind() {
        ErrorKind::Server(kind) => !matches!(
            kind,
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
        ),
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType | ErrorKind::Extension => true,
        _ => false,
    };
    if protocol {
        StoreError::Protocol {
            detail: error.to_string(),
        }
    } else {
        StoreError::unavailable(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_values_are_prefixed_hex() {
        let token = ClaimToken::from_bytes([0xab; 16]);
        assert_eq!(held_value(&token), format!("p:{}", "ab".repeat(16)));
    }

    #[test]
    fn expiries_are_positive_milliseconds() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
