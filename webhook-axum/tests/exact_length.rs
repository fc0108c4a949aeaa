//! A body whose exact length is known without a `Content-Length` header (built in
//! process, as `Router::oneshot` tests do) reserves that length from the body budget,
//! not the route's whole limit. Before, each such request on a Stalwart route reserved
//! 48 MiB, so concurrent tests sharing the process-wide 64 MiB budget were answered
//! 503 `receiver_busy` at random.

use axum::{Router, body::Body, routing::post};
use http::{Request, StatusCode};
use tower::ServiceExt as _;
use webhook_axum::{
    Scheme, Secret, StalwartEvents, Verifier, VerifyWebhookLayer, Webhook, capacity::BodyBudget,
    senders::stalwart,
};

const BODY: &str =
    r#"{"events":[{"id":"1","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#;

#[tokio::test]
async fn an_exact_size_hint_reserves_the_body_not_the_limit() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap();
    assert!(verifier.max_body_bytes() > 1 << 20);
    let router: Router = Router::new().route(
        "/hook",
        post(|Webhook(events): Webhook<StalwartEvents>| async move { events.len().to_string() })
            .layer(VerifyWebhookLayer::new(verifier)),
    );
    // A 1 MiB budget with another request's body already in it: the whole 48 MiB limit
    // would not fit, the 95-byte body does.
    let budget = BodyBudget::new(1 << 20);
    let _other = budget.reserve(1000).unwrap();
    let mut request = Request::post("/hook")
        .header("content-type", "application/json")
        .header(
            "x-signature",
            stalwart::sign(&Secret::new("k"), BODY.as_bytes()),
        )
        .body(Body::from(BODY))
        .unwrap();
    assert!(request.headers().get("content-length").is_none());
    request.extensions_mut().insert(budget.clone());
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(budget.in_use(), 1000);
}
