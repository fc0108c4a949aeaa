//! The middleware: [`VerifyWebhook`] verifies every request of a resource or scope
//! before its handler runs, and with [`VerifyWebhook::idempotent`] deduplicates it
//! after verification.
//!
//! It takes the payload, reads it up to the limit, verifies it, then puts the verified
//! bytes back with `ServiceRequest::set_payload` (so any extractor can read the body)
//! and stores the [`Verified<Bytes>`](crate::Verified) in the request extensions,
//! where [`Webhook<T>`](crate::Webhook) picks it up (no [`WebhookConfig`](crate::WebhookConfig)
//! needed). A failed request is answered with the problem JSON and never reaches the
//! handler.
//!
//! Wrap the route (`web::post().to(hook).wrap(…)`) or the resource
//! (`web::resource(path).wrap(…)`), not the `App`: middleware on the `App` also runs for
//! paths no route matches, which would then be answered 401 `missing_signature`
//! instead of 404. A wrapped resource answers other methods on its path 401 too; a
//! wrapped route leaves them to actix. On a scope the middleware covers every path
//! under the scope's prefix, unknown ones included.

use std::{
    future::{Ready, ready},
    rc::Rc,
};

use actix_web::{
    Error, HttpMessage as _, ResponseError as _,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use futures_util::future::LocalBoxFuture;
use webhook_core::{
    Verifier,
    idempotency::{Deduplicator, IdempotencyStore},
};

use crate::{
    body::verify_payload,
    idempotency::{IdempotencyMiddleware, with_actix_timer},
};

/// Middleware factory: wrap a route, resource or scope with
/// `.wrap(VerifyWebhook::new(verifier))`, or
/// `.wrap(VerifyWebhook::new(verifier).idempotent(dedup))` for exactly-once handling.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use webhook_actix::{VerifyWebhook, Webhook};
/// use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier};
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
///     HttpResponse::Ok().body(events.len().to_string())
/// }
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let app = App::new().service(
///     web::resource("/hooks/stalwart")
///         .wrap(VerifyWebhook::new(verifier))
///         .route(web::post().to(hook)),
/// );
/// # Ok::<(), webhook_actix::BuildError>(())
/// ```
///
/// `D` is `()` for verification alone, or the [`Deduplicator`] given to
/// [`idempotent`](Self::idempotent).
#[derive(Debug, Clone)]
pub struct VerifyWebhook<D = ()> {
    verifier: Verifier,
    dedup: D,
}

impl VerifyWebhook {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            dedup: (),
        }
    }

    /// Adds exactly-once handling with `dedup` (its store and policy), inside the
    /// verification: a redelivered event is answered without calling the handler again
    /// (see [`idempotency`](crate::idempotency)). This is the only way to add the
    /// deduplication, so it cannot end up outside the verification it reads.
    ///
    /// Unless `dedup` already has a [`LeaseTimer`](crate::idempotency::LeaseTimer), it
    /// gets actix's (tokio's) timer, so the leases of a running handler's claims are
    /// renewed.
    ///
    /// There is no deduplication middleware of its own, which could be wrapped outside
    /// the verification (every request would then fail):
    ///
    /// ```compile_fail
    /// use webhook_actix::idempotency::{Deduplicator, Idempotency, MemoryStore};
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), webhook_actix::Scheme::Stalwart);
    /// let middleware = Idempotency::new(dedup);
    /// ```
    ///
    /// ```
    /// use actix_web::{App, HttpResponse, web};
    /// use webhook_actix::idempotency::{Deduplicator, MemoryStore};
    /// use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier, VerifyWebhook, Webhook};
    ///
    /// async fn hook(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
    ///     HttpResponse::Ok().finish() // runs once per event, however often Stalwart retries
    /// }
    ///
    /// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
    /// let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
    /// let app = App::new().service(
    ///     web::resource("/hooks/stalwart")
    ///         .wrap(VerifyWebhook::new(verifier).idempotent(dedup))
    ///         .route(web::post().to(hook)),
    /// );
    /// # Ok::<(), webhook_actix::BuildError>(())
    /// ```
    pub fn idempotent<S: IdempotencyStore>(
        self,
        dedup: Deduplicator<S>,
    ) -> VerifyWebhook<Deduplicator<S>> {
        VerifyWebhook {
            verifier: self.verifier,
            dedup: with_actix_timer(dedup),
        }
    }
}

impl<D> VerifyWebhook<D> {
    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl<S, B> Transform<S, ServiceRequest> for VerifyWebhook
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = VerifyWebhookMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(VerifyWebhookMiddleware {
            service: Rc::new(service),
            verifier: self.verifier.clone(),
        }))
    }
}

impl<Svc, S, B> Transform<Svc, ServiceRequest> for VerifyWebhook<Deduplicator<S>>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S: IdempotencyStore + Clone + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<EitherBody<B>>>;
    type Error = Error;
    type Transform = VerifyWebhookMiddleware<IdempotencyMiddleware<Svc, S>>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(VerifyWebhookMiddleware {
            service: Rc::new(IdempotencyMiddleware::new(service, self.dedup.clone())),
            verifier: self.verifier.clone(),
        }))
    }
}

/// The middleware service built by [`VerifyWebhook`].
#[derive(Debug)]
pub struct VerifyWebhookMiddleware<S> {
    service: Rc<S>,
    verifier: Verifier,
}

impl<S, B> Service<ServiceRequest> for VerifyWebhookMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let payload = request.take_payload();
            match verify_payload(&verifier, request.request(), payload).await {
                Ok(verified) => {
                    replace_payload(&mut request, verified.body().clone());
                    request.extensions_mut().insert(verified);
                    service
                        .call(request)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(rejection) => {
                    let response = rejection.error_response();
                    Ok(request.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

/// Puts `body` back as the request's payload, for the extractors behind the middleware.
pub(crate) fn replace_payload(request: &mut ServiceRequest, body: bytes::Bytes) {
    let (_, mut replay) = actix_http::h1::Payload::create(true);
    replay.unread_data(body);
    request.set_payload(replay.into());
}
