//! The workers' handler with `--forward-to`: POST each event's exact stored bytes to
//! the application, as a Standard Webhooks message.
//!
//! Headers: `content-type: application/json` (`application/x-www-form-urlencoded` for a
//! Mailtrap form event, whose bytes are form data), `webhook-id` = the event's
//! deduplication key (the same on every attempt and every redelivery, for the
//! application's own idempotency), `webhook-timestamp` = now, and `webhook-signature`
//! when a secret is given. The request is made and signed by the reference sender's
//! [`Endpoint`] with webhook-core's Standard Webhooks signer, so the application
//! verifies it with any Standard Webhooks library (hookwise's `Scheme::StandardWebhooks`
//! verifier included).
//!
//! A 2xx answer marks the event done; anything else, a connection error or no answer
//! within `--forward-timeout` schedules a retry (after the answer's `Retry-After` when
//! it gives one in seconds, capped by `--retry-max`).

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::Bytes;
use http::{HeaderValue, header};
use serde_json::json;
use webhook_core::{MediaType, Scheme};
use webhook_inbox::{Job, Outcome};
use webhook_sender::{Body, Endpoint, HttpTransport, Transport as _};

use crate::{error::CliError, inbox::args::ListenInboxArgs};

/// Where and how events are forwarded.
pub(crate) struct Forwarder {
    endpoint: Endpoint,
    transport: HttpTransport,
    timeout: Duration,
    retry_max: Duration,
    json: bool,
}

impl Forwarder {
    /// The forwarder `args` describe (`--forward-to` must be set).
    pub(crate) fn new(url: &str, args: &ListenInboxArgs, json: bool) -> Result<Self, CliError> {
        let mut endpoint = Endpoint::new(Scheme::StandardWebhooks, url)?;
        if let Some(text) = args.forward_secret().load_text()? {
            endpoint = endpoint.secret(Scheme::StandardWebhooks.secret_from(&text)?)?;
        }
        let transport = HttpTransport::for_endpoint(&endpoint)?;
        Ok(Self {
            endpoint,
            transport,
            timeout: args.forward_timeout,
            retry_max: args.retry_max,
            json,
        })
    }

    /// POSTs one event; done on a 2xx, retried otherwise.
    pub(crate) async fn forward(self: Arc<Self>, job: Job) -> Outcome {
        let content_type = match job.stored().context().media_type {
            MediaType::FormUrlEncoded => "application/x-www-form-urlencoded",
            _ => "application/json",
        };
        let body = Body::new(
            Bytes::copy_from_slice(job.bytes()),
            HeaderValue::from_static(content_type),
        );
        // The key's bytes, escaped to printable ASCII: a valid header value, and the
        // same text on every attempt.
        let id = job.key().to_string();
        let request = match self.endpoint.request(&body, Some(&id), SystemTime::now()) {
            Ok(request) => request,
            Err(err) => return Outcome::failed(format!("cannot build the request: {err}")),
        };
        let answer = tokio::time::timeout(self.timeout, self.transport.send(request)).await;
        let outcome = match answer {
            Ok(Ok(response)) if response.status().is_success() => Ok(response.status()),
            Ok(Ok(response)) => {
                let after = retry_after(response.headers()).map(|d| d.min(self.retry_max));
                Err((
                    Some(response.status()),
                    format!("the target answered {}", response.status()),
                    after,
                ))
            }
            Ok(Err(err)) => Err((None, err.to_string(), None)),
            Err(_) => Err((
                None,
                format!("no answer within {:?} (--forward-timeout)", self.timeout),
                None,
            )),
        };
        self.print(&job, &outcome);
        match outcome {
            Ok(_) => Outcome::Done,
            Err((_, error, Some(after))) => Outcome::retry_after(after, error),
            Err((_, error, None)) => Outcome::retry(error),
        }
    }

    fn print(
        &self,
        job: &Job,
        outcome: &Result<http::StatusCode, (Option<http::StatusCode>, String, Option<Duration>)>,
    ) {
        let kind = job.event_type().unwrap_or("event");
        if self.json {
            let line = match outcome {
                Ok(status) => json!({
                    "status": "forwarded",
                    "event": job.id().0,
                    "key": job.key().to_string(),
                    "type": kind,
                    "attempt": job.attempt(),
                    "http_status": status.as_u16(),
                }),
                Err((status, error, _)) => json!({
                    "status": "forward_failed",
                    "event": job.id().0,
                    "key": job.key().to_string(),
                    "type": kind,
                    "attempt": job.attempt(),
                    "http_status": status.map(|s| s.as_u16()),
                    "error": error,
                }),
            };
            println!("{line}");
            return;
        }
        match outcome {
            Ok(status) => anstream::println!(
                "{ok}→ forwarded{ok:#} event {} {kind} (attempt {}): {}",
                job.id(),
                job.attempt(),
                status.as_u16(),
                ok = anstyle::AnsiColor::Green.on_default().bold(),
            ),
            Err((_, error, _)) => anstream::println!(
                "{warn}↻ will retry{warn:#} event {} {kind} (attempt {}): {error}",
                job.id(),
                job.attempt(),
                warn = anstyle::AnsiColor::Yellow.on_default().bold(),
            ),
        }
    }
}

/// A `Retry-After` in whole seconds (the HTTP-date form is ignored: the retry policy's
/// own delay applies).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}
