//! Exactly-once handler effects:
//! [`VerifyWebhook::idempotent`](crate::VerifyWebhook::idempotent) answers a redelivered
//! event without calling the handler again.
//!
//! Deduplication reads the verified body, so it must run after verification;
//! `VerifyWebhook::new(verifier).idempotent(dedup)` is one middleware that composes both
//! in that order, and the only way to add it, so the two cannot be wrapped the wrong
//! way round. It follows [`Deduplicator::decide`]: a duplicate of processed events
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

use std::rc::Rc;

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

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let dedup = self.dedup.clone();
        Box::pin(async move {
            let answer = |request: ServiceRequest, response: HttpResponse| {
                Ok(request.into_response(response).map_into_right_body())
            };
            let Some(verified) = request.extensions_mut().remove::<Verified<Bytes>>() else {
                return answer(request, WebhookRejection::from(ORDER).error_response());
            };
            let (reduced, gate) = match dedup.decide(&verified).await {
                Err(rejection) => {
                    return answer(request, WebhookRejection::from(rejection).error_response());
                }
                Ok(Decision::Duplicate) => {
                    let duplicate = HttpResponse::Ok()
                        .content_type("application/json")
                        .body(DUPLICATE_BODY);
                    return answer(request, duplicate);
                }
                Ok(Decision::Run { reduced, gate }) => (reduced, gate),
            };
            let verified = reduced.map_or(verified, Verified::convert);
            replace_payload(&mut request, verified.body().clone());
            request.extensions_mut().insert(verified);
            let Some(mut gate) = gate else {
                // Fail open: nothing to renew or settle.
                return Ok(service.call(request).await?.map_into_left_body());
            };
            let watch = gate.watch_cancellation();
            let run = async move {
                let result = gate.hold_while(service.call(request)).await;
                let success = result.as_ref().is_ok_and(|r| r.status().is_success());
                let outcome = gate.settle(success).await;
                tracing::debug!(%outcome, "idempotency claims settled");
                result
            };
            // The handler runs in its own task on this worker: when the sender gives up
            // first (its timeout, a dropped connection), this future is dropped but the
            // handler finishes once and its claims are settled, instead of being
            // cancelled half-way and started again by every retry.
            let joined = actix_web::rt::spawn(run).await;
            watch.finish();
            match joined {
                Ok(result) => Ok(result?.map_into_left_body()),
                Err(error) => match error.try_into_panic() {
                    // The handler panicked: its claims were released; pass the panic on.
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // The worker is shutting down.
                    Err(_) => Err(actix_web::error::ErrorServiceUnavailable(
                        "the server is shutting down",
                    )),
                },
            }
        })
    }
}
