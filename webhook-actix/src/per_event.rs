//! Handling a request's events one by one, each with its own idempotency claim:
//! [`handle_events`] and its answer, [`EventsAnswer`].
//!
//! [`VerifyWebhook::idempotent`](crate::VerifyWebhook::idempotent) settles a request's events
//! together from the handler's one answer, so one failing event re-runs the whole
//! Stalwart or Mailtrap batch. With [`handle_events`] a failing event's claim is
//! released and the others are completed, so the sender's retry (which re-sends the
//! whole batch) runs only the failed event and the rest are answered as duplicates.
//! The work is the core's [`Deduplicator::run_events_detached`]; this module spawns its
//! run on the worker and turns its [`BatchReport`] into a response.
//!
//! Use it *instead of* `.idempotent(dedup)` on the route, with
//! [`Webhook<Verified<Bytes>>`](crate::Webhook).
//!
//! ```
//! use actix_web::{App, web};
//! use bytes::Bytes;
//! use webhook_actix::{EventsAnswer, Scheme, Secret, Verified, Verifier, Webhook, WebhookConfig, WebhookRejection, handle_events};
//! use webhook_actix::dispatch::EventRouter;
//! use webhook_actix::idempotency::{Deduplicator, MemoryStore};
//! use webhook_actix::senders::mailtrap::MailtrapEvent;
//!
//! type Events = EventRouter<MailtrapEvent<'static>, std::io::Error>;
//!
//! async fn hook(
//!     dedup: web::Data<Deduplicator<MemoryStore>>,
//!     router: web::Data<Events>,
//!     Webhook(verified): Webhook<Verified<Bytes>>,
//! ) -> Result<EventsAnswer, WebhookRejection> {
//!     let router = router.get_ref().clone();
//!     handle_events(&dedup, verified, move |event| router.dispatch(event)).await
//! }
//!
//! let verifier = Verifier::builder(Scheme::Mailtrap).secret(Secret::new("k")).build()?;
//! let dedup = web::Data::new(Deduplicator::for_scheme(MemoryStore::new(), Scheme::Mailtrap));
//! let router = web::Data::new(Events::new()
//!     .on("bounce", |event| async move {
//!         println!("suppress {:?}", event.as_sending().map(|sent| sent.email.clone()));
//!         Ok(())
//!     })
//!     .on_prefix("activity_log.", |_event| async { Ok(()) }));
//! let app = App::new()
//!     .app_data(WebhookConfig::new(verifier))
//!     .app_data(dedup)
//!     .app_data(router)
//!     .route("/hooks/mailtrap", web::post().to(hook));
//! # Ok::<(), webhook_actix::BuildError>(())
//! ```

use std::{fmt::Display, future::Future};

use actix_web::{
    HttpRequest, HttpResponse, Responder,
    body::BoxBody,
    http::{StatusCode, header},
};
use bytes::Bytes;
use webhook_core::{
    Verified,
    dispatch::Event,
    idempotency::{Answer, BatchReport, Deduplicator, DetachedEvents, IdempotencyStore},
};

use crate::{
    WebhookRejection,
    idempotency::{spawn, with_actix_timer},
};

/// Runs `handler` once for each event of `verified` that no earlier delivery
/// processed, settling each event's claim by itself ([`Deduplicator::run_events`]), and
/// answers: 200 when every event is processed or a duplicate, 500 when an event's
/// handler failed (its error is logged at `warn`, never sent), 409 when an event is
/// being processed by another delivery, 503 when the store could not answer; with
/// `Retry-After` where the status calls for one, and a short JSON body
/// ([`BatchReport::summary_json`]).
///
/// The events run in their own task on the worker (handlers need not be `Send`): when
/// the request is dropped before they finish, they still finish once and are recorded
/// (the drop is logged at `warn` and reported to the deduplicator's observer as
/// [`DedupOutcome::Cancelled`](webhook_core::idempotency::DedupOutcome::Cancelled)),
/// instead of being cancelled half-way and started again by the retry. A panicking handler releases the unprocessed claims and the
/// panic goes on. While each event's handler runs, the claims still
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
    Ev: Event,
    F: FnMut(Ev) -> Fut + 'static,
    Fut: Future<Output = Result<T, E>>,
    T: 'static,
    E: Display + 'static,
{
    let dedup = with_actix_timer(dedup.clone());
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
            status: StatusCode::from_u16(answer.status().as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
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

impl Responder for EventsAnswer {
    type Body = BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, "application/json"));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.body(self.body)
    }
}
