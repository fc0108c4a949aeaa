//! Accepting into the durable inbox through HTTP, for each adapter: the inbox route
//! (`webhook_axum::inbox::accept`, `webhook_actix::inbox::accept`: read, verify, store
//! with `synchronous=FULL`, answer after the commit) beside the same route without the
//! inbox (`Webhook<StalwartEvents>`: read, verify, parse, answer) — same server, same
//! client, same run (issue 18).
//!
//! Each request is a 1 KiB Stalwart batch of 4 events never sent before (so every event
//! is queued, none is a duplicate). The client (hyper, keep-alive HTTP/1.1) sends
//! `REQUESTS` requests, `CONCURRENCY` in flight; an iteration is one such batch.
//!
//! `cargo bench --bench inbox_http`; `RATIOS=1 cargo bench --bench inbox_http` runs the
//! two routes interleaved (see `support/interleave.rs`) and prints the time ratio inbox
//! ÷ without (the inverse of the accept-rate ratio).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use http_body_util::{BodyExt as _, Full};
use hyper_util::{client::legacy::connect::HttpConnector, rt::TokioExecutor};
use webhook_core::{Scheme, Secret, StalwartEvents, Verifier, senders::stalwart};

#[path = "support/interleave.rs"]
mod interleave;

const REQUESTS: usize = 256;
const CONCURRENCY: usize = 8;
const SECRET: &str = "bench-secret";

/// A fresh Stalwart batch of about 1 KiB: four events whose content (hence key) no
/// earlier request had.
fn fresh_body(counter: &AtomicU64) -> Bytes {
    let events: Vec<String> = (0..4)
        .map(|_| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            format!(
                r#"{{"id":"17557849002{:02}37","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"jdoe@example.org","accountId":{n},"spanId":312845863712866304,"listenerId":"imaps","localPort":993,"remoteIp":"203.0.113.7","remotePort":60211}}}}"#,
                n % 100
            )
        })
        .collect();
    Bytes::from(format!(r#"{{"events":[{}]}}"#, events.join(",")))
}

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

fn spawn_server(
    server: impl FnOnce(std::sync::mpsc::Sender<SocketAddr>) + Send + 'static,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || server(tx));
    rx.recv().unwrap()
}

/// `/hook` (no inbox) and `/inbox` on `webhook_axum::serve`.
fn axum_server(inbox: webhook_axum::inbox::Inbox) -> SocketAddr {
    use axum::{Router, routing::post};
    use webhook_axum::{Webhook, inbox};

    async fn hook(Webhook(events): Webhook<StalwartEvents>) -> String {
        events.len().to_string()
    }
    spawn_server(move |ready| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let route = inbox::Route::of(Scheme::Stalwart);
            let app = Router::new()
                .route("/hook", post(hook))
                .route("/inbox", post(inbox::accept(inbox, verifier(), route)))
                .with_state(verifier());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready.send(listener.local_addr().unwrap()).unwrap();
            webhook_axum::serve(listener, app).await.unwrap();
        });
    })
}

/// `/hook` (no inbox) and `/inbox` on one actix worker.
fn actix_server(inbox: webhook_axum::inbox::Inbox) -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use webhook_actix::{Webhook, WebhookConfig, inbox as actix_inbox};

    async fn hook(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
        HttpResponse::Ok().body(events.len().to_string())
    }
    spawn_server(move |ready| {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let route = actix_inbox::Route::of(Scheme::Stalwart);
                App::new()
                    .app_data(WebhookConfig::new(verifier()))
                    .route("/hook", web::post().to(hook))
                    .route(
                        "/inbox",
                        actix_inbox::accept(inbox.clone(), verifier(), route),
                    )
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            ready.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    })
}

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

struct ClientSide {
    runtime: tokio::runtime::Runtime,
    http: HttpClient,
    counter: Arc<AtomicU64>,
}

impl ClientSide {
    fn new() -> Self {
        Self {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
            http: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(CONCURRENCY)
                .build_http(),
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends one batch of `REQUESTS` fresh requests to `uri`.
    fn batch(&self, uri: &http::Uri) {
        self.runtime
            .block_on(send_batch(&self.http, uri, &self.counter));
    }
}

async fn send_batch(client: &HttpClient, uri: &http::Uri, counter: &Arc<AtomicU64>) {
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let (client, uri, counter) = (client.clone(), uri.clone(), Arc::clone(counter));
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / CONCURRENCY {
                let body = fresh_body(&counter);
                let signature = stalwart::sign(&Secret::new(SECRET), &body);
                let request = http::Request::post(uri.clone())
                    .header("content-type", "application/json")
                    .header("x-signature", signature)
                    .body(Full::new(body))
                    .unwrap();
                let response = client.request(request).await.unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                response.into_body().collect().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

fn servers(dir: &tempfile::TempDir) -> [(&'static str, SocketAddr); 2] {
    let open = |name: &str| webhook_axum::inbox::Inbox::open(dir.path().join(name)).unwrap();
    [
        ("axum", axum_server(open("axum.db"))),
        ("actix", actix_server(open("actix.db"))),
    ]
}

fn inbox_http(c: &mut Criterion) {
    let side = ClientSide::new();
    let dir = tempfile::tempdir().unwrap();
    for (framework, address) in servers(&dir) {
        let mut group = c.benchmark_group(format!("{framework}_inbox_1KiB_stalwart"));
        group.throughput(Throughput::Elements(REQUESTS as u64));
        group.measurement_time(Duration::from_secs(8));
        for path in ["hook", "inbox"] {
            let uri: http::Uri = format!("http://{address}/{path}").parse().unwrap();
            group.bench_function(path, |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        side.batch(&uri);
                    }
                    start.elapsed()
                })
            });
        }
        group.finish();
    }
}

/// The same requests, interleaved: batches to `/hook` and `/inbox` alternate.
fn ratios() {
    let side = ClientSide::new();
    let dir = tempfile::tempdir().unwrap();
    for (framework, address) in servers(&dir) {
        let mut cases: Vec<interleave::Case<'_>> = ["hook", "inbox"]
            .into_iter()
            .map(|path| {
                let uri: http::Uri = format!("http://{address}/{path}").parse().unwrap();
                let side = &side;
                interleave::Case::new(format!("{framework} {path}"), move || side.batch(&uri))
            })
            .collect();
        interleave::run(
            &format!(
                "{framework}, 1 KiB Stalwart batch of 4 fresh events: time per batch of \
                 {REQUESTS} requests, {CONCURRENCY} in flight"
            ),
            Duration::from_millis(200),
            &mut cases,
        );
    }
}

criterion_group!(benches, inbox_http);

fn main() {
    interleave::main(benches, ratios);
}
