//! The extractors: [`Webhook<T>`] (verifies with the verifier in the router state) and
//! [`VerifiedWebhook<T>`] (reads what [`VerifyWebhookLayer`]
//! verified).

use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use webhook_core::{FromVerified, Rejection, Verified};

use crate::{WebhookRejection, WebhookState, body::verify_request};

/// A verified, parsed webhook: `T` is a payload type ([`StalwartEvents`],
/// `EmailApiEvent`, `MailtrapEvents`, `WildDuckEvent`,
/// `senders::standard_webhooks::StandardWebhook<T>`, your own [`Payload`]), the payload
/// with what verified it ([`Verified<StalwartEvents>`](crate::Verified): which key
/// matched, see below), or the raw [`Verified<Bytes>`].
///
/// Behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) the extractor takes the
/// layer's result and needs no router state. Without the layer it verifies the request
/// itself, with the [`Verifier`](crate::Verifier) from the router state
/// (`.with_state(verifier)`, or any state implementing [`WebhookState`]): it reads the
/// body up to the verifier's limit (refusing an oversized one without buffering it),
/// verifies the raw bytes, then parses them. A route with neither the layer nor a
/// verifier in its state answers 500 `receiver_misconfigured`.
///
/// # Which key matched
///
/// During a key rotation, `Webhook<Verified<T>>` tells the handler which secret signed
/// the request: [`Verified::verification`](crate::Verified::verification)`().matched_key()`
/// gives its position and the label given with
/// [`VerifierBuilder::labeled_secret`](crate::VerifierBuilder::labeled_secret). Every
/// verified request is also logged at debug level with that label
/// ([`Verification::log`](crate::Verification::log)), so an operator sees when the old
/// key stops being used.
///
/// ```
/// use webhook_axum::{StalwartEvents, Verified, Webhook};
///
/// async fn hook(Webhook(hook): Webhook<Verified<StalwartEvents>>) {
///     let key = hook.verification().matched_key().and_then(|key| key.label());
///     println!("{} events signed with key {key:?}", hook.body().events.len());
/// }
/// ```
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
    S: WebhookState + Send + Sync,
    T: FromVerified<Bytes>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let verified = match (
            parts.extensions.remove::<Verified<Bytes>>(),
            state.verifier(),
        ) {
            (Some(verified), _) => verified,
            (None, Some(verifier)) => verify_request(verifier, &parts, body).await?,
            (None, None) => return Err(NO_VERIFIER),
        };
        Ok(Webhook(T::from_verified(verified)?))
    }
}

const NO_VERIFIER: WebhookRejection = WebhookRejection(Rejection::Misconfigured {
    reason: "this route's `Webhook<T>` has no verifier: its router has no verifier in the \
             state and `VerifyWebhookLayer` is not on the route; add \
             `.layer(VerifyWebhookLayer::new(verifier))` to the route, or \
             `.with_state(verifier)` to the router",
});

/// Like [`Webhook<T>`], for routes behind [`VerifyWebhookLayer`](crate::VerifyWebhookLayer):
/// it needs no verifier in the state, so one router can serve several senders, each
/// route with its own layer. Without the layer it answers 500 `receiver_misconfigured`.
/// `VerifiedWebhook<Verified<T>>` says which key matched, as for [`Webhook<T>`].
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
