//! Putting verification and deduplication on routes (issue 21, points 3 and 4): the
//! one layer that composes both in the right order, `Webhook<T>` behind it without
//! router state, the fallback left alone by `route_layer`, the misconfigured route, and
//! which key of a rotation matched.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Body, routing::post};
use http::{Request, StatusCode};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
};
mod support;

use support::{BODY, answer, signed_with};
use webhook_axum::{
    Scheme, Secret, StalwartEvents, Verifier, VerifyWebhookLayer, Webhook,
    capacity::BodyBudget,
    idempotency::{Deduplicator, MemoryStore},
    senders::stalwart,
};

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap()
}

fn code(body: &str) -> String {
    let problem: serde_json::Value = serde_json::from_str(body).unwrap();
    problem["code"].as_str().unwrap().to_owned()
}

/// `post(h).layer(…).layer(…)` with the two layers did not compile (E0283), and in the
/// other order on a router answered 500 to every request. One layer does both, verification
/// first: a forged request is refused before it is recorded, a redelivery is skipped.
#[tokio::test]
async fn one_layer_verifies_then_deduplicates_on_a_single_route() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
    let router: Router = Router::new().route(
        "/hook",
        post(move |Webhook(events): Webhook<StalwartEvents>| async move {
            counted.fetch_add(1, Ordering::SeqCst);
            events.len().to_string()
        })
        .layer(VerifyWebhookLayer::new(verifier()).idempotent(dedup)),
    );

    let (status, body) = answer(&router, signed_with("forged", "/hook")).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "signature_mismatch")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let (status, body) = answer(&router, signed_with("k", "/hook")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    let (status, body) = answer(&router, signed_with("k", "/hook")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"duplicate"}"#);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the redelivery did not run the handler"
    );
}

/// Sends one request over real loopback HTTP and returns the status and body.
async fn deliver(address: std::net::SocketAddr, request: String) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

fn raw_request(method: &str, path: &str, key: Option<&str>) -> String {
    let signature = key
        .map(|key| {
            format!(
                "x-signature: {}\r\n",
                stalwart::sign(&Secret::new(key), BODY.as_bytes())
            )
        })
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
         content-type: application/json\r\n{signature}content-length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
}

/// `Webhook<T>` under the layer used to need `.with_state(verifier)`: without it,
/// `axum::serve` did not compile. Now a stateless router serves, and after a `merge`
/// the fallback is untouched: an unknown path is 404, not 401.
#[tokio::test]
async fn webhook_behind_the_layer_serves_without_state_and_leaves_the_fallback_alone() {
    async fn hook(Webhook(events): Webhook<StalwartEvents>) -> String {
        events.events[0].event_type().to_string()
    }
    let hooks = Router::new()
        .route("/hooks/stalwart", post(hook))
        .route_layer(VerifyWebhookLayer::new(verifier()));
    let app = Router::new().merge(hooks);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (status, body) = deliver(address, raw_request("POST", "/hooks/stalwart", Some("k"))).await;
    assert_eq!((status, body.as_str()), (200, "auth.success"));
    let (status, body) = deliver(address, raw_request("POST", "/hooks/stalwart", None)).await;
    assert_eq!((status, code(&body).as_str()), (401, "missing_signature"));
    let (status, _) = deliver(address, raw_request("GET", "/nope", None)).await;
    assert_eq!(status, 404, "the fallback is not behind the verification");
}

/// Why the docs say `route_layer`: `Router::layer` also wraps the fallback.
#[tokio::test]
async fn router_layer_would_answer_an_unknown_path_401() {
    async fn hook(Webhook(_): Webhook<StalwartEvents>) {}
    let hooks = Router::new()
        .route("/hooks/stalwart", post(hook))
        .layer(VerifyWebhookLayer::new(verifier()));
    let app = Router::new().merge(hooks);
    let request = Request::get("/nope").body(Body::empty()).unwrap();
    let (status, body) = answer(&app, request).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "missing_signature")
    );
}

/// A stateless route with `Webhook<T>` but no layer cannot verify: it says so (500 and
/// the reason in the log) and never calls the handler.
#[tokio::test]
async fn webhook_without_layer_or_state_is_a_wiring_error() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app: Router = Router::new().route(
        "/hook",
        post(move |Webhook(_): Webhook<StalwartEvents>| async move {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
    );
    let (status, body) = answer(&app, signed_with("k", "/hook")).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, "receiver_misconfigured")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// Behind the layer without `serve` (plain `axum::serve`, or a one-shot call), the layer
/// keeps the body's budget reservation until the handler has returned, so the parsed
/// events it holds are counted (issue 22).
#[tokio::test]
async fn behind_the_layer_parsed_events_stay_counted_until_the_handler_returns() {
    let budget = BodyBudget::new(1 << 20);
    let counted = budget.clone();
    let router: Router = Router::new()
        .route(
            "/hook",
            post(move |Webhook(events): Webhook<StalwartEvents>| async move {
                format!("{} {}", events.len(), counted.in_use())
            })
            .layer(VerifyWebhookLayer::new(verifier())),
        )
        .layer(axum::Extension(budget.clone()));
    let (status, body) = answer(&router, signed_with("k", "/hook")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (events, in_use) = body.split_once(' ').unwrap();
    assert_eq!(events, "1");
    assert!(
        in_use.parse::<usize>().unwrap() >= BODY.len(),
        "the handler holds the parsed events, yet the budget counted {in_use} bytes"
    );
    assert_eq!(budget.in_use(), 0, "given back once answered");
}
