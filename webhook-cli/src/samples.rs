//! Realistic sample events for each sender, for `webhook send` and `webhook demo`.
//!
//! Every body is built from webhook-core's own models and serialized by them, so it is
//! byte-for-byte what the real sender writes (compact JSON, the sender's key order);
//! only the values are invented. `n` varies ids, addresses and times so that a run of
//! many events is many distinct events.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};
use webhook_core::senders::{
    email_api::{
        BounceCode, BounceType, EmailApiEventType, EmailApiPayload, EmailData, Recipients,
    },
    mailtrap::{EventKind, MailtrapBatch, MailtrapEvent, SendingEvent, SendingStream},
    stalwart::{DataMap, EventType, Key, Value},
    wildduck::{WildDuckEventType, WildDuckPayload},
};
use webhook_sender::StalwartEvent;

/// The event type `send` uses when none is given.
pub(crate) fn default_event(scheme: webhook_core::Scheme) -> &'static str {
    use webhook_core::Scheme;
    match scheme {
        Scheme::Stalwart => "auth.success",
        Scheme::EmailApi => "delivered",
        Scheme::Mailtrap => "delivery",
        Scheme::StandardWebhooks => "email.delivered",
        _ => "mailbox.created",
    }
}

/// A Stalwart event of `event_type` with the data keys its call sites typically carry.
pub(crate) fn stalwart(event_type: &str, n: u64) -> StalwartEvent {
    let kind = EventType::from(event_type);
    let family = event_type.split('.').next().unwrap_or_default();
    let mut data = DataMap::new();
    let span = 312_845_863_712_866_304 + n;
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

fn at(n: u64) -> DateTime<Utc> {
    Utc::now() - Duration::seconds(i64::try_from(n % 3600).unwrap_or(0))
}

/// An email-API event of `kind` (`delivered`, `bounced`, …).
pub(crate) fn email_api(kind: &str, n: u64) -> EmailApiPayload<'static> {
    let mut data = EmailData::new(
        Cow::Owned(format!("msg_{n:06}")),
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
                data.delivered_at = Some(at(n).with_nanosecond_zero());
            }
        }
    }
    EmailApiPayload::new(
        Cow::Owned(format!("evt_{n:06}")),
        event_type,
        at(n).with_nanosecond_zero(),
        data,
    )
}

/// A Mailtrap sending event of `kind` (`delivery`, `open`, `click`, `bounce`, …).
pub(crate) fn mailtrap_event(kind: &str, n: u64) -> MailtrapEvent<'static> {
    let kind = EventKind::from(kind).into_owned();
    let mut event = SendingEvent::new(
        kind.clone(),
        at(n).with_nanosecond_zero(),
        Cow::Owned(format!("f1e2d3c4-b5a6-7890-1234-{n:012}")),
        Cow::Owned(format!("a8b1d8f6-1f8d-4a3c-9b2e-{n:012}")),
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
pub(crate) fn mailtrap_batch(events: Vec<MailtrapEvent<'static>>) -> MailtrapBatch<'static> {
    MailtrapBatch::new(events)
}

/// A WildDuck event of `kind` (`mailbox.created`, `user.created`, …).
pub(crate) fn wildduck(kind: &str, n: u64) -> WildDuckPayload<'static> {
    let mut event = WildDuckPayload::new(
        Cow::Owned(format!("6561f0c2a1b2c3d4{n:08x}:1")),
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

/// A Standard Webhooks body in Resend's shape.
pub(crate) fn standard(kind: &str, n: u64) -> serde_json::Value {
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

trait WholeSeconds {
    fn with_nanosecond_zero(self) -> Self;
}

impl WholeSeconds for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        DateTime::from_timestamp(self.timestamp(), 0).unwrap_or(self)
    }
}
