//! A Stalwart webhook receiver on 127.0.0.1, built on axum.
//!
//! ```sh
//! HOOK_SECRET=my-secret-key cargo run --example axum_receiver      # port 8080, or $PORT
//! ```
//!
//! Point Stalwart's webhook at `http://127.0.0.1:8080/hooks/stalwart` with the same
//! signature key. Each verified event is printed; each rejected request is logged at
//! warn level with its reason (set `RUST_LOG` to change the level).

use axum::{Router, routing::post};
use webhook_axum::Webhook;
use webhook_axum::{Scheme, Secret, StalwartEvents, Verifier, capacity::ServeLimits};

async fn stalwart(Webhook(events): Webhook<StalwartEvents>) {
    for event in &events {
        println!(
            "{}  {:<32} {}",
            event.created_at(),
            event.event_type(),
            event.data().as_str()
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    // Fails with a message naming the variable if it is unset or empty.
    let secret = Secret::from_env("HOOK_SECRET")?;
    let verifier = Verifier::builder(Scheme::Stalwart).secret(secret).build()?;
    let app = Router::new()
        .route("/hooks/stalwart", post(stalwart))
        .with_state(verifier);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "listening on http://{}/hooks/stalwart",
        listener.local_addr()?
    );
    // Not `axum::serve`: this one has deadlines for the request head (10 s), the body
    // (10 s + 1 s per 64 KiB) and idle keep-alive connections (30 s), a connection cap
    // below the descriptor limit, and one 64 MiB budget for the bodies being read
    // (503 with `Retry-After` beyond it). Each is a `ServeLimits` setting.
    webhook_axum::serve(listener, app)
        .with_limits(ServeLimits::default())
        .await?;
    Ok(())
}
