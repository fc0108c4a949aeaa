//! The middleware: [`VerifyWebhook`] verifies every request of a scope or resource
//! before its handler runs.
//!
//! It takes the payload, reads it up to the limit, verifies it, then puts the verified
//! bytes back with `ServiceRequest::set_payload` (so any extractor can read the body)
//! and stores the [`Verified<Bytes>`](crate::Verified) in the request extensions,
//! where [`Webhook<T>`](crate::Webhook) picks it up. A failed request is answered with
//! the problem JSON and never reaches the handler.

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
use webhook_core::Verifier;

use crate::body::verify_payload;

/// Middleware factory: wrap a scope or resource with `.wrap(VerifyWebhook::new(verifier))`.
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
///     web::scope("/hooks")
///         .wrap(VerifyWebhook::new(verifier))
///         .route("/stalwart", web::post().to(hook)),
/// );
/// # Ok::<(), webhook_actix::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifyWebhook {
    verifier: Verifier,
}

impl VerifyWebhook {
    /// Verifies with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
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
