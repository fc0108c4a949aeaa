//! Email-API senders: sample events, one per request.

use std::borrow::Cow;

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    EmailApiEvent, ParseError, Verified,
    senders::email_api::{
        BounceCode, BounceType, EmailApiEventType, EmailApiPayload, EmailData, Recipients,
    },
    stored::StoredEvent,
};
use webhook_sender::Stats;

use super::{CliSender, at_whole_seconds, run_nonce};
use crate::{
    error::CliError,
    render::{Summary, to_json},
    send::{self, SendRun},
};

pub(crate) struct EmailApi;

impl CliSender for EmailApi {
    fn default_event(&self) -> &'static str {
        "delivered"
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
        Ok(vec![summary(&verified.parse::<EmailApiEvent>()?)])
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        Ok(summary(&event.parse::<EmailApiEvent>()?))
    }
}

fn summary(event: &EmailApiEvent) -> Summary {
    Summary {
        time: Some(event.created_at),
        kind: event.event_type.to_string(),
        id: Some(event.id.to_string()),
        json: to_json(event),
    }
}

/// An email-API event of `kind` (`delivered`, `bounced`, …).
pub(crate) fn sample(kind: &str, n: u64) -> EmailApiEvent {
    let mut data = EmailData::new(
        Cow::Owned(format!("msg_{:012x}{n:06}", run_nonce() >> 16)),
        Cow::Borrowed("sender@yourdomain.com"),
        Recipients::One(Cow::Owned(format!("recipient{n}@example.com"))),
    );
    let event_type = EmailApiEventType::from(kind).into_owned();
    match event_type {
        EmailApiEventType::Bounced => {
            data.bounce_type = Some(BounceType::Hard);
            data.bounce_code = Some(BounceCode::Text(Cow::Borrowed("550")));
            data.bounce_message = Some(Cow::Borrowed("User unknown"));
        }
        _ => {
            data.subject = Some(Cow::Borrowed("Hello"));
            if event_type == EmailApiEventType::Delivered {
                data.delivered_at = Some(at_whole_seconds(n));
            }
        }
    }
    EmailApiPayload::new(
        Cow::Owned(format!("evt_{:012x}{n:06}", run_nonce() >> 16)),
        event_type,
        at_whole_seconds(n),
        data,
    )
}
