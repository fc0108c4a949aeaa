//! The store contract: claim, complete, release.
//!
//! A store answers one question atomically — "may this delivery process this event?" —
//! and remembers the answer for a while. Its three operations:
//!
//! - [`claim`](IdempotencyStore::claim) `(key, lease)`: if nobody holds the key and it is
//!   not done, take it for `lease` and return [`Claim::Fresh`] with a [`ClaimToken`];
//!   if another delivery holds it, [`Claim::InProgress`]; if it was completed and its
//!   ttl has not run out, [`Claim::Done`]. A lease that runs out frees the key: a holder
//!   that crashed never blocks the event for longer than its lease.
//! - [`complete`](IdempotencyStore::complete) `(key, token, ttl)`: the handler succeeded;
//!   remember the key as done for `ttl`.
//! - [`release`](IdempotencyStore::release) `(key, token)`: the handler failed; forget the
//!   claim so the sender's retry is processed.
//! - [`renew`](IdempotencyStore::renew) `(key, token, lease)`: the handler is still
//!   running; extend the claim so a slow handler is not claimed and run a second time.
//!   Adapters call it at a third of the lease while the handler runs.
//!
//! All three take the token: a token that no longer owns the key (its lease ran out and
//! another delivery claimed it) fails with [`StoreError::LeaseLost`] and leaves the other
//! claim untouched. A token whose lease ran out while nobody else claimed the key may
//! still complete (the handler did succeed) and releasing it is a no-op.

use std::{future::Future, sync::Arc, time::Duration};

use super::{DedupKey, StoreError};

/// Proof that a [`Claim::Fresh`] holder owns a key. Opaque: only the store that issued
/// it interprets the bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken([u8; 16]);

impl ClaimToken {
    /// A token from its bytes (for store implementations).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The token's bytes (for store implementations).
    pub const fn to_bytes(&self) -> [u8; 16] {
        self.0
    }
}

impl std::fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClaimToken({})", hex::encode(self.0))
    }
}

/// The answer to a claim.
#[must_use = "a fresh claim must be completed or released"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds the key and it is not done: this delivery now owns it until the
    /// lease runs out. Complete or release it with the token.
    Fresh(ClaimToken),
    /// Another delivery holds the key and its lease has not run out.
    InProgress {
        /// How much of the holder's lease is left, if the store knows: the earliest
        /// moment a retry could be processed if the holder crashed.
        remaining: Option<Duration>,
    },
    /// The event was completed and is remembered for its ttl: a duplicate.
    Done,
}

/// A place that remembers which events were claimed and processed.
///
/// Implemented by [`MemoryStore`](super::MemoryStore) (embedded) and by the
/// `webhook-redis` crate's `RedisStore` (shared between replicas). The futures are
/// `Send` so handlers can run on multi-threaded runtimes; no runtime is assumed.
///
/// # Contract
///
/// - `claim` is atomic: of any number of concurrent claims of one key, at most one
///   gets [`Claim::Fresh`] per lease.
/// - `complete` and `release` only act while the token owns the key; otherwise they
///   fail with [`StoreError::LeaseLost`] and change nothing. After the lease ran out
///   with nobody else holding the key, `complete` still records the key as done and
///   `release` does nothing.
/// - `renew` only extends a claim the token still holds and whose lease has not run
///   out; otherwise it fails with [`StoreError::LeaseLost`] and changes nothing (a lost
///   lease is never revived: another delivery may already be running the handler).
/// - A duration of zero makes the entry expire at once (no protection, no memory).
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for `lease`.
    fn claim(
        &self,
        key: &DedupKey,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Claims several keys at once and returns one answer per key, in order.
    ///
    /// The default claims them one by one and, if one fails, releases the ones it got
    /// before returning the error; stores override it with a single round trip. A key
    /// that appears twice in `keys` is claimed once: its later occurrences answer
    /// [`Claim::InProgress`] (held by this very call).
    fn claim_many(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send {
        async move {
            let mut claims = Vec::with_capacity(keys.len());
            for key in keys {
                match self.claim(key, lease).await {
                    Ok(claim) => claims.push(claim),
                    Err(error) => {
                        for (key, claim) in keys.iter().zip(&claims) {
                            if let Claim::Fresh(token) = claim {
                                // Best effort: the lease frees the key if this fails too.
                                let _ = self.release(key, token).await;
                            }
                        }
                        return Err(error);
                    }
                }
            }
            Ok(claims)
        }
    }

    /// Records that the claim's handler succeeded: the key answers [`Claim::Done`] for
    /// `ttl`.
    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives the claim up (the handler failed) so that the next delivery gets
    /// [`Claim::Fresh`] at once instead of after the lease.
    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Extends the claim: the key stays held for `lease` from now (never less than it
    /// already was), because the handler is still running. Fails with
    /// [`StoreError::LeaseLost`] when the token no longer holds the key or its lease ran
    /// out, so a delivery whose lease lapsed learns it instead of silently holding on.
    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A synchronous, best-effort [`release`](Self::release), called when a handler
    /// panicked or its future was dropped (a cancelled request), where nothing can be
    /// awaited. The default does nothing: the lease running out frees the key, so a
    /// retry within the lease is answered "in progress" and one after it is processed.
    /// The memory store releases at once; the Redis store spawns the release on the
    /// current tokio runtime.
    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        let _ = (key, token);
    }
}

impl<S: IdempotencyStore> IdempotencyStore for Arc<S> {
    fn claim(
        &self,
        key: &DedupKey,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim(key, lease)
    }

    fn claim_many(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send {
        (**self).claim_many(keys, lease)
    }

    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete(key, token, ttl)
    }

    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).release(key, token)
    }

    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).renew(key, token, lease)
    }

    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        (**self).release_on_drop(key, token);
    }
}

impl<S: IdempotencyStore> IdempotencyStore for &S {
    fn claim(
        &self,
        key: &DedupKey,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim(key, lease)
    }

    fn claim_many(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claim>, StoreError>> + Send {
        (**self).claim_many(keys, lease)
    }

    fn complete(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).complete(key, token, ttl)
    }

    fn release(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).release(key, token)
    }

    fn renew(
        &self,
        key: &DedupKey,
        token: &ClaimToken,
        lease: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).renew(key, token, lease)
    }

    fn release_on_drop(&self, key: &DedupKey, token: &ClaimToken) {
        (**self).release_on_drop(key, token);
    }
}
