//! [`WebhookRejection`]: what the extractor and the middleware answer instead of
//! calling the handler.
//!
//! Everything about the answer (status, headers, the JSON problem, the warn-level log
//! event) is decided by [`Rejection`]; this type only turns it into an
//! actix-web response, so the axum adapter answers byte-for-byte alike.

use std::{
    cell::RefCell,
    convert::Infallible,
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use actix_web::{
    HttpResponse, ResponseError,
    body::{BodySize, MessageBody},
    dev::Payload,
    http::StatusCode,
};
use bytes::Bytes;
use webhook_core::{Problem, Rejection};

/// Why the handler was not called: the request failed verification (401/400/413), its
/// body is not a valid payload (400/415) or could not be read (400), or no verifier is
/// configured for the route (500 `receiver_misconfigured`).
///
/// Build one with `WebhookRejection::from(rejection)` (or `?` on anything that converts
/// into a [`Rejection`]).
#[derive(Debug)]
pub struct WebhookRejection(pub Rejection, Unread);

// Transparent, like the rejection it carries (`thiserror`'s `transparent` wants a
// single field; the second one is plumbing).
impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// The unread rest of an oversized body, kept alive until the response is sent.
///
/// actix-http drains a chunked request body whose reader was dropped, to keep the
/// connection alive — for as long as the client keeps sending. A reader still alive when
/// the response goes out makes it close the connection instead, so an oversized body
/// is cut off at the limit, not read to its end.
#[derive(Default)]
struct Unread(RefCell<Option<Payload>>);

impl fmt::Debug for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unread")
    }
}

/// A problem body that holds the unread payload until it has been written out: actix
/// decides between draining and closing when the response body ends, so the reader must
/// still be alive then (see [`Unread`]).
struct ProblemHoldingPayload {
    json: Option<Bytes>,
    /// The body's length, kept apart from `json` so that `size` stays right after the
    /// bytes have been handed over.
    len: u64,
    _unread: Payload,
}

impl MessageBody for ProblemHoldingPayload {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.get_mut().json.take().map(Ok))
    }
}

impl WebhookRejection {
    /// A rejection sent while `payload` still has unread bytes: the connection closes
    /// after the response instead of reading the rest.
    pub(crate) fn with_unread(rejection: impl Into<Rejection>, payload: Payload) -> Self {
        Self(rejection.into(), Unread(RefCell::new(Some(payload))))
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The JSON problem body.
    pub fn problem(&self) -> Problem {
        self.0.problem()
    }
}

impl<E: Into<Rejection>> From<E> for WebhookRejection {
    fn from(err: E) -> Self {
        Self(err.into(), Unread::default())
    }
}

impl ResponseError for WebhookRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let mut response = HttpResponse::build(self.status_code());
        for (name, value) in self.0.headers() {
            response.insert_header((name, value.as_ref()));
        }
        let json = Bytes::from(self.0.problem().to_json());
        match self.1.0.borrow_mut().take() {
            Some(unread) => response.body(ProblemHoldingPayload {
                len: json.len() as u64,
                json: Some(json),
                _unread: unread,
            }),
            None => response.body(json),
        }
    }
}
