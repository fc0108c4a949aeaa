//! Exactly-once handler effects:
//! [`VerifyWebhook::idempotent`](crate::VerifyWebhook::idempotent) answers a redelivered
//! event without calling the handler again.
//!
//! Deduplication reads the verified body, so it must run after verification;
//! `VerifyWebhook::new(verifier).idempotent(dedup)` is one middleware that composes both
//! in that order, and the only way to add it, so the two cannot be wrapped the wrong
//! way round. Each request goes through [`Deduplicator::run_verified`], whose
//! [`Handled`] answer the middleware sends: a duplicate of processed events
//! gets 200 `{"status":"duplicate"}` without the handler; an event being processed by
//! another delivery gets 409 with `Retry-After`; an unreachable store gets 503 (fail
//! closed) or runs the handler unguarded (fail open); otherwise the handler runs on the
//! new events only, and its answer settles the claims (2xx completes, anything else
//! releases them for the sender's retry).
//!
//! While the handler runs, its claims' lease is renewed every third of the lease on
//! actix's (tokio's) timer, so a handler slower than the lease is not run again by a
//! redelivery (which gets 409). The handler runs in its own task on the worker: by
//! default actix keeps a request whose sender hung up running to its end, and where it
//! drops it instead (`HttpServer::h1_allow_half_closed(false)`, shutdown) the handler
//! still finishes once and its claims are settled; the cancellation is logged at `warn`
//! and reported as [`DedupOutcome::Cancelled`]. Every request's outcome goes to the
//! deduplicator's observer ([`Deduplicator::with_observer`], e.g. [`DedupCounters`]).
//!
//! The core's idempotency types ([`Deduplicator`], [`MemoryStore`], [`DedupKey`], …)
//! are re-exported here, so one `use webhook_actix::idempotency::…` reaches all of them.

use std::{future::Future, rc::Rc};

use actix_web::{
    Error, HttpMessage as _, HttpResponse, ResponseError as _,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, forward_ready},
};
use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use webhook_core::{Rejection, Verified};

use crate::{WebhookRejection, middleware::replace_payload};

#[doc(inline)]
pub use webhook_core::idempotency::*;

// Unreachable through the public API (only `VerifyWebhook::idempotent` builds the
// middleware, inside the verification); kept so a future wiring mistake fails closed.
const ORDER: Rejection = Rejection::Misconfigured {
    reason: "the idempotency middleware reads the request verified by VerifyWebhook, \
             which did not run before it: use `VerifyWebhook::new(verifier).idempotent(dedup)`",
};

/// `dedup` with actix's (tokio's) timer for lease renewals, unless it has one.
pub(crate) fn with_actix_timer<S: IdempotencyStore>(dedup: Deduplicator<S>) -> Deduplicator<S> {
    if dedup.lease_timer().is_some() {
        return dedup;
    }
    dedup.with_lease_timer(LeaseTimer::new(|delay| {
        Box::pin(actix_web::rt::time::sleep(delay))
    }))
}

/// The deduplicating half of the middleware built by
/// [`VerifyWebhook::idempotent`](crate::VerifyWebhook::idempotent), inside the
/// verification.
#[derive(Debug)]
pub struct IdempotencyMiddleware<Svc, S> {
    service: Rc<Svc>,
    dedup: Deduplicator<S>,
}

impl<Svc, S> IdempotencyMiddleware<Svc, S> {
    pub(crate) fn new(service: Svc, dedup: Deduplicator<S>) -> Self {
        Self {
            service: Rc::new(service),
            dedup,
        }
    }
}

impl<Svc, S, B> Service<ServiceRequest> for IdempotencyMiddleware<Svc, S>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S: IdempotencyStore + Clone + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let dedup = self.dedup.clone();
        Box::pin(async move {
            let Some(verified) = request.extensions_mut().remove::<Verified<Bytes>>() else {
                let response = WebhookRejection::from(ORDER).error_response();
                return Ok(request.into_response(response).map_into_right_body());
            };
            // The handler takes the request; it stays here when the handler is not called.
            let mut request = Some(request);
            let handler = |verified: Verified<Bytes>| {
                let call = request.take().map(|mut request| {
                    replace_payload(&mut request, verified.body().clone());
                    request.extensions_mut().insert(verified);
                    service.call(request)
                });
                async move { call.ok_or_else(taken)?.await }
            };
            let handled = dedup
                .run_verified(
                    verified,
                    |run| spawn(run.run()),
                    handler,
                    |answer| answer.as_ref().is_ok_and(|r| r.status().is_success()),
                )
                .await;
            let response = match handled {
                Handled::Ran(answer) => return Ok(answer?.map_into_left_body()),
                Handled::Duplicate => HttpResponse::Ok()
                    .content_type("application/json")
                    .body(DUPLICATE_BODY),
                Handled::Refused(rejection) => WebhookRejection::from(rejection).error_response(),
                // The worker is shutting down.
                Handled::Interrupted => {
                    return Err(actix_web::error::ErrorServiceUnavailable(
                        "the server is shutting down",
                    ));
                }
            };
            let request = request.ok_or_else(taken)?;
            Ok(request.into_response(response).map_into_right_body())
        })
    }
}

/// Unreachable: `run_verified` calls its handler at most once, and answers `Duplicate`
/// or `Refused` only without calling it; kept so a mistake fails closed.
fn taken() -> Error {
    WebhookRejection::from(Rejection::Misconfigured {
        reason: "the idempotency middleware's request was handed to the handler twice",
    })
    .into()
}

/// Runs `task` in its own task on this worker, so that the request future being
/// dropped (the sender gave up) does not cancel the handler half-way. `Ok(None)`: the
/// worker shut the task down; `Err`: it panicked.
pub(crate) async fn spawn<F>(task: F) -> std::thread::Result<Option<F::Output>>
where
    F: Future + 'static,
{
    match actix_web::rt::spawn(task).await {
        Ok(output) => Ok(Some(output)),
        Err(error) => match error.try_into_panic() {
            Ok(panic) => Err(panic),
            Err(_cancelled) => Ok(None),
        },
    }
}
