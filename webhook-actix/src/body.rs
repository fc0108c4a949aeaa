//! Reading the payload up to the verifier's limit, within the body budget and the body
//! deadline, then verifying it. Shared by the extractor and the middleware.
//!
//! The [`ServeLimits`] come from the app data (registered with
//! `App::app_data(limits.clone())`), or are the defaults. A declared length over the
//! limit is refused 413 and a body that does not fit in the budget 503 before a byte is
//! read; a body later than [`ServeLimits::body_allowance`] is answered 408. In each
//! case the unread rest keeps the connection from being reused (see
//! [`WebhookRejection::with_unread`]), so actix closes it after the answer.
//!
//! A hold on the body's reservation goes in the request's extensions
//! ([`RequestHolds`]), which actix drops with the request once it is answered: the
//! events an extractor parses from the body stay counted while the handler holds them.

use std::sync::OnceLock;

use actix_web::{
    HttpMessage as _, HttpRequest,
    dev::Payload,
    http::header::CONTENT_LENGTH,
    rt::time::{Instant, timeout},
    web,
};
use bytes::Bytes;
use futures_util::StreamExt as _;
use webhook_core::{
    Rejection, Verified, Verifier,
    capacity::{BodyBuffer, RequestHolds, ReservationHold, ServeLimits},
};

use crate::{WebhookRejection, request::ActixRequest};

pub(crate) async fn verify_payload(
    verifier: &Verifier,
    request: &HttpRequest,
    mut payload: Payload,
) -> Result<Verified<Bytes>, WebhookRejection> {
    let limits = serve_limits(request);
    let declared = declared_length(request);
    let mut buffer = match BodyBuffer::for_request(verifier, declared, limits.body_budget()) {
        Ok(buffer) => buffer,
        Err(refused) => return Err(WebhookRejection::with_unread(refused, payload)),
    };
    let started = Instant::now();
    loop {
        let received = buffer.len() as u64;
        let left = limits
            .body_allowance(received)
            .saturating_sub(started.elapsed());
        let chunk = match timeout(left, payload.next()).await {
            Ok(None) => break,
            Ok(Some(chunk)) => chunk.map_err(|err| {
                WebhookRejection::from(Rejection::BodyRead {
                    detail: err.to_string(),
                })
            })?,
            Err(_) => {
                let slow = limits.slow_body(received, started.elapsed());
                return Err(WebhookRejection::with_unread(slow, payload));
            }
        };
        if let Err(too_large) = buffer.extend(&chunk) {
            return Err(WebhookRejection::with_unread(too_large, payload));
        }
    }
    let body = buffer.finish();
    keep_until_answered(request, body.hold());
    let body = Bytes::from_owner(body);
    let verified = verifier.verify(&ActixRequest(request), body)?;
    verified.verification().log();
    Ok(verified)
}

/// Keeps `hold` in the request's extensions, given back when actix drops the request
/// after its handler has answered.
fn keep_until_answered(request: &HttpRequest, hold: ReservationHold) {
    let mut extensions = request.extensions_mut();
    match extensions.get::<RequestHolds>() {
        Some(holds) => holds.keep(hold),
        None => {
            let holds = RequestHolds::new();
            holds.keep(hold);
            extensions.insert(holds);
        }
    }
}

/// The limits registered for this request (plain or in `web::Data`), else the defaults.
fn serve_limits(request: &HttpRequest) -> &ServeLimits {
    static DEFAULT: OnceLock<ServeLimits> = OnceLock::new();
    request
        .app_data::<ServeLimits>()
        .or_else(|| {
            request
                .app_data::<web::Data<ServeLimits>>()
                .map(|data| data.get_ref())
        })
        .unwrap_or_else(|| DEFAULT.get_or_init(ServeLimits::default))
}

fn declared_length(request: &HttpRequest) -> Option<u64> {
    request
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
