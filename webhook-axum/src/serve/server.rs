//! [`serve`] and [`Serve`]: the accept loop, each connection's task, graceful shutdown.

use std::{
    fmt,
    future::{Future, IntoFuture},
    io,
    net::SocketAddr,
    pin::{Pin, pin},
    sync::Arc,
    time::Duration,
};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{Instant, sleep_until},
};
use webhook_core::capacity::ServeLimits;

use super::{
    connection::{Connection, Registry},
    service::ConnectionService,
};

/// hyper's per-connection read buffer, which bounds the request head too (a longer head
/// is answered 431). hyper's default is about 400 KiB; webhook heads are a few hundred
/// bytes, and this buffer is what each open connection may cost.
const MAX_BUFFER: usize = 64 * 1024;

/// The answer to a connection refused at the cap, written if the socket takes it at
/// once; every seed sender retries a 503.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\
    retry-after: 1\r\nconnection: close\r\n\r\n";

/// Serves `router` on `listener` with the protections a receiver on the public internet
/// needs; [`Serve::with_limits`] changes them, the defaults are [`ServeLimits::default`]:
///
/// - **the request head** must be complete within 10 s of the accept (slowloris), and
///   the next one within 30 s of a response on a keep-alive connection (idle timeout);
///   a connection that misses either is closed;
/// - **the body** must arrive within 10 s plus one second per 64 KiB received, whoever
///   reads it; a late one is answered 408 `body_timeout` and its connection closed;
/// - **connections** are capped below the process's descriptor limit, read at start-up
///   (the limit minus a reserve, at most 8192): at the cap, the connection that has
///   waited longest for its head is closed to make room, then the one receiving its
///   body longest; when every connection has a complete request, the new one is
///   answered 503 and closed. A flood is refused quickly, and the receiver answers
///   again as soon as it stops;
/// - **memory**: each request carries the limits' [`BodyBudget`] as an extension, so
///   [`Webhook<T>`](crate::Webhook), [`VerifyWebhookLayer`](crate::VerifyWebhookLayer)
///   and [`read_body`](crate::read_body) reserve every body from one budget and answer
///   503 `receiver_busy` with `Retry-After` when it is spent;
/// - each request also carries `ConnectInfo<SocketAddr>` (the peer's address), as with
///   axum's `into_make_service_with_connect_info`.
///
/// It speaks HTTP/1.1, what every webhook sender uses; put a proxy in front for TLS or
/// HTTP/2. Upgrades (WebSockets) are not served.
///
/// ```no_run
/// use axum::{Router, routing::post};
/// use webhook_axum::Webhook;
/// use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier};
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let app = Router::new().route("/hooks/stalwart", post(hook)).with_state(verifier);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// webhook_axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
///
/// With other limits, and a graceful shutdown on Ctrl-C (connections awaiting a head
/// are closed at once, requests in progress finish):
///
/// ```no_run
/// use std::time::Duration;
/// use webhook_axum::capacity::{BodyBudget, ServeLimits};
///
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let limits = ServeLimits::default()
///     .with_head_timeout(Duration::from_secs(5))
///     .with_max_connections(1000)
///     .with_body_budget(BodyBudget::new(256 << 20));
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// webhook_axum::serve(listener, app)
///     .with_limits(limits)
///     .with_graceful_shutdown(async { let _ = tokio::signal::ctrl_c().await; })
///     .await
/// # }
/// ```
///
/// [`BodyBudget`]: crate::capacity::BodyBudget
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        limits: ServeLimits::default(),
        shutdown: None,
    }
}

/// A server being set up by [`serve`]; `.await` it to run it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Serve {
    /// Serves under `limits` instead of [`ServeLimits::default`].
    pub fn with_limits(mut self, limits: ServeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Stops when `signal` completes: no more connections are accepted, connections
    /// awaiting a head are closed, requests in progress finish (within the body
    /// deadline for those still receiving their body), then the server future returns.
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            router,
            limits,
            shutdown,
        } = self;
        let registry = Arc::new(Registry::new(limits.max_connections()));
        tracing::debug!(
            max_connections = registry.cap(),
            descriptor_limit = ?webhook_core::capacity::descriptor_limit(),
            "serving webhooks"
        );
        let limits = Arc::new(limits);
        let (stop, stopped) = watch::channel(false);
        let mut shutdown = shutdown.unwrap_or_else(|| Box::pin(std::future::pending()));
        let mut http = http1::Builder::new();
        http.max_buf_size(MAX_BUFFER).keep_alive(true);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = async {
                    registry.room().await;
                    listener.accept().await
                } => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_failed(err, &registry).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Some(connection) = registry.admit() else {
                tracing::debug!(%peer, "connection refused: every connection has a request in progress");
                let _ = stream.try_write(REFUSED);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = ConnectionService {
                router: router.clone(),
                limits: Arc::clone(&limits),
                connection: Arc::clone(&connection),
                peer,
            };
            let served = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(drive(
                served,
                connection,
                Arc::clone(&registry),
                Arc::clone(&limits),
                stopped.clone(),
            ));
        }
        drop(listener);
        drop(stopped);
        let _ = stop.send(true);
        // Each connection task holds a receiver: all are gone once every task has ended.
        stop.closed().await;
        Ok(())
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl fmt::Debug for Serve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

/// Serves one connection until it ends, is evicted, or misses its head deadline.
///
/// The deadline is checked by one timer that is re-armed only when it fires: to the
/// head (or idle) deadline, but never more than one period ahead, the period being the
/// shorter of the two timeouts. A request therefore costs this task no wake-up of its
/// own, and a connection that turns idle between two checks is still closed on time:
/// its idle deadline is at least one period away when the next check sees it.
async fn drive(
    served: http1::Connection<TokioIo<TcpStream>, ConnectionService>,
    connection: Arc<Connection>,
    registry: Arc<Registry>,
    limits: Arc<ServeLimits>,
    mut stop: watch::Receiver<bool>,
) {
    let (head, idle) = (limits.head_timeout(), limits.idle_timeout());
    let period = head.min(idle).max(Duration::from_millis(1));
    let mut served = pin!(served);
    let next_check = |deadline: Option<Instant>| {
        let periodic = Instant::now() + period;
        deadline.map_or(periodic, |deadline| deadline.min(periodic))
    };
    let mut check = pin!(sleep_until(next_check(
        connection.head_deadline(head, idle)
    )));
    let mut stopping = false;
    loop {
        tokio::select! {
            biased;
            result = served.as_mut() => {
                if let Err(err) = result {
                    tracing::trace!(error = %err, "connection ended with an error");
                }
                break;
            }
            () = connection.woken() => {
                if connection.is_evicted() {
                    tracing::debug!("connection closed to make room under the connection cap");
                    break;
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                // hyper closes the connection after the request in progress, if any.
                served.as_mut().graceful_shutdown();
                if connection.head_deadline(head, idle).is_some() {
                    break;
                }
            }
            () = check.as_mut() => {
                let deadline = connection.head_deadline(head, idle);
                match deadline {
                    Some(deadline) if deadline <= Instant::now() => {
                        tracing::debug!("connection closed: no complete request head in time");
                        break;
                    }
                    Some(_) if stopping => break,
                    _ => check.as_mut().reset(next_check(deadline)),
                }
            }
        }
    }
    registry.remove(&connection);
}

/// `accept` failed. Out of descriptors (`EMFILE`, `ENFILE`) despite the cap, something
/// else in the process holds them: close a connection still sending its request to
/// free one, and pause briefly rather than spin.
async fn accept_failed(err: io::Error, registry: &Registry) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(
        error = %err,
        open = registry.len(),
        max_connections = registry.cap(),
        "accept failed"
    );
    registry.evict_one();
    tokio::time::sleep(Duration::from_millis(50)).await;
}
