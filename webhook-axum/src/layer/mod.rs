//! A tower middleware that verifies every request before the inner service sees it.
//!
//! [`VerifyWebhookLayer`] guards a single route (`post(hook).layer(…)`), the routes of a
//! router (`Router::route_layer(…)`), or any tower service (hyper, tonic): requests that
//! fail answer with the same JSON problem as the extractor; requests that pass reach the
//! inner service with their body intact and the [`Verified<Bytes>`](crate::Verified) in
//! the request extensions, where [`Webhook<T>`](crate::Webhook) (with no router state
//! needed), [`VerifiedWebhook<T>`](crate::VerifiedWebhook) or axum's `Extension` pick it
//! up. [`VerifyWebhookLayer::idempotent`] adds deduplication inside it.
//!
//! Prefer `route_layer` to `Router::layer`: `layer` also wraps the router's fallback, so
//! after a `merge` a request for an unknown path would be answered 401
//! `missing_signature` instead of 404.
//!
//! ```
//! use axum::{Extension, Router, routing::post};
//! use bytes::Bytes;
//! use webhook_axum::VerifyWebhookLayer;
//! use webhook_axum::{Scheme, Secret, Verified, Verifier};
//!
//! async fn raw(Extension(verified): Extension<Verified<Bytes>>) -> String {
//!     format!("{} bytes, key #{}", verified.body().len(),
//!         verified.verification().matched_key().map_or(0, |k| k.index()))
//! }
//!
//! let verifier = Verifier::builder(Scheme::Mailtrap).secret(Secret::new("k")).build()?;
//! let app: Router = Router::new()
//!     .route("/hooks/mailtrap", post(raw))
//!     .route_layer(VerifyWebhookLayer::new(verifier));
//! # Ok::<(), webhook_axum::BuildError>(())
//! ```

#[allow(clippy::module_inception)]
mod layer;
mod service;

pub use layer::VerifyWebhookLayer;
pub use service::{ResponseFuture, VerifyWebhookService};
