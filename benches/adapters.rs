//! Requests per second over real loopback HTTP, for each adapter: a handler behind
//! `Webhook<StalwartEvents>` (read, verify, parse a 1 KiB Stalwart batch) beside a bare
//! handler of the same framework that only reads the same body — same server, same
//! client, same run. Target: hook rate ≥ 0.85 × bare rate.
//!
//! `cargo bench --bench adapters`; with `RATIOS=1` bare and hook batches alternate, for
//! a ratio that holds on a machine whose speed drifts (the time ratio hook ÷ bare is the
//! inverse of the request-rate ratio).
//!
//! Each server runs on its own thread and runtime; the client (hyper, keep-alive
//! HTTP/1.1) sends a fixed number of requests with a fixed concurrency per measured
//! iteration, so criterion's element throughput is requests per second.

use std::{
    cell::Cell,
    net::SocketAddr,
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

/// A compact Stalwart batch of about 1 KiB.
fn body_1k() -> Bytes {
    let events: Vec<String> = (0..4)
        .map(|n| {
            format!(
                r#"{{"id":"17557849002{n:02}37","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"jdoe@example.org","accountId":2,"spanId":312845863712866304,"listenerId":"imaps","localPort":993,"remoteIp":"203.0.113.7","remotePort":60211}}}}"#
            )
        })
        .collect();
    let body = format!(r#"{{"events":[{}]}}"#, events.join(","));
    assert!((900..1100).contains(&body.len()), "{}", body.len());
    Bytes::from(body)
}

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

/// Starts `server` on a thread of its own and returns its address.
fn spawn_server(
    server: impl FnOnce(std::sync::mpsc::Sender<SocketAddr>) + Send + 'static,
) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || server(tx));
    rx.recv().unwrap()
}

/// The axum router on `axum::serve`, or (`protected`) on `webhook_axum::serve` with its
/// deadlines, connection cap and body budget.
fn axum_server(protected: bool) -> SocketAddr {
    use axum::{Router, routing::post};
    use webhook_axum::Webhook;

    async fn bare(body: Bytes) -> String {
        body.len().to_string()
    }
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
            let app = Router::new()
                .route("/bare", post(bare))
                .route("/hook", post(hook))
                .with_state(verifier());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready.send(listener.local_addr().unwrap()).unwrap();
            if protected {
                webhook_axum::serve(listener, app).await.unwrap();
            } else {
                axum::serve(listener, app).await.unwrap();
            }
        });
    })
}

fn actix_server() -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use webhook_actix::{Webhook, WebhookConfig};

    async fn bare(body: Bytes) -> HttpResponse {
        HttpResponse::Ok().body(body.len().to_string())
    }
    async fn hook(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
        HttpResponse::Ok().body(events.len().to_string())
    }
    spawn_server(|ready| {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new()
                    .app_data(WebhookConfig::new(verifier()))
                    .route("/bare", web::post().to(bare))
                    .route("/hook", web::post().to(hook))
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            ready.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    })
}

async fn send_batch(client: &HttpClient, uri: &http::Uri, body: &Bytes, signature: &str) {
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let (client, uri, body, signature) = (
            client.clone(),
            uri.clone(),
            body.clone(),
            signature.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / CONCURRENCY {
                let request = http::Request::post(uri.clone())
                    .header("content-type", "application/json")
                    .header("x-signature", &signature)
                    .body(Full::new(body.clone()))
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

/// The client side of both modes: its runtime (threads named [`CLIENT_THREAD`]), the
/// HTTP client and the signed request body.
struct ClientSide {
    runtime: tokio::runtime::Runtime,
    http: HttpClient,
    body: Bytes,
    signature: String,
}

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

impl ClientSide {
    fn new() -> Self {
        let body = body_1k();
        Self {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name(CLIENT_THREAD)
                .enable_all()
                .build()
                .unwrap(),
            http: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .pool_max_idle_per_host(CONCURRENCY)
                .build_http(),
            signature: stalwart::sign(&Secret::new(SECRET), &body),
            body,
        }
    }
}

fn adapters(c: &mut Criterion) {
    let ClientSide {
        runtime,
        http: client,
        body,
        signature,
    } = ClientSide::new();

    let servers = [
        ("axum", axum_server(false)),
        ("axum_protected", axum_server(true)),
        ("actix", actix_server()),
    ];
    for (framework, address) in servers {
        let mut group = c.benchmark_group(format!("{framework}_1KiB_stalwart"));
        group.throughput(Throughput::Elements(REQUESTS as u64));
        group.measurement_time(Duration::from_secs(8));
        for path in ["bare", "hook"] {
            let uri: http::Uri = format!("http://{address}/{path}").parse().unwrap();
            group.bench_function(path, |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let (client, uri, body, signature) =
                        (client.clone(), uri.clone(), body.clone(), signature.clone());
                    async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            send_batch(&client, &uri, &body, &signature).await;
                        }
                        start.elapsed()
                    }
                })
            });
        }
        group.finish();
    }
}

/// The same requests, interleaved (see `support/interleave.rs`): batches to `/bare` and
/// `/hook` alternate, so both meet the same machine. `RATIOS=1 cargo bench --bench
/// adapters`; an iteration is one batch of `REQUESTS` requests.
///
/// The request rate counts the client's work too (with client and server on one core)
/// or hides server work behind the client (on two cores), so this also reports the
/// servers' own CPU time per request, read from the kernel's per-thread counters: its
/// ratio is what a server saturated by a faster client would show.
fn ratios() {
    let side = ClientSide::new();
    serve_ratios(&side);
    for (framework, address) in [("axum", axum_server(false)), ("actix", actix_server())] {
        let server = [ServerTime::default(), ServerTime::default()];
        let mut cases: Vec<interleave::Case<'_>> = ["bare", "hook"]
            .into_iter()
            .zip(&server)
            .map(|(path, time)| side.case(path, format!("http://{address}/{path}"), time))
            .collect();
        interleave::run(
            &format!("{framework}_1KiB_stalwart: time per batch of {REQUESTS} requests"),
            Duration::from_millis(100),
            &mut cases,
        );
        drop(cases);
        let (bare, hook) = (server[0].per_request_ns(), server[1].per_request_ns());
        println!(
            "server CPU per request: bare {:.2} µs, hook {:.2} µs; rate ratio hook ÷ bare {:.3}",
            bare / 1e3,
            hook / 1e3,
            bare / hook
        );
    }
}

/// What `webhook_axum::serve` costs beside `axum::serve`: the bare handler on each, and
/// the hook on `webhook_axum::serve`, interleaved, with each server's CPU per request.
fn serve_ratios(side: &ClientSide) {
    let (plain, protected) = (axum_server(false), axum_server(true));
    let targets = [
        ("bare on axum::serve", plain, "bare"),
        ("bare on webhook_axum::serve", protected, "bare"),
        ("hook on webhook_axum::serve", protected, "hook"),
    ];
    let server: Vec<ServerTime> = targets.iter().map(|_| ServerTime::default()).collect();
    let mut cases: Vec<interleave::Case<'_>> = targets
        .iter()
        .zip(&server)
        .map(|((name, address, path), time)| {
            side.case(name, format!("http://{address}/{path}"), time)
        })
        .collect();
    interleave::run(
        &format!("axum servers, 1KiB_stalwart: time per batch of {REQUESTS} requests"),
        Duration::from_millis(100),
        &mut cases,
    );
    drop(cases);
    for ((name, ..), time) in targets.iter().zip(&server) {
        println!(
            "server CPU per request, {name}: {:.2} µs",
            time.per_request_ns() / 1e3
        );
    }
}

/// The servers' CPU nanoseconds and the batches sent, for one case.
#[derive(Default)]
struct ServerTime {
    ns: Cell<u64>,
    batches: Cell<u64>,
}

impl ServerTime {
    fn per_request_ns(&self) -> f64 {
        self.ns.get() as f64 / (self.batches.get() * REQUESTS as u64) as f64
    }
}

impl ClientSide {
    /// A case sending one batch to `url` per iteration, adding the servers' CPU time
    /// to `time`.
    fn case<'a>(&'a self, name: &str, url: String, time: &'a ServerTime) -> interleave::Case<'a> {
        let uri: http::Uri = url.parse().unwrap();
        interleave::Case::new(name, move || {
            let before = server_cpu_ns();
            self.runtime
                .block_on(send_batch(&self.http, &uri, &self.body, &self.signature));
            time.ns.set(time.ns.get() + server_cpu_ns() - before);
            time.batches.set(time.batches.get() + 1);
        })
    }
}

/// Names the client runtime's threads, so they can be told from the servers'.
const CLIENT_THREAD: &str = "bench-client";

/// CPU time, in nanoseconds, of every thread of this process but the main thread and
/// the client runtime's: the servers'. Linux only (`/proc/self/task/*/schedstat`).
fn server_cpu_ns() -> u64 {
    let main = std::process::id().to_string();
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    tasks
        .filter_map(Result::ok)
        .filter(|task| task.file_name() != main.as_str())
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim() != CLIENT_THREAD)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

criterion_group!(benches, adapters);

fn main() {
    interleave::main(benches, ratios);
}
