//! A real loopback HTTP receiver for the sender's round-trip and fault tests.
//!
//! Built on hyper 1 (HTTP/1.1, keep-alive off so that every request arrives on its own
//! connection and a fault can be chosen per request, even one that drops the connection
//! before any HTTP is spoken). Every request is checked with `webhook_core::Verifier`
//! and recorded.
#![allow(dead_code, unreachable_pub)]

use std::{
    collections::{HashSet, VecDeque},
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{io::AsyncReadExt, net::TcpListener};
use webhook_core::{
    MediaType, ParseContext, Verifier,
    events::parse_unverified,
    senders::stalwart::{Fingerprint, WebhookEvents},
};

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status.
    Status(u16),
    /// Read the request, wait this long, then answer 200 (past the client's timeout).
    Sleep(Duration),
    /// Accept the connection, read a few bytes, close it.
    Close,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub uri: http::Uri,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// `Ok` or the verifier's error code.
    pub verified: Result<(), String>,
    pub answered: u16,
}

struct State {
    verifier: Verifier,
    faults: Mutex<VecDeque<Fault>>,
    received: Mutex<Vec<Received>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    /// A receiver listening on 127.0.0.1 (random port).
    pub async fn start(verifier: Verifier) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self::new(listener.local_addr().unwrap(), verifier);
        receiver.serve(listener);
        receiver
    }

    /// A receiver whose port is reserved but not listening: connections are refused
    /// until [`Receiver::come_up`].
    pub async fn start_down(verifier: Verifier) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        Self::new(addr, verifier)
    }

    /// Starts listening on the reserved port.
    pub async fn come_up(&self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(err) if tries < 50 => {
                    tries += 1;
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(err) => panic!("cannot rebind {}: {err}", self.addr),
            }
        };
        self.serve(listener);
    }

    fn new(addr: SocketAddr, verifier: Verifier) -> Self {
        Self {
            addr,
            state: Arc::new(State {
                verifier,
                faults: Mutex::new(VecDeque::new()),
                received: Mutex::new(Vec::new()),
            }),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://{userinfo}@127.0.0.1:PORT{path}`.
    pub fn url_with_userinfo(&self, userinfo: &str, path: &str) -> String {
        format!("http://{userinfo}@{}{path}", self.addr)
    }

    /// Queues faults for the next requests (then every request is answered normally).
    pub fn faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.faults.lock().unwrap().extend(faults);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The Stalwart events of every verified request answered 2xx-or-not, as parsed.
    pub fn stalwart_batches(&self) -> Vec<WebhookEvents<'static>> {
        self.received()
            .iter()
            .filter(|r| r.verified.is_ok())
            .map(|r| parse_unverified(&r.body, ParseContext::new(MediaType::Json)).unwrap())
            .collect()
    }

    /// Distinct Stalwart events received in verified requests, by content fingerprint
    /// (ids change on retry).
    pub fn distinct_fingerprints(&self) -> HashSet<Fingerprint> {
        self.stalwart_batches()
            .iter()
            .flat_map(|batch| batch.iter().map(|e| e.fingerprint()))
            .collect()
    }

    fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let state = state.clone();
                let close = {
                    let mut faults = state.faults.lock().unwrap();
                    if faults.front() == Some(&Fault::Close) {
                        faults.pop_front();
                        true
                    } else {
                        false
                    }
                };
                if close {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 16];
                        let _ = stream.read(&mut buf).await;
                        drop(stream);
                    });
                    continue;
                }
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = http1::Builder::new()
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let verified = state
        .verifier
        .verify(&parts, &body[..])
        .map(|_| ())
        .map_err(|err| err.code().to_string());
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        match faults.front() {
            Some(Fault::Close) | None => None,
            Some(_) => faults.pop_front(),
        }
    };
    let answered = match fault {
        Some(Fault::Status(code)) => code,
        _ if verified.is_err() => 401,
        _ => 200,
    };
    state.received.lock().unwrap().push(Received {
        uri: parts.uri.clone(),
        headers: parts.headers.clone(),
        body,
        verified,
        answered,
    });
    if let Some(Fault::Sleep(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    Ok(Response::builder()
        .status(answered)
        .body(Full::new(Bytes::new()))
        .unwrap())
}
