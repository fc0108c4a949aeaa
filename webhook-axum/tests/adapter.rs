//! The adapter in process: each rejection's status and problem body, the handler never
//! called on a rejected request, the layer, and the streaming body limit.
//! (Round trips with the reference sender over loopback live in the workspace tests.)

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    Extension, Router,
    body::Body,
    extract::{FromRef, State},
    routing::post,
};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body::Frame;
use tower::ServiceExt as _;
use webhook_axum::{VerifiedWebhook, VerifyWebhookLayer, Webhook, WebhookState};
use webhook_core::{Scheme, Secret, StalwartEvents, Verified, Verifier, senders::stalwart};

const BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;

#[derive(Clone, FromRef)]
struct App {
    verifier: Verifier,
    calls: Arc<AtomicUsize>,
}

impl WebhookState for App {
    fn verifier(&self) -> Option<&Verifier> {
        Some(&self.verifier)
    }
}

async fn hook(
    State(calls): State<Arc<AtomicUsize>>,
    Webhook(events): Webhook<StalwartEvents>,
) -> String {
    calls.fetch_add(1, Ordering::SeqCst);
    events.events[0].event_type().to_string()
}

fn app(max_body: usize) -> (Router, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .max_body_bytes(max_body)
        .build()
        .unwrap();
    let router = Router::new().route("/hook", post(hook)).with_state(App {
        verifier,
        calls: calls.clone(),
    });
    (router, calls)
}

fn signed(body: &str) -> Request<Body> {
    Request::post("/hook")
        .header("content-type", "application/json")
        .header(
            "x-signature",
            stalwart::sign(&Secret::new("k"), body.as_bytes()),
        )
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn problem(response: axum::response::Response) -> (StatusCode, serde_json::Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "problem bodies are JSON"
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_valid_request_reaches_the_handler_typed() {
    let (app, calls) = app(1 << 20);
    let response = app.oneshot(signed(BODY)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(text, "auth.success");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rejections_answer_with_their_status_and_code_and_never_call_the_handler() {
    let tampered = {
        let mut request = signed(BODY);
        *request.body_mut() = Body::from(BODY.replace("jdoe", "mallory"));
        request
    };
    let unsigned = Request::post("/hook")
        .header("content-type", "application/json")
        .body(Body::from(BODY))
        .unwrap();
    let wrong_type = {
        let mut request = signed(BODY);
        request
            .headers_mut()
            .insert("content-type", "text/plain".parse().unwrap());
        request
    };
    let cases = [
        (tampered, 401, "signature_mismatch"),
        (unsigned, 401, "missing_signature"),
        (wrong_type, 415, "unsupported_media_type"),
        (signed(r#"{"events":[{"id":"1""#), 400, "invalid_json"),
        (signed(r#"{"events":[]}"#), 400, "empty_batch"),
        (
            signed(&format!("{BODY}{}", " ".repeat(300))),
            413,
            "body_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let (app, calls) = app(BODY.len() + 100);
        let (got_status, body) = problem(app.oneshot(request).await.unwrap()).await;
        assert_eq!(
            (got_status.as_u16(), body["code"].as_str().unwrap()),
            (status, code)
        );
        assert!(body["error"].as_str().unwrap().len() > 10, "{body}");
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{code}: handler called");
    }
}

/// A body that yields `total` bytes in 64 KiB chunks and counts what was pulled.
struct Endless {
    left: usize,
    pulled: Arc<AtomicUsize>,
}

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(64 * 1024);
        self.left -= n;
        self.pulled.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; n])))))
    }
}

#[tokio::test]
async fn a_100_mb_chunked_body_is_refused_without_buffering_it() {
    let (app, calls) = app(1 << 20);
    let pulled = Arc::new(AtomicUsize::new(0));
    let request = Request::post("/hook")
        .header("x-signature", stalwart::sign(&Secret::new("k"), b"x"))
        .body(Body::new(Endless {
            left: 100 << 20,
            pulled: pulled.clone(),
        }))
        .unwrap();
    let (status, body) = problem(app.oneshot(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "body_too_large");
    // The limit plus at most the chunk that crossed it.
    assert!(
        pulled.load(Ordering::SeqCst) <= (1 << 20) + 64 * 1024,
        "{pulled:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_reading() {
    let (app, _) = app(1024);
    let pulled = Arc::new(AtomicUsize::new(0));
    let request = Request::post("/hook")
        .header("content-length", "5000")
        .body(Body::new(Endless {
            left: 5000,
            pulled: pulled.clone(),
        }))
        .unwrap();
    let (status, body) = problem(app.oneshot(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("declared 5000 bytes")
    );
    assert_eq!(pulled.load(Ordering::SeqCst), 0, "nothing read");
}

#[tokio::test]
async fn credential_failures_carry_a_challenge() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .credentials(webhook_core::Credentials::basic("u", Secret::new("p")))
        .build()
        .unwrap();
    async fn raw(Webhook(v): Webhook<Verified<Bytes>>) -> String {
        v.body().len().to_string()
    }
    let app = Router::new().route("/hook", post(raw)).with_state(verifier);
    let response = app
        .oneshot(Request::post("/hook").body(Body::from("{}")).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=")
    );
}

#[tokio::test]
async fn the_layer_guards_the_routes_of_a_router_and_hands_on_the_verified_body() {
    let verifier = Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap();
    async fn via_extension(Extension(verified): Extension<Verified<Bytes>>) -> String {
        format!("{}", verified.body().len())
    }
    async fn via_extractor(VerifiedWebhook(events): VerifiedWebhook<StalwartEvents>) -> String {
        events.len().to_string()
    }
    let app = Router::new()
        .route("/raw", post(via_extension))
        .route("/typed", post(via_extractor))
        .route_layer(VerifyWebhookLayer::new(verifier));

    let mut request = signed(BODY);
    *request.uri_mut() = "/raw".parse().unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = axum::body::to_bytes(response.into_body(), 64)
        .await
        .unwrap();
    assert_eq!(text, BODY.len().to_string());

    let mut request = signed(BODY);
    *request.uri_mut() = "/typed".parse().unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let text = axum::body::to_bytes(response.into_body(), 64)
        .await
        .unwrap();
    assert_eq!(text, "1");

    let mut forged = signed(BODY);
    *forged.uri_mut() = "/raw".parse().unwrap();
    forged.headers_mut().insert(
        "x-signature",
        stalwart::sign(&Secret::new("x"), BODY.as_bytes())
            .parse()
            .unwrap(),
    );
    let (status, body) = problem(app.oneshot(forged).await.unwrap()).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str().unwrap()),
        (401, "signature_mismatch")
    );
}

#[tokio::test]
async fn verified_webhook_without_the_layer_is_a_wiring_error() {
    async fn typed(VerifiedWebhook(_): VerifiedWebhook<StalwartEvents>) {}
    let app: Router = Router::new().route("/typed", post(typed));
    let mut request = signed(BODY);
    *request.uri_mut() = "/typed".parse().unwrap();
    let (status, body) = problem(app.oneshot(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "receiver_misconfigured");
}

#[tokio::test]
async fn a_415_names_the_content_type_received_and_a_store_outage_stays_short() {
    let (router, calls) = app(1 << 20);
    let mut request = signed(BODY);
    request
        .headers_mut()
        .insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
    let (status, body) = problem(router.oneshot(request).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("`Content-Type: text/plain; charset=utf-8`")
            && message.contains("application/json"),
        "{message}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // The sender gets "retry later"; the store's error and the operator's advice are
    // for the log only.
    let down = webhook_axum::WebhookRejection(webhook_core::Rejection::StoreUnavailable {
        retry_after_secs: 3,
        detail: webhook_core::idempotency::StoreError::unavailable("broken pipe").to_string(),
    });
    let response = axum::response::IntoResponse::into_response(down);
    assert_eq!(response.headers()["retry-after"], "3");
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("retry after 3 s"), "{message}");
    assert!(
        !message.contains("broken pipe") && !message.contains("check that"),
        "{message}"
    );
}
