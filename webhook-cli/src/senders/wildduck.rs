//! WildDuck: sample events, one per request (unsigned: credentials travel in the URL).

use std::borrow::Cow;

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    ParseError, Verified, WildDuckEvent,
    senders::wildduck::{WildDuckEventType, WildDuckPayload},
    stored::StoredEvent,
};
use webhook_sender::Stats;

use super::{CliSender, at, run_nonce};
use crate::{
    error::CliError,
    render::{Summary, to_json},
    send::{self, SendRun},
};

pub(crate) struct WildDuck;

impl CliSender for WildDuck {
    fn default_event(&self) -> &'static str {
        "mailbox.created"
    }

    fn send(&self, runtime: &Runtime, run: SendRun) -> Result<Stats, CliError> {
        let id = run.id.clone();
        send::one_per_request(runtime, run, move |event, n| {
            let mut sample = sample(event, n);
            if let Some(id) = &id {
                sample.id = Cow::Owned(id.clone());
            }
            send::json(&sample)
        })
    }

    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
        Ok(vec![summary(&verified.parse::<WildDuckEvent>()?)])
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        Ok(summary(&event.parse::<WildDuckEvent>()?))
    }
}

fn summary(event: &WildDuckEvent) -> Summary {
    Summary {
        time: Some(event.time),
        kind: event.event_type.to_string(),
        id: Some(event.id.to_string()),
        json: to_json(event),
    }
}

/// A WildDuck event of `kind` (`mailbox.created`, `user.created`, …).
pub(crate) fn sample(kind: &str, n: u64) -> WildDuckEvent {
    let mut event = WildDuckPayload::new(
        Cow::Owned(format!("{:016x}{n:08x}:1", run_nonce())),
        at(n),
        WildDuckEventType::from(kind).into_owned(),
    );
    event.user = Some(Cow::Borrowed("6561f0c2a1b2c3d4e5f60719"));
    if kind.starts_with("mailbox.") {
        event.mailbox = Some(Cow::Owned(format!("6561f0c2a1b2c3d4{:08x}", n + 1)));
        event.path = Some(Cow::Owned(format!("Archive/{}", 2024 + n % 3)));
    }
    event
}
