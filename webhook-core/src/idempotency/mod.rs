//! Idempotent handlers: each event's effects happen once, and no event is lost.
//!
//! # Which entry point
//!
//! Make a [`Deduplicator`] (a store and the sender's policy:
//! `Deduplicator::for_scheme(MemoryStore::new(), scheme)`), then:
//!
//! | you receive with | one handler answers for the request | one handler call per event |
//! |---|---|---|
//! | axum (`webhook-axum`) | `VerifyWebhookLayer::new(verifier).idempotent(dedup)` | `webhook_axum::handle_events` |
//! | actix-web (`webhook-actix`) | `VerifyWebhook::new(verifier).idempotent(dedup)` | `webhook_actix::handle_events` |
//! | another framework, or plain Rust, given a [`Verified`](crate::Verified) body | [`Deduplicator::run_verified`] → [`Handled`] | [`Deduplicator::run_events_detached`] → [`Handled`]; in place: [`Deduplicator::run_events`] → [`BatchReport`] |
//! | plain Rust, with your own keys ([`DedupKey`]) | [`Deduplicator::run_once`] (one event) → [`RunOutcome`] | [`Deduplicator::run_batch`] → [`BatchReport`] |
//!
//! Every one of them claims the events, runs the handler only on the new ones,
//! completes the claims when it succeeds and releases them when it fails, renews the
//! claims while a slow handler runs (given a [`LeaseTimer`]; the adapters set their
//! runtime's), and reports each outcome to the deduplicator's observer
//! ([`Deduplicator::with_observer`], e.g. [`DedupCounters`]). The answer types say what
//! to send: [`Handled`] (the handler's own answer, 200 [`DUPLICATE_BODY`], or a
//! [`Rejection`](crate::Rejection): 409 / 503 with `Retry-After`), and
//! [`RunOutcome::answer`] / [`BatchReport::answer`] (an [`Answer`]: status and
//! `Retry-After`). Per-event handling does better on a batch: a failed event's retry
//! runs only that event.
//!
//! The rest of this page is the why: read on before writing a store or choosing a
//! policy.
//!
//! # The model
//!
//! Every sender delivers **at least once**. It retries when the receiver answers
//! non-2xx, answers too slowly, or the connection breaks — including when the receiver
//! did process the event and only the answer got lost. So the same event arrives
//! several times, sometimes concurrently:
//!
//! - Standard Webhooks keeps the `webhook-id` header across retries; the email-API
//!   sender keeps `id`, Mailtrap `event_id`, WildDuck `id`: those are the keys.
//! - Stalwart re-sends a failed batch with a **new** `id` for every event, so its events
//!   are keyed by a fingerprint of their content ([`DedupKey::fingerprint`]).
//!
//! # Why claim / complete / release, and not "seen"
//!
//! The obvious scheme — "if the id was seen, skip; else mark it seen and run the
//! handler" — **loses events**: when the handler fails (or the process dies) after the
//! mark, every retry is skipped as already seen, and the event is never processed.
//! Marking *after* the handler instead runs concurrent deliveries twice. So a delivery:
//!
//! 1. **claims** the key for a *lease* ([`IdempotencyStore::claim`]): only one
//!    concurrent delivery gets [`Claim::Fresh`]; the others see
//!    [`Claim::InProgress`] and answer 409 so the sender retries later;
//! 2. runs the handler;
//! 3. on success **completes** the key for a *ttl* ([`IdempotencyStore::complete`]):
//!    later deliveries see [`Claim::Done`] and answer 200 without running; on failure
//!    **releases** it ([`IdempotencyStore::release`]) so the sender's retry runs the
//!    handler again.
//!
//! If the process crashes between 1 and 3, the lease runs out and the next delivery is
//! fresh. If the handler panics or the request future is dropped, a drop guard
//! releases the claim ([`IdempotencyStore::release_on_drop`]). The result is
//! *effectively once*: a handler's effects are applied once per event, provided its
//! claim holds while it runs and its effects are not themselves half-applied when it
//! fails.
//!
//! # Slow handlers, senders that give up, and what operators see
//!
//! - A handler slower than its lease would lose its claim to a redelivery and run
//!   twice. Every entry point renews the claims ([`IdempotencyStore::renew`], fenced
//!   by the token) every third of the lease while the handler runs, given a
//!   [`LeaseTimer`] ([`Deduplicator::with_lease_timer`]; the axum and actix-web adapters
//!   set their runtime's). A renewal the store refuses means the lease was lost: it is
//!   logged at `warn` and the run is reported [`DedupOutcome::LeaseLost`]. The free
//!   [`run_once`] and [`run_batch`] have no timer: give them a lease longer than the
//!   handler's slowest run (for a batch: all of its events).
//! - A sender whose timeout is shorter than the handler drops the request.
//!   [`Deduplicator::run_verified`] and [`Deduplicator::run_events_detached`] hand the
//!   handler's run to the caller to spawn (the adapters spawn it on their runtime), so
//!   it is not cancelled with the request: it finishes once and is recorded, the
//!   sender's retries are answered 409 and then as duplicates, and the cancellation is
//!   logged and reported ([`DedupOutcome::Cancelled`]).
//! - Nothing is dropped silently: lost leases, completions the store did not record,
//!   refused releases and abandoned claims are logged at `warn` with the event keys
//!   (never a secret), and [`Deduplicator::with_observer`] receives every request's
//!   [`DedupOutcome`] (count them with [`DedupCounters`]).
//!
//! # Lease, ttl and outages
//!
//! [`DedupPolicy::for_scheme`] picks a lease and a ttl per sender (the ttl covers the
//! sender's whole retry horizon: 10 min for Stalwart, 1 h for the email-API sender and
//! WildDuck, 25 h for Mailtrap, 72 h for Standard Webhooks; see [`DedupPolicy`] for
//! the reasoning) and fails closed: when the store cannot answer, the handler does not
//! run and the sender is asked to retry (503). [`FailurePolicy::FailOpen`] runs the
//! handler anyway and accepts duplicates during the outage. A `complete` that fails
//! after the handler succeeded never marks anything done; the outcome is still
//! [`RunOutcome::Processed`] (answer 200: the event *was* processed) with
//! [`Completion::NotRecorded`].
//!
//! # Stores
//!
//! - [`MemoryStore`]: embedded, sharded, ttl-expiring and bounded; one process only.
//! - `webhook_redis::RedisStore` (the `webhook-redis` crate): shared by replicas.
//!
//! Both are checked by the same contract suite (the `test-support` feature's
//! `contract` module), which other store implementations can run too.
//!
//! # Example
//!
//! A receiver for one Mailtrap event. Any executor works: the memory store never
//! blocks and nothing here spawns.
//!
//! ```
//! use webhook_core::{Scheme, idempotency::{DedupKey, Deduplicator, MemoryStore, RunOutcome}};
//!
//! let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap);
//! let key = DedupKey::event_id(Scheme::Mailtrap, "bede7236-2284-43d6-a953-1fdcafd0fdbc")?;
//!
//! let outcome = futures::executor::block_on(dedup.run_once(&key, || async {
//!     // Record the bounce; an Err here is retried by the sender.
//!     Ok::<_, std::io::Error>(())
//! }));
//! match &outcome {
//!     RunOutcome::Processed { .. } | RunOutcome::Duplicate => {} // 200
//!     RunOutcome::InProgress { .. } => {}                        // 409 + Retry-After
//!     RunOutcome::Unavailable { .. } => {}                       // 503 + Retry-After
//!     RunOutcome::Failed(_) => {}                                // 500
//! }
//! assert_eq!(outcome.answer().status(), 200);
//! # Ok::<(), webhook_core::idempotency::KeyError>(())
//! ```

mod batch;
mod clock;
#[cfg(feature = "test-support")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-support")))]
pub mod contract;
mod deduplicator;
mod error;
mod events;
mod heartbeat;
mod key;
mod memory;
mod observe;
mod outcome;
mod per_event;
mod policy;
mod request;
mod run;
mod store;

pub use batch::{BatchReport, run_batch};
pub use clock::{ManualClock, MonotonicClock, StoreClock};
pub use deduplicator::Deduplicator;
pub use error::StoreError;
pub use events::event_keys;
pub(crate) use events::{id_key, unwritable};
pub use heartbeat::LeaseTimer;
pub use key::{DedupKey, KeyError, MAX_EVENT_ID_LEN, MAX_NAMESPACE_LEN, Namespace};
pub use memory::{
    DEFAULT_CAPACITY, EntryState, MemoryConfigError, MemoryStats, MemoryStore, MemoryStoreBuilder,
};
pub use observe::{DedupCounters, DedupEvent, DedupObserver, DedupOutcome};
pub use outcome::{Answer, Completion, RunOutcome};
pub use per_event::DetachedEvents;
pub use policy::{DedupPolicy, FailurePolicy};
pub use request::{DUPLICATE_BODY, Detached, Handled};
pub use run::run_once;
pub use store::{Claim, ClaimToken, IdempotencyStore};
