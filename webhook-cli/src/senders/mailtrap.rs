//! Mailtrap: sample sending events, and batches of them.

use std::borrow::Cow;

use bytes::Bytes;
use tokio::runtime::Runtime;
use webhook_core::{
    MailtrapEvents, ParseError, Verified,
    senders::mailtrap::{EventKind, MailtrapBatch, MailtrapEvent, SendingEvent, SendingStream},
    stored::StoredEvent,
};
use webhook_sender::Stats;

use super::{CliSender, at_whole_seconds, run_uuid};
use crate::{
    error::CliError,
    render::{Summary, to_json},
    send::{self, SendRun},
};

pub(crate) struct Mailtrap;

impl CliSender for Mailtrap {
    fn default_event(&self) -> &'static str {
        "delivery"
    }

    /// One event per request, each as a `{"events":[…]}` batch of one.
    fn send(&self, runtime: &Runtime, run: SendRun) -> Result<Stats, CliError> {
        let id = run.id.clone();
        send::one_per_request(runtime, run, move |event, n| {
            let mut sample = sample(event, n);
            if let (Some(id), MailtrapEvent::Sending(sending)) = (&id, &mut sample) {
                sending.event_id = Cow::Owned(id.clone());
            }
            send::json(&batch(vec![sample]))
        })
    }

    fn summarize(&self, verified: &Verified<Bytes>) -> Result<Vec<Summary>, ParseError> {
        Ok(verified
            .parse::<MailtrapEvents>()?
            .iter()
            .map(summary)
            .collect())
    }

    fn summarize_stored(&self, event: &StoredEvent<'_>) -> Result<Summary, ParseError> {
        Ok(summary(&event.parse::<MailtrapEvent<'static>>()?))
    }
}

fn summary(event: &MailtrapEvent<'_>) -> Summary {
    Summary {
        time: event.timestamp(),
        kind: event.name().to_owned(),
        id: event.event_id().map(str::to_owned),
        json: to_json(event),
    }
}

/// A Mailtrap sending event of `kind` (`delivery`, `open`, `click`, `bounce`, …).
pub(crate) fn sample(kind: &str, n: u64) -> MailtrapEvent<'static> {
    let kind = EventKind::from(kind).into_owned();
    let mut event = SendingEvent::new(
        kind.clone(),
        at_whole_seconds(n),
        Cow::Owned(run_uuid(1, n)),
        Cow::Owned(run_uuid(2, n)),
        Cow::Owned(format!("recipient{n}@example.com")),
    );
    event.sending_stream = Some(SendingStream::Transactional);
    event.sending_domain_name = Some(Cow::Borrowed("examplesender.com"));
    match kind {
        EventKind::Bounce | EventKind::SoftBounce => {
            event.response = Some(Cow::Borrowed("[CS01] Message rejected due to local policy"));
            event.response_code = Some(555);
            event.bounce_category = Some(Cow::Borrowed("spam"));
        }
        EventKind::Click => {
            event.url = Some(Cow::Borrowed("https://example.com/welcome"));
            event.ip = Some(Cow::Borrowed("198.51.100.7"));
            event.user_agent = Some(Cow::Borrowed("Mozilla/5.0"));
        }
        EventKind::Open => {
            event.ip = Some(Cow::Borrowed("198.51.100.7"));
            event.user_agent = Some(Cow::Borrowed("Mozilla/5.0"));
        }
        _ => {}
    }
    MailtrapEvent::Sending(event)
}

/// A Mailtrap batch body of several events.
pub(crate) fn batch(events: Vec<MailtrapEvent<'static>>) -> MailtrapEvents {
    MailtrapBatch::new(events)
}
