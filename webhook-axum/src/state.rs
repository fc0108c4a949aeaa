//! [`WebhookState`]: where [`Webhook<T>`](crate::Webhook) finds its verifier in the
//! router state, when no [`VerifyWebhookLayer`](crate::VerifyWebhookLayer) verified the
//! request before it.

use std::sync::Arc;

use webhook_core::Verifier;

/// A router state [`Webhook<T>`](crate::Webhook) can be used with: it says whether the
/// state holds the verifier, and which.
///
/// - `Router<Verifier>` (`.with_state(verifier)`): the extractor verifies with it.
/// - `Router<()>` (no state): the route must be behind
///   [`VerifyWebhookLayer`](crate::VerifyWebhookLayer), which verifies the request and
///   leaves the result in the request extensions for the extractor; without the layer
///   every request is answered 500 `receiver_misconfigured`.
/// - your own state: implement this trait (one method, or none if the routes are all
///   behind the layer). Or, behind the layer, use
///   [`VerifiedWebhook<T>`](crate::VerifiedWebhook), which needs nothing from the state.
///
/// ```
/// use axum::{Router, routing::post};
/// use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier, Webhook, WebhookState};
///
/// #[derive(Clone)]
/// struct App {
///     verifier: Verifier,
///     // … your database pool, clients, …
/// }
///
/// impl WebhookState for App {
///     fn verifier(&self) -> Option<&Verifier> {
///         Some(&self.verifier)
///     }
/// }
///
/// async fn hook(Webhook(events): Webhook<StalwartEvents>) {}
///
/// let verifier = Verifier::builder(Scheme::Stalwart).secret(Secret::new("k")).build()?;
/// let app: Router = Router::new().route("/hooks", post(hook)).with_state(App { verifier });
/// # Ok::<(), webhook_axum::BuildError>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`Webhook<T>` does not know where the verifier is in the router state `{Self}`",
    note = "use `.with_state(verifier)`, or put `VerifyWebhookLayer::new(verifier)` on the \
            route and use no state, or implement `webhook_axum::WebhookState` for `{Self}`"
)]
pub trait WebhookState {
    /// The verifier for requests the layer did not verify; `None` (the default) when
    /// every route using [`Webhook<T>`](crate::Webhook) is behind the layer.
    fn verifier(&self) -> Option<&Verifier> {
        None
    }
}

/// No state: every route using [`Webhook<T>`](crate::Webhook) is behind
/// [`VerifyWebhookLayer`](crate::VerifyWebhookLayer).
impl WebhookState for () {}

impl WebhookState for Verifier {
    fn verifier(&self) -> Option<&Verifier> {
        Some(self)
    }
}

impl<S: WebhookState> WebhookState for Arc<S> {
    fn verifier(&self) -> Option<&Verifier> {
        S::verifier(self)
    }
}
