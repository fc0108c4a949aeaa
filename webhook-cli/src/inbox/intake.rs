//! The request path of `listen --inbox`: a verified delivery is stored, and the sender
//! answered only once it is on disk (200), or told to come back (503 with
//! `Retry-After`) when the inbox cannot write. Nothing is printed as handled here: the
//! workers print or forward each event when they run it.

use std::sync::atomic::Ordering;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use serde_json::json;
use webhook_core::{Scheme, Verified};
use webhook_inbox::{Accepted, InboxError, Route};

use crate::{inbox::store::CliInbox, receiver::Receiver};

/// Where an endpoint stores its deliveries: the inbox, and the route they arrive on.
#[derive(Clone)]
pub(crate) struct Intake {
    pub(crate) inbox: CliInbox,
    pub(crate) route: Route,
}

impl Intake {
    /// Stores `verified` and answers: 200 once committed, 503 with `Retry-After` when
    /// nothing could be stored.
    pub(crate) async fn accept(
        &self,
        receiver: &Receiver,
        scheme: Scheme,
        headers: &HeaderMap,
        verified: Verified<Bytes>,
    ) -> Response {
        match self.inbox.accept(&self.route, headers, verified).await {
            Ok(accepted) => {
                print_stored(receiver.json, scheme, &accepted);
                receiver
                    .tally
                    .duplicates
                    .fetch_add(accepted.duplicates() as u64, Ordering::SeqCst);
                let body = json!({
                    "delivery": accepted.delivery.0,
                    "queued": accepted.queued(),
                    "duplicates": accepted.duplicates(),
                });
                (
                    accepted.status(),
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response()
            }
            Err(err) => {
                receiver.tally.rejected.fetch_add(1, Ordering::SeqCst);
                print_refused(receiver.json, scheme, &err);
                refusal(&err)
            }
        }
    }
}

/// The answer when the inbox could not store the delivery: its status (503 when it
/// cannot write), `Retry-After` in whole seconds, and a short body that says nothing of
/// the storage (its paths stay in the receiver's log).
fn refusal(err: &InboxError) -> Response {
    let status = err.status();
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "code": err.code(), "error": "the delivery was not stored: retry later" })
            .to_string(),
    )
        .into_response();
    if let Some(after) = err.retry_after() {
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

fn print_stored(json: bool, scheme: Scheme, accepted: &Accepted) {
    if json {
        println!(
            "{}",
            json!({
                "status": "stored",
                "scheme": scheme.id(),
                "delivery": accepted.delivery.0,
                "queued": accepted.queued(),
                "duplicates": accepted.duplicates(),
                "quarantined": accepted.quarantined,
            })
        );
        return;
    }
    let dim = anstyle::Style::new().dimmed();
    let quarantined = match &accepted.quarantined {
        Some(error) => format!(", quarantined (it does not parse: {error})"),
        None => String::new(),
    };
    anstream::println!(
        "{dim}⇣ stored   {:<10} delivery {}: {} queued, {} duplicate(s){quarantined}{dim:#}",
        scheme.id(),
        accepted.delivery,
        accepted.queued(),
        accepted.duplicates(),
    );
}

fn print_refused(json: bool, scheme: Scheme, err: &InboxError) {
    let after = err.retry_after().map(|d| d.as_secs());
    if json {
        println!(
            "{}",
            json!({
                "status": "unavailable",
                "scheme": scheme.id(),
                "http_status": err.status().as_u16(),
                "code": err.code(),
                "retry_after": after,
                "error": err.to_string(),
            })
        );
        return;
    }
    let style = crate::render::ERROR;
    anstream::println!(
        "{style}✘ {} {}{style:#} {:<10} {err}",
        err.status().as_u16(),
        err.code(),
        scheme.id(),
    );
}
