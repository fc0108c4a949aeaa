//! Standard Webhooks: sample messages in Resend's shape, one per request.

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    ParseError, Verified,
    senders::standard_webhooks::{StandardEvent, StandardWebhook},
    stored::StoredEvent,
};
use webhook_sender::{Message, Stats};

use super::{CliSender, at, run_uuid};
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
        // The message id is a header (`webhook-id`), made fresh by the sender unless
        // `--id` sets it.
        let id = run.id.clone();
        send::messages(runtime, run, move |event, n| {
            let message =
                Message::json(send::json(&sample(event, n))).with_label(format!("{event} #{n}"));
            match &id {
                Some(id) => message.with_id(id.clone()),
                None => message,
            }
        })
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
            "email_id": run_uuid(3, n),
            "from": "Acme <onboarding@resend.dev>",
            "to": [format!("recipient{n}@example.com")],
            "subject": "Sending this example",
        }
    })
}
