//! Per-event handling of a verified request: [`Deduplicator::run_events`] (in place)
//! and [`Deduplicator::run_events_detached`] (in a task of its own, for framework
//! adapters) split the body into its events and settle each event's claim by itself.
//!
//! [`Deduplicator::run_verified`] settles a request's claims together, from the one
//! answer of one handler: when one event of a Stalwart batch fails, the whole batch runs
//! again on the retry. A handler that takes the events one by one can do better, and
//! this is how: a failing event's claim is released, the others are completed, and the
//! sender's retry (which re-sends the whole batch) runs only the failed event; the rest
//! are answered as duplicates.

use std::{fmt::Display, future::Future};

use http::StatusCode;

use super::{
    Answer, BatchReport, DedupKey, Deduplicator, Handled, IdempotencyStore, RunOutcome, event_keys,
    request::CancelWatch,
};
use crate::{ParseError, Rejection, Verified, dispatch::Event};

impl<S: IdempotencyStore> Deduplicator<S> {
    /// Runs `handler` once for each event of `verified` that no earlier delivery
    /// processed, one event after another, in the sender's order; each event's claim is
    /// completed when its handler succeeds and released when it fails (then logged at
    /// `warn` with the event key and the error), so that the sender's retry runs only
    /// the failed events. The [`BatchReport`]'s [`answer`](BatchReport::answer) is the
    /// status to send: 200 when every event is processed or a duplicate, 500 when one
    /// failed, 409 when one is being processed by another delivery, 503 when the store
    /// could not answer (see [`run_batch`](super::run_batch)).
    ///
    /// `Ev` is the sender's [`Event`] type (`WebhookEvent<'static>` for Stalwart,
    /// `MailtrapEvent<'static>` for Mailtrap, the payload itself for one-event senders);
    /// an [`EventRouter`](crate::dispatch::EventRouter) makes a handler:
    /// `dedup.run_events(&verified, |event| router.dispatch(event))`. Each event's
    /// outcome goes to the observer with its key (so counters count events, not
    /// requests).
    ///
    /// The claims are taken together, before the first event runs. With a
    /// [`LeaseTimer`](super::LeaseTimer) ([`with_lease_timer`](Self::with_lease_timer);
    /// the adapters' `handle_events` set their runtime's), the claims still held are
    /// renewed while each handler runs; without one, the lease must cover the whole
    /// batch's handlers.
    /// Dropping the returned future releases the claims of the events not yet
    /// processed; the web framework adapters run it in its own task so that a sender
    /// that gives up does not cancel it.
    ///
    /// # Errors
    ///
    /// The body does not parse as `Ev`'s sender's payload (a verified body of another
    /// sender, or a malformed one): no handler runs.
    ///
    /// ```
    /// use webhook_core::{Scheme, Secret, Verifier, senders::mailtrap::{self, MailtrapEvent}};
    /// use webhook_core::idempotency::{Deduplicator, MemoryStore, RunOutcome};
    ///
    /// let body = concat!(
    ///     r#"{"event":"delivery","timestamp":1716070000,"event_id":"e1","message_id":"m1","email":"a@example.com"}"#, "\n",
    ///     r#"{"event":"bounce","timestamp":1716070001,"event_id":"e2","message_id":"m2","email":"b@example.com"}"#, "\n",
    /// );
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("mailtrap-signature", mailtrap::sign(&Secret::new("k"), body.as_bytes()).parse()?);
    /// headers.insert("content-type", "application/jsonl".parse()?);
    /// let verifier = Verifier::builder(Scheme::Mailtrap).secret(Secret::new("k")).build()?;
    /// let verified = verifier.verify(&headers, body.as_bytes())?;
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap);
    ///
    /// // First delivery: the bounce handler fails, so the sender is asked to retry.
    /// let first = futures::executor::block_on(dedup.run_events(&verified, |event: MailtrapEvent<'static>| async move {
    ///     match event.name() {
    ///         "bounce" => Err("the suppression list is down"),
    ///         _ => Ok(()),
    ///     }
    /// }))?;
    /// assert_eq!(first.answer().status(), 500);
    ///
    /// // The retry: only the bounce runs again.
    /// let mut ran = Vec::new();
    /// let retry = futures::executor::block_on(dedup.run_events(&verified, |event: MailtrapEvent<'static>| {
    ///     ran.push(event.name().to_owned());
    ///     async { Ok::<_, &str>(()) }
    /// }))?;
    /// assert_eq!(retry.answer().status(), 200);
    /// assert_eq!(ran, ["bounce"]);
    /// assert!(matches!(retry.outcomes()[0], RunOutcome::Duplicate));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn run_events<Ev, B, F, Fut, T, E>(
        &self,
        verified: &Verified<B>,
        handler: F,
    ) -> Result<BatchReport<T, E>, ParseError>
    where
        Ev: Event,
        B: AsRef<[u8]>,
        F: FnMut(Ev) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let (keys, events) = self.split_events(verified)?;
        Ok(self.run_split(keys, events, handler).await)
    }

    /// [`run_events`](Self::run_events) for framework adapters: the events run in a
    /// task of their own, so that a sender who gives up does not cancel them half-way.
    /// `spawn` runs the [`DetachedEvents`]'s [`run`](DetachedEvents::run) as a task and
    /// returns its report, `Ok(None)` when the runtime shut the task down, or `Err` with
    /// a panic's payload, passed on from here (the claims of the events not yet
    /// processed were released). A request dropped before the report arrives is logged
    /// at `warn` and reported [`DedupOutcome::Cancelled`](super::DedupOutcome::Cancelled) with its events' keys; its
    /// events run on and each reports its own outcome.
    ///
    /// The answer is [`Handled::Ran`] with the [`BatchReport`] (its
    /// [`answer`](BatchReport::answer) and [`summary_json`](BatchReport::summary_json)
    /// make the response), [`Handled::Refused`] with a parse rejection (400) for a body
    /// that is not `Ev`'s sender's payload (no handler runs), or
    /// [`Handled::Interrupted`]; never [`Handled::Duplicate`] (a delivery of processed
    /// events is a report of duplicates).
    pub async fn run_events_detached<Ev, B, F, Sp, J, T, E>(
        &self,
        verified: &Verified<B>,
        spawn: Sp,
        handler: F,
    ) -> Handled<BatchReport<T, E>>
    where
        S: Clone,
        Ev: Event,
        B: AsRef<[u8]>,
        Sp: FnOnce(DetachedEvents<S, Ev, F>) -> J,
        J: Future<Output = std::thread::Result<Option<BatchReport<T, E>>>>,
    {
        let (keys, events) = match self.split_events(verified) {
            Ok(split) => split,
            Err(error) => return Handled::Refused(error.into()),
        };
        let watch = CancelWatch::new(keys.clone(), self.observer().clone());
        let run = DetachedEvents {
            dedup: self.clone(),
            keys,
            events,
            handler,
        };
        watch.joined(spawn(run)).await
    }

    /// The body's events as `Ev` and their keys, one each, in order.
    fn split_events<Ev: Event, B: AsRef<[u8]>>(
        &self,
        verified: &Verified<B>,
    ) -> Result<(Vec<DedupKey>, Vec<Ev>), ParseError> {
        let verification = verified.verification();
        let keys = event_keys(
            verified,
            &self.namespace_for(verification.scheme()),
            self.stalwart_key(),
        )?;
        let events = Ev::split(verified.body().as_ref(), verification.parse_context())?;
        if events.len() != keys.len() {
            return Err(ParseError::UnexpectedShape {
                path: ".".into(),
                line: 0,
                column: 0,
                detail: format!(
                    "the body holds {} events for the {} scheme but {} as this event type: \
                     the event type is not this sender's",
                    keys.len(),
                    verification.scheme(),
                    events.len()
                ),
            });
        }
        Ok((keys, events))
    }

    /// Runs the events of a split body, settling and reporting each one.
    async fn run_split<Ev, F, Fut, T, E>(
        &self,
        keys: Vec<DedupKey>,
        events: Vec<Ev>,
        handler: F,
    ) -> BatchReport<T, E>
    where
        F: FnMut(Ev) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        let report = self
            .run_batch(keys.iter().cloned().zip(events), handler)
            .await;
        for (key, outcome) in keys.iter().zip(report.outcomes()) {
            if let RunOutcome::Failed(error) = outcome {
                tracing::warn!(
                    event_key = %key,
                    %error,
                    "an event's handler failed: its claim was released, the sender's retry runs it again"
                );
            }
            self.observer()
                .report(outcome.dedup_outcome(), std::slice::from_ref(key));
        }
        report
    }
}

/// The events of one request with their claims still to take: what
/// [`Deduplicator::run_events_detached`] hands its `spawn` argument. Spawn
/// [`run`](Self::run) on the runtime (or await it in place).
#[must_use = "the events run only when `run` is awaited"]
pub struct DetachedEvents<S, Ev, F> {
    dedup: Deduplicator<S>,
    keys: Vec<DedupKey>,
    events: Vec<Ev>,
    handler: F,
}

impl<S: std::fmt::Debug, Ev, F> std::fmt::Debug for DetachedEvents<S, Ev, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetachedEvents")
            .field("dedup", &self.dedup)
            .field("events", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl<S: IdempotencyStore, Ev, F> DetachedEvents<S, Ev, F> {
    /// Runs the events one after another, as [`Deduplicator::run_events`] does.
    pub async fn run<Fut, T, E>(self) -> BatchReport<T, E>
    where
        F: FnMut(Ev) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display,
    {
        self.dedup
            .run_split(self.keys, self.events, self.handler)
            .await
    }
}

impl<T, E> Handled<BatchReport<T, E>> {
    /// What to answer a request handled event by event
    /// ([`Deduplicator::run_events_detached`]): the report's
    /// [`answer`](BatchReport::answer) and [`summary_json`](BatchReport::summary_json);
    /// 503 `{"status":"unavailable"}` when the run was interrupted; `Err` with the
    /// rejection (400) when the body was not the sender's payload.
    pub fn into_events_answer(self) -> Result<(Answer, String), Rejection> {
        match self {
            Handled::Ran(report) => Ok((report.answer(), report.summary_json())),
            Handled::Refused(rejection) => Err(rejection),
            // Never a duplicate: a delivery of processed events is a report of them.
            Handled::Interrupted | Handled::Duplicate => Ok((
                Answer::new(StatusCode::SERVICE_UNAVAILABLE, None),
                r#"{"status":"unavailable"}"#.to_owned(),
            )),
        }
    }
}

impl<T, E> BatchReport<T, E> {
    /// A short JSON answer body for the sender: the status word and the counts, never
    /// an error's text (that goes to the log). `{"status":"processed","processed":2,
    /// "duplicates":1,"failed":0,"in_progress":0}`; the status word is `processed`
    /// (200), `failed` (500), `in_progress` (409) or `unavailable` (503).
    pub fn summary_json(&self) -> String {
        let status = match self.answer().status().as_u16() {
            500 => "failed",
            409 => "in_progress",
            503 => "unavailable",
            _ => "processed",
        };
        format!(
            r#"{{"status":"{status}","processed":{},"duplicates":{},"failed":{},"in_progress":{}}}"#,
            self.processed(),
            self.duplicates(),
            self.failed(),
            self.in_progress()
        )
    }
}
