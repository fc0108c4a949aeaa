//! Which key of a rotation matched reaches the handler and the debug log (issue 21,
//! point 4). In a test binary of its own: `tracing` caches each call site's interest,
//! and a test on another thread with no subscriber could settle it as "never" between
//! this test's `set_default` and its requests, dropping the debug lines at random.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{Router, routing::post};
use http::StatusCode;
mod support;

use support::{answer, signed_with};
use webhook_axum::{
    Scheme, Secret, StalwartEvents, Verified, VerifiedWebhook, Verifier, VerifyWebhookLayer,
    Webhook,
};

/// A `tracing` writer collecting everything into one buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// During a rotation, the handler learns which key signed the request (the old one
/// here), through the extractor and through the layer, and the label is logged at
/// debug level.
#[tokio::test(flavor = "current_thread")]
async fn the_matched_keys_label_reaches_the_handler_and_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rotating = Verifier::builder(Scheme::Stalwart)
        .labeled_secret("2026-new", Secret::new("new-key"))
        .labeled_secret("2025-old", Secret::new("old-key"))
        .build()
        .unwrap();
    fn label<T>(verified: &Verified<T>) -> String {
        let key = verified.verification().matched_key().unwrap();
        format!("{}#{}", key.label().unwrap(), key.index())
    }
    let app = Router::new()
        .route(
            "/state",
            post(|Webhook(hook): Webhook<Verified<StalwartEvents>>| async move { label(&hook) }),
        )
        .with_state(rotating.clone())
        .merge(
            Router::new().route(
                "/layer",
                post(
                    |VerifiedWebhook(hook): VerifiedWebhook<Verified<StalwartEvents>>| async move {
                        assert_eq!(hook.body().len(), 1);
                        label(&hook)
                    },
                )
                .layer(VerifyWebhookLayer::new(rotating)),
            ),
        );

    for path in ["/state", "/layer"] {
        let (status, body) = answer(&app, signed_with("old-key", path)).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "2025-old#1"),
            "{path}"
        );
    }
    let (_, body) = answer(&app, signed_with("new-key", "/state")).await;
    assert_eq!(body, "2026-new#0");

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("key=\"2025-old\"").count(), 2, "{log}");
    assert_eq!(log.matches("key=\"2026-new\"").count(), 1, "{log}");
    assert!(log.contains("DEBUG") && !log.contains("old-key"), "{log}");
}
