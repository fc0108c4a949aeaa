//! # webhook-redis
//!
//! A Redis-backed [`IdempotencyStore`](webhook_core::idempotency::IdempotencyStore) for
//! hookwise: the claim / complete / release model of
//! [`webhook_core::idempotency`], shared by every replica of a receiver, so that a
//! sender's retry landing on another instance is still recognised.
//!
//! # How it maps to Redis
//!
//! One key per event: the configured prefix (default `hookwise:idem:`) followed by the
//! [`DedupKey`](webhook_core::idempotency::DedupKey)'s bytes, e.g.
//! `hookwise:idem:mailtrap:id:bede7236-…`. Its value is the state:
//!
//! | value | state | expiry |
//! |---|---|---|
//! | `p:<token>` | claimed, in progress | the lease (`SET … NX PX lease`) |
//! | `d` | completed | the ttl |
//!
//! - **claim** runs `SET key p:<token> NX PX lease` and, when the key is taken, reads
//!   its state and remaining lease in the same Lua script (atomic): `Fresh`,
//!   `InProgress { remaining }` or `Done`. A batch claims all its keys in one script,
//!   one round trip.
//! - **complete** and **release** are Lua scripts that act only if the value is still
//!   this claim's `p:<token>`: a replica whose lease ran out can never complete or
//!   release the claim another replica took over (it gets
//!   [`StoreError::LeaseLost`](webhook_core::idempotency::StoreError::LeaseLost)).
//!   Tokens are 8 random bytes per store instance plus a counter: unique across
//!   replicas and restarts.
//! - **renew** (the adapters' heartbeat while a handler runs, at a third of the lease)
//!   is a Lua script that runs `PEXPIRE key lease` only while the value is still this
//!   claim's `p:<token>`: a lease that ran out is never revived.
//! - Expiry is Redis's own: a crashed holder's claim disappears with its lease, a
//!   completed event with its ttl. Redis's `maxmemory` policy should be `noeviction`
//!   or a `volatile-*` one that the application's other keys absorb: evicting a claim
//!   in progress would let a duplicate run.
//!
//! # When Redis is down
//!
//! Every operation is bounded by [`RedisConfig::with_timeout`] (1 s by default) and a
//! failure is [`StoreError::Unavailable`](webhook_core::idempotency::StoreError::Unavailable);
//! the [`DedupPolicy`](webhook_core::idempotency::DedupPolicy) decides: fail closed (default, the
//! handler does not run, answer 503, the sender retries) or fail open (the handler
//! runs without deduplication). If a handler panics or its request is cancelled, the
//! release is spawned on the current tokio runtime; if that fails too, the lease
//! frees the key.
//!
//! # Example
//!
//! ```no_run
//! use webhook_core::{Scheme, idempotency::{DedupKey, Deduplicator, FailurePolicy, DedupPolicy}};
//! use webhook_redis::{RedisConfig, RedisStore};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379/", RedisConfig::default()).await?;
//! let policy = DedupPolicy::for_scheme(Scheme::Stalwart); // fails closed
//! let dedup = Deduplicator::new(store, policy);
//!
//! // A Stalwart batch: one key per event (a content fingerprint), one round trip.
//! let events = vec![([1u8; 32], "event one"), ([2u8; 32], "event two")];
//! let report = dedup
//!     .run_batch(
//!         events.into_iter().map(|(fp, e)| (DedupKey::fingerprint(Scheme::Stalwart, &fp), e)),
//!         |event| async move {
//!             println!("processing {event}");
//!             Ok::<_, std::io::Error>(())
//!         },
//!     )
//!     .await;
//! let answer = report.answer(); // 200 when all done; 409 / 503 / 500 to make Stalwart retry
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod scripts;
mod store;

pub use config::{ConnectError, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, RedisConfig};
pub use store::RedisStore;

#[cfg(feature = "test-support")]
pub mod testing;
