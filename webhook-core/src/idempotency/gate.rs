//! Admission of a verified request, for web framework middleware: claim every event
//! before the handler runs, hand the handler the fresh ones, settle after.
//!
//! [`run_once`](super::run_once) and [`run_batch`](super::run_batch) wrap a handler
//! call; a framework handler, though, is called by the framework, so middleware splits
//! the same protocol in two. [`Deduplicator::decide`] claims every event's key and says
//! whether the handler runs at all and on which events; the [`Gate`] it returns is then
//! settled from the handler's answer: completed when it succeeded, released when it
//! failed, released when it is dropped unsettled (a panicking or cancelled handler), so
//! that the sender's retry is processed instead of lost.
//!
//! A batch with an event in progress elsewhere is refused whole: running its other
//! events now and answering 409 would make the sender retry them all anyway, and
//! refusing keeps "never two concurrent runs of one event" trivially true.

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

/// The answer body for a duplicate delivery (status 200).
pub const DUPLICATE_BODY: &str = r#"{"status":"duplicate"}"#;

/// What to do with a verified request.
#[must_use = "a decision says whether to call the handler"]
// One per request, moved once into the middleware: boxing the gate would cost an
// allocation per request to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum Decision<S: IdempotencyStore> {
    /// Every event was already processed: answer 200 ([`DUPLICATE_BODY`]) without
    /// calling the handler.
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

impl<S: IdempotencyStore> std::fmt::Debug for Decision<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Duplicate => f.write_str("Duplicate"),
            Decision::Run { reduced, gate } => f
                .debug_struct("Run")
                .field("reduced", &reduced.as_ref().map(|v| v.body().len()))
                .field("gate", gate)
                .finish(),
        }
    }
}

/// The claims a handler run holds. Run the handler inside
/// [`hold_while`](Self::hold_while) (which renews the leases while it runs, when the
/// deduplicator has a [`LeaseTimer`]), then settle it with the handler's answer.
/// Dropping it unsettled releases the claims (best effort, see
/// [`IdempotencyStore::release_on_drop`]) and reports [`DedupOutcome::Abandoned`].
///
/// Settling never fails silently: a lost lease, a completion the store did not record
/// and a release the store refused are logged at `warn` with the event keys, and every
/// outcome goes to the deduplicator's [`DedupObserver`](super::DedupObserver).
#[must_use = "an unsettled gate releases its claims when dropped"]
pub struct Gate<S: IdempotencyStore> {
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
    /// The keys of the events this gate holds (the ones the handler runs on).
    pub fn keys(&self) -> &[DedupKey] {
        &self.keys
    }

    /// Runs `work` (the handler) while renewing every claim's lease every third of the
    /// lease, so that a handler slower than the lease is not claimed and run again by a
    /// redelivery. Without a [`LeaseTimer`] on the deduplicator, just runs `work`.
    ///
    /// A renewal the store refuses ([`StoreError::LeaseLost`]) is logged at `warn` and
    /// makes the settlement report [`DedupOutcome::LeaseLost`]; a store that cannot
    /// answer is logged and tried again at the next renewal.
    pub async fn hold_while<F: Future>(&mut self, work: F) -> F::Output {
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
    pub async fn settle(self, success: bool) -> DedupOutcome {
        if success {
            outcome_of(&self.complete().await)
        } else {
            self.release().await;
            DedupOutcome::Failed
        }
    }

    /// The handler succeeded: every event is remembered as done for the ttl. The
    /// result says whether that was recorded; either way the events were processed and
    /// the sender gets 200. A lease lost during the run (a refused renewal) makes it
    /// [`Completion::LeaseLost`] even if the store then accepted the completion.
    pub async fn complete(mut self) -> Completion {
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
        self.observer.report(outcome_of(&completion), &keys);
        completion
    }

    /// The handler failed: the claims are given up so the sender's retry is processed.
    pub async fn release(mut self) {
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

    /// A guard to hold in the request's future while the handler runs detached from it
    /// (in a spawned task): if the request is dropped first (the sender timed out or
    /// disconnected), the guard logs it at `warn` and reports
    /// [`DedupOutcome::Cancelled`]. Call [`CancelWatch::finish`] once the handler's
    /// answer arrived.
    pub fn watch_cancellation(&self) -> CancelWatch {
        CancelWatch {
            keys: self.keys.clone(),
            observer: self.observer.clone(),
            armed: true,
        }
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

/// Watches a request whose handler runs detached: see [`Gate::watch_cancellation`].
#[must_use = "dropping the watch reports the request as cancelled"]
#[derive(Debug)]
pub struct CancelWatch {
    keys: Vec<DedupKey>,
    observer: Observer,
    armed: bool,
}

impl CancelWatch {
    /// The handler answered while the request was still there: nothing to report.
    pub fn finish(mut self) {
        self.armed = false;
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

fn outcome_of(completion: &Completion) -> DedupOutcome {
    match completion {
        Completion::Recorded => DedupOutcome::Processed,
        Completion::NotRecorded(_) => DedupOutcome::NotRecorded,
        Completion::LeaseLost => DedupOutcome::LeaseLost,
        Completion::Unguarded(_) => DedupOutcome::Unguarded,
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
    /// | what the claims find | decision | answer |
    /// |---|---|---|
    /// | some events new, none in progress elsewhere | [`Decision::Run`] on the new events | the handler's |
    /// | every event already processed | [`Decision::Duplicate`] | 200, handler not called |
    /// | an event in progress in another delivery | [`Rejection::InProgress`] (nothing kept) | 409 + `Retry-After` |
    /// | the store cannot answer, fail closed | [`Rejection::StoreUnavailable`] | 503 + `Retry-After` |
    /// | the store cannot answer, fail open | [`Decision::Run`] without a gate | the handler's |
    ///
    /// A batch with an event in progress elsewhere is refused whole.
    ///
    /// ```
    /// use webhook_core::{Scheme, Secret, Verifier, senders::email_api};
    /// use webhook_core::idempotency::{Decision, DedupOutcome, Deduplicator, MemoryStore};
    ///
    /// let body = br#"{"id":"evt_1","type":"delivered","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"m","from":"a@x","to":"b@y"}}"#;
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-webhook-signature", email_api::sign(&Secret::new("k"), body).parse()?);
    /// let verifier = Verifier::builder(Scheme::EmailApi).secret(Secret::new("k")).build()?;
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::EmailApi);
    ///
    /// futures::executor::block_on(async {
    ///     let verified = verifier.verify(&headers, &body[..])?;
    ///     let Decision::Run { gate: Some(gate), .. } = dedup.decide(&verified).await? else { panic!() };
    ///     // … the handler runs and succeeds …
    ///     assert_eq!(gate.settle(true).await, DedupOutcome::Processed);
    ///     // The sender's retry of the same event:
    ///     assert!(matches!(dedup.decide(&verified).await?, Decision::Duplicate));
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn decide<B: AsRef<[u8]>>(
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
