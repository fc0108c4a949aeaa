//! The durable inbox in axum (feature `inbox`): a route that answers the sender once
//! the delivery is on disk, and workers that run the application's handler later, with
//! retries.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::post};
//! use webhook_axum::{Scheme, Secret, Verifier, senders::stalwart::WebhookEvent};
//! use webhook_axum::inbox::{self, Inbox, Outcome, Route};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let inbox = Inbox::open(dir.path().join("inbox.db"))?;
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//!
//! // Accept: read within the limits, verify the raw bytes, store, answer 200.
//! let app: Router = Router::new()
//!     .route("/hooks/stalwart", post(inbox::accept(inbox.clone(), verifier, Route::of(Scheme::Stalwart))));
//!
//! // Work: the handler runs on each stored event, on this runtime.
//! let workers = inbox.workers().spawn_typed(|event: WebhookEvent<'static>, job| async move {
//!     println!("{} (attempt {}, key {})", event.event_type(), job.attempt(), job.key());
//!     Outcome::Done
//! });
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let server = webhook_axum::serve(listener, app)
//!     .with_graceful_shutdown(async { /* tokio::signal::ctrl_c() */ });
//! // Serve until the signal, then stop the workers (see `serve_with_workers`).
//! let report = inbox::serve_with_workers(server, workers, Duration::from_secs(20)).await?;
//! assert_eq!(report.released, 0);
//! # Ok(()) }
//! ```
//!
//! # What the route answers
//!
//! [`accept`] reads the body exactly as [`Webhook<T>`](crate::Webhook) does (the
//! verifier's limit, 413 over it; the [`BodyBudget`](crate::capacity::BodyBudget) that
//! [`serve`](crate::serve) puts in each request, 503 `receiver_busy` with
//! `Retry-After` beyond it), verifies the raw bytes with the [`Verifier`], and hands them
//! to [`Inbox::accept`]:
//!
//! - stored: **200 only after the commit** (the [`Answer`] body
//!   `{"delivery":…,"queued":…,"duplicates":…,"quarantined":…}`); a redelivered
//!   batch is answered 200 and queues only its new events;
//! - the inbox cannot write (disk full, read-only file, locked too long): 503 with
//!   `Retry-After` and nothing stored — every seed sender retries a 503;
//! - verification failed: the same 401/400/413/415 problems as the extractors.
//!
//! The body's budget reservation is held until the delivery is committed, so the bodies
//! held across all requests stay within the budget, the inbox's included. The events
//! split from them until the commit (each one's range, type and key) are bounded by
//! the inbox, to 2 MiB of bodies split and committed at once whatever the number of
//! requests in flight (see [`Inbox::accept`]): a fixed amount beyond the budget.
//!
//! # Shutdown
//!
//! [`serve_with_workers`] runs a server made by [`serve`](crate::serve) (with its
//! [`with_graceful_shutdown`](crate::Serve::with_graceful_shutdown) signal) and, once
//! it has stopped — no new connections, the requests in progress answered, so every
//! acknowledged delivery is committed — shuts the [`WorkerPool`] down: it stops
//! claiming, lets running handlers finish within `grace`, and gives the rest back (due
//! at once at the next start). With `axum::serve` instead, do the same by hand:
//! `axum::serve(…).with_graceful_shutdown(signal).await?; workers.shutdown(grace).await;`.
//!
//! Everything of [`webhook_inbox`] is re-exported here, so `webhook-axum` with the
//! `inbox` feature is the one dependency.

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    extract::Request,
    handler::Handler,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use webhook_core::{Verified, Verifier};
#[doc(inline)]
pub use webhook_inbox::*;

use crate::{WebhookRejection, body::verify_request};

/// The route handler that accepts deliveries into `inbox`, verified by `verifier`,
/// under `route` (the deduplication namespace): use it as
/// `.route("/hooks/stalwart", post(accept(inbox, verifier, route)))`. See the
/// [module docs](self) for what it answers.
///
/// Behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) it uses the layer's
/// verified body instead of verifying twice.
pub fn accept<B: Backend>(inbox: Inbox<B>, verifier: Verifier, route: Route) -> Accept<B> {
    Accept {
        shared: Arc::new(Shared {
            inbox,
            verifier,
            route,
        }),
    }
}

/// The handler made by [`accept`]: an axum [`Handler`] for any router state.
pub struct Accept<B: Backend = SqliteBackend> {
    shared: Arc<Shared<B>>,
}

struct Shared<B: Backend> {
    inbox: Inbox<B>,
    verifier: Verifier,
    route: Route,
}

impl<B: Backend> Clone for Accept<B> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<B: Backend> std::fmt::Debug for Accept<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accept")
            .field("route", &self.shared.route.name())
            .field("verifier", &self.shared.verifier)
            .finish_non_exhaustive()
    }
}

impl<B: Backend> Accept<B> {
    /// Reads, verifies and stores one request, and answers it.
    pub async fn handle(&self, request: Request) -> Response {
        let (mut parts, body) = request.into_parts();
        let verified = match parts.extensions.remove::<Verified<Bytes>>() {
            Some(verified) => verified,
            None => match verify_request(&self.shared.verifier, &parts, body).await {
                Ok(verified) => verified,
                Err(rejection) => return WebhookRejection(rejection).into_response(),
            },
        };
        let shared = &self.shared;
        let result = shared
            .inbox
            .accept(&shared.route, &parts.headers, verified)
            .await;
        respond(&Answer::of(&result))
    }
}

impl<B: Backend, S> Handler<(), S> for Accept<B> {
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, _state: S) -> Self::Future {
        Box::pin(async move { self.handle(request).await })
    }
}

fn respond(answer: &Answer) -> Response {
    let mut response = (answer.status(), answer.body().to_owned()).into_response();
    for (name, value) in answer.headers() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

/// Runs `server` until its graceful-shutdown signal has stopped it, then shuts
/// `workers` down: no more claims, running handlers get `grace` to finish, the rest
/// are given back (due at once, for the next start). Returns what the worker shutdown
/// did; a server error is returned after the workers have been shut down.
///
/// The server stops first so that every request in progress is committed and answered
/// before the workers go; the whole shutdown takes the server's drain (bounded by its
/// body deadline) plus at most `grace`.
#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub async fn serve_with_workers(
    server: crate::Serve,
    workers: WorkerPool,
    grace: std::time::Duration,
) -> std::io::Result<ShutdownReport> {
    let served = server.await;
    let report = workers.shutdown(grace).await;
    tracing::info!(
        finished = report.finished,
        released = report.released,
        "inbox workers stopped"
    );
    served.map(|()| report)
}
