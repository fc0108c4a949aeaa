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

use std::time::Duration;

use super::{
    Claim, ClaimToken, Completion, DedupKey, Deduplicator, FailurePolicy, IdempotencyStore,
    StoreError,
    events::{event_keys, retain_events},
};
use crate::{Rejection, Verified};

/// The answer body for a duplicate delivery (status 200).
pub const DUPLICATE_BODY: &str = r#"{"status":"duplicate"}"#;

/// What to do with a verified request.
#[must_use = "a decision says whether to call the handler"]
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

/// The claims a handler run holds. Settle it once the handler answered; dropping it
/// unsettled releases the claims (best effort, see
/// [`IdempotencyStore::release_on_drop`]).
#[must_use = "an unsettled gate releases its claims when dropped"]
pub struct Gate<S: IdempotencyStore> {
    store: S,
    claims: Vec<(DedupKey, ClaimToken)>,
    ttl: Duration,
}

impl<S: IdempotencyStore> std::fmt::Debug for Gate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("claims", &self.claims.len())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<S: IdempotencyStore> Gate<S> {
    /// Completes the claims if `success`, releases them otherwise.
    pub async fn settle(self, success: bool) -> Option<Completion> {
        if success {
            Some(self.complete().await)
        } else {
            self.release().await;
            None
        }
    }

    /// The handler succeeded: every event is remembered as done for the ttl. The
    /// result says whether that was recorded; either way the events were processed and
    /// the sender gets 200.
    pub async fn complete(mut self) -> Completion {
        let mut completion = Completion::Recorded;
        for (key, token) in std::mem::take(&mut self.claims) {
            match self.store.complete(&key, &token, self.ttl).await {
                Ok(()) => {}
                Err(StoreError::LeaseLost) => completion = Completion::LeaseLost,
                Err(error) => completion = Completion::NotRecorded(error),
            }
        }
        completion
    }

    /// The handler failed: the claims are given up so the sender's retry is processed.
    pub async fn release(mut self) {
        for (key, token) in std::mem::take(&mut self.claims) {
            // Best effort: if the store is gone, the lease frees the key.
            let _ = self.store.release(&key, &token).await;
        }
    }
}

impl<S: IdempotencyStore> Drop for Gate<S> {
    fn drop(&mut self) {
        for (key, token) in &self.claims {
            self.store.release_on_drop(key, token);
        }
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
    /// use webhook_core::idempotency::{Decision, Deduplicator, MemoryStore};
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
    ///     let _ = gate.settle(true).await;
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
                return self.unavailable(error);
            }
            Err(error) => return self.unavailable(error),
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
            return Err(Rejection::InProgress {
                retry_after_secs: whole_seconds(retry_after),
            });
        }

        let fresh: Vec<bool> = slots
            .iter()
            .map(|slot| slot.is_some_and(|i| matches!(claims[i], Claim::Fresh(_))))
            .collect();
        if !fresh.contains(&true) {
            return Ok(Decision::Duplicate);
        }
        let held = unique
            .into_iter()
            .zip(claims)
            .filter_map(|(key, claim)| match claim {
                Claim::Fresh(token) => Some((key, token)),
                _ => None,
            })
            .collect();
        let gate = Gate {
            store: self.store().clone(),
            claims: held,
            ttl: policy.ttl(),
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
            if let Claim::Fresh(token) = claim {
                let _ = self.store().release(key, &token).await;
            }
        }
    }

    fn unavailable(&self, error: StoreError) -> Result<Decision<S>, Rejection> {
        let policy = self.policy();
        match policy.on_store_error() {
            FailurePolicy::FailClosed => Err(Rejection::StoreUnavailable {
                retry_after_secs: whole_seconds(policy.unavailable_retry_after()),
                detail: error.to_string(),
            }),
            FailurePolicy::FailOpen => {
                tracing::warn!(%error, "idempotency store unavailable; running the handler unguarded (fail open)");
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
