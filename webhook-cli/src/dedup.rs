//! Where `webhook listen` remembers the events it processed, when no inbox is used:
//! in memory (one process), or in Redis (`--redis URL`), so that several `listen`
//! replicas behind a load balancer recognise a delivery retried to another one.

use std::time::Duration;

use webhook_core::idempotency::{
    Claim, ClaimToken, DedupKey, IdempotencyStore, MemoryStore, StoreError,
};
use webhook_redis::{RedisConfig, RedisStore};

use crate::error::CliError;

/// The idempotency store of `listen`'s deduplicator.
#[derive(Clone)]
pub(crate) enum DedupStore {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl DedupStore {
    /// The Redis store at `url`, connected now: a Redis that cannot be reached stops
    /// `listen` at start-up rather than failing every delivery.
    pub(crate) async fn redis(url: &str) -> Result<Self, CliError> {
        let store = RedisStore::connect(url, RedisConfig::default())
            .await
            .map_err(|err| CliError::Usage(format!("--redis: {err}")))?;
        Ok(Self::Redis(store))
    }
}

/// Runs `$body` with `$store` bound to the inner store, whichever it is.
macro_rules! dispatch {
    ($self:expr, $store:ident => $body:expr) => {
        match $self {
            DedupStore::Memory($store) => $body,
            DedupStore::Redis($store) => $body,
        }
    };
}

impl IdempotencyStore for DedupStore {
    async fn claim(&self, key: &DedupKey, lease: Duration) -> Result<Claim, StoreError> {
        dispatch!(self, store => store.claim(key, lease).await)
    }

    async fn claim_many(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> Result<Vec<Claim>, StoreError> {
        dispatch!(self, store => store.claim_many(keys, lease).await)
    }

    async fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.complete(key, token, ttl).await)
    }

    async fn release(&self, key: &DedupKey, token: &ClaimToken) -> Result<(), StoreError> {
        dispatch!(self, store => store.release(key, token).await)
    }

    async fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.renew(key, token, lease).await)
    }

    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        dispatch!(self, store => store.release_on_drop(key, token));
    }
}
