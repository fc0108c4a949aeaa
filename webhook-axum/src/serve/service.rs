//! The hyper service of one connection: records the request's phases on the
//! connection, gives the request its budget, its budget holds and peer address, paces
//! its body, and turns a body cut off for slowness into 408 with `Connection: close`.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, Request},
    response::IntoResponse as _,
    routing::future::RouteFuture,
};
use http::{HeaderValue, StatusCode, header::CONNECTION};
use http_body::Body as _;
use hyper::body::Incoming;
use tower_service::Service as _;
use webhook_core::{
    Rejection,
    capacity::{BodyBudget, RequestHolds, ServeLimits},
};

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
    type Future = Answer;

    fn call(&self, request: http::Request<Incoming>) -> Answer {
        let connection = Arc::clone(&self.connection);
        connection.request_started(!request.body().is_end_stream());
        let (mut parts, body) = request.into_parts();
        // The body readers fall back to the global budget: it needs no extension.
        let budget = self.limits.body_budget();
        if budget != BodyBudget::global() {
            parts.extensions.insert(budget.clone());
        }
        // The body readers keep each body's reservation here; dropped once the router has
        // answered, so the payloads the handler parsed stay counted while it runs.
        let holds = RequestHolds::new();
        parts.extensions.insert(holds.clone());
        parts.extensions.insert(ConnectInfo(self.peer));
        let body = PacedBody::new(body, Arc::clone(&self.limits), Arc::clone(&connection));
        let request = Request::from_parts(parts, Body::new(body));
        // `Router` is always ready; a clone per request is an `Arc` clone.
        Answer {
            routed: self.router.clone().call(request),
            connection: Some(connection),
            holds: Some(holds),
        }
    }
}

/// The router's answer, with the connection told when hyper is done with it and the
/// request's budget holds given back once the handler has returned.
pub(super) struct Answer {
    routed: RouteFuture<Infallible>,
    connection: Option<Arc<Connection>>,
    holds: Option<RequestHolds>,
}

impl Future for Answer {
    type Output = Result<http::Response<ServedBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Ok(mut response) = ready!(Pin::new(&mut self.routed).poll(cx));
        self.holds = None;
        let connection = self
            .connection
            .take()
            .expect("an answer is polled to completion once");
        if let Some(slow) = connection.take_slow_body() {
            if response.status() != StatusCode::REQUEST_TIMEOUT {
                response = WebhookRejection(Rejection::SlowBody(slow)).into_response();
            }
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        Poll::Ready(Ok(response.map(|body| ServedBody::new(body, connection))))
    }
}
