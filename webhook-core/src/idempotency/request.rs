//! A verified request under deduplication, in one call: [`Deduplicator::run_verified`]
//! claims the request's events, runs the handler on the new ones, and records the
//! result; the caller only turns its [`Handled`] answer into a response.
//!
//! Inside, in order:
//!
//! 1. every event's key is claimed in one store round trip. All already processed: the
//!    handler does not run ([`Handled::Duplicate`]). One in progress in another
//!    delivery, or the store cannot answer (failing closed): the handler does not run
//!    and nothing stays claimed ([`Handled::Refused`]). A batch with an event in
//!    progress elsewhere is refused whole: running its other events now and answering
//!    409 would make the sender retry them all anyway, and refusing keeps "never two
//!    concurrent runs of one event" trivially true;
//! 2. the handler runs on the body reduced to the new events, as a [`Detached`] task the
//!    caller spawns, so that a sender who gives up does not cancel it half-way; its
//!    claims' leases are renewed while it runs (with a [`LeaseTimer`]);
//! 3. its answer settles the claims: completed when it succeeded, released when it
//!    failed, released when the task is dropped unsettled (a panicking handler), so
//!    that the sender's retry is processed instead of lost;
//! 4. a request dropped while its handler runs is logged and reported
//!    [`DedupOutcome::Cancelled`]; the task runs on and reports its own outcome.

use std::{
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use super::{
    Claim, ClaimToken, Completion, DedupKey, DedupOutcome, Deduplicator, FailurePolicy,
    IdempotencyStore, LeaseTimer, StoreError,
    events::{event_keys, retain_events},
    heartbeat::{Held, renewing},
    observe::Observer,
};
use crate::{Rejection, Verified};

/// The answer body for a duplicate delivery (status 200, `application/json`).
pub const DUPLICATE_BODY: &str = r#"{"status":"duplicate"}"#;

/// What became of a verified request under deduplication, and what to answer:
///
/// | variant | handler | answer |
/// |---|---|---|
/// | [`Ran`](Handled::Ran) | ran on the new events; a success completed their claims, anything else released them | the handler's own |
/// | [`Duplicate`](Handled::Duplicate) | not called: every event was already processed | 200, [`DUPLICATE_BODY`] |
/// | [`Refused`](Handled::Refused) | not called: an event is in progress elsewhere, the store cannot answer (fail closed), or the body's events cannot be read | the rejection's: 409 or 503 with `Retry-After`, 400 |
/// | [`Interrupted`](Handled::Interrupted) | its task was stopped by the runtime shutting down | 503 |
#[must_use = "the answer says what to send back"]
#[derive(Debug)]
pub enum Handled<R> {
    /// The handler ran, on the events no earlier delivery processed; send its answer.
    Ran(R),
    /// Every event was already processed: answer 200 with [`DUPLICATE_BODY`].
    Duplicate,
    /// The handler did not run and nothing stays claimed: answer the rejection
    /// ([`Rejection::InProgress`] 409, [`Rejection::StoreUnavailable`] 503, both with
    /// `Retry-After`; a parse rejection 400).
    Refused(Rejection),
    /// The spawned task ended without an answer (the runtime is shutting down): answer
    /// 503 so the sender retries.
    Interrupted,
}

/// The handler's run for one request, with the claims it holds: what
/// [`Deduplicator::run_verified`] hands its `spawn` argument. Spawn [`run`](Self::run)
/// on the runtime (or await it in place): it renews the claims' leases while the
/// handler runs, then completes them if the handler succeeded and releases them if
/// not. Dropped before it finishes (a panic in the handler), it releases the claims
/// and reports [`DedupOutcome::Abandoned`].
#[must_use = "dropping the run releases its claims without running the handler"]
pub struct Detached<S: IdempotencyStore, Fut: Future> {
    gate: Gate<S>,
    handler: Fut,
    succeeded: fn(&Fut::Output) -> bool,
}

impl<S: IdempotencyStore, Fut: Future> std::fmt::Debug for Detached<S, Fut> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detached")
            .field("gate", &self.gate)
            .finish_non_exhaustive()
    }
}

impl<S: IdempotencyStore, Fut: Future> Detached<S, Fut> {
    /// Runs the handler while renewing its claims, settles them with its answer, and
    /// returns the answer.
    pub async fn run(self) -> Fut::Output {
        let Detached {
            mut gate,
            handler,
            succeeded,
        } = self;
        let answer = gate.hold_while(handler).await;
        let outcome = gate.settle(succeeded(&answer)).await;
        tracing::debug!(%outcome, "idempotency claims settled");
        answer
    }
}

impl<S: IdempotencyStore + Clone> Deduplicator<S> {
    /// Handles one verified request whose handler answers for all of its events: the
    /// entry point for framework middleware (the axum and actix-web adapters' and the
    /// `webhook` CLI's). It claims the events, calls `handler` on the body reduced to
    /// the new ones (the body as received when all are new), hands the run to `spawn`,
    /// and settles the claims from the answer: `succeeded(&answer)` (a 2xx status)
    /// completes them, anything else releases them for the sender's retry. See
    /// [`Handled`] for what to answer.
    ///
    /// `spawn` runs the [`Detached`] run in its own task, so that the request being
    /// dropped (the sender timed out) does not cancel the handler half-way; it returns
    /// the task's answer, `Ok(None)` when the runtime shut the task down, or `Err` with
    /// a panic's payload, which is passed on here once the claims were released. With
    /// tokio: `|run| async move { match tokio::spawn(run.run()).await { … } }`; in
    /// place: `|run| async move { Ok(Some(run.run().await)) }`.
    ///
    /// When the store cannot answer and the policy fails open, `handler` runs in place,
    /// unguarded, and `spawn` is not called.
    ///
    /// ```
    /// use webhook_core::{Scheme, Secret, Verifier, senders::email_api};
    /// use webhook_core::idempotency::{Deduplicator, Handled, MemoryStore};
    ///
    /// let body = br#"{"id":"evt_1","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"a@x","to":"b@y"}}"#;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-webhook-signature", email_api::sign(&Secret::new("k"), body).parse()?);
    /// let verifier = Verifier::builder(Scheme::EmailApi).secret(Secret::new("k")).build()?;
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::EmailApi);
    ///
    /// let deliver = || async {
    ///     let verified = verifier.verify(&headers, body.to_vec()).expect("signed");
    ///     dedup
    ///         .run_verified(
    ///             verified,
    ///             // No runtime here: the run is awaited in place.
    ///             |run| async move { Ok(Some(run.run().await)) },
    ///             |verified| async move { (200, verified.body().len()) }, // the handler
    ///             |&(status, _)| status == 200,                          // success?
    ///         )
    ///         .await
    /// };
    /// futures::executor::block_on(async {
    ///     assert!(matches!(deliver().await, Handled::Ran((200, _))));
    ///     // The sender's retry of the same event:
    ///     assert!(matches!(deliver().await, Handled::Duplicate));
    /// });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn run_verified<B, H, Fut, Sp, J>(
        &self,
        verified: Verified<B>,
        spawn: Sp,
        handler: H,
        succeeded: fn(&Fut::Output) -> bool,
    ) -> Handled<Fut::Output>
    where
        B: AsRef<[u8]> + From<Vec<u8>>,
        H: FnOnce(Verified<B>) -> Fut,
        Fut: Future,
        Sp: FnOnce(Detached<S, Fut>) -> J,
        J: Future<Output = std::thread::Result<Option<Fut::Output>>>,
    {
        let (verified, gate) = match self.decide(&verified).await {
            Err(rejection) => return Handled::Refused(rejection),
            Ok(Decision::Duplicate) => return Handled::Duplicate,
            Ok(Decision::Run { reduced, gate }) => {
                (reduced.map_or(verified, Verified::convert), gate)
            }
        };
        let Some(gate) = gate else {
            // Fail open: nothing to renew or settle.
            return Handled::Ran(handler(verified).await);
        };
        let watch = CancelWatch::new(gate.keys.clone(), self.observer().clone());
        let run = Detached {
            gate,
            handler: handler(verified),
            succeeded,
        };
        watch.joined(spawn(run)).await
    }
}

/// What to do with a verified request, as [`Deduplicator::decide`] found.
// One per request, moved once: boxing the gate would cost an allocation per request to
// save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decision<S: IdempotencyStore> {
    /// Every event was already processed.
    Duplicate,
    /// Call the handler, then settle the gate with its result.
    Run {
        /// The body reduced to the new events, when some were already processed
        /// (`None`: the body as received).
        reduced: Option<Verified<Vec<u8>>>,
        /// The claims to settle (`None`: the store was unavailable and the policy fails
        /// open; the handler runs unguarded).
        gate: Option<Gate<S>>,
    },
}

/// The claims a handler run holds. The handler runs inside
/// [`hold_while`](Self::hold_while) (which renews the leases while it runs, when the
/// deduplicator has a [`LeaseTimer`]), then the gate is settled with its answer.
/// Dropping it unsettled releases the claims (best effort, see
/// [`IdempotencyStore::release_on_drop`]) and reports [`DedupOutcome::Abandoned`].
///
/// Settling never fails silently: a lost lease, a completion the store did not record
/// and a release the store refused are logged at `warn` with the event keys, and every
/// outcome goes to the deduplicator's [`DedupObserver`](super::DedupObserver).
#[must_use = "an unsettled gate releases its claims when dropped"]
pub(crate) struct Gate<S: IdempotencyStore> {
    store: S,
    keys: Vec<DedupKey>,
    tokens: Vec<ClaimToken>,
    /// Per claim: a renewal was refused, so another delivery may hold the event.
    lost: Vec<AtomicBool>,
    lease: Duration,
    ttl: Duration,
    timer: Option<LeaseTimer>,
    observer: Observer,
}

impl<S: IdempotencyStore> std::fmt::Debug for Gate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("claims", &self.keys.len())
            .field("lease", &self.lease)
            .field("ttl", &self.ttl)
            .field("renews", &self.timer.is_some())
            .finish()
    }
}

impl<S: IdempotencyStore> Gate<S> {
    /// Runs `work` (the handler) while renewing every claim's lease every third of the
    /// lease, so that a handler slower than the lease is not claimed and run again by a
    /// redelivery. Without a [`LeaseTimer`] on the deduplicator, just runs `work`.
    ///
    /// A renewal the store refuses ([`StoreError::LeaseLost`]) is logged at `warn` and
    /// makes the settlement report [`DedupOutcome::LeaseLost`]; a store that cannot
    /// answer is logged and tried again at the next renewal.
    pub(crate) async fn hold_while<F: Future>(&mut self, work: F) -> F::Output {
        let held = Held {
            store: &self.store,
            keys: &self.keys,
            tokens: &self.tokens,
            lost: &self.lost,
            lease: self.lease,
        };
        renewing(held, self.timer.as_ref(), work).await
    }

    /// Settles the claims with the handler's result: completes them if `success`,
    /// releases them otherwise. Returns the outcome (also logged when bad, and
    /// reported to the observer).
    pub(crate) async fn settle(self, success: bool) -> DedupOutcome {
        if success {
            self.complete().await.dedup_outcome()
        } else {
            self.release().await;
            DedupOutcome::Failed
        }
    }

    /// The handler succeeded: every event is remembered as done for the ttl. The
    /// result says whether that was recorded; either way the events were processed and
    /// the sender gets 200. A lease lost during the run (a refused renewal) makes it
    /// [`Completion::LeaseLost`] even if the store then accepted the completion.
    async fn complete(mut self) -> Completion {
        let mut completion = Completion::Recorded;
        let keys = std::mem::take(&mut self.keys);
        let tokens = std::mem::take(&mut self.tokens);
        for ((key, token), lost) in keys.iter().zip(&tokens).zip(&self.lost) {
            let result = self.store.complete(key, token, self.ttl).await;
            match result {
                Ok(()) if !lost.load(Ordering::Relaxed) => {}
                Ok(()) | Err(StoreError::LeaseLost) => {
                    tracing::warn!(
                        event_key = %key,
                        lease_ms = self.lease.as_millis() as u64,
                        "the handler finished after losing its idempotency lease: another \
                         delivery may have processed this event too; raise the lease above \
                         the handler's slowest run or check the store's latency"
                    );
                    completion = Completion::LeaseLost;
                }
                Err(error) => {
                    tracing::warn!(
                        event_key = %key,
                        %error,
                        "the handler succeeded but the idempotency store did not record it: \
                         a redelivery after the lease may process the event again"
                    );
                    if completion != Completion::LeaseLost {
                        completion = Completion::NotRecorded(error);
                    }
                }
            }
        }
        self.observer.report(completion.dedup_outcome(), &keys);
        completion
    }

    /// The handler failed: the claims are given up so the sender's retry is processed.
    async fn release(mut self) {
        let keys = std::mem::take(&mut self.keys);
        let tokens = std::mem::take(&mut self.tokens);
        for (key, token) in keys.iter().zip(&tokens) {
            if let Err(error) = self.store.release(key, token).await {
                // The retry is answered 409 until the lease runs out, then processed.
                tracing::warn!(
                    event_key = %key,
                    %error,
                    "could not release the idempotency claim of a failed handler: the \
                     sender's retry waits for the lease to run out"
                );
            }
        }
        self.observer.report(DedupOutcome::Failed, &keys);
    }
}

impl<S: IdempotencyStore> Drop for Gate<S> {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        for (key, token) in self.keys.iter().zip(&self.tokens) {
            self.store.release_on_drop(key, token);
        }
        tracing::warn!(
            event_keys = %Shown(&self.keys),
            "the handler did not finish (it panicked or its request was dropped): its \
             idempotency claims were released and the sender's retry will run it again"
        );
        self.observer.report(DedupOutcome::Abandoned, &self.keys);
    }
}

/// Held by the request's future while its handler runs detached, in a task of its own:
/// if the request is dropped first (the sender timed out or disconnected), it logs it at
/// `warn` and reports [`DedupOutcome::Cancelled`] with the events' keys.
#[must_use = "dropping the watch reports the request as cancelled"]
#[derive(Debug)]
pub(crate) struct CancelWatch {
    keys: Vec<DedupKey>,
    observer: Observer,
    armed: bool,
}

impl CancelWatch {
    pub(crate) fn new(keys: Vec<DedupKey>, observer: Observer) -> Self {
        Self {
            keys,
            observer,
            armed: true,
        }
    }

    /// Awaits `join`, the detached task's answer (`Ok(None)`: the runtime stopped it;
    /// `Err`: it panicked, and the panic goes on from here). Dropped before the answer
    /// arrives, the watch reports the request cancelled.
    pub(crate) async fn joined<R>(
        mut self,
        join: impl Future<Output = std::thread::Result<Option<R>>>,
    ) -> Handled<R> {
        let joined = join.await;
        self.armed = false;
        match joined {
            Ok(Some(answer)) => Handled::Ran(answer),
            Ok(None) => Handled::Interrupted,
            // The handler panicked: its claims were released; pass the panic on.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        tracing::warn!(
            event_keys = %Shown(&self.keys),
            "the request was dropped while its handler ran (the sender timed out or \
             disconnected): the handler runs on to completion, detached, and its result \
             is recorded, so the sender's retry is answered as in progress or duplicate"
        );
        self.observer.report(DedupOutcome::Cancelled, &self.keys);
    }
}

/// Event keys for a log line: the first few, then how many more.
struct Shown<'a>(&'a [DedupKey]);

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        for (i, key) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, " … (+{})", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

impl<S: IdempotencyStore + Clone> Deduplicator<S> {
    /// Claims every event of a verified request and decides whether, and on which
    /// events, the handler runs:
    ///
    /// | what the claims find | decision |
    /// |---|---|
    /// | some events new, none in progress elsewhere | [`Decision::Run`] on the new events |
    /// | every event already processed | [`Decision::Duplicate`] |
    /// | an event in progress in another delivery | [`Rejection::InProgress`] (nothing kept) |
    /// | the store cannot answer, fail closed | [`Rejection::StoreUnavailable`] |
    /// | the store cannot answer, fail open | [`Decision::Run`] without a gate |
    pub(crate) async fn decide<B: AsRef<[u8]>>(
        &self,
        verified: &Verified<B>,
    ) -> Result<Decision<S>, Rejection> {
        let namespace = self.namespace_for(verified.verification().scheme());
        let keys = event_keys(verified, &namespace, self.stalwart_key())?;
        // A key repeated within one batch is one event sent twice: claimed once, run once.
        let mut unique: Vec<DedupKey> = Vec::with_capacity(keys.len());
        let slots: Vec<Option<usize>> = keys
            .iter()
            .map(|key| {
                if unique.contains(key) {
                    None
                } else {
                    unique.push(key.clone());
                    Some(unique.len() - 1)
                }
            })
            .collect();

        let policy = self.policy();
        let claims = match self.store().claim_many(&unique, policy.lease()).await {
            Ok(claims) if claims.len() == unique.len() => claims,
            Ok(claims) => {
                let error = StoreError::Protocol {
                    detail: format!("{} answers to {} claims", claims.len(), unique.len()),
                };
                self.give_back(&unique, claims).await;
                return self.unavailable(error, &unique);
            }
            Err(error) => return self.unavailable(error, &unique),
        };

        if claims.iter().any(|c| matches!(c, Claim::InProgress { .. })) {
            let retry_after = claims
                .iter()
                .filter_map(|c| match c {
                    Claim::InProgress { remaining } => *remaining,
                    _ => None,
                })
                .max()
                .unwrap_or(policy.lease());
            self.give_back(&unique, claims).await;
            self.observer().report(DedupOutcome::InProgress, &unique);
            return Err(Rejection::InProgress {
                retry_after_secs: whole_seconds(retry_after),
            });
        }

        let fresh: Vec<bool> = slots
            .iter()
            .map(|slot| slot.is_some_and(|i| matches!(claims[i], Claim::Fresh(_))))
            .collect();
        if !fresh.contains(&true) {
            self.observer().report(DedupOutcome::Duplicate, &unique);
            return Ok(Decision::Duplicate);
        }
        let (keys, tokens): (Vec<DedupKey>, Vec<ClaimToken>) = unique
            .into_iter()
            .zip(claims)
            .filter_map(|(key, claim)| match claim {
                Claim::Fresh(token) => Some((key, token)),
                _ => None,
            })
            .unzip();
        let gate = Gate {
            store: self.store().clone(),
            lost: keys.iter().map(|_| AtomicBool::new(false)).collect(),
            keys,
            tokens,
            lease: policy.lease(),
            ttl: policy.ttl(),
            timer: self.lease_timer().cloned(),
            observer: self.observer().clone(),
        };
        // The gate is armed from here: an error below releases the claims on drop.
        let reduced = retain_events(verified, &fresh)?;
        Ok(Decision::Run {
            reduced,
            gate: Some(gate),
        })
    }

    async fn give_back(&self, keys: &[DedupKey], claims: Vec<Claim>) {
        for (key, claim) in keys.iter().zip(claims) {
            if let Claim::Fresh(token) = claim
                && let Err(error) = self.store().release(key, &token).await
            {
                // Nothing ran: the claim only delays a retry until its lease ends.
                tracing::warn!(event_key = %key, %error, "could not give back an idempotency claim");
            }
        }
    }

    fn unavailable(&self, error: StoreError, keys: &[DedupKey]) -> Result<Decision<S>, Rejection> {
        let policy = self.policy();
        match policy.on_store_error() {
            FailurePolicy::FailClosed => {
                self.observer().report(DedupOutcome::Unavailable, keys);
                Err(Rejection::StoreUnavailable {
                    retry_after_secs: whole_seconds(policy.unavailable_retry_after()),
                    detail: error.to_string(),
                })
            }
            FailurePolicy::FailOpen => {
                tracing::warn!(event_keys = %Shown(keys), %error, "idempotency store unavailable; running the handler unguarded (fail open)");
                self.observer().report(DedupOutcome::Unguarded, keys);
                Ok(Decision::Run {
                    reduced: None,
                    gate: None,
                })
            }
        }
    }
}

/// Retry-After in whole seconds, rounded up, at least 1.
fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}
