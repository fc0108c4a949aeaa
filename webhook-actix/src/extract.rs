//! The extractor: [`Webhook<T>`].

use actix_web::{FromRequest, HttpMessage as _, HttpRequest, dev::Payload};
use bytes::Bytes;
use futures_util::future::LocalBoxFuture;
use webhook_core::{FromVerified, Verified};

use crate::{WebhookConfig, WebhookRejection, body::verify_payload};

/// A verified, parsed webhook: `T` is a payload type (`StalwartEvents`, `EmailApiEvent`,
/// `MailtrapEvents`, `WildDuckEvent`, `senders::standard_webhooks::StandardWebhook<T>`,
/// your own `Payload`), the payload with what verified it (`Verified<StalwartEvents>`:
/// which key matched), or the raw [`Verified<Bytes>`].
///
/// Behind the [`VerifyWebhook`](crate::VerifyWebhook) middleware it takes the
/// middleware's result and needs no app data. Otherwise the verifier comes from
/// [`WebhookConfig`] (or a `Verifier`) in the app data; the extractor reads the payload
/// up to the verifier's limit (an oversized body is refused without being buffered),
/// verifies the raw bytes, then parses them. With neither, it answers 500
/// `receiver_misconfigured`.
///
/// # Which key matched
///
/// During a key rotation, `Webhook<Verified<T>>` tells the handler which secret signed
/// the request: `verification().matched_key()` gives its position and the label given
/// with [`VerifierBuilder::labeled_secret`](crate::VerifierBuilder::labeled_secret).
/// Every verified request is also logged at debug level with that label
/// ([`Verification::log`](crate::Verification::log)).
///
/// ```
/// use actix_web::HttpResponse;
/// use webhook_actix::{StalwartEvents, Verified, Webhook};
///
/// async fn hook(Webhook(hook): Webhook<Verified<StalwartEvents>>) -> HttpResponse {
///     let key = hook.verification().matched_key().and_then(|key| key.label());
///     HttpResponse::Ok().body(format!("{} events, key {key:?}", hook.body().events.len()))
/// }
/// ```
///
/// # Rejections
///
/// The handler is not called, and the sender gets a JSON problem
/// (`{"error": "…", "code": "…"}`), when the body is too large (413), the signature,
/// credentials or token are missing or wrong (401), malformed (400), stale (401), the
/// body is in a format the sender never uses (415) or not a valid payload (400), or the
/// payload stream breaks off (400). See [`WebhookRejection`].
#[derive(Debug, Clone)]
pub struct Webhook<T>(pub T);

impl<T: FromVerified<Bytes> + 'static> FromRequest for Webhook<T> {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let already = request.extensions_mut().remove::<Verified<Bytes>>();
        let payload = payload.take();
        Box::pin(async move {
            let verified = match already {
                Some(verified) => verified,
                None => {
                    let verifier = WebhookConfig::verifier_for(&request)?;
                    verify_payload(&verifier, &request, payload).await?
                }
            };
            Ok(Webhook(T::from_verified(verified)?))
        })
    }
}
