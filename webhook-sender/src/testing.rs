//! [`ScriptedTransport`]: a transport that answers from a script, for tests.
//!
//! No socket is opened: each request is recorded with the (tokio) time it was sent and
//! answered with the next scripted [`Reply`]. Under a paused tokio runtime, schedules
//! of hours run in milliseconds and the recorded times are exact, because nothing waits
//! on real I/O.
//!
//! ```
//! use std::time::Duration;
//! use http::StatusCode;
//! use webhook_core::Scheme;
//! use webhook_sender::{Endpoint, Message, DeliveryPolicy, Sender, testing::{Reply, ScriptedTransport}};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let transport = ScriptedTransport::new(Reply::status(StatusCode::OK))
//!     .then(Reply::status(StatusCode::INTERNAL_SERVER_ERROR));
//! let endpoint = Endpoint::new(Scheme::WildDuck, "http://wildduck.test/hook")?;
//! let sender = Sender::messages(endpoint)
//!     .policy(DeliveryPolicy::wildduck())
//!     .transport(transport.clone())
//!     .build()?;
//! sender.send(Message::json("{}"))?;
//! let report = sender.close().await;
//! assert_eq!(report.delivered, 1);
//! assert_eq!(transport.sent_at(), [Duration::ZERO, Duration::from_secs(2)]);
//! # Ok(()) }
//! ```

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use bytes::Bytes;
use http::StatusCode;

use crate::{Transport, TransportError, TransportFuture};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// Answer with this status.
    Status(StatusCode),
    /// Answer with this status and body (cut to
    /// [`RESPONSE_EXCERPT_BYTES`](crate::RESPONSE_EXCERPT_BYTES), as the real transport does).
    Body(StatusCode, Bytes),
    /// Fail with this error (as a refused or dropped connection would).
    Fail(TransportError),
    /// Wait, then give the inner reply (longer than the policy's timeout: a timeout).
    After(Duration, Box<Reply>),
    /// Never answer.
    Hang,
}

impl Reply {
    /// Answer with `status`.
    pub fn status(status: StatusCode) -> Self {
        Reply::Status(status)
    }

    /// Answer with `status` and `body` (a receiver's problem JSON, say).
    pub fn body(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Reply::Body(status, body.into())
    }

    /// A refused connection.
    pub fn refused() -> Self {
        Reply::Fail(TransportError::Connect(
            "connection refused (scripted)".into(),
        ))
    }

    /// `reply` after `delay`.
    pub fn after(delay: Duration, reply: Reply) -> Self {
        Reply::After(delay, Box::new(reply))
    }
}

/// A request the scripted transport received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Tokio time since the transport was made.
    pub at: Duration,
    /// The request.
    pub request: http::Request<Bytes>,
}

/// A transport that answers from a script; see the [module docs](self). Clones share
/// the script and the record.
#[derive(Debug, Clone)]
pub struct ScriptedTransport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    origin: tokio::time::Instant,
    script: Mutex<VecDeque<Reply>>,
    otherwise: Reply,
    seen: Mutex<Vec<Seen>>,
}

impl ScriptedTransport {
    /// A transport that gives `otherwise` once the script is used up (empty at first:
    /// queue replies with [`ScriptedTransport::then`]). Make it inside the runtime.
    pub fn new(otherwise: Reply) -> Self {
        Self {
            inner: Arc::new(Inner {
                origin: tokio::time::Instant::now(),
                script: Mutex::new(VecDeque::new()),
                otherwise,
                seen: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Queues `reply` for the next request not yet scripted.
    pub fn then(self, reply: Reply) -> Self {
        self.push(reply);
        self
    }

    /// Queues `reply` (shared with clones).
    pub fn push(&self, reply: Reply) {
        lock(&self.inner.script).push_back(reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.inner.seen).clone()
    }

    /// When each request was received (tokio time since the transport was made).
    pub fn sent_at(&self) -> Vec<Duration> {
        lock(&self.inner.seen).iter().map(|s| s.at).collect()
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: http::Request<Bytes>) -> TransportFuture {
        let at = self.inner.origin.elapsed();
        lock(&self.inner.seen).push(Seen { at, request });
        let reply = lock(&self.inner.script)
            .pop_front()
            .unwrap_or_else(|| self.inner.otherwise.clone());
        Box::pin(answer(reply))
    }
}

async fn answer(mut reply: Reply) -> Result<http::Response<Bytes>, TransportError> {
    loop {
        match reply {
            Reply::Status(status) => reply = Reply::Body(status, Bytes::new()),
            Reply::Body(status, mut body) => {
                body.truncate(crate::RESPONSE_EXCERPT_BYTES);
                let mut response = http::Response::new(body);
                *response.status_mut() = status;
                return Ok(response);
            }
            Reply::Fail(err) => return Err(err),
            Reply::After(delay, inner) => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            Reply::Hang => std::future::pending::<()>().await,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
