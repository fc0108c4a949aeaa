//! A Stalwart webhook receiver on 127.0.0.1, built on actix-web.
//!
//! ```sh
//! HOOK_SECRET=my-secret-key cargo run --example actix_receiver     # port 8080, or $PORT
//! ```
//!
//! Point Stalwart's webhook at `http://127.0.0.1:8080/hooks/stalwart` with the same
//! signature key. Each verified event is printed; each rejected request is logged at
//! warn level with its reason (set `RUST_LOG` to change the level).

use actix_web::{App, HttpResponse, HttpServer, web};
use webhook_actix::{Scheme, Secret, StalwartEvents, Verifier, capacity::ServeLimits};
use webhook_actix::{Webhook, WebhookConfig};

async fn stalwart(Webhook(events): Webhook<StalwartEvents>) -> HttpResponse {
    for event in &events {
        println!(
            "{}  {:<32} {}",
            event.created_at(),
            event.event_type(),
            event.data().as_str()
        );
    }
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    // Fails with a message naming the variable if it is unset or empty.
    let secret = Secret::from_env("HOOK_SECRET")?;
    let verifier = Verifier::builder(Scheme::Stalwart).secret(secret).build()?;

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    // The deadlines, the connection cap and the body budget: `apply_limits` sets the
    // server's `client_request_timeout` (head, 10 s), `keep_alive` (idle, 30 s) and
    // `max_connections` (below the descriptor limit); the same limits as app data give
    // the extractor its body deadline (10 s + 1 s per 64 KiB) and its 64 MiB budget for
    // the bodies being read (503 with `Retry-After` beyond it).
    let limits = ServeLimits::default();
    let app_limits = limits.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(app_limits.clone())
            .app_data(WebhookConfig::new(verifier.clone()))
            .route("/hooks/stalwart", web::post().to(stalwart))
    });
    let server = webhook_actix::apply_limits(server, &limits, 2).bind(("127.0.0.1", port))?;
    for address in server.addrs() {
        println!("listening on http://{address}/hooks/stalwart");
    }
    server.run().await?;
    Ok(())
}
