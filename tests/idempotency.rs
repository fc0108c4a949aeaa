//! Exactly-once handler effects through both adapters over real loopback HTTP, with the
//! in-memory store and with a real Redis.
//!
//! Each server verifies (VerifyWebhook), deduplicates (the idempotency middleware) and
//! runs a handler whose *effect* is recorded per event; the handler is slow enough for
//! concurrent deliveries to overlap.

mod support;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use http::Request;
use support::{RequestBody, post};
use webhook_core::{
    Scheme, Secret, StalwartEvents, Verifier,
    idempotency::{
        ClaimToken, DedupPolicy, Deduplicator, IdempotencyStore, MemoryStore, Namespace,
    },
    senders::stalwart,
};
use webhook_redis::{RedisConfig, RedisStore, testing::RedisServer};

const SECRET: &str = "idempotency-test-secret";
const HANDLER_TIME: Duration = Duration::from_millis(100);

/// What the handler did: each processed event's fingerprint, and how many runs to fail.
#[derive(Default)]
struct Effects {
    processed: Mutex<HashMap<String, usize>>,
    runs: AtomicUsize,
    fail_next: AtomicUsize,
}

impl Effects {
    /// The handler: slow, failing on demand, recording its effect per event on success.
    async fn handle(&self, events: &StalwartEvents) -> bool {
        self.runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(HANDLER_TIME).await;
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return false;
        }
        let mut processed = self.processed.lock().unwrap();
        for event in events {
            *processed
                .entry(event.fingerprint().to_string())
                .or_default() += 1;
        }
        true
    }

    fn count(&self, body: &[u8]) -> Vec<usize> {
        let events: StalwartEvents = webhook_core::events::parse_unverified(
            body,
            webhook_core::ParseContext::new(webhook_core::MediaType::Json),
        )
        .unwrap();
        let processed = self.processed.lock().unwrap();
        events
            .iter()
            .map(|e| {
                processed
                    .get(&e.fingerprint().to_string())
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    }
}

fn verifier() -> Verifier {
    Verifier::builder(Scheme::Stalwart)
        .secret(Secret::new(SECRET))
        .build()
        .unwrap()
}

async fn axum_server<S: IdempotencyStore + Clone + 'static>(
    dedup: Deduplicator<S>,
    effects: Arc<Effects>,
) -> SocketAddr {
    use axum::{Router, extract::State, http::StatusCode, routing::post};
    use webhook_axum::{VerifiedWebhook, VerifyWebhookLayer};

    async fn hook(
        State(effects): State<Arc<Effects>>,
        VerifiedWebhook(events): VerifiedWebhook<StalwartEvents>,
    ) -> StatusCode {
        if effects.handle(&events).await {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
    let app = Router::new()
        .route("/hook", post(hook))
        .route_layer(VerifyWebhookLayer::new(verifier()).idempotent(dedup))
        .with_state(effects);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

fn actix_server<S: IdempotencyStore + Clone + Send + 'static>(
    dedup: Deduplicator<S>,
    effects: Arc<Effects>,
) -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use webhook_actix::{VerifyWebhook, Webhook};

    async fn hook(
        effects: web::Data<Arc<Effects>>,
        Webhook(events): Webhook<StalwartEvents>,
    ) -> HttpResponse {
        if effects.handle(&events).await {
            HttpResponse::Ok().finish()
        } else {
            HttpResponse::InternalServerError().finish()
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(effects.clone()))
                    .service(
                        web::resource("/hook")
                            .wrap(VerifyWebhook::new(verifier()).idempotent(dedup.clone()))
                            .route(web::post().to(hook)),
                    )
            })
            .workers(2)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn event(n: u32) -> String {
    format!(
        r#"{{"id":"17557849{n:05}37","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{{"accountName":"user{n}@example.org"}}}}"#
    )
}

fn batch(events: &[u32]) -> Bytes {
    let events: Vec<String> = events.iter().map(|&n| event(n)).collect();
    Bytes::from(format!(r#"{{"events":[{}]}}"#, events.join(",")))
}

async fn deliver(address: SocketAddr, body: &Bytes) -> u16 {
    let request = Request::post(format!("http://{address}/hook"))
        .header("content-type", "application/json")
        .header("x-signature", stalwart::sign(&Secret::new(SECRET), body))
        .body(RequestBody::full(body.clone()))
        .unwrap();
    post(request).await.0
}

/// The scenarios, for one adapter and one store.
async fn scenarios<S>(
    store: S,
    serve: impl Fn(Deduplicator<S>, Arc<Effects>) -> futures_like::Serve,
) where
    S: IdempotencyStore + Clone + 'static,
{
    // 1. 32 concurrent deliveries of the same event: one effect, never two runs at once.
    let effects = Arc::new(Effects::default());
    let dedup = Deduplicator::for_scheme(store.clone(), Scheme::Stalwart)
        .with_namespace(Namespace::new("concurrent").unwrap());
    let address = serve(dedup, effects.clone()).await;
    let body = batch(&[1]);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move { deliver(address, &body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        effects.count(&body),
        [1],
        "exactly one effect; statuses {statuses:?}"
    );
    assert_eq!(
        effects.runs.load(Ordering::SeqCst),
        1,
        "the handler ran once"
    );
    assert!(
        statuses.iter().all(|s| matches!(s, 200 | 409)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    // A later redelivery is a duplicate: 200 without running the handler.
    assert_eq!(deliver(address, &body).await, 200);
    assert_eq!(effects.runs.load(Ordering::SeqCst), 1);

    // 2. The handler fails: the claim is released and the retry is processed, once.
    let effects = Arc::new(Effects::default());
    effects.fail_next.store(1, Ordering::SeqCst);
    let dedup = Deduplicator::for_scheme(store.clone(), Scheme::Stalwart)
        .with_namespace(Namespace::new("failure").unwrap());
    let address = serve(dedup, effects.clone()).await;
    let body = batch(&[2]);
    assert_eq!(deliver(address, &body).await, 500);
    assert_eq!(effects.count(&body), [0]);
    assert_eq!(deliver(address, &body).await, 200);
    assert_eq!(deliver(address, &body).await, 200);
    assert_eq!(effects.count(&body), [1]);
    assert_eq!(
        effects.runs.load(Ordering::SeqCst),
        2,
        "failed run + the retry"
    );

    // 3. A replica claimed the event and crashed: 409 until its lease runs out, then
    //    the retry is processed.
    let effects = Arc::new(Effects::default());
    let lease = Duration::from_millis(600);
    let namespace = Namespace::new("crash").unwrap();
    let dedup = Deduplicator::new(
        store.clone(),
        DedupPolicy::for_scheme(Scheme::Stalwart).with_lease(lease),
    )
    .with_namespace(namespace.clone());
    let address = serve(dedup, effects.clone()).await;
    let body = batch(&[3]);
    let fingerprint = {
        let events: StalwartEvents = webhook_core::events::parse_unverified(
            &body,
            webhook_core::ParseContext::new(webhook_core::MediaType::Json),
        )
        .unwrap();
        events.events[0].fingerprint()
    };
    // The crashed replica's token: it will never complete or release.
    let _crashed: ClaimToken = match store
        .claim(&namespace.fingerprint(fingerprint.as_bytes()), lease)
        .await
        .unwrap()
    {
        webhook_core::idempotency::Claim::Fresh(token) => token,
        other => panic!("{other:?}"),
    };
    assert_eq!(deliver(address, &body).await, 409);
    assert_eq!(effects.runs.load(Ordering::SeqCst), 0);
    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    assert_eq!(deliver(address, &body).await, 200);
    assert_eq!(effects.count(&body), [1]);

    // 4. A retried batch with one new and nine seen events runs just the new one.
    let effects = Arc::new(Effects::default());
    let dedup = Deduplicator::for_scheme(store, Scheme::Stalwart)
        .with_namespace(Namespace::new("batch").unwrap());
    let address = serve(dedup, effects.clone()).await;
    assert_eq!(
        deliver(address, &batch(&[1, 2, 3, 4, 5, 6, 7, 8, 9])).await,
        200
    );
    let retried = batch(&[1, 2, 3, 4, 5, 10, 6, 7, 8, 9]);
    assert_eq!(deliver(address, &retried).await, 200);
    assert_eq!(effects.count(&retried), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(effects.runs.load(Ordering::SeqCst), 2);
}

/// Boxed server starters, so one scenario function serves both adapters.
mod futures_like {
    pub(crate) type Serve =
        std::pin::Pin<Box<dyn std::future::Future<Output = std::net::SocketAddr> + Send>>;
}

fn axum_serve<S: IdempotencyStore + Clone + 'static>(
    dedup: Deduplicator<S>,
    effects: Arc<Effects>,
) -> futures_like::Serve {
    Box::pin(axum_server(dedup, effects))
}

fn actix_serve<S: IdempotencyStore + Clone + Send + 'static>(
    dedup: Deduplicator<S>,
    effects: Arc<Effects>,
) -> futures_like::Serve {
    let address = actix_server(dedup, effects);
    Box::pin(async move { address })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn axum_with_the_memory_store() {
    scenarios(MemoryStore::new(), axum_serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn actix_with_the_memory_store() {
    scenarios(MemoryStore::new(), actix_serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn axum_with_redis() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), RedisConfig::default())
        .await
        .unwrap();
    scenarios(store, axum_serve).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn actix_with_redis() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), RedisConfig::default())
        .await
        .unwrap();
    scenarios(store, actix_serve).await;
}
