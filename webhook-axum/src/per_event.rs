//! Handling a request's events one by one, each with its own idempotency claim:
//! [`handle_events`] and its answer, [`EventsAnswer`].
//!
//! [`VerifyWebhookLayer::idempotent`](crate::VerifyWebhookLayer::idempotent) settles a
//! request's events together from the handler's one answer, so one failing event
//! re-runs the whole Stalwart or Mailtrap batch. A handler that takes the events one at a time does better: with
//! [`handle_events`] a failing event's claim is released and the others are completed,
//! so the sender's retry (which re-sends the whole batch) runs only the failed event
//! and the rest are answered as duplicates. The work is the core's
//! [`Deduplicator::run_events_detached`]; this module spawns its run on tokio and turns
//! its [`BatchReport`] into a response.
//!
//! Use it *instead of* `.idempotent(dedup)` on the route (with
//! [`Webhook<Verified<Bytes>>`](crate::Webhook) or
//! [`VerifiedWebhook`](crate::VerifiedWebhook) behind
//! [`VerifyWebhookLayer`](crate::VerifyWebhookLayer)).
//!
//! ```
//! use axum::{Router, extract::State, routing::post};
//! use bytes::Bytes;
//! use webhook_axum::{EventsAnswer, Scheme, Secret, Verified, Verifier, Webhook, WebhookRejection, WebhookState, handle_events};
//! use webhook_axum::dispatch::EventRouter;
//! use webhook_axum::idempotency::{Deduplicator, MemoryStore};
//! use webhook_axum::senders::stalwart::WebhookEvent;
//!
//! #[derive(Clone)]
//! struct App {
//!     verifier: Verifier,
//!     dedup: Deduplicator<MemoryStore>,
//!     router: EventRouter<WebhookEvent<'static>, std::io::Error>,
//! }
//! impl WebhookState for App {
//!     fn verifier(&self) -> Option<&Verifier> { Some(&self.verifier) }
//! }
//!
//! async fn hook(
//!     State(app): State<App>,
//!     Webhook(verified): Webhook<Verified<Bytes>>,
//! ) -> Result<EventsAnswer, WebhookRejection> {
//!     let router = app.router.clone();
//!     handle_events(&app.dedup, verified, move |event| router.dispatch(event)).await
//! }
//!
//! async fn delivered(event: WebhookEvent<'static>) -> Result<(), std::io::Error> {
//!     println!("delivered to {:?}", event.field::<Vec<String>>("to"));
//!     Ok(())
//! }
//!
//! let app = App {
//!     verifier: Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?,
//!     dedup: Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart),
//!     router: EventRouter::new()
//!         .on("delivery.delivered", delivered)
//!         .on_prefix("auth.", |_event| async { Ok(()) }),
//! };
//! let routes: Router = Router::new().route("/hooks/stalwart", post(hook)).with_state(app);
//! # Ok::<(), webhook_axum::BuildError>(())
//! ```

use std::{fmt::Display, future::Future};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use webhook_core::{
    Verified,
    dispatch::Event,
    idempotency::{Answer, BatchReport, Deduplicator, DetachedEvents, IdempotencyStore},
};

use crate::{
    WebhookRejection,
    idempotency::{spawn, with_tokio_timer},
};

/// Runs `handler` once for each event of `verified` that no earlier delivery
/// processed, settling each event's claim by itself ([`Deduplicator::run_events`]), and
/// answers: 200 when every event is processed or a duplicate, 500 when an event's
/// handler failed (its error is logged at `warn`, never sent), 409 when an event is
/// being processed by another delivery, 503 when the store could not answer; with
/// `Retry-After` where the status calls for one, and a short JSON body
/// ([`BatchReport::summary_json`]).
///
/// The events run in their own tokio task (on the current runtime; inline when there
/// is none): when the sender gives up before they finish, they still finish once and
/// are recorded (the drop is logged at `warn` and reported to the deduplicator's
/// observer as [`DedupOutcome::Cancelled`](webhook_core::idempotency::DedupOutcome::Cancelled)),
/// instead of being cancelled half-way and started again by the retry. A panicking handler releases the unprocessed claims and
/// the panic goes on. While each event's handler runs, the claims still
/// held are renewed every third of the lease on the runtime's timer (unless the
/// deduplicator has its own [`LeaseTimer`](webhook_core::idempotency::LeaseTimer)), so a slow batch is not run twice.
///
/// # Errors
///
/// The body is not a payload of `Ev`'s sender: 400 (no handler runs).
pub async fn handle_events<S, Ev, F, Fut, T, E>(
    dedup: &Deduplicator<S>,
    verified: Verified<Bytes>,
    handler: F,
) -> Result<EventsAnswer, WebhookRejection>
where
    S: IdempotencyStore + Clone + 'static,
    Ev: Event + Send,
    F: FnMut(Ev) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
    T: Send + 'static,
    E: Display + Send + 'static,
{
    let dedup = with_tokio_timer(dedup.clone());
    // An async block, not `run.run()` itself: its type outlives what it holds, so `Fut`
    // need not be `'static`.
    let spawn_run = |run: DetachedEvents<_, _, _>| spawn(async move { run.run().await });
    let (answer, body) = dedup
        .run_events_detached(&verified, spawn_run, handler)
        .await
        .into_events_answer()
        .map_err(WebhookRejection::from)?;
    Ok(EventsAnswer::from_answer(answer, body))
}

/// What [`handle_events`] answers: the status, `Retry-After` and JSON summary of a
/// [`BatchReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsAnswer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: String,
}

impl EventsAnswer {
    /// The answer to a batch handled event by event.
    pub fn new<T, E>(report: &BatchReport<T, E>) -> Self {
        Self::from_answer(report.answer(), report.summary_json())
    }

    fn from_answer(answer: Answer, body: String) -> Self {
        Self {
            status: answer.status(),
            retry_after: answer.retry_after_secs(),
            body,
        }
    }

    /// The status to send.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl IntoResponse for EventsAnswer {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
