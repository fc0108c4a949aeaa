//! Reading a request body up to the verifier's limit, never buffering past it.
//!
//! A declared `Content-Length` above the limit is refused before a byte is read; a
//! chunked body is read through [`Limited`], which fails the moment the running total
//! passes the limit, so a 100 MB upload costs at most the limit in memory. Both the
//! extractor and the layer read through here.

use bytes::Bytes;
use http::{HeaderMap, header::CONTENT_LENGTH, request::Parts};
use http_body::Body;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use webhook_core::{Rejection, Verified, Verifier, VerifyError};

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
    let bytes = read_limited(&parts.headers, body, verifier).await?;
    Ok(verifier.verify(parts, bytes)?)
}

/// Reads a request body up to `verifier`'s limit without verifying it: a declared
/// `Content-Length` above the limit is refused before reading, a longer stream as soon
/// as it passes the limit.
///
/// For receivers that need the raw bytes even when verification fails (to log or
/// diagnose them) and call [`Verifier::verify`] themselves; the extractor and the layer
/// read through the same path.
///
/// ```
/// # async fn demo(verifier: webhook_core::Verifier, request: axum::extract::Request) {
/// let (parts, body) = request.into_parts();
/// match webhook_axum::read_body(&verifier, &parts.headers, body).await {
///     Ok(bytes) => {
///         let _ = verifier.verify(&parts, bytes);
///     }
///     Err(rejection) => eprintln!("{rejection}"),
/// }
/// # }
/// ```
pub async fn read_body<B>(
    verifier: &Verifier,
    headers: &HeaderMap,
    body: B,
) -> Result<Bytes, WebhookRejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    read_limited(headers, body, verifier)
        .await
        .map_err(WebhookRejection)
}

async fn read_limited<B>(
    headers: &HeaderMap,
    body: B,
    verifier: &Verifier,
) -> Result<Bytes, Rejection>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    verifier.check_declared_length(declared_length(headers))?;
    let limit = verifier.max_body_bytes();
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(VerifyError::BodyTooLarge {
                limit,
                declared: None,
            }
            .into())
        }
        Err(err) => Err(Rejection::BodyRead {
            detail: err.to_string(),
        }),
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
