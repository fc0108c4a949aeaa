//! The adapter in process: each rejection's status and problem body, the handler never
//! called on a rejected request, the middleware, and the payload limit.
//! (Round trips with the reference sender over loopback live in the workspace tests.)

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use actix_web::{
    App, HttpMessage as _, HttpRequest, HttpResponse,
    http::StatusCode,
    test::{self, TestRequest},
    web,
};
use bytes::Bytes;
use webhook_actix::{VerifyWebhook, Webhook, WebhookConfig};
use webhook_core::{
    Scheme, Secret, StalwartEvents, Verified, Verifier,
    capacity::{BodyBudget, ServeLimits},
    senders::stalwart,
};

const BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;

fn verifier(max_body: usize) -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .max_body_bytes(max_body)
        .build()
        .unwrap()
}

async fn hook(
    calls: web::Data<Arc<AtomicUsize>>,
    Webhook(events): Webhook<StalwartEvents>,
) -> HttpResponse {
    calls.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(events.events[0].event_type().to_string())
}

fn signed(body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/hook")
        .insert_header(("content-type", "application/json"))
        .insert_header((
            "x-signature",
            stalwart::sign(&Secret::new("k"), body.as_bytes()),
        ))
        .set_payload(body.to_owned())
}

#[actix_web::test]
async fn a_valid_request_reaches_the_handler_typed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = test::init_service(
        App::new()
            .app_data(WebhookConfig::new(verifier(1 << 20)))
            .app_data(web::Data::new(calls.clone()))
            .route("/hook", web::post().to(hook)),
    )
    .await;
    let response = test::call_service(&app, signed(BODY).to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(test::read_body(response).await, "auth.success");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Issue 22: the events the extractor parses own copies of the body's strings and take
/// its place in memory once it is dropped; its bytes stay counted until the request is
/// answered, so the budget bounds parsed payloads too, with the extractor alone and
/// behind the middleware.
#[actix_web::test]
async fn parsed_events_stay_counted_against_the_budget_until_the_request_is_answered() {
    let budget = BodyBudget::new(1 << 20);
    let counted = budget.clone();
    let typed = move |Webhook(events): Webhook<StalwartEvents>| {
        let in_use = counted.in_use();
        async move { HttpResponse::Ok().body(format!("{} {in_use}", events.len())) }
    };
    let app = test::init_service(
        App::new()
            .app_data(ServeLimits::default().with_body_budget(budget.clone()))
            .app_data(WebhookConfig::new(verifier(1 << 20)))
            .route("/hook", web::post().to(typed.clone()))
            .service(
                web::scope("/guarded")
                    .wrap(VerifyWebhook::new(verifier(1 << 20)))
                    .route("/hook", web::post().to(typed)),
            ),
    )
    .await;
    for path in ["/hook", "/guarded/hook"] {
        let response = test::call_service(&app, signed(BODY).uri(path).to_request()).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
        let (events, in_use) = body.split_once(' ').unwrap();
        assert_eq!(events, "1");
        assert!(
            in_use.parse::<usize>().unwrap() >= BODY.len(),
            "{path}: the handler holds the parsed events, yet the budget counted {in_use} bytes"
        );
        assert_eq!(budget.in_use(), 0, "{path}: given back once answered");
    }
}

#[actix_web::test]
async fn rejections_answer_with_their_status_and_code_and_never_call_the_handler() {
    let cases = [
        (
            signed(BODY).set_payload(BODY.replace("jdoe", "mallory")),
            401,
            "signature_mismatch",
        ),
        (
            TestRequest::post()
                .uri("/hook")
                .insert_header(("content-type", "application/json"))
                .set_payload(BODY),
            401,
            "missing_signature",
        ),
        (
            signed(BODY).insert_header(("content-type", "text/plain")),
            415,
            "unsupported_media_type",
        ),
        (signed(r#"{"events":[{"id":"1""#), 400, "invalid_json"),
        (signed(r#"{"events":[]}"#), 400, "empty_batch"),
        (
            signed(&format!("{BODY}{}", " ".repeat(300))),
            413,
            "body_too_large",
        ),
    ];
    for (request, status, code) in cases {
        let calls = Arc::new(AtomicUsize::new(0));
        let app = test::init_service(
            App::new()
                .app_data(WebhookConfig::new(verifier(BODY.len() + 100)))
                .app_data(web::Data::new(calls.clone()))
                .route("/hook", web::post().to(hook)),
        )
        .await;
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status().as_u16(), status, "{code}");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/json"
        );
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["code"], code);
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{code}: handler called");
    }
}

#[actix_web::test]
async fn a_declared_oversize_body_is_refused_before_reading() {
    let app = test::init_service(
        App::new()
            .app_data(WebhookConfig::new(verifier(1024)))
            .app_data(web::Data::new(Arc::new(AtomicUsize::new(0))))
            .route("/hook", web::post().to(hook)),
    )
    .await;
    let request = TestRequest::post()
        .uri("/hook")
        .insert_header(("content-length", "5000"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("declared 5000 bytes")
    );
}

#[actix_web::test]
async fn the_middleware_guards_a_scope_and_hands_on_the_verified_body() {
    async fn raw(request: HttpRequest, body: Bytes) -> HttpResponse {
        let verified = request
            .extensions()
            .get::<Verified<Bytes>>()
            .cloned()
            .unwrap();
        assert_eq!(verified.body(), &body, "the payload was put back intact");
        HttpResponse::Ok().body(body.len().to_string())
    }
    async fn typed(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
        HttpResponse::Ok().body(events.len().to_string())
    }
    let app = test::init_service(
        App::new().service(
            web::scope("/hooks")
                .wrap(VerifyWebhook::new(verifier(1 << 20)))
                .route("/raw", web::post().to(raw))
                .route("/typed", web::post().to(typed)),
        ),
    )
    .await;
    let response = test::call_service(&app, signed(BODY).uri("/hooks/raw").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(test::read_body(response).await, BODY.len().to_string());
    let response = test::call_service(&app, signed(BODY).uri("/hooks/typed").to_request()).await;
    assert_eq!(test::read_body(response).await, "1");
    let forged = signed(BODY).uri("/hooks/raw").insert_header((
        "x-signature",
        stalwart::sign(&Secret::new("x"), BODY.as_bytes()),
    ));
    let response = test::call_service(&app, forged.to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["code"], "signature_mismatch");
}

#[actix_web::test]
async fn no_verifier_is_a_wiring_error() {
    async fn typed(Webhook(_): Webhook<StalwartEvents>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
    let app = test::init_service(App::new().route("/hook", web::post().to(typed))).await;
    let response = test::call_service(&app, signed(BODY).to_request()).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["code"], "receiver_misconfigured");
}

#[actix_web::test]
async fn credential_failures_carry_a_challenge() {
    let verifier = Verifier::builder(Scheme::WildDuck)
        .credentials(webhook_core::Credentials::bearer(Secret::new("t")))
        .build()
        .unwrap();
    async fn raw(Webhook(v): Webhook<Verified<Bytes>>) -> HttpResponse {
        HttpResponse::Ok().body(v.body().len().to_string())
    }
    let app = test::init_service(
        App::new()
            .app_data(WebhookConfig::new(verifier))
            .route("/hook", web::post().to(raw)),
    )
    .await;
    let response = test::call_service(
        &app,
        TestRequest::post()
            .uri("/hook")
            .set_payload("{}")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers().get("www-authenticate").unwrap(),
        "Bearer"
    );
    let ok = TestRequest::post()
        .uri("/hook")
        .insert_header(("authorization", "Bearer t"))
        .set_payload("{}")
        .to_request();
    assert_eq!(test::call_service(&app, ok).await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn a_415_names_the_content_type_received_and_a_store_outage_stays_short() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = test::init_service(
        App::new()
            .app_data(WebhookConfig::new(verifier(1 << 20)))
            .app_data(web::Data::new(calls.clone()))
            .route("/hook", web::post().to(hook)),
    )
    .await;
    let request = signed(BODY)
        .insert_header(("content-type", "text/plain; charset=utf-8"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("`Content-Type: text/plain; charset=utf-8`")
            && message.contains("application/json"),
        "{message}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // The sender gets "retry later"; the store's error and the operator's advice are
    // for the log only.
    let down = webhook_actix::WebhookRejection::from(webhook_core::Rejection::StoreUnavailable {
        retry_after_secs: 3,
        detail: webhook_core::idempotency::StoreError::unavailable("broken pipe").to_string(),
    });
    let response = actix_web::ResponseError::error_response(&down);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers().get("retry-after").unwrap(), "3");
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("retry after 3 s"), "{message}");
    assert!(
        !message.contains("broken pipe") && !message.contains("check that"),
        "{message}"
    );
}
