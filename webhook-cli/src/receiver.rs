//! The receiving side shared by `webhook listen` and `webhook demo`: each request is read
//! under the verifier's limit, verified, parsed into typed events and printed; a
//! rejection is answered with the adapter's problem JSON and explained, with the likely
//! mistake when a signature was presented. The diagnosis is the core's bounded one for
//! receivers ([`diagnose_rejection`]), run on a blocking thread so that hostile
//! requests never hold up the async workers that answer real deliveries.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use crate::{
    dedup::DedupStore,
    refusal,
    render::{self, Outcome},
    save::Saver,
};
use axum::{
    Router,
    extract::{Request, State},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use webhook_core::{
    Rejection, Scheme, Verified, Verifier,
    diagnose::{Diagnosis, diagnose_rejection},
    idempotency::{DUPLICATE_BODY, DedupEvent, DedupOutcome, Deduplicator, Detached, Handled},
};

/// One receiving endpoint: the path it answers (`None`: every path) and how it verifies.
pub(crate) struct Endpoint {
    pub(crate) path: Option<&'static str>,
    pub(crate) scheme: Scheme,
    pub(crate) verifier: Verifier,
    /// Skips events already processed (`None`: every delivery is handled).
    pub(crate) dedup: Option<Deduplicator<DedupStore>>,
    /// Stores verified deliveries in a durable inbox instead of printing them (the
    /// inbox deduplicates; its workers print or forward the events).
    pub(crate) inbox: Option<crate::inbox::Intake>,
}

/// What the receiver has seen so far.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) events: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) duplicates: AtomicU64,
}

impl Tally {
    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }

    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::SeqCst);
    }
}

pub(crate) struct Receiver {
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) json: bool,
    pub(crate) tally: Tally,
    /// Where each request read is saved (`listen --save`).
    pub(crate) save: Option<Saver>,
}

impl Receiver {
    pub(crate) fn router(self: Arc<Self>) -> Router {
        Router::new().fallback(receive).with_state(self)
    }

    fn endpoint(&self, path: &str) -> Option<&Endpoint> {
        self.endpoints
            .iter()
            .find(|e| e.path == Some(path))
            .or_else(|| self.endpoints.iter().find(|e| e.path.is_none()))
    }
}

async fn receive(State(receiver): State<Arc<Receiver>>, request: Request) -> Response {
    let (parts, mut body) = request.into_parts();
    let Some(endpoint) = receiver.endpoint(parts.uri.path()) else {
        return (
            http::StatusCode::NOT_FOUND,
            "no webhook endpoint at this path",
        )
            .into_response();
    };
    let scheme = endpoint.scheme;
    receiver.tally.requests.fetch_add(1, Ordering::SeqCst);
    let bytes = match webhook_axum::read_body(&endpoint.verifier, &parts, &mut body).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let response = reject(&receiver, scheme, rejection.0, None);
            // Let a sender still writing the body read the answer.
            refusal::drain(&mut body).await;
            return response;
        }
    };
    if let Some(saver) = &receiver.save {
        render::saved(saver.save(&parts, &bytes), receiver.json);
    }
    match endpoint.verifier.verify(&parts, bytes.clone()) {
        Ok(verified) => match &endpoint.inbox {
            Some(intake) => {
                intake
                    .accept(&receiver, scheme, &parts.headers, verified)
                    .await
            }
            None => accept(&receiver, endpoint, verified).await,
        },
        Err(err) => {
            let verifier = endpoint.verifier.clone();
            let error = err.clone();
            let headers = parts.headers.clone();
            let diagnosis = tokio::task::spawn_blocking(move || {
                diagnose_rejection(&verifier, &error, &headers, &bytes, SystemTime::now())
            })
            .await
            .ok()
            .flatten();
            reject(&receiver, scheme, err.into(), diagnosis.as_ref())
        }
    }
}

/// A verified request: skip what was already processed, print the rest.
async fn accept(receiver: &Receiver, endpoint: &Endpoint, verified: Verified<Bytes>) -> Response {
    let scheme = endpoint.scheme;
    let Some(dedup) = &endpoint.dedup else {
        return print_events(receiver, scheme, &verified);
    };
    let received = verified.clone();
    let handler = |fresh: Verified<Bytes>| {
        let skipped = match (render::summarize(&received), render::summarize(&fresh)) {
            (Ok(all), Ok(new)) => all.len().saturating_sub(new.len()),
            _ => 0,
        };
        Tally::add(&receiver.tally.duplicates, skipped);
        std::future::ready(print_events(receiver, scheme, &fresh))
    };
    // Printing never waits: the run is awaited in place.
    let in_place = |run: Detached<_, _>| async move { Ok(Some(run.run().await)) };
    let handled = dedup
        .run_verified(verified, in_place, handler, |response| {
            response.status().is_success()
        })
        .await;
    match handled {
        Handled::Ran(response) => response,
        Handled::Duplicate => {
            if let Ok(events) = render::summarize(&received) {
                Tally::add(&receiver.tally.duplicates, events.len());
                render::print(scheme, &Outcome::Duplicate(&events), receiver.json);
            }
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                DUPLICATE_BODY,
            )
                .into_response()
        }
        Handled::Refused(rejection) => reject(receiver, scheme, rejection, None),
        // Never in place; answered as a runtime shutting down would be.
        Handled::Interrupted => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A deduplicator for `listen` and `demo` that says on stderr when a run's claims were
/// not recorded as they should be: a later retry of these events would not be
/// recognised as a duplicate.
pub(crate) fn deduplicator(store: DedupStore, scheme: Scheme) -> Deduplicator<DedupStore> {
    Deduplicator::for_scheme(store, scheme).with_observer(warn_unsettled)
}

fn warn_unsettled(event: &DedupEvent<'_>) {
    let outcome = event.outcome;
    if !matches!(outcome, DedupOutcome::NotRecorded | DedupOutcome::LeaseLost) {
        return;
    }
    let keys: Vec<String> = event.keys.iter().map(ToString::to_string).collect();
    anstream::eprintln!(
        "warning: deduplication outcome `{outcome}` for {}: a retry of these events may be \
         processed again",
        keys.join(", ")
    );
}

fn print_events(receiver: &Receiver, scheme: Scheme, verified: &Verified<Bytes>) -> Response {
    match render::summarize(verified) {
        Ok(events) => {
            Tally::add(&receiver.tally.events, events.len());
            render::print(scheme, &Outcome::Accepted(&events), receiver.json);
            "ok".into_response()
        }
        Err(err) => reject(receiver, scheme, err.into(), None),
    }
}

fn reject(
    receiver: &Receiver,
    scheme: Scheme,
    rejection: Rejection,
    diagnosis: Option<&Diagnosis>,
) -> Response {
    receiver.tally.rejected.fetch_add(1, Ordering::SeqCst);
    let message = refusal::message(&rejection);
    render::print(
        scheme,
        &Outcome::Rejected {
            rejection: &rejection,
            message: &message,
            diagnosis,
        },
        receiver.json,
    );
    refusal::response(&rejection, message)
}
