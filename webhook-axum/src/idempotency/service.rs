//! The service: decide, then call the inner service and settle, or answer.

use std::task::{Context, Poll};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header::CONTENT_TYPE};
use tower_service::Service;
use webhook_core::{
    Rejection, Verified,
    idempotency::{DUPLICATE_BODY, Decision, Deduplicator, IdempotencyStore, LeaseTimer},
};

use crate::{WebhookRejection, layer::ResponseFuture};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// Unreachable through the public API (only `VerifyWebhookLayer::idempotent` builds an
// `Idempotent`, inside `VerifyWebhook`); kept so a future wiring mistake fails closed.
const LAYER_ORDER: Rejection = Rejection::Misconfigured {
    reason: "the idempotency service reads the request verified by VerifyWebhookLayer, \
             which did not run before it: use `VerifyWebhookLayer::new(verifier).idempotent(dedup)`",
};

/// Deduplicates verified requests before calling the inner service: the inner half of
/// `VerifyWebhookLayer::new(verifier).idempotent(dedup)`.
#[derive(Debug, Clone)]
pub struct Idempotent<I, S> {
    inner: I,
    dedup: Deduplicator<S>,
}

impl<I, S: IdempotencyStore> Idempotent<I, S> {
    /// Wraps `inner`; only [`VerifyWebhookLayer::idempotent`](crate::VerifyWebhookLayer::idempotent)
    /// builds one, always inside [`VerifyWebhook`](crate::VerifyWebhook).
    pub(crate) fn new(inner: I, dedup: Deduplicator<S>) -> Self {
        let dedup = with_tokio_timer(dedup);
        Self { inner, dedup }
    }
}

impl<I, S> Idempotent<I, S> {
    /// The inner service.
    pub fn get_ref(&self) -> &I {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut I {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> I {
        self.inner
    }
}

impl<I, S, ReqBody, ResBody> Service<Request<ReqBody>> for Idempotent<I, S>
where
    I: Service<Request<Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    I::Future: Send,
    I::Error: Send + 'static,
    S: IdempotencyStore + Clone + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = I::Error;
    type Future = ResponseFuture<I::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let dedup = self.dedup.clone();
        ResponseFuture::new(async move {
            let (mut parts, _body) = request.into_parts();
            let Some(verified) = parts.extensions.remove::<Verified<Bytes>>() else {
                return Ok(WebhookRejection(LAYER_ORDER).into_response());
            };
            let (reduced, gate) = match dedup.decide(&verified).await {
                Err(rejection) => return Ok(WebhookRejection(rejection).into_response()),
                Ok(Decision::Duplicate) => return Ok(duplicate()),
                Ok(Decision::Run { reduced, gate }) => (reduced, gate),
            };
            let verified = reduced.map_or(verified, Verified::convert);
            let body = Body::from(verified.body().clone());
            parts.extensions.insert(verified);
            let request = Request::from_parts(parts, body);
            let Some(mut gate) = gate else {
                // Fail open: nothing to renew or settle.
                return Ok(inner.call(request).await?.map(Body::new));
            };
            let watch = gate.watch_cancellation();
            let run = async move {
                let result = gate.hold_while(inner.call(request)).await;
                let success = result.as_ref().is_ok_and(|r| r.status().is_success());
                let outcome = gate.settle(success).await;
                tracing::debug!(%outcome, "idempotency claims settled");
                result.map(|response| response.map(Body::new))
            };
            // The handler runs in its own task: when the sender gives up first (its
            // timeout, a dropped connection), this future is dropped but the handler
            // finishes once and its claims are settled, instead of being cancelled
            // half-way and started again by every retry.
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                let result = run.await;
                watch.finish();
                return result;
            };
            let joined = runtime.spawn(run).await;
            watch.finish();
            match joined {
                Ok(result) => result,
                Err(error) => match error.try_into_panic() {
                    // The handler panicked: its claims were released; pass the panic on.
                    Ok(panic) => std::panic::resume_unwind(panic),
                    // The runtime is shutting down.
                    Err(_) => Ok(StatusCode::SERVICE_UNAVAILABLE.into_response()),
                },
            }
        })
    }
}

/// `dedup` with tokio's timer for lease renewals, unless it has one.
pub(crate) fn with_tokio_timer<S: IdempotencyStore>(dedup: Deduplicator<S>) -> Deduplicator<S> {
    if dedup.lease_timer().is_some() {
        return dedup;
    }
    dedup.with_lease_timer(LeaseTimer::new(|delay| Box::pin(tokio::time::sleep(delay))))
}

fn duplicate() -> Response {
    let mut response = (StatusCode::OK, DUPLICATE_BODY).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
