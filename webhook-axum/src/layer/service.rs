//! The service: reads, verifies, then calls the inner service or answers the problem.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::Request;
use tower_service::Service;
use webhook_core::{Verifier, capacity::RequestHolds};

use super::VerifyWebhookLayer;
use crate::{WebhookRejection, body::verify_request};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Verifies each request with its [`Verifier`] before calling the inner service: the
/// tower service that [`VerifyWebhookLayer`] wraps around a route. Named apart from
/// `webhook_actix::VerifyWebhook` (actix-web's middleware, which users wrap) because the
/// two play different roles; in axum, the item a user adds is the layer.
#[derive(Debug, Clone)]
pub struct VerifyWebhookService<S> {
    inner: S,
    verifier: Verifier,
}

impl<S> VerifyWebhookService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, verifier: Verifier) -> Self {
        Self { inner, verifier }
    }

    /// A layer producing this service.
    pub fn layer(verifier: Verifier) -> VerifyWebhookLayer {
        VerifyWebhookLayer::new(verifier)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyWebhookService<S>
where
    S: Service<Request<Body>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was driven to readiness is the one to call (tower's contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            // Under `serve` the request already has its holds; otherwise this future
            // keeps them until the inner service has answered.
            let _holds = match parts.extensions.get::<RequestHolds>() {
                Some(holds) => holds.clone(),
                None => {
                    let holds = RequestHolds::new();
                    parts.extensions.insert(holds.clone());
                    holds
                }
            };
            match verify_request(&verifier, &parts, body).await {
                Ok(verified) => {
                    let body = Body::from(verified.body().clone());
                    parts.extensions.insert(verified);
                    let response = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(response.map(Body::new))
                }
                Err(rejection) => Ok(WebhookRejection::from(rejection).into_response()),
            }
        })
    }
}

/// The response future of [`VerifyWebhookService`] and [`Idempotent`](crate::Idempotent).
/// Boxed: reading the body is an `async` state machine, and one allocation per request
/// is noise beside an HMAC.
pub struct ResponseFuture<E>(Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>);

impl<E> ResponseFuture<E> {
    pub(crate) fn new(future: impl Future<Output = Result<Response, E>> + Send + 'static) -> Self {
        Self(Box::pin(future))
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<E> std::fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}
