//! Reading the payload up to the verifier's limit, never buffering past it, then
//! verifying it. Shared by the extractor and the middleware.

use actix_web::{HttpRequest, dev::Payload, http::header::CONTENT_LENGTH};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use webhook_core::{Rejection, Verified, Verifier, VerifyError};

use crate::{WebhookRejection, request::ActixRequest};

pub(crate) async fn verify_payload(
    verifier: &Verifier,
    request: &HttpRequest,
    mut payload: Payload,
) -> Result<Verified<Bytes>, WebhookRejection> {
    if let Err(too_large) = verifier.check_declared_length(declared_length(request)) {
        return Err(WebhookRejection::with_unread(too_large, payload));
    }
    let limit = verifier.max_body_bytes();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            WebhookRejection::from(Rejection::BodyRead {
                detail: err.to_string(),
            })
        })?;
        if body.len() + chunk.len() > limit {
            let too_large = VerifyError::BodyTooLarge {
                limit,
                declared: None,
            };
            return Err(WebhookRejection::with_unread(too_large, payload));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(verifier.verify(&ActixRequest(request), body.freeze())?)
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
