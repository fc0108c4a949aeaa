//! The service: [`Deduplicator::run_verified`] around the inner service, and its answer
//! as a response.

use std::{
    future::Future,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header::CONTENT_TYPE};
use tower_service::Service;
use webhook_core::{
    Rejection, Verified,
    idempotency::{DUPLICATE_BODY, Deduplicator, Handled, IdempotencyStore, LeaseTimer},
};

use crate::{WebhookRejection, layer::ResponseFuture};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// Unreachable through the public API (only `VerifyWebhookLayer::idempotent` builds an
// `Idempotent`, inside `VerifyWebhookService`); kept so a future wiring mistake fails closed.
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
    /// builds one, always inside [`VerifyWebhookService`](crate::VerifyWebhookService).
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
            let handler = move |verified: Verified<Bytes>| {
                let body = Body::from(verified.body().clone());
                parts.extensions.insert(verified);
                inner.call(Request::from_parts(parts, body))
            };
            let handled = dedup
                .run_verified(
                    verified,
                    |run| spawn(run.run()),
                    handler,
                    |answer| answer.as_ref().is_ok_and(|r| r.status().is_success()),
                )
                .await;
            match handled {
                Handled::Ran(answer) => answer.map(|response| response.map(Body::new)),
                Handled::Duplicate => Ok(duplicate()),
                Handled::Refused(rejection) => Ok(WebhookRejection(rejection).into_response()),
                // The runtime is shutting down.
                Handled::Interrupted => Ok(StatusCode::SERVICE_UNAVAILABLE.into_response()),
            }
        })
    }
}

/// Runs `task` in its own tokio task, so that the request future being dropped (the
/// sender gave up) does not cancel the handler half-way; in place when there is no
/// runtime. `Ok(None)`: the runtime shut the task down; `Err`: it panicked.
pub(crate) async fn spawn<F>(task: F) -> std::thread::Result<Option<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Ok(Some(task.await));
    };
    match runtime.spawn(task).await {
        Ok(output) => Ok(Some(output)),
        Err(error) => match error.try_into_panic() {
            Ok(panic) => Err(panic),
            Err(_cancelled) => Ok(None),
        },
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
