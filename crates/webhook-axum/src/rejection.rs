//! [`WebhookRejection`]: what the extractor and the layer answer instead of calling the
//! handler.
//!
//! The status, the stable code and the JSON problem body come from
//! [`webhook_core::Rejection`], so the actix-web adapter answers byte-for-byte alike.
//! Every rejection is logged with `tracing` at warn level (code and status; the message
//! never holds a secret or a MAC).

use axum::response::{IntoResponse, Response};
use http::{
    HeaderValue, StatusCode,
    header::{CONTENT_TYPE, WWW_AUTHENTICATE},
};
use webhook_core::{Problem, Rejection};

/// Why the handler was not called.
///
/// - [`WebhookRejection::Rejected`]: the request failed verification (401/400/413), its
///   body is not a valid payload (400/415) or could not be read (400);
/// - [`WebhookRejection::LayerMissing`]: [`VerifiedWebhook`](crate::VerifiedWebhook) was
///   used on a route without [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) (500: a
///   wiring mistake, not the sender's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// Refused for a reason the sender can act on.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The route expects the verification layer, which did not run.
    #[error(
        "this route reads a request verified by `VerifyWebhookLayer`, but the layer is not \
         installed on it: add the layer, or use `Webhook<T>` with the verifier in the state"
    )]
    LayerMissing,
}

impl WebhookRejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rejected(rejection) => rejection.status(),
            Self::LayerMissing => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Rejected(rejection) => rejection.code(),
            Self::LayerMissing => "verifier_layer_missing",
        }
    }

    /// The JSON problem body.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Rejected(rejection) => rejection.problem(),
            Self::LayerMissing => Problem::new(self.status(), self.code(), self.to_string()),
        }
    }
}

impl From<webhook_core::VerifyError> for WebhookRejection {
    fn from(err: webhook_core::VerifyError) -> Self {
        Self::Rejected(err.into())
    }
}

impl From<webhook_core::ParseError> for WebhookRejection {
    fn from(err: webhook_core::ParseError) -> Self {
        Self::Rejected(err.into())
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let problem = self.problem();
        tracing::warn!(
            status = problem.status.as_u16(),
            code = %problem.code,
            error = %problem.error,
            "webhook rejected"
        );
        let mut response = (problem.status, problem.to_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(Problem::CONTENT_TYPE),
        );
        if let Some(challenge) = match &self {
            Self::Rejected(rejection) => rejection.challenge(),
            Self::LayerMissing => None,
        } {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}
