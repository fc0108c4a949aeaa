//! The hyper service of one connection: records the request's phases on the
//! connection, gives the request its budget and peer address, paces its body, and
//! turns a body cut off for slowness into 408 with `Connection: close`.

use std::{convert::Infallible, future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request},
    response::IntoResponse as _,
};
use http::{HeaderValue, StatusCode, header::CONNECTION};
use http_body::Body as _;
use hyper::body::Incoming;
use tower_service::Service as _;
use webhook_core::{Rejection, capacity::ServeLimits};

use super::{
    body::{PacedBody, ServedBody},
    connection::Connection,
};
use crate::WebhookRejection;

#[derive(Clone)]
pub(super) struct ConnectionService {
    pub(super) router: Router,
    pub(super) limits: Arc<ServeLimits>,
    pub(super) connection: Arc<Connection>,
    pub(super) peer: SocketAddr,
}

impl hyper::service::Service<http::Request<Incoming>> for ConnectionService {
    type Response = http::Response<ServedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let connection = Arc::clone(&self.connection);
        connection.request_started(!request.body().is_end_stream());
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(self.limits.body_budget().clone());
        parts.extensions.insert(ConnectInfo(self.peer));
        let body = PacedBody::new(body, Arc::clone(&self.limits), Arc::clone(&connection));
        let request = Request::from_parts(parts, Body::new(body));
        // `Router` is always ready; a clone per request is an `Arc` clone.
        let answer = self.router.clone().call(request);
        Box::pin(async move {
            let Ok(mut response) = answer.await;
            if let Some(slow) = connection.take_slow_body() {
                if response.status() != StatusCode::REQUEST_TIMEOUT {
                    response = WebhookRejection(Rejection::SlowBody(slow)).into_response();
                }
                response
                    .headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| ServedBody::new(body, connection)))
        })
    }
}
