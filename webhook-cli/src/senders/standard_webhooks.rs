//! Standard Webhooks: sample messages in Resend's shape, one per request.

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    ParseError, Verified,
    senders::standard_webhooks::{StandardEvent, StandardWebhook},
    stored::StoredEvent,
};
use webhook_sender::Stats;

use super::{CliSender, at};
use crate::{
    error::CliError,
    render::{Summary, to_json},
    send::{self, SendRun},
};

pub(crate) struct StandardWebhooks;

impl CliSender for StandardWebhooks {
    fn default_event(&self) -> &'static str {
        "email.delivered"
    }

    fn send(&self, runtime: &Runtime, run: SendRun) -> Result<Stats, CliError> {
        send::one_per_request(runtime, run, |event, n| send::json(&sample(event, n)))
    }

    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
        Ok(vec![summary(
            &verified.parse::<StandardWebhook<StandardEvent<'static>>>()?,
        )])
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        Ok(summary(
            &event.parse::<StandardWebhook<StandardEvent<'static>>>()?,
        ))
    }
}

fn summary(webhook: &StandardWebhook<StandardEvent<'static>>) -> Summary {
    Summary {
        time: Some(webhook.timestamp),
        kind: webhook.payload.event_type.to_string(),
        id: Some(webhook.message_id.clone()),
        json: to_json(&webhook.payload),
    }
}

/// A Standard Webhooks body in Resend's shape.
pub(crate) fn sample(kind: &str, n: u64) -> serde_json::Value {
    serde_json::json!({
        "type": kind,
        "created_at": at(n).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "email_id": format!("56761188-7520-42d8-8898-{n:012}"),
            "from": "Acme <onboarding@resend.dev>",
            "to": [format!("recipient{n}@example.com")],
            "subject": "Sending this example",
        }
    })
}
