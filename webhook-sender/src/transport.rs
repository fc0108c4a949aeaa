//! [`Transport`]: what puts a request on the wire, and [`HttpTransport`], the real one.
//!
//! The engine only needs "send this request, tell me the status". Keeping that behind a
//! trait lets virtual-time tests swap in [`ScriptedTransport`](crate::testing::ScriptedTransport),
//! which answers from a script with no socket at all: a paused tokio clock jumps straight
//! to the next timer only when every task is idle, and real sockets make tasks wait on
//! the OS, not on timers, so mixing the two gives schedules that depend on the machine.
//!
//! # TLS
//!
//! [`HttpTransport`] is reqwest 0.13 with its `rustls` feature: rustls with the aws-lc-rs
//! crypto provider and the platform certificate verifier, the same stack as Stalwart
//! v0.16.18+. aws-lc-rs builds its C library (aws-lc-sys 0.47) with the C compiler
//! alone; no cmake is needed (checked on the project's build machine, which has gcc and
//! no cmake). Were it ever to fail to build, reqwest's `rustls-no-provider` with rustls'
//! `ring` provider installed at start-up is the fallback; it was not needed.
//!
//! Redirects are **not followed**: a 301, 302 or 303 would turn the POST into a GET
//! without a body, so a 3xx answer is a failed attempt like any other non-success. The
//! attempt timeout is applied by the engine around [`Transport::send`], so it holds for
//! every transport and in virtual time.

use std::{fmt, future::Future, pin::Pin};

use bytes::Bytes;

use crate::{ConfigError, Endpoint};

/// The future a transport returns.
pub type TransportFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, TransportError>> + Send>>;

/// The most bytes of a response body a transport hands back: enough for a receiver's
/// problem JSON (`{"error": …, "code": …}`), which the delivery log keeps for failed
/// attempts so that a person can see *why* the receiver refused.
pub const RESPONSE_EXCERPT_BYTES: usize = 2048;

/// The most bytes of a response body [`HttpTransport`] reads (past the excerpt, they are
/// dropped): a longer body is left unread and its connection closed, not pooled.
const RESPONSE_READ_LIMIT: usize = 64 * 1024;

/// Sends one request and reports the response: status, headers and the start of the
/// body, at most [`RESPONSE_EXCERPT_BYTES`] (no sender's rule looks at the body; the
/// delivery log shows it to people).
pub trait Transport: Send + Sync + 'static {
    /// Sends `request`.
    fn send(&self, request: http::Request<Bytes>) -> TransportFuture;
}

/// Why no response was received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No connection could be made (refused, unreachable, DNS, TLS handshake).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The attempt took longer than the policy's timeout.
    #[error("no response within {0:?} (the policy's timeout)")]
    Timeout(std::time::Duration),
    /// The connection failed while sending or before the response (e.g. closed by the
    /// receiver mid-request).
    #[error("the request failed: {0}")]
    Request(String),
}

/// The real transport: a pooled reqwest client, rustls, no redirects.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    /// A client for `endpoint` (its `allow_invalid_certs` and proxy settings).
    pub fn for_endpoint(endpoint: &Endpoint) -> Result<Self, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(endpoint.accepts_invalid_certs());
        if endpoint.ignores_proxy() {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|err| ConfigError::HttpClient {
            reason: err.without_url().to_string(),
        })?;
        Ok(Self { client })
    }

    /// Wraps a client you configured yourself. Keep redirects off.
    pub fn from_client(client: reqwest::Client) -> Self {
        Self { client }
    }
}

impl Transport for HttpTransport {
    fn send(&self, request: http::Request<Bytes>) -> TransportFuture {
        let client = self.client.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|err| TransportError::Request(describe(&err)))?;
            let response = client.execute(request).await.map_err(|err| {
                if err.is_connect() {
                    TransportError::Connect(describe(&err))
                } else {
                    TransportError::Request(describe(&err))
                }
            })?;
            let status = response.status();
            let headers = response.headers().clone();
            // Read the body so the connection can go back to the pool, keeping its start
            // for the log; its content and any error reading it do not change the
            // outcome, decided by the status. A huge body is not read to its end.
            let excerpt = read_excerpt(response).await;
            let mut answer = http::Response::new(excerpt);
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok(answer)
        })
    }
}

/// The first [`RESPONSE_EXCERPT_BYTES`] of a response body; at most
/// `RESPONSE_READ_LIMIT` bytes are read.
async fn read_excerpt(mut response: reqwest::Response) -> Bytes {
    let mut excerpt = Vec::new();
    let mut read = 0usize;
    while read < RESPONSE_READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                let room = RESPONSE_EXCERPT_BYTES.saturating_sub(excerpt.len());
                excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Bytes::from(excerpt)
}

/// The error and its causes, without the URL (which may carry a token).
fn describe(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::new();
    let mut current: Option<&dyn std::error::Error> = err.source();
    text.push_str(if err.is_connect() {
        "connection error"
    } else if err.is_body() {
        "error sending the body"
    } else if err.is_request() {
        "error sending the request"
    } else {
        "HTTP error"
    });
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}

impl fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transport")
    }
}
