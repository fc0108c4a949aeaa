//! [`WebhookRejection`]: what the extractor and the middleware answer instead of
//! calling the handler.
//!
//! Everything about the answer (status, headers, the JSON problem, the warn-level log
//! event) is decided by [`webhook_core::Rejection`]; this type only turns it into an
//! actix-web response, so the axum adapter answers byte-for-byte alike.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use webhook_core::{Problem, Rejection};

/// Why the handler was not called: the request failed verification (401/400/413), its
/// body is not a valid payload (400/415) or could not be read (400), or no verifier is
/// configured for the route (500 `receiver_misconfigured`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection(pub Rejection);

impl WebhookRejection {
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
        response.body(self.0.problem().to_json())
    }
}
