//! Reading a request body up to the verifier's limit, never buffering past it, and
//! within the server's [`BodyBudget`].
//!
//! A declared `Content-Length` above the limit is refused before a byte is read; then
//! the body's bytes are reserved from the budget (the declared length, or the whole
//! limit for a chunked body) and a body that does not fit is refused 503 before it is
//! read. A chunked body fails the moment its running total passes the limit, so a
//! 100 MB upload costs at most the limit in memory. The reservation travels with the
//! bytes (`Bytes::from_owner`), and a hold on it goes in the request's [`RequestHolds`]
//! (which [`serve`] and [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) give each
//! request): it is given back once the last handle on the bytes is dropped and the
//! request is answered, so the events an extractor parses from the body stay counted
//! while the handler holds them. A body cut off by [`serve`]'s deadline becomes 408
//! `body_timeout`. Both the extractor and the layer read through here.

use std::pin::pin;

use bytes::Bytes;
use http::{HeaderMap, header::CONTENT_LENGTH, request::Parts};
use http_body::Body;
use http_body_util::BodyExt as _;
use webhook_core::{
    Rejection, Verified, Verifier,
    capacity::{BodyBudget, BodyBuffer, RequestHolds, SlowBody},
};

use crate::WebhookRejection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads and verifies a request: the whole path from the wire to a [`Verified`] body.
pub(crate) async fn verify_request<B>(
    verifier: &Verifier,
    parts: &Parts,
    body: B,
) -> Result<Verified<Bytes>, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let bytes = read_limited(parts, body, verifier).await?;
    let verified = verifier.verify(parts, bytes)?;
    verified.verification().log();
    Ok(verified)
}

/// Reads a request body up to `verifier`'s limit without verifying it: a declared
/// `Content-Length` above the limit is refused before reading (413), a body that does
/// not fit in the request's [`BodyBudget`] too (503 with `Retry-After`), a longer stream
/// as soon as it passes the limit (413).
///
/// The budget is the one [`serve`](crate::serve) puts in the request extensions, or one
/// you add yourself with `.layer(axum::Extension(budget))`; without either,
/// [`BodyBudget::global`].
///
/// For receivers that need the raw bytes even when verification fails (to log or
/// diagnose them) and call [`Verifier::verify`] themselves; the extractor and the layer
/// read through the same path.
///
/// ```
/// # async fn demo(verifier: webhook_axum::Verifier, request: axum::extract::Request) {
/// let (parts, body) = request.into_parts();
/// match webhook_axum::read_body(&verifier, &parts, body).await {
///     Ok(bytes) => {
///         let _ = verifier.verify(&parts, bytes);
///     }
///     Err(rejection) => eprintln!("{rejection}"),
/// }
/// # }
/// ```
pub async fn read_body<B>(
    verifier: &Verifier,
    parts: &Parts,
    body: B,
) -> Result<Bytes, WebhookRejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    read_limited(parts, body, verifier)
        .await
        .map_err(WebhookRejection)
}

async fn read_limited<B>(parts: &Parts, body: B, verifier: &Verifier) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let budget = parts
        .extensions
        .get::<BodyBudget>()
        .unwrap_or_else(|| BodyBudget::global());
    // A body that knows its exact length without a `Content-Length` header (one built
    // in process, as in `Router::oneshot` tests) reserves that length, not the whole
    // limit: with Stalwart's 48 MiB limit two such requests would otherwise fill the
    // default budget and the third would be answered 503.
    let declared = declared_length(&parts.headers).or(body.size_hint().exact());
    let mut buffer = BodyBuffer::for_request(verifier, declared, budget)?;
    let mut body = pin!(body);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| body_error(err.into()))?;
        if let Some(data) = frame.data_ref() {
            buffer.extend(data)?;
        }
    }
    let body = buffer.finish();
    if let Some(holds) = parts.extensions.get::<RequestHolds>() {
        holds.keep(body.hold());
    }
    Ok(Bytes::from_owner(body))
}

/// A body stream's failure: too slow for the server's deadline (408), or broken off.
fn body_error(err: BoxError) -> Rejection {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*err);
    while let Some(current) = source {
        if let Some(slow) = current.downcast_ref::<SlowBody>() {
            return Rejection::SlowBody(slow.clone());
        }
        source = current.source();
    }
    Rejection::BodyRead {
        detail: err.to_string(),
    }
}

/// hyper refuses malformed or conflicting `Content-Length` headers itself; anything it
/// lets through that does not parse is left to the streaming limit.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
