//! What the layering tests share: one signed Stalwart delivery and a one-shot call.

use axum::{Router, body::Body};
use http::{Request, StatusCode};
use tower::ServiceExt as _;
use webhook_axum::{Secret, senders::stalwart};

pub(crate) const BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;

pub(crate) fn signed_with(key: &str, path: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header(
            "x-signature",
            stalwart::sign(&Secret::new(key), BODY.as_bytes()),
        )
        .body(Body::from(BODY))
        .unwrap()
}

pub(crate) async fn answer(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}
