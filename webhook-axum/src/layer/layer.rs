//! The layer: configuration only.

use tower_layer::Layer;
use webhook_core::Verifier;

use super::VerifyWebhook;

/// Wraps services in [`VerifyWebhook`].
#[derive(Debug, Clone)]
pub struct VerifyWebhookLayer {
    verifier: Verifier,
}

impl VerifyWebhookLayer {
    /// A layer verifying with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyWebhook::new(inner, self.verifier.clone())
    }
}
