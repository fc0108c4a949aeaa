//! [`apply_limits`]: the `HttpServer` settings that give an actix-web receiver the
//! protections of [`ServeLimits`], as `webhook_axum::serve` does for axum.

use std::{fmt, time::Duration};

use actix_http::Request;
use actix_service::IntoServiceFactory;
use actix_web::{
    Error, HttpServer,
    body::MessageBody,
    dev::{AppConfig, Response, Service, ServiceFactory},
    http::KeepAlive,
};
use webhook_core::capacity::ServeLimits;

/// How long actix waits for a client to take the end of a response before dropping the
/// connection (actix's own default).
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Applies `limits` to an actix-web server that runs `workers` worker threads:
///
/// | `ServeLimits` | `HttpServer` setting | what actix does |
/// |---|---|---|
/// | `head_timeout` (10 s) | `client_request_timeout` | a head not complete in time is answered 408 and the connection closed |
/// | `idle_timeout` (30 s) | `keep_alive(KeepAlive::Timeout(_))` | an idle keep-alive connection is closed |
/// | `max_connections` (below the descriptor limit, read now) | `max_connections(cap / workers)` (per worker) and `workers(workers)` | at the cap, actix stops accepting: new connections wait in the listen backlog until one closes (slow heads within the head timeout) |
/// | — | `client_disconnect_timeout` ([`DISCONNECT_TIMEOUT`]) | how long actix lingers after a response on a connection it closes |
///
/// The body deadline and the body budget are applied by the extractor and
/// [`VerifyWebhook`](crate::VerifyWebhook) when reading a body: register the same
/// limits as app data (`App::app_data(limits.clone())`) so that they use its budget and
/// deadlines (without it, [`ServeLimits::default`] applies). A body later than
/// `body_timeout` plus a second per `min_body_rate` bytes is answered 408
/// `body_timeout`, one that does not fit in the budget 503 `receiver_busy` with
/// `Retry-After`, and the connection is closed.
///
/// Unlike `webhook_axum::serve`, actix-web cannot close a waiting connection to make
/// room at the cap; the head timeout is what frees the slots a slowloris holds.
///
/// ```no_run
/// use actix_web::{App, HttpResponse, HttpServer, web};
/// use webhook_actix::{Webhook, WebhookConfig};
/// use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier, capacity::ServeLimits};
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
///     HttpResponse::Ok().finish()
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let limits = ServeLimits::default();
/// let app_limits = limits.clone();
/// let server = HttpServer::new(move || {
///     App::new()
///         .app_data(app_limits.clone())
///         .app_data(WebhookConfig::new(verifier.clone()))
///         .route("/hooks/stalwart", web::post().to(hook))
/// });
/// webhook_actix::apply_limits(server, &limits, 2)
///     .bind(("0.0.0.0", 8080))?
///     .run()
///     .await?;
/// # Ok(()) }
/// ```
pub fn apply_limits<F, I, S, B>(
    server: HttpServer<F, I, S, B>,
    limits: &ServeLimits,
    workers: usize,
) -> HttpServer<F, I, S, B>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let workers = workers.max(1);
    let per_worker = (limits.max_connections() / workers).max(1);
    server
        .workers(workers)
        .client_request_timeout(limits.head_timeout())
        .keep_alive(KeepAlive::Timeout(limits.idle_timeout()))
        .client_disconnect_timeout(DISCONNECT_TIMEOUT)
        .max_connections(per_worker)
}
