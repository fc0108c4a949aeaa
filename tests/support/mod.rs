//! Test servers for both adapters with identical routes, and a small HTTP client.
//!
//! Each server exposes one route per sender, each with its own verifier (axum: a
//! sub-router with its own state; actix-web: a resource with its own `WebhookConfig`),
//! and counts how often each handler ran.

#![allow(dead_code, unreachable_pub)]

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt as _;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use webhook_core::{
    Credentials, EmailApiEvent, MailtrapEvents, Scheme, Secret, StalwartEvents, Verifier,
    WildDuckEvent, senders::standard_webhooks::StandardWebhook,
};

/// The body limit of every test verifier, small so oversize cases stay cheap.
pub const MAX_BODY: usize = 64 * 1024;

/// Every secret the servers use; no answer may contain any of them.
pub const SECRETS: [&str; 5] = [
    "stalwart-secret-value",
    "email-api-secret-value",
    "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e",
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "wildduck-password-value",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Stalwart,
    EmailApi,
    Mailtrap,
    Standard,
    WildDuck,
}

impl Route {
    pub const ALL: [Route; 5] = [
        Route::Stalwart,
        Route::EmailApi,
        Route::Mailtrap,
        Route::Standard,
        Route::WildDuck,
    ];

    pub fn scheme(self) -> Scheme {
        match self {
            Route::Stalwart => Scheme::Stalwart,
            Route::EmailApi => Scheme::EmailApi,
            Route::Mailtrap => Scheme::Mailtrap,
            Route::Standard => Scheme::StandardWebhooks,
            Route::WildDuck => Scheme::WildDuck,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Stalwart => "/hooks/stalwart",
            Route::EmailApi => "/hooks/email-api",
            Route::Mailtrap => "/hooks/mailtrap",
            Route::Standard => "/hooks/standard",
            Route::WildDuck => "/hooks/wildduck",
        }
    }

    pub fn secret(self) -> &'static str {
        match self {
            Route::Stalwart => SECRETS[0],
            Route::EmailApi => SECRETS[1],
            Route::Mailtrap => SECRETS[2],
            Route::Standard => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            Route::WildDuck => SECRETS[4],
        }
    }

    pub fn verifier(self) -> Verifier {
        let builder = Verifier::builder(self.scheme()).max_body_bytes(MAX_BODY);
        match self {
            Route::WildDuck => builder.credentials(wildduck_credentials()),
            Route::Standard => builder.secret(Secret::standard_webhooks(self.secret()).unwrap()),
            _ => builder.secret(Secret::new(self.secret())),
        }
        .build()
        .unwrap()
    }

    fn index(self) -> usize {
        self as usize
    }
}

pub fn wildduck_credentials() -> Credentials {
    Credentials::basic("wildduck", Secret::new(Route::WildDuck.secret()))
}

/// How many times each route's handler ran.
#[derive(Debug, Default)]
pub struct Counts([AtomicUsize; 5]);

impl Counts {
    pub fn hit(&self, route: Route) {
        self.0[route.index()].fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self, route: Route) -> usize {
        self.0[route.index()].load(Ordering::SeqCst)
    }
}

pub struct Server {
    pub address: SocketAddr,
    pub counts: Arc<Counts>,
}

impl Server {
    pub fn url(&self, route: Route) -> String {
        format!("http://{}{}", self.address, route.path())
    }
}

pub async fn axum_server() -> Server {
    use axum::{Router, extract::State, routing::post};
    use webhook_axum::Webhook;

    #[derive(Clone, axum::extract::FromRef)]
    struct RouteState {
        verifier: Verifier,
        counts: Arc<Counts>,
    }

    impl webhook_axum::WebhookState for RouteState {
        fn verifier(&self) -> Option<&Verifier> {
            Some(&self.verifier)
        }
    }

    fn route<T, F>(path: &'static str, r: Route, counts: &Arc<Counts>, check: F) -> Router
    where
        T: webhook_core::FromVerified<Bytes> + Send + 'static,
        F: Fn(&T) -> bool + Clone + Send + Sync + 'static,
    {
        Router::new()
            .route(
                path,
                post(move |State(counts): State<Arc<Counts>>, Webhook(payload): Webhook<T>| async move {
                    assert!(check(&payload), "the handler got an empty payload");
                    counts.hit(r);
                    "ok"
                }),
            )
            .with_state(RouteState {
                verifier: r.verifier(),
                counts: counts.clone(),
            })
    }

    let counts = Arc::new(Counts::default());
    let app = Router::new()
        .merge(route::<StalwartEvents, _>(
            Route::Stalwart.path(),
            Route::Stalwart,
            &counts,
            |e| !e.is_empty(),
        ))
        .merge(route::<EmailApiEvent, _>(
            Route::EmailApi.path(),
            Route::EmailApi,
            &counts,
            |e| !e.id.is_empty(),
        ))
        .merge(route::<MailtrapEvents, _>(
            Route::Mailtrap.path(),
            Route::Mailtrap,
            &counts,
            |e| !e.is_empty(),
        ))
        .merge(route::<StandardWebhook, _>(
            Route::Standard.path(),
            Route::Standard,
            &counts,
            |e| !e.message_id.is_empty(),
        ))
        .merge(route::<WildDuckEvent, _>(
            Route::WildDuck.path(),
            Route::WildDuck,
            &counts,
            |e| !e.id.is_empty(),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { address, counts }
}

pub fn actix_server() -> Server {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use webhook_actix::{Webhook, WebhookConfig};

    async fn handle<T>(
        counts: web::Data<Arc<Counts>>,
        route: web::Data<RouteTag>,
        Webhook(_payload): Webhook<T>,
    ) -> HttpResponse {
        counts.hit(route.0);
        HttpResponse::Ok().body("ok")
    }

    #[derive(Clone, Copy)]
    struct RouteTag(Route);

    let counts = Arc::new(Counts::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = counts.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let resource = |r: Route| {
                    web::resource(r.path())
                        .app_data(WebhookConfig::new(r.verifier()))
                        .app_data(web::Data::new(RouteTag(r)))
                };
                App::new()
                    .app_data(web::Data::new(shared.clone()))
                    .service(
                        resource(Route::Stalwart).route(web::post().to(handle::<StalwartEvents>)),
                    )
                    .service(
                        resource(Route::EmailApi).route(web::post().to(handle::<EmailApiEvent>)),
                    )
                    .service(
                        resource(Route::Mailtrap).route(web::post().to(handle::<MailtrapEvents>)),
                    )
                    .service(
                        resource(Route::Standard).route(web::post().to(handle::<StandardWebhook>)),
                    )
                    .service(
                        resource(Route::WildDuck).route(web::post().to(handle::<WildDuckEvent>)),
                    )
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    Server {
        address: rx.recv().unwrap(),
        counts,
    }
}

/// A request body: the exact bytes, or a chunked stream of spaces of a given length.
pub enum RequestBody {
    Full(Option<Bytes>),
    Chunked { left: usize },
}

impl RequestBody {
    pub fn full(bytes: Bytes) -> Self {
        Self::Full(Some(bytes))
    }

    pub fn chunked(total: usize) -> Self {
        Self::Chunked { left: total }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(match &mut *self {
            RequestBody::Full(bytes) => bytes.take().map(|b| Ok(Frame::data(b))),
            RequestBody::Chunked { left } if *left == 0 => None,
            RequestBody::Chunked { left } => {
                let n = (*left).min(16 * 1024);
                *left -= n;
                Some(Ok(Frame::data(Bytes::from(vec![b' '; n]))))
            }
        })
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            RequestBody::Full(Some(bytes)) => http_body::SizeHint::with_exact(bytes.len() as u64),
            RequestBody::Full(None) => http_body::SizeHint::with_exact(0),
            // Unknown length: hyper sends it chunked.
            RequestBody::Chunked { .. } => http_body::SizeHint::default(),
        }
    }
}

/// Sends a request; returns the status and the body.
pub async fn post(request: http::Request<RequestBody>) -> (u16, Vec<u8>) {
    let client: Client<_, RequestBody> = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await.expect("the server answers");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}
