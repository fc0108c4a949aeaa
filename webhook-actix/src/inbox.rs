//! The durable inbox in actix-web (feature `inbox`): a route that answers the sender
//! once the delivery is on disk, and workers that run the application's handler later,
//! with retries.
//!
//! ```
//! use std::time::Duration;
//! use actix_web::{App, HttpServer};
//! use webhook_actix::{Scheme, Secret, Verifier, capacity::ServeLimits, senders::stalwart::WebhookEvent};
//! use webhook_actix::inbox::{self, Inbox, Outcome, Route};
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let inbox = Inbox::open(dir.path().join("inbox.db"))?;
//! let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
//!
//! // Work: the handler runs on each stored event, on this runtime.
//! let workers = inbox.workers().spawn_typed(|event: WebhookEvent<'static>, job| async move {
//!     println!("{} (attempt {}, key {})", event.event_type(), job.attempt(), job.key());
//!     Outcome::Done
//! });
//!
//! // Accept: read within the limits, verify the raw bytes, store, answer 200.
//! let limits = ServeLimits::default();
//! let app_limits = limits.clone();
//! let server = HttpServer::new(move || {
//!     App::new().app_data(app_limits.clone()).route(
//!         "/hooks/stalwart",
//!         inbox::accept(inbox.clone(), verifier.clone(), Route::of(Scheme::Stalwart)),
//!     )
//! });
//! let server = webhook_actix::apply_limits(server, &limits, 2).bind(("127.0.0.1", 0))?.run();
//! # drop(server.handle().stop(true)); // sent at once: the doc test stops right away
//! // Serve until actix stops (SIGINT/SIGTERM, or `ServerHandle::stop`), then stop the workers.
//! let report = inbox::run_with_workers(server, workers, Duration::from_secs(20)).await?;
//! assert_eq!(report.released, 0);
//! # Ok(()) }
//! ```
//!
//! # What the route answers
//!
//! [`accept`] reads the payload exactly as [`Webhook<T>`](crate::Webhook) does (the
//! verifier's limit, 413 over it; the body deadline and the
//! [`BodyBudget`](crate::capacity::BodyBudget) of the
//! [`ServeLimits`](crate::capacity::ServeLimits) registered as app data, 503
//! `receiver_busy` with `Retry-After` beyond it), verifies the raw bytes with the
//! [`Verifier`], and hands them to [`Inbox::accept`]:
//!
//! - stored: **200 only after the commit** (the [`Answer`] body
//!   `{"delivery":…,"queued":…,"duplicates":…,"quarantined":…}`); a redelivered
//!   batch is answered 200 and queues only its new events;
//! - the inbox cannot write (disk full, read-only file, locked too long): 503 with
//!   `Retry-After` and nothing stored — every seed sender retries a 503;
//! - verification failed: the same 401/400/413/415 problems as the extractor.
//!
//! The body's budget reservation is held until the delivery is committed, so the bodies
//! held across all requests stay within the budget, the inbox's included. The events
//! split from them until the commit (each one's range, type and key) are bounded by
//! the inbox, to 2 MiB of bodies split and committed at once whatever the number of
//! requests in flight (see [`Inbox::accept`]): a fixed amount beyond the budget.
//!
//! # Runtimes
//!
//! actix-web runs each HTTP worker on a runtime of its own; the inbox is shared by all
//! of them (it is `Send + Sync`, and its SQLite writer is a thread of its own). Spawn
//! the [`WorkerPool`] once, in `main` (inside `#[actix_web::main]`), not in the
//! `HttpServer::new` factory, which runs once per HTTP worker.
//!
//! # Shutdown
//!
//! [`run_with_workers`] awaits the actix [`Server`] — which stops on SIGINT/SIGTERM or
//! [`ServerHandle::stop`](actix_web::dev::ServerHandle::stop), gracefully: no new
//! connections, requests in progress answered within its `shutdown_timeout`, so every
//! acknowledged delivery is committed — and then shuts the [`WorkerPool`] down: it
//! stops claiming, lets running handlers finish within `grace`, and gives the rest back
//! (due at once at the next start).
//!
//! Everything of [`webhook_inbox`] is re-exported here, so `webhook-actix` with the
//! `inbox` feature is the one dependency.

use std::sync::Arc;

use actix_web::{
    HttpMessage as _, HttpRequest, HttpResponse, Route as ActixRoute, dev::Server,
    http::StatusCode, web,
};
use bytes::Bytes;
use webhook_core::{Verified, Verifier};
#[doc(inline)]
pub use webhook_inbox::*;

use crate::{WebhookRejection, body::verify_payload};

/// The actix-web route that accepts deliveries into `inbox` (POST only), verified by
/// `verifier`, under `route` (the deduplication namespace): use it as
/// `App::new().route("/hooks/stalwart", accept(inbox, verifier, route))`. See the
/// [module docs](self) for what it answers.
///
/// Behind the [`VerifyWebhook`](crate::VerifyWebhook) middleware it uses the
/// middleware's verified body instead of verifying twice.
pub fn accept<B: Backend>(inbox: Inbox<B>, verifier: Verifier, route: Route) -> ActixRoute {
    let shared = Arc::new(Shared {
        inbox,
        verifier,
        route,
    });
    web::post().to(move |request: HttpRequest, payload: web::Payload| {
        let shared = Arc::clone(&shared);
        async move { shared.handle(request, payload.into_inner()).await }
    })
}

struct Shared<B: Backend> {
    inbox: Inbox<B>,
    verifier: Verifier,
    route: Route,
}

impl<B: Backend> Shared<B> {
    async fn handle(
        &self,
        request: HttpRequest,
        payload: actix_web::dev::Payload,
    ) -> Result<HttpResponse, WebhookRejection> {
        let already = request.extensions_mut().remove::<Verified<Bytes>>();
        let verified = match already {
            Some(verified) => verified,
            None => verify_payload(&self.verifier, &request, payload).await?,
        };
        let headers = request_headers(&request);
        let result = self.inbox.accept(&self.route, &headers, verified).await;
        Ok(respond(&Answer::of(&result)))
    }
}

/// The request's headers as the `http` 1.x map the inbox keeps them from (actix-web 4
/// uses `http` 0.2): names and values are copied as bytes.
fn request_headers(request: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

fn respond(answer: &Answer) -> HttpResponse {
    let status =
        StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in answer.headers() {
        response.insert_header((name, value));
    }
    response.body(answer.body().to_owned())
}

/// Runs the actix `server` until it stops (SIGINT/SIGTERM, or
/// [`ServerHandle::stop`](actix_web::dev::ServerHandle::stop)), then shuts `workers`
/// down: no more claims, running handlers get `grace` to finish, the rest are given
/// back (due at once, for the next start). Returns what the worker shutdown did; a
/// server error is returned after the workers have been shut down.
///
/// The server stops first so that every request in progress is committed and answered
/// before the workers go; the whole shutdown takes the server's own graceful stop
/// (`HttpServer::shutdown_timeout`, 30 s by default) plus at most `grace`.
pub async fn run_with_workers(
    server: Server,
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
