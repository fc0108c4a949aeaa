//! Stalwart: sample events with the data keys their call sites carry, sent batched
//! through [`StalwartFormat`](webhook_sender::StalwartFormat) (a retried event gets a
//! new id, as Stalwart's do).

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    ParseError, StalwartEvents, Verified,
    senders::stalwart::{DataMap, EventType, Key, Value, WebhookEvent},
    stored::StoredEvent,
};
use webhook_sender::{Sender, StalwartEvent, Stats};

use super::{CliSender, no_id, run_nonce};
use crate::{
    error::CliError,
    render::{Summary, to_json},
    send::SendRun,
};

pub(crate) struct Stalwart;

impl CliSender for Stalwart {
    fn default_event(&self) -> &'static str {
        "auth.success"
    }

    /// Batched as Stalwart batches, each retry with new event ids.
    fn send(&self, runtime: &Runtime, run: SendRun) -> Result<Stats, CliError> {
        if run.id.is_some() {
            return Err(no_id(
                run.endpoint.scheme(),
                "its event ids change on every delivery (receivers deduplicate on the \
                 event's content), so there is no id to set",
            ));
        }
        run.deliver(runtime, Sender::stalwart, sample)
    }

    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
        Ok(verified
            .parse::<StalwartEvents>()?
            .events
            .iter()
            .map(summary)
            .collect())
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        Ok(summary(&event.parse::<WebhookEvent<'static>>()?))
    }
}

fn summary(event: &WebhookEvent<'_>) -> Summary {
    Summary {
        time: Some(event.created_at()),
        kind: event.event_type().to_string(),
        id: Some(event.id().to_owned()),
        json: to_json(event),
    }
}

/// A Stalwart event of `event_type` with the data keys its call sites typically carry.
pub(crate) fn sample(event_type: &str, n: u64) -> StalwartEvent {
    let kind = EventType::from(event_type);
    let family = event_type.split('.').next().unwrap_or_default();
    let mut data = DataMap::new();
    // Receivers deduplicate Stalwart events on their content: the span id carries this
    // run's nonce so that another run's events are new events.
    let span = 312_845_863_712_866_304_u64
        .wrapping_add((run_nonce() >> 40) << 20)
        .wrapping_add(n);
    let ip = |i: u64| Value::from(format!("203.0.113.{}", 1 + i % 254));
    match family {
        "auth" | "security" => {
            data.push(
                Key::AccountName,
                Value::from(format!("user{n}@example.org")),
            );
            data.push(Key::AccountId, Value::UInt(2 + n));
            data.push(Key::RemoteIp, ip(n));
            data.push(Key::SpanId, Value::UInt(span));
            data.push(Key::ListenerId, Value::from("imaps"));
            data.push(Key::LocalPort, Value::UInt(993));
        }
        "delivery" => {
            data.push(Key::Hostname, Value::from("mx.example.net"));
            data.push(Key::To, Value::from(format!("rcpt{n}@example.net")));
            data.push(Key::Code, Value::UInt(250));
            data.push(Key::Details, Value::from("2.0.0 Ok: queued"));
            data.push(
                Key::Elapsed,
                Value::duration(std::time::Duration::from_millis(120 + n % 900)),
            );
            data.push(Key::QueueId, Value::UInt(312_845_507_540_729_856 + n));
            data.push(Key::From, Value::from("bill@example.org"));
            data.push(Key::SpanId, Value::UInt(span));
        }
        "queue" => {
            data.push(Key::QueueId, Value::UInt(312_845_507_540_729_856 + n));
            data.push(Key::From, Value::from("bill@example.org"));
            data.push(Key::To, Value::from(vec![format!("rcpt{n}@example.net")]));
            data.push(Key::Size, Value::UInt(1187 + n));
            data.push(Key::SpanId, Value::UInt(span));
        }
        _ => {
            data.push(Key::RemoteIp, ip(n));
            data.push(Key::SpanId, Value::UInt(span));
            data.push(Key::ListenerId, Value::from("smtp"));
            data.push(Key::LocalPort, Value::UInt(25));
        }
    }
    StalwartEvent::from_map(kind.as_str(), &data)
}
