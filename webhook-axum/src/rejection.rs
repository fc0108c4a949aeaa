//! [`WebhookRejection`]: what the extractor and the layer answer instead of calling the
//! handler.
//!
//! Everything about the answer (status, headers, the JSON problem, the warn-level log
//! event) is decided by [`Rejection`]; this type only turns it into an
//! axum response, so the actix-web adapter answers byte-for-byte alike.

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use webhook_core::{Problem, Rejection};

/// Why the handler was not called: the request failed verification (401/400/413), its
/// body is not a valid payload (400/415) or could not be read (400), or the route is
/// wired wrongly (500 `receiver_misconfigured`, e.g.
/// [`VerifiedWebhook`](crate::VerifiedWebhook) without
/// [`VerifyWebhookLayer`](crate::VerifyWebhookLayer)).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection(pub Rejection);

impl WebhookRejection {
    pub(crate) const LAYER_MISSING: Self = Self(Rejection::Misconfigured {
        reason: "this route reads a request verified by `VerifyWebhookLayer`, but the layer \
                 is not installed on it: add the layer, or use `Webhook<T>` with the \
                 verifier in the router state",
    });

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status()
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
        Self(err.into())
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        self.0.log();
        let mut response = (self.0.status(), self.0.problem().to_json()).into_response();
        for (name, value) in self.0.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(name), value);
            }
        }
        response
    }
}
