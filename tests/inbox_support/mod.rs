//! Receivers with the durable inbox behind each adapter, on real loopback HTTP, and a
//! raw HTTP/1.1 client that controls when a request's body is sent.
//!
//! Each receiver runs on a thread of its own with its framework's runtime (axum: a tokio
//! runtime with `webhook_axum::serve`; actix-web: an actix `System` with `HttpServer`
//! under `apply_limits`), its worker pool spawned on that runtime, and shuts down
//! through the adapter's `serve_with_workers` / `run_with_workers`.

#![allow(dead_code, unreachable_pub)]

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};
use webhook_axum::inbox::{Inbox, Job, Outcome, Route, ShutdownReport};
use webhook_core::{Verifier, capacity::ServeLimits};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    Axum,
    Actix,
}

pub const ADAPTERS: [Adapter; 2] = [Adapter::Axum, Adapter::Actix];

/// What the workers saw: each event's route and key, how many handlers started and
/// finished; each handler waits `delay` before answering done.
#[derive(Debug, Default)]
pub struct Probe {
    pub delay: Duration,
    pub seen: Mutex<Vec<(String, String)>>,
    pub started: AtomicUsize,
    pub finished: AtomicUsize,
}

impl Probe {
    pub fn with_delay(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            ..Self::default()
        })
    }

    pub fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }

    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    fn handler(
        self: Arc<Self>,
    ) -> impl Fn(Job) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync + 'static
    {
        move |job: Job| {
            let probe = Arc::clone(&self);
            Box::pin(async move {
                probe.started.fetch_add(1, Ordering::SeqCst);
                if !probe.delay.is_zero() {
                    tokio::time::sleep(probe.delay).await;
                }
                probe
                    .seen
                    .lock()
                    .unwrap()
                    .push((job.route().to_owned(), job.key().to_string()));
                probe.finished.fetch_add(1, Ordering::SeqCst);
                Outcome::Done
            })
        }
    }
}

/// One route of a receiver: its path, verifier and inbox route.
#[derive(Clone)]
pub struct HookRoute {
    pub path: &'static str,
    pub verifier: Verifier,
    pub route: Route,
}

pub struct Config {
    pub routes: Vec<HookRoute>,
    pub limits: ServeLimits,
    pub concurrency: usize,
    pub grace: Duration,
}

impl Config {
    pub fn new(routes: Vec<HookRoute>) -> Self {
        Self {
            routes,
            limits: ServeLimits::default(),
            concurrency: 16,
            grace: Duration::from_secs(5),
        }
    }
}

/// A running receiver.
pub struct Receiver {
    pub address: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
    done: std::sync::mpsc::Receiver<io::Result<ShutdownReport>>,
}

impl Receiver {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Stops the server (gracefully), then the workers; what the worker shutdown did.
    pub async fn shutdown(mut self) -> ShutdownReport {
        (self.stop.take().unwrap())();
        tokio::task::spawn_blocking(move || {
            self.done
                .recv_timeout(Duration::from_secs(60))
                .expect("the receiver stops")
        })
        .await
        .unwrap()
        .expect("the server ran without an I/O error")
    }
}

/// Starts a receiver on `adapter` accepting into `inbox`, its workers running `probe`.
pub fn start(adapter: Adapter, inbox: Inbox, config: Config, probe: Arc<Probe>) -> Receiver {
    match adapter {
        Adapter::Axum => start_axum(inbox, config, probe),
        Adapter::Actix => start_actix(inbox, config, probe),
    }
}

fn start_axum(inbox: Inbox, config: Config, probe: Arc<Probe>) -> Receiver {
    use axum::{Router, routing::post};

    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (done_tx, done) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut app = Router::new();
            for hook in config.routes {
                app = app.route(
                    hook.path,
                    post(webhook_axum::inbox::accept(
                        inbox.clone(),
                        hook.verifier,
                        hook.route,
                    )),
                );
            }
            let workers = inbox
                .workers()
                .concurrency(config.concurrency)
                .poll_interval(Duration::from_millis(100))
                .spawn(probe.handler());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready_tx.send(listener.local_addr().unwrap()).unwrap();
            let server = webhook_axum::serve(listener, app)
                .with_limits(config.limits)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                });
            let result =
                webhook_axum::inbox::serve_with_workers(server, workers, config.grace).await;
            let _ = done_tx.send(result);
        });
    });
    Receiver {
        address: ready.recv().unwrap(),
        stop: Some(Box::new(move || {
            let _ = stop_tx.send(());
        })),
        done,
    }
}

fn start_actix(inbox: Inbox, config: Config, probe: Arc<Probe>) -> Receiver {
    use actix_web::{App, HttpServer};

    let (ready_tx, ready) = std::sync::mpsc::channel();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let workers = inbox
                .workers()
                .concurrency(config.concurrency)
                .poll_interval(Duration::from_millis(100))
                .spawn(probe.handler());
            let (routes, limits) = (config.routes, config.limits);
            let app_limits = limits.clone();
            let server = HttpServer::new(move || {
                let mut app = App::new().app_data(app_limits.clone());
                for hook in routes.clone() {
                    app = app.route(
                        hook.path,
                        webhook_actix::inbox::accept(inbox.clone(), hook.verifier, hook.route),
                    );
                }
                app
            });
            let server = webhook_actix::apply_limits(server, &limits, 2)
                .disable_signals()
                .shutdown_timeout(10)
                .bind("127.0.0.1:0")
                .unwrap();
            let address = server.addrs()[0];
            let server = server.run();
            ready_tx.send((address, server.handle())).unwrap();
            let result =
                webhook_actix::inbox::run_with_workers(server, workers, config.grace).await;
            let _ = done_tx.send(result);
        });
    });
    let (address, handle) = ready.recv().unwrap();
    Receiver {
        address,
        stop: Some(Box::new(move || {
            // The stop command is sent at once; the future only waits for its end.
            drop(handle.stop(true));
        })),
        done,
    }
}

/// An HTTP response as the raw client read it.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("{err}: {:?} ({})", self.body, self.status))
    }
}

/// A request written in two steps: the head (with `Content-Length`) at once, the body
/// when asked.
pub struct RawRequest {
    stream: TcpStream,
}

impl RawRequest {
    /// Connects and writes the head of a POST to `path` carrying `headers`, announcing
    /// `length` body bytes.
    pub async fn head(
        address: SocketAddr,
        path: &str,
        headers: &http::HeaderMap,
        length: usize,
    ) -> io::Result<Self> {
        let mut stream = TcpStream::connect(address).await?;
        let mut head = format!("POST {path} HTTP/1.1\r\nhost: {address}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
        }
        head.push_str(&format!("content-length: {length}\r\n\r\n"));
        stream.write_all(head.as_bytes()).await?;
        Ok(Self { stream })
    }

    pub async fn body(&mut self, body: &[u8]) -> io::Result<()> {
        self.stream.write_all(body).await
    }

    /// Reads one response (its body by `Content-Length`).
    pub async fn response(&mut self) -> io::Result<RawResponse> {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no response"));
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buffer[head_end + 4..].to_vec();
        while body.len() < length {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok(RawResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// Sends a whole request and reads its answer. A receiver that refuses a request
/// before reading its body may close the connection while the body is being written:
/// the answer is read all the same.
pub async fn post(
    address: SocketAddr,
    path: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> io::Result<RawResponse> {
    let mut request = RawRequest::head(address, path, headers, body.len()).await?;
    let written = request.body(body).await;
    match request.response().await {
        Ok(response) => Ok(response),
        Err(err) => Err(written.err().unwrap_or(err)),
    }
}
