//! The bodies [`serve`](super::serve) wraps around each request and response.
//!
//! [`PacedBody`] holds the request body to [`ServeLimits::body_allowance`]: it fails
//! with [`SlowBody`] (answered 408) once the body is later than its allowance, whoever
//! reads it, and tells the connection when the body is complete. [`ServedBody`] tells
//! the connection when hyper is done with the response, so the connection's idle
//! deadline starts.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep, sleep_until};
use webhook_core::capacity::ServeLimits;

use super::connection::Connection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that must keep up with the server's body deadline.
pub(super) struct PacedBody {
    inner: Incoming,
    limits: Arc<ServeLimits>,
    connection: Arc<Connection>,
    started: Instant,
    received: u64,
    /// Armed the first time the body has to be waited for: a body that arrived with its
    /// head costs no timer.
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl PacedBody {
    pub(super) fn new(
        inner: Incoming,
        limits: Arc<ServeLimits>,
        connection: Arc<Connection>,
    ) -> Self {
        Self {
            inner,
            limits,
            connection,
            started: Instant::now(),
            received: 0,
            deadline: None,
            timed_out: false,
        }
    }

    fn allowed_until(&self) -> Instant {
        self.started + self.limits.body_allowance(self.received)
    }

    /// Waits for the deadline; `Ready` once the body is too late.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let until = self.allowed_until();
        let sleep = self
            .deadline
            .get_or_insert_with(|| Box::pin(sleep_until(until)));
        if sleep.deadline() != until {
            sleep.as_mut().reset(until);
        }
        sleep.as_mut().poll(cx)
    }
}

impl http_body::Body for PacedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.connection.body_finished();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => {
                this.connection.body_finished();
                Poll::Ready(None)
            }
            Poll::Pending => {
                ready!(this.poll_deadline(cx));
                this.timed_out = true;
                let slow = this.limits.slow_body(this.received, this.started.elapsed());
                this.connection.record_slow_body(slow.clone());
                Poll::Ready(Some(Err(Box::new(slow))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that tells its connection when hyper has dropped it.
pub(super) struct ServedBody {
    inner: Body,
    connection: Arc<Connection>,
}

impl ServedBody {
    pub(super) fn new(inner: Body, connection: Arc<Connection>) -> Self {
        Self { inner, connection }
    }
}

impl Drop for ServedBody {
    fn drop(&mut self) {
        self.connection.request_finished();
    }
}

impl http_body::Body for ServedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
