//! [`WebhookConfig`]: where the extractor finds its verifier, in the shape of
//! actix-web's own `JsonConfig`.

use actix_web::{HttpRequest, web};
use webhook_core::{Rejection, Verifier};

/// Extractor configuration, registered with `App::app_data` (or `Scope`/`Resource`
/// `app_data` for per-route senders).
///
/// ```
/// use actix_web::{App, web};
/// use webhook_actix::{Webhook, WebhookConfig};
/// use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier};
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) -> String {
///     events.len().to_string()
/// }
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let app = App::new()
///     .app_data(WebhookConfig::new(verifier))
///     .route("/hooks/stalwart", web::post().to(hook));
/// # Ok::<(), webhook_actix::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    verifier: Verifier,
}

impl WebhookConfig {
    /// A configuration verifying with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The verifier for `request`: a `WebhookConfig` (plain or in `web::Data`), or a
    /// `Verifier` (plain or in `web::Data`), innermost registration first.
    pub(crate) fn verifier_for(request: &HttpRequest) -> Result<Verifier, Rejection> {
        request
            .app_data::<WebhookConfig>()
            .map(|config| config.verifier.clone())
            .or_else(|| {
                request
                    .app_data::<web::Data<WebhookConfig>>()
                    .map(|config| config.verifier.clone())
            })
            .or_else(|| request.app_data::<Verifier>().cloned())
            .or_else(|| {
                request
                    .app_data::<web::Data<Verifier>>()
                    .map(|verifier| verifier.get_ref().clone())
            })
            .ok_or(Rejection::Misconfigured {
                reason: "no verifier is registered for this route: add \
                         `.app_data(WebhookConfig::new(verifier))` to the app, scope or \
                         resource, or wrap it in the `VerifyWebhook` middleware",
            })
    }
}
