//! `webhook demo`: the whole story in a few seconds, on embedded defaults.
//!
//! A receiver starts on a free loopback port with one endpoint per sender (verifier and
//! in-memory deduplication each); the reference sender then delivers a realistic mix
//! from every sender, a duplicate of each kind (an email-API redelivery with the same
//! id, a Stalwart retry with a new id) and two broken requests (a tampered body; a body
//! re-serialized on the way). The receiver prints each verified event, each duplicate
//! skipped and each rejection with its likely cause, and the demo ends with a summary.

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::json;
use webhook_core::{
    Credentials, Scheme, Secret, Verifier,
    idempotency::{Deduplicator, MemoryStore},
};
use webhook_sender::{
    Body, Endpoint as SenderEndpoint, HttpTransport, Message, Sender, Stats, Transport as _,
};

use crate::{
    cli::DemoArgs,
    error::CliError,
    receiver::{Endpoint, Receiver, Tally},
    samples,
};

/// The demo's secrets: fixed, so the demo needs no set-up and its output is stable.
const STALWART_SECRET: &str = "demo-stalwart-secret";
const EMAIL_API_SECRET: &str = "demo-email-api-secret";
const MAILTRAP_SECRET: &str = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WILDDUCK_USER: &str = "wildduck";
const WILDDUCK_PASSWORD: &str = "demo-wildduck-password";

/// What the demo sends, and so what its summary must show.
pub(crate) const EXPECTED_ACCEPTED: u64 = 12;
pub(crate) const EXPECTED_DUPLICATES: u64 = 2;
pub(crate) const EXPECTED_REJECTED: u64 = 2;

pub(crate) fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(demo(args.json))
}

fn endpoints() -> Result<Vec<Endpoint>, CliError> {
    let store = MemoryStore::new();
    let endpoint = |path, scheme, verifier: Verifier, secret: Option<&str>| Endpoint {
        path: Some(path),
        scheme,
        verifier,
        secret: secret.map(|s| zeroize::Zeroizing::new(s.to_owned())),
        dedup: Some(Deduplicator::for_scheme(store.clone(), scheme)),
    };
    let signed = |scheme, secret: Secret| Verifier::builder(scheme).secret(secret).build();
    Ok(vec![
        endpoint(
            "/hooks/stalwart",
            Scheme::Stalwart,
            signed(Scheme::Stalwart, Secret::new(STALWART_SECRET))?,
            Some(STALWART_SECRET),
        ),
        endpoint(
            "/hooks/email-api",
            Scheme::EmailApi,
            signed(Scheme::EmailApi, Secret::new(EMAIL_API_SECRET))?,
            Some(EMAIL_API_SECRET),
        ),
        endpoint(
            "/hooks/mailtrap",
            Scheme::Mailtrap,
            signed(Scheme::Mailtrap, Secret::new(MAILTRAP_SECRET))?,
            Some(MAILTRAP_SECRET),
        ),
        endpoint(
            "/hooks/resend",
            Scheme::StandardWebhooks,
            signed(
                Scheme::StandardWebhooks,
                Secret::standard_webhooks(STANDARD_SECRET)?,
            )?,
            Some(STANDARD_SECRET),
        ),
        endpoint(
            "/hooks/wildduck",
            Scheme::WildDuck,
            Verifier::builder(Scheme::WildDuck)
                .credentials(Credentials::basic(
                    WILDDUCK_USER,
                    Secret::new(WILDDUCK_PASSWORD),
                ))
                .build()?,
            None,
        ),
    ])
}

async fn demo(json: bool) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let receiver = Arc::new(Receiver {
        endpoints: endpoints()?,
        json,
        tally: Tally::default(),
    });
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = socket.local_addr()?;
    let app = receiver.clone().router();
    let server = tokio::spawn(async move { webhook_axum::serve(socket, app).await });
    let say = |text: &str| {
        if !json {
            anstream::println!(
                "\n{DIM}── {text}{DIM:#}",
                DIM = anstyle::Style::new().bold()
            );
        }
    };
    if !json {
        println!("hookwise demo: a receiver on http://{address}/hooks/… and the reference sender");
    }

    let mut sent = Stats::default();
    let mut add = |stats: Stats| {
        sent.submitted += stats.submitted;
        sent.delivered += stats.delivered;
        sent.requests += stats.requests;
        sent.failed_requests += stats.failed_requests;
    };

    say("Stalwart: one signed batch of four events (X-Signature)");
    let created = Utc::now();
    let stalwart_events = [
        "auth.success",
        "security.authentication-ban",
        "delivery.delivered",
        "queue.message-queued",
    ];
    add(send_stalwart(address, &stalwart_events, created).await?);

    say("email-API: delivered, then bounced (X-Webhook-Signature: sha256=…)");
    let delivered =
        Message::json(serde_json::to_vec(&samples::email_api("delivered", 1)).unwrap_or_default());
    let bounced =
        Message::json(serde_json::to_vec(&samples::email_api("bounced", 2)).unwrap_or_default());
    add(send_messages(
        address,
        "email-api",
        Scheme::EmailApi,
        [delivered.clone(), bounced],
    )
    .await?);

    say("Mailtrap: one batch of four events (Mailtrap-Signature)");
    let batch = samples::mailtrap_batch(
        ["delivery", "open", "click", "bounce"]
            .iter()
            .enumerate()
            .map(|(n, kind)| samples::mailtrap_event(kind, n as u64))
            .collect(),
    );
    add(send_messages(
        address,
        "mailtrap",
        Scheme::Mailtrap,
        [Message::json(
            serde_json::to_vec(&batch).unwrap_or_default(),
        )],
    )
    .await?);

    say("Resend (Standard Webhooks): email.delivered (webhook-id/-timestamp/-signature)");
    let resend = Message::json(
        serde_json::to_vec(&samples::standard("email.delivered", 1)).unwrap_or_default(),
    );
    add(send_messages(address, "resend", Scheme::StandardWebhooks, [resend]).await?);

    say("WildDuck: mailbox.created (unsigned; Basic credentials in the URL)");
    let wildduck = Message::json(
        serde_json::to_vec(&samples::wildduck("mailbox.created", 1)).unwrap_or_default(),
    );
    add(send_messages(address, "wildduck", Scheme::WildDuck, [wildduck]).await?);

    say("duplicates: the email-API event again (same id), a Stalwart retry (new id, same content)");
    add(send_messages(address, "email-api", Scheme::EmailApi, [delivered]).await?);
    add(send_stalwart(address, &stalwart_events[..1], created).await?);

    say("broken requests: a tampered body, and a body re-serialized by a proxy");
    let rejected = send_broken(address).await?;

    let tally = &receiver.tally;
    let (accepted, duplicates, rejected_seen) = (
        Tally::get(&tally.events),
        Tally::get(&tally.duplicates),
        Tally::get(&tally.rejected),
    );
    server.abort();
    let elapsed = started.elapsed();
    if json {
        println!(
            "{}",
            json!({
                "summary": {
                    "accepted_events": accepted,
                    "duplicates_skipped": duplicates,
                    "rejected_requests": rejected_seen,
                    "sender": {"submitted": sent.submitted, "delivered": sent.delivered, "requests": sent.requests},
                    "elapsed_ms": elapsed.as_millis(),
                }
            })
        );
    } else {
        say("summary");
        println!(
            "  accepted    {accepted:>3} events from 5 senders, each verified on its raw bytes"
        );
        println!("  duplicates  {duplicates:>3} skipped (the handler would not run again)");
        println!(
            "  rejected    {rejected_seen:>3} requests ({rejected} answered 401 by the receiver)"
        );
        println!(
            "  sender      {} messages, {} delivered, {} requests",
            sent.submitted, sent.delivered, sent.requests
        );
        println!("  finished in {:.2} s", elapsed.as_secs_f64());
    }
    let expected = accepted == EXPECTED_ACCEPTED
        && duplicates == EXPECTED_DUPLICATES
        && rejected_seen == EXPECTED_REJECTED;
    Ok(if expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn url(address: SocketAddr, path: &str) -> String {
    format!("http://{address}/hooks/{path}")
}

async fn send_stalwart(
    address: SocketAddr,
    types: &[&str],
    created: DateTime<Utc>,
) -> Result<Stats, CliError> {
    let endpoint = SenderEndpoint::new(Scheme::Stalwart, &url(address, "stalwart"))?
        .secret(Secret::new(STALWART_SECRET))?;
    let sender = Sender::stalwart(endpoint).build()?;
    for (n, event_type) in types.iter().enumerate() {
        let event = samples::stalwart(event_type, n as u64).created_at(created);
        sender
            .send(event)
            .map_err(|err| CliError::Usage(err.to_string()))?;
    }
    Ok(sender.close_within(Duration::from_secs(10)).await)
}

async fn send_messages(
    address: SocketAddr,
    path: &str,
    scheme: Scheme,
    messages: impl IntoIterator<Item = Message>,
) -> Result<Stats, CliError> {
    let endpoint = match scheme {
        Scheme::WildDuck => {
            let with_credentials = url(address, path).replacen(
                "http://",
                &format!("http://{WILDDUCK_USER}:{WILDDUCK_PASSWORD}@"),
                1,
            );
            SenderEndpoint::new(scheme, &with_credentials)?
        }
        Scheme::StandardWebhooks => SenderEndpoint::new(scheme, &url(address, path))?
            .secret(Secret::standard_webhooks(STANDARD_SECRET)?)?,
        Scheme::Mailtrap => SenderEndpoint::new(scheme, &url(address, path))?
            .secret(Secret::new(MAILTRAP_SECRET))?,
        _ => SenderEndpoint::new(scheme, &url(address, path))?
            .secret(Secret::new(EMAIL_API_SECRET))?,
    };
    let sender = Sender::messages(endpoint).build()?;
    for message in messages {
        sender
            .send(message)
            .map_err(|err| CliError::Usage(err.to_string()))?;
    }
    Ok(sender.close_within(Duration::from_secs(10)).await)
}

/// Two requests the receiver must refuse, made from a correct one: the body changed
/// after signing, and the body re-serialized (pretty-printed) by something in between.
async fn send_broken(address: SocketAddr) -> Result<usize, CliError> {
    let endpoint = SenderEndpoint::new(Scheme::EmailApi, &url(address, "email-api"))?
        .secret(Secret::new(EMAIL_API_SECRET))?;
    let transport = HttpTransport::for_endpoint(&endpoint)?;
    let body = serde_json::to_vec(&samples::email_api("delivered", 99)).unwrap_or_default();
    let request = endpoint
        .request(&Body::json(body.clone()), None, SystemTime::now())
        .map_err(|err| CliError::Usage(err.to_string()))?;
    let tampered = String::from_utf8_lossy(&body).replace("recipient99@", "attacker@");
    // Pretty-printed with the keys in their order, as a JavaScript proxy would do with
    // `JSON.stringify(JSON.parse(body), null, 2)`.
    let reserialized = webhook_core::events::parse_unverified::<webhook_core::EmailApiEvent>(
        &body,
        webhook_core::ParseContext::new(webhook_core::MediaType::Json),
    )
    .ok()
    .and_then(|event| serde_json::to_vec_pretty(&event).ok())
    .unwrap_or_default();
    let mut refused = 0;
    for broken in [Bytes::from(tampered), Bytes::from(reserialized)] {
        let (mut parts, _) = request.clone().into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let response = transport
            .send(http::Request::from_parts(parts, broken))
            .await
            .map_err(|err| CliError::Usage(err.to_string()))?;
        refused += usize::from(response.status() == http::StatusCode::UNAUTHORIZED);
    }
    Ok(refused)
}
