//! The extractors: [`Webhook<T>`] (verifies with the verifier in the router state) and
//! [`VerifiedWebhook<T>`] (reads what [`VerifyWebhookLayer`]
//! verified).

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use webhook_core::{FromVerified, Verified, Verifier};

use crate::{WebhookRejection, body::verify_request};

/// A verified, parsed webhook: `T` is a payload type ([`StalwartEvents`],
/// `EmailApiEvent`, `MailtrapEvents`, `WildDuckEvent`,
/// `senders::standard_webhooks::StandardWebhook<T>`, your own [`Payload`]) or the raw
/// [`Verified<Bytes>`].
///
/// The [`Verifier`] comes from the router state through [`FromRef`]. The extractor reads
/// the body up to the verifier's limit (refusing an oversized one without buffering
/// it), verifies the raw bytes, then parses them. If
/// [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) already verified the request, its
/// result is used instead of verifying twice.
///
/// # Rejections
///
/// The handler is not called, and the sender gets a JSON problem
/// (`{"error": "…", "code": "…"}`), when:
///
/// - the body is larger than the limit (413 `body_too_large`);
/// - the signature, credentials or URL token are missing (401 `missing_signature`,
///   `missing_auth`, `missing_token`), wrong (401 `signature_mismatch`, `auth_mismatch`,
///   `token_mismatch`) or malformed (400 `malformed_signature`, `duplicate_header`, …);
/// - a signed timestamp is outside the replay window (401 `timestamp_out_of_window`);
/// - the body is in a format the sender never uses (415 `unsupported_media_type`) or is
///   not a valid payload (400 `invalid_json`, `unexpected_shape`, `empty_batch`, …);
/// - the body stream breaks off (400 `body_read_error`).
///
/// ```
/// use axum::{Router, routing::post};
/// use webhook_axum::Webhook;
/// use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier};
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) {
///     for event in &events {
///         println!("{} {}", event.event_type(), event.created_at());
///     }
/// }
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("my-secret-key")).build()?;
/// let app: Router = Router::new().route("/hooks/stalwart", post(hook)).with_state(verifier);
/// # Ok::<(), webhook_axum::BuildError>(())
/// ```
///
/// [`StalwartEvents`]: crate::StalwartEvents
/// [`Payload`]: crate::Payload
#[derive(Debug, Clone)]
pub struct Webhook<T>(pub T);

impl<S, T> FromRequest<S> for Webhook<T>
where
    Verifier: FromRef<S>,
    S: Send + Sync,
    T: FromVerified<Bytes>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let verified = match parts.extensions.remove::<Verified<Bytes>>() {
            Some(verified) => verified,
            None => verify_request(&Verifier::from_ref(state), &parts, body).await?,
        };
        Ok(Webhook(T::from_verified(verified)?))
    }
}

/// Like [`Webhook<T>`], for routes behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer):
/// it needs no verifier in the state, so one router can serve several senders, each
/// route with its own layer. Without the layer it answers 500 `receiver_misconfigured`.
///
/// ```
/// use axum::{Router, routing::post};
/// use webhook_axum::{VerifiedWebhook, VerifyWebhookLayer};
/// use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier};
///
/// async fn stalwart(VerifiedWebhook(events): VerifiedWebhook<StalwartEvents>) {}
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let app: Router = Router::new()
///     .route("/hooks/stalwart", post(stalwart).layer(VerifyWebhookLayer::new(verifier)));
/// # Ok::<(), webhook_axum::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedWebhook<T>(pub T);

impl<S, T> FromRequestParts<S> for VerifiedWebhook<T>
where
    S: Send + Sync,
    T: FromVerified<Bytes>,
{
    type Rejection = WebhookRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let verified = parts
            .extensions
            .remove::<Verified<Bytes>>()
            .ok_or(WebhookRejection::LAYER_MISSING)?;
        Ok(VerifiedWebhook(T::from_verified(verified)?))
    }
}
