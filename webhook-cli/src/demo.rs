//! `webhook demo`: the whole story in a few seconds, on embedded defaults.
//!
//! A receiver starts on a free loopback port with one endpoint per sender (verifier and
//! in-memory deduplication each); the reference sender then delivers a realistic mix
//! from every sender, a duplicate of each kind (an email-API redelivery with the same
//! id, a Stalwart retry with a new id) and two broken requests (a tampered body; a body
//! re-serialized on the way). The receiver prints each verified event, each duplicate
//! skipped and each rejection with its likely cause. Then the durable inbox
//! ([`crate::inbox::demo`]): the sender answered in milliseconds while a slow handler
//! runs later, a failing handler retried until it succeeds, and a restart that picks up
//! what was pending. The demo ends with a summary.

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::json;
use webhook_core::{Credentials, Scheme, Secret, Verifier, idempotency::MemoryStore};
use webhook_sender::{
    Body, Endpoint as SenderEndpoint, HttpTransport, Message, Sender, Stats, Transport as _,
};

use crate::{
    cli::DemoArgs,
    error::CliError,
    receiver::{Endpoint, Receiver, Tally},
    send,
    senders::{email_api, mailtrap, stalwart, standard_webhooks, wildduck},
};

/// The demo's endpoints, one per sender, with fixed secrets so the demo needs no
/// set-up and its output is stable.
const STALWART: Demo = Demo::signed(Scheme::Stalwart, "/hooks/stalwart", "demo-stalwart-secret");
const EMAIL_API: Demo = Demo::signed(
    Scheme::EmailApi,
    "/hooks/email-api",
    "demo-email-api-secret",
);
const MAILTRAP: Demo = Demo::signed(
    Scheme::Mailtrap,
    "/hooks/mailtrap",
    "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e",
);
const RESEND: Demo = Demo::signed(
    Scheme::StandardWebhooks,
    "/hooks/resend",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
);
const WILDDUCK: Demo = Demo {
    scheme: Scheme::WildDuck,
    path: "/hooks/wildduck",
    auth: DemoAuth::Basic("wildduck", "demo-wildduck-password"),
};
const DEMO: [&Demo; 5] = [&STALWART, &EMAIL_API, &MAILTRAP, &RESEND, &WILDDUCK];

/// One demo endpoint: the sender, the receiver's path for it, and how it authenticates.
struct Demo {
    scheme: Scheme,
    path: &'static str,
    auth: DemoAuth,
}

/// How a demo sender authenticates.
enum DemoAuth {
    /// Signs with this secret's text (as the sender keys it).
    Secret(&'static str),
    /// Signs nothing; Basic credentials travel in the URL, as WildDuck's do.
    Basic(&'static str, &'static str),
}

impl Demo {
    const fn signed(scheme: Scheme, path: &'static str, secret: &'static str) -> Self {
        Self {
            scheme,
            path,
            auth: DemoAuth::Secret(secret),
        }
    }

    fn url(&self, address: SocketAddr) -> String {
        let userinfo = match self.auth {
            DemoAuth::Basic(user, password) => format!("{user}:{password}@"),
            DemoAuth::Secret(_) => String::new(),
        };
        format!("http://{userinfo}{address}{}", self.path)
    }

    /// The receiving side of this endpoint.
    fn verifier(&self) -> Result<Verifier, CliError> {
        let builder = Verifier::builder(self.scheme);
        Ok(match self.auth {
            DemoAuth::Secret(text) => builder.secret(self.scheme.secret_from(text)?),
            DemoAuth::Basic(user, password) => {
                builder.credentials(Credentials::basic(user, Secret::new(password)))
            }
        }
        .build()?)
    }

    /// The sending side of this endpoint.
    fn sender_endpoint(&self, address: SocketAddr) -> Result<SenderEndpoint, CliError> {
        let endpoint = SenderEndpoint::new(self.scheme, &self.url(address))?;
        Ok(match self.auth {
            DemoAuth::Secret(text) => endpoint.secret(self.scheme.secret_from(text)?)?,
            DemoAuth::Basic(..) => endpoint,
        })
    }
}

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
    DEMO.iter()
        .map(|demo| {
            Ok(Endpoint {
                path: Some(demo.path),
                scheme: demo.scheme,
                verifier: demo.verifier()?,
                dedup: Some(crate::receiver::deduplicator(
                    crate::dedup::DedupStore::Memory(store.clone()),
                    demo.scheme,
                )),
                inbox: None,
            })
        })
        .collect()
}

async fn demo(json: bool) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let receiver = Arc::new(Receiver {
        endpoints: endpoints()?,
        json,
        tally: Tally::default(),
        save: None,
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
    let delivered = Message::json(send::json(&email_api::sample("delivered", 1)));
    let bounced = Message::json(send::json(&email_api::sample("bounced", 2)));
    add(send_messages(address, &EMAIL_API, [delivered.clone(), bounced]).await?);

    say("Mailtrap: one batch of four events (Mailtrap-Signature)");
    let batch = mailtrap::batch(
        ["delivery", "open", "click", "bounce"]
            .iter()
            .enumerate()
            .map(|(n, kind)| mailtrap::sample(kind, n as u64))
            .collect(),
    );
    add(send_messages(address, &MAILTRAP, [Message::json(send::json(&batch))]).await?);

    say("Resend (Standard Webhooks): email.delivered (webhook-id/-timestamp/-signature)");
    let resend = Message::json(send::json(&standard_webhooks::sample("email.delivered", 1)));
    add(send_messages(address, &RESEND, [resend]).await?);

    say("WildDuck: mailbox.created (unsigned; Basic credentials in the URL)");
    let wildduck = Message::json(send::json(&wildduck::sample("mailbox.created", 1)));
    add(send_messages(address, &WILDDUCK, [wildduck]).await?);

    say("duplicates: the email-API event again (same id), a Stalwart retry (new id, same content)");
    add(send_messages(address, &EMAIL_API, [delivered]).await?);
    add(send_stalwart(address, &stalwart_events[..1], created).await?);

    say("broken requests: a tampered body, and a body re-serialized by a proxy");
    let rejected = send_broken(address).await?;

    let inbox = crate::inbox::demo::act(json, say).await?;

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
                    "inbox": inbox.json(),
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
        println!(
            "  inbox       sender answered in {} ms at most (handler: 400 ms an event); {} events \
             handled, {} failed attempts retried, {} pending at the restart and {} run after it",
            inbox.slowest_answer.as_millis(),
            inbox.handled,
            inbox.retried,
            inbox.pending_at_restart,
            inbox.recovered
        );
        println!("  finished in {:.2} s", elapsed.as_secs_f64());
    }
    let expected = accepted == EXPECTED_ACCEPTED
        && duplicates == EXPECTED_DUPLICATES
        && rejected_seen == EXPECTED_REJECTED
        && inbox.as_expected();
    Ok(if expected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn send_stalwart(
    address: SocketAddr,
    types: &[&str],
    created: DateTime<Utc>,
) -> Result<Stats, CliError> {
    let sender = Sender::stalwart(STALWART.sender_endpoint(address)?).build()?;
    for (n, event_type) in types.iter().enumerate() {
        let event = stalwart::sample(event_type, n as u64).created_at(created);
        sender
            .send(event)
            .map_err(|err| CliError::Usage(err.to_string()))?;
    }
    Ok(sender.close_within(Duration::from_secs(10)).await)
}

async fn send_messages(
    address: SocketAddr,
    demo: &Demo,
    messages: impl IntoIterator<Item = Message>,
) -> Result<Stats, CliError> {
    let sender = Sender::messages(demo.sender_endpoint(address)?).build()?;
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
    let endpoint = EMAIL_API.sender_endpoint(address)?;
    let transport = HttpTransport::for_endpoint(&endpoint)?;
    let body = send::json(&email_api::sample("delivered", 99));
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
