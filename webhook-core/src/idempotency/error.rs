//! What can go wrong when talking to an idempotency store.
//!
//! The variants are what a caller must tell apart: a store that cannot answer
//! ([`StoreError::Unavailable`], [`StoreError::Full`]: the event was not processed,
//! answer 503 so the sender retries), a claim that was lost to another delivery
//! ([`StoreError::LeaseLost`]: the lease was shorter than the handler), and a store that
//! holds data it did not write ([`StoreError::Protocol`]: a configuration error).

/// An idempotency store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or did not answer in time.
    #[error(
        "the idempotency store is unavailable ({detail}): check that it is running and reachable; \
         the sender should be answered 503 so that it retries"
    )]
    Unavailable {
        /// What failed, for logs (never a credential).
        detail: String,
    },

    /// The store is at its entry cap and every entry is a claim still in progress, which
    /// is never evicted (evicting one would let a duplicate run concurrently).
    #[error(
        "the idempotency store is full: its {capacity} entries are claims in progress; answer \
         503 so the sender retries, and raise the capacity or shorten the lease"
    )]
    Full {
        /// The configured entry cap (of the shard that was full, for sharded stores).
        capacity: usize,
    },

    /// The claim's lease ran out and another delivery claimed the key: this token no
    /// longer owns it, and the other claim was left untouched.
    #[error(
        "the claim's lease expired and another delivery claimed the event: the handler may have \
         run twice; set a lease longer than the handler's slowest run"
    )]
    LeaseLost,

    /// The store answered something this library never writes (for example a key under
    /// the configured prefix holding foreign data).
    #[error(
        "the idempotency store gave an unexpected answer ({detail}): check that no other \
         application writes under the store's key prefix"
    )]
    Protocol {
        /// What was unexpected.
        detail: String,
    },
}

impl StoreError {
    /// An [`Unavailable`](StoreError::Unavailable) error from any displayable cause.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        Self::Unavailable {
            detail: cause.to_string(),
        }
    }
}
