//! Putting verification and deduplication on routes (issue 21, points 3 and 4): the
//! one middleware that composes both in the right order, `Webhook<T>` behind it
//! without app data, unknown paths left alone when resources are wrapped, and which
//! key of a rotation matched.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use actix_web::{
    App, HttpResponse,
    http::StatusCode,
    test::{self, TestRequest},
    web,
};
use webhook_actix::{
    Scheme, Secret, StalwartEvents, Verified, Verifier, VerifyWebhook, Webhook,
    idempotency::{Deduplicator, MemoryStore},
    senders::stalwart,
};

const BODY: &str = r#"{"events":[{"id":"1755784900237","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{"accountName":"jdoe@example.org"}}]}"#;

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new("k"))
        .build()
        .unwrap()
}

fn signed_with(key: &str, path: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/json"))
        .insert_header((
            "x-signature",
            stalwart::sign(&Secret::new(key), BODY.as_bytes()),
        ))
        .set_payload(BODY)
}

/// `.wrap(Idempotency).wrap(VerifyWebhook)` in the wrong order answered 500 to every
/// request. One middleware does both, verification first, and `Webhook<T>` behind it
/// needs no `WebhookConfig`.
#[actix_web::test]
async fn one_middleware_verifies_then_deduplicates() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
    let app = test::init_service(
        App::new().service(
            web::resource("/hook")
                .wrap(VerifyWebhook::new(verifier()).idempotent(dedup))
                .route(
                    web::post().to(move |Webhook(events): Webhook<StalwartEvents>| {
                        let counted = counted.clone();
                        async move {
                            counted.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::Ok().body(events.len().to_string())
                        }
                    }),
                ),
        ),
    )
    .await;

    let response = test::call_service(&app, signed_with("forged", "/hook").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let response = test::call_service(&app, signed_with("k", "/hook").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(test::read_body(response).await, "1");
    let response = test::call_service(&app, signed_with("k", "/hook").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(test::read_body(response).await, r#"{"status":"duplicate"}"#);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the redelivery did not run the handler"
    );
}

async fn hook(Webhook(_): Webhook<StalwartEvents>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// A wrapped resource leaves other paths alone: 404 for an unknown path, while the
/// same middleware on the `App` (the trap the docs warn about) answers it 401.
#[actix_web::test]
async fn a_wrapped_resource_leaves_unknown_paths_404() {
    let app = test::init_service(
        App::new().service(
            web::resource("/hooks/stalwart")
                .wrap(VerifyWebhook::new(verifier()))
                .route(web::post().to(hook)),
        ),
    )
    .await;
    let response = test::call_service(&app, signed_with("k", "/hooks/stalwart").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = test::call_service(&app, TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // The resource's own "method not allowed" is behind its middleware too.
    let response =
        test::call_service(&app, TestRequest::get().uri("/hooks/stalwart").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let wrapped_app = test::init_service(
        App::new()
            .wrap(VerifyWebhook::new(verifier()))
            .route("/hooks/stalwart", web::post().to(hook)),
    )
    .await;
    let response =
        test::call_service(&wrapped_app, TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// A wrapped route (`web::post().to(hook).wrap(…)`) touches nothing else: an unknown
/// path and another method on its path get actix's own 404, not a 401.
#[actix_web::test]
async fn a_wrapped_route_leaves_unknown_paths_and_other_methods_alone() {
    let dedup = Deduplicator::for_scheme(MemoryStore::new(), Scheme::Stalwart);
    let app = test::init_service(
        App::new().route(
            "/hooks/stalwart",
            web::post()
                .to(hook)
                .wrap(VerifyWebhook::new(verifier()).idempotent(dedup)),
        ),
    )
    .await;
    let response = test::call_service(&app, signed_with("k", "/hooks/stalwart").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = test::call_service(&app, signed_with("x", "/hooks/stalwart").to_request()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = test::call_service(&app, TestRequest::get().uri("/nope").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response =
        test::call_service(&app, TestRequest::get().uri("/hooks/stalwart").to_request()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// During a rotation, the handler learns which key signed the request.
#[actix_web::test]
async fn the_matched_keys_label_reaches_the_handler() {
    let rotating = Verifier::builder(Scheme::Stalwart)
        .labeled_secret("2026-new", Secret::new("new-key"))
        .labeled_secret("2025-old", Secret::new("old-key"))
        .build()
        .unwrap();
    async fn label(Webhook(hook): Webhook<Verified<StalwartEvents>>) -> HttpResponse {
        assert_eq!(hook.body().len(), 1);
        let key = hook.verification().matched_key().unwrap();
        HttpResponse::Ok().body(format!("{}#{}", key.label().unwrap(), key.index()))
    }
    let app = test::init_service(
        App::new()
            .app_data(webhook_actix::WebhookConfig::new(rotating.clone()))
            .route("/config", web::post().to(label))
            .service(
                web::resource("/middleware")
                    .wrap(VerifyWebhook::new(rotating))
                    .route(web::post().to(label)),
            ),
    )
    .await;
    for path in ["/config", "/middleware"] {
        let response = test::call_service(&app, signed_with("old-key", path).to_request()).await;
        assert_eq!(test::read_body(response).await, "2025-old#1", "{path}");
    }
    let response = test::call_service(&app, signed_with("new-key", "/config").to_request()).await;
    assert_eq!(test::read_body(response).await, "2026-new#0");
}
