//! Mailtrap batches: [`MailtrapItem`], the three [`MailtrapEncoding`]s, and the
//! [`MailtrapFormat`] that renders them.
//!
//! Events are webhook-core's own model
//! ([`MailtrapEvent`](webhook_core::senders::mailtrap::MailtrapEvent)) and batches are
//! its [`MailtrapBatch`], serialized by webhook-core, so the sender and the receiver
//! share one definition:
//!
//! | encoding | `Content-Type` | body | events per request |
//! |---|---|---|---|
//! | [`Json`](MailtrapEncoding::Json) | `application/json` | `{"events":[…]}` | up to [`MAILTRAP_MAX_BATCH`] (500) |
//! | [`JsonLines`](MailtrapEncoding::JsonLines) | `application/jsonl` | one compact event per line, each ending in `\n` | up to 500 |
//! | [`Form`](MailtrapEncoding::Form) | `application/x-www-form-urlencoded` | `event=delivery&email=…` (the seed doc's format) | 1 |
//!
//! The signature (`Mailtrap-Signature`, or `X-Mailtrap-Signature` with
//! [`HeaderNames::Alternate`](crate::HeaderNames::Alternate)) is lowercase hex
//! HMAC-SHA256 over the raw body in every encoding, the secret used as text.
//!
//! # Ids, times and key order
//!
//! An event built with [`MailtrapItem::new`] gets, when submitted, a random UUID v4
//! `event_id` (the receivers' deduplication key) and the submit time as `timestamp`
//! (Unix seconds), unless set before. They are stamped once: every retry carries the
//! same `event_id`. Its keys are then put in the order of Mailtrap's current
//! documentation example (`event`, `timestamp`, `sending_stream`, `message_id`,
//! `email`, `event_id`, then the kind's own keys, `sending_domain_name` last; see
//! [`MAILTRAP_KEY_ORDER`]). An event given whole ([`MailtrapItem::from_event`], e.g.
//! one parsed from a captured body) is sent as it is, keys in its own order.
//!
//! # Form data
//!
//! The form format carries one sending event of flat values: strings as they are,
//! numbers as decimal text, and `custom_variables` (whose form spelling Mailtrap does
//! not document) as its compact JSON text, which webhook-core's parser keeps as a
//! string among the event's unknown keys. An audit-log event cannot be form-encoded
//! (Mailtrap sends those as JSON only): rendering one fails with
//! [`RenderError::NotEncodable`] and the sender gives it up.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use http::HeaderValue;
use webhook_core::{
    Scheme,
    senders::mailtrap::{EventKind, MailtrapBatch, MailtrapEvent, SendingEvent},
};

use crate::{
    Body, DeliveryPolicy, Endpoint, Format, RenderError, Rendered, Retry, Schedule, Sender,
    SenderBuilder, Success,
    clock::whole_seconds,
    key_order::{self, Entries},
};

/// Most events Mailtrap puts in one request.
pub const MAILTRAP_MAX_BATCH: usize = 500;

/// `application/jsonl`, the JSON Lines type Mailtrap declares.
pub const APPLICATION_JSONL: &str = "application/jsonl";

/// `application/x-www-form-urlencoded`.
pub const APPLICATION_FORM: &str = "application/x-www-form-urlencoded";

/// The key order of a sending event built with [`MailtrapItem::new`] (Mailtrap's
/// current documentation example); keys not listed follow in their own order.
pub const MAILTRAP_KEY_ORDER: &[&str] = &[
    "event",
    "timestamp",
    "sending_stream",
    "category",
    "custom_variables",
    "message_id",
    "email",
    "event_id",
    "response",
    "response_code",
    "bounce_category",
    "reason",
    "ip",
    "user_agent",
    "url",
    "sending_domain_name",
];

/// How a Mailtrap request's events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MailtrapEncoding {
    /// `{"events":[…]}`, `application/json` (the default).
    #[default]
    Json,
    /// One compact event per line, `application/jsonl` (Mailtrap's current second
    /// format).
    JsonLines,
    /// One event as form data, `application/x-www-form-urlencoded` (the seed doc's
    /// second format).
    Form,
}

impl MailtrapEncoding {
    /// The `Content-Type` it is sent with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => crate::APPLICATION_JSON,
            Self::JsonLines => APPLICATION_JSONL,
            Self::Form => APPLICATION_FORM,
        }
    }

    /// Most events one request may carry: 500, or 1 for form data.
    pub fn max_batch(self) -> usize {
        match self {
            Self::Form => 1,
            Self::Json | Self::JsonLines => MAILTRAP_MAX_BATCH,
        }
    }
}

/// One Mailtrap event waiting to be sent.
///
/// ```
/// use webhook_core::senders::mailtrap::{EventKind, SendingStream};
/// use webhook_sender::MailtrapItem;
///
/// let mut item = MailtrapItem::new(EventKind::Bounce, "1df37d17-0286-4d8b-8edf-bc4ec5be86e6", "receiver@example.com")
///     .event_id("bede7236-2284-43d6-a953-1fdcafd0fdbc");
/// if let Some(event) = item.sending_mut() {
///     event.sending_stream = Some(SendingStream::Transactional);
///     event.response_code = Some(555);
/// }
/// assert_eq!(item.event().event_id(), Some("bede7236-2284-43d6-a953-1fdcafd0fdbc"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MailtrapItem {
    event: MailtrapEvent<'static>,
    stamp_event_id: bool,
    stamp_timestamp: bool,
    reorder: bool,
}

impl MailtrapItem {
    /// A sending event of `kind` about the message `message_id` to `email`; its
    /// `event_id` and `timestamp` are stamped when it is submitted unless set before.
    /// Set the kind's own fields with [`sending_mut`](Self::sending_mut).
    pub fn new(
        kind: EventKind<'static>,
        message_id: impl Into<String>,
        email: impl Into<String>,
    ) -> Self {
        let event = SendingEvent::new(
            kind,
            DateTime::<Utc>::UNIX_EPOCH,
            "".into(),
            message_id.into().into(),
            email.into().into(),
        );
        Self {
            event: MailtrapEvent::Sending(event),
            stamp_event_id: true,
            stamp_timestamp: true,
            reorder: true,
        }
    }

    /// A finished event (sending, audit-log or unknown), sent exactly as it is.
    pub fn from_event(event: MailtrapEvent<'static>) -> Self {
        Self {
            event,
            stamp_event_id: false,
            stamp_timestamp: false,
            reorder: false,
        }
    }

    /// Sets the `event_id` of a sending event (otherwise a UUID v4, made at submit).
    pub fn event_id(mut self, id: impl Into<String>) -> Self {
        if let MailtrapEvent::Sending(event) = &mut self.event {
            event.event_id = id.into().into();
            self.stamp_event_id = false;
        }
        self
    }

    /// Sets the `timestamp` of a sending event (whole seconds are sent; otherwise the
    /// submit time).
    pub fn timestamp(mut self, at: DateTime<Utc>) -> Self {
        if let MailtrapEvent::Sending(event) = &mut self.event {
            event.timestamp = at;
            self.stamp_timestamp = false;
        }
        self
    }

    /// The event as it will be sent (once stamped).
    pub fn event(&self) -> &MailtrapEvent<'static> {
        &self.event
    }

    /// The sending event, to set its optional fields (`category`, `response`, …).
    pub fn sending_mut(&mut self) -> Option<&mut SendingEvent<'static>> {
        match &mut self.event {
            MailtrapEvent::Sending(event) => Some(event),
            _ => None,
        }
    }

    /// The finished event.
    pub fn into_event(self) -> MailtrapEvent<'static> {
        self.event
    }

    fn stamp(&mut self, now: SystemTime) {
        if let MailtrapEvent::Sending(event) = &mut self.event {
            if self.stamp_event_id {
                event.event_id = new_event_uuid().into();
            }
            if self.stamp_timestamp {
                event.timestamp = whole_seconds(now);
            }
        }
        self.stamp_event_id = false;
        self.stamp_timestamp = false;
        if std::mem::take(&mut self.reorder)
            && let Ok(event) = key_order::reorder(&self.event, MAILTRAP_KEY_ORDER)
        {
            self.event = event;
        }
    }
}

impl From<MailtrapEvent<'static>> for MailtrapItem {
    fn from(event: MailtrapEvent<'static>) -> Self {
        Self::from_event(event)
    }
}

/// A random UUID v4, lowercase (`f1e2d3c4-b5a6-4890-9234-567890abcdef`): the shape of
/// Mailtrap's `event_id`.
pub fn new_event_uuid() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// Mailtrap events as a sender body format: batches of up to 500 in JSON or JSON
/// Lines, or one per request as form data; the same bytes on every attempt.
///
/// ```
/// use chrono::DateTime;
/// use webhook_core::{MediaType, ParseContext, Scheme, Secret, Verifier, parse_unverified};
/// use webhook_core::senders::mailtrap::{EventKind, MailtrapBatch};
/// use webhook_sender::{Endpoint, Format, MailtrapEncoding, MailtrapFormat, MailtrapItem};
///
/// let item = |n: u32| {
///     MailtrapItem::new(EventKind::Delivery, "a8b1d8f6-1f8d-4a3c-9b2e-1a2b3c4d5e6f", "to@example.com")
///         .event_id(format!("f1e2d3c4-b5a6-7890-1234-56789000000{n}"))
///         .timestamp(DateTime::from_timestamp(1_716_070_000, 0).unwrap())
/// };
/// let (a, b) = (item(1), item(2));
/// let format = MailtrapFormat::new(MailtrapEncoding::JsonLines);
/// assert_eq!(format.max_batch(), 500);
/// let rendered = format.render(&[&a, &b])?;
/// assert_eq!(rendered.body.content_type(), "application/jsonl");
/// assert_eq!(rendered.wire_ids.len(), 2);
///
/// let secret = "8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e";
/// let endpoint = Endpoint::new(Scheme::Mailtrap, "http://127.0.0.1:8080/hook")?
///     .secret(Secret::new(secret))?;
/// let request = endpoint.request(&rendered.body, None, std::time::SystemTime::now())?;
/// assert_eq!(request.headers()["mailtrap-signature"].len(), 64);
/// let verifier = Verifier::builder(Scheme::Mailtrap).secret(Secret::new(secret)).build()?;
/// assert!(verifier.verify(request.headers(), request.body()).is_ok());
/// let back: MailtrapBatch<'static> =
///     parse_unverified(request.body(), ParseContext::new(MediaType::JsonLines))?;
/// assert_eq!(back.events, [a.into_event(), b.into_event()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MailtrapFormat {
    encoding: MailtrapEncoding,
}

impl MailtrapFormat {
    /// The format writing `encoding`.
    pub fn new(encoding: MailtrapEncoding) -> Self {
        Self { encoding }
    }

    /// The encoding.
    pub fn encoding(&self) -> MailtrapEncoding {
        self.encoding
    }
}

impl Format for MailtrapFormat {
    type Item = MailtrapItem;

    fn max_batch(&self) -> usize {
        self.encoding.max_batch()
    }

    fn prepare(&self, item: &mut MailtrapItem, now: SystemTime, _scheme: Scheme) {
        item.stamp(now);
    }

    fn created_at(&self, item: &MailtrapItem) -> Option<SystemTime> {
        item.event.timestamp().map(SystemTime::from)
    }

    fn label(&self, item: &MailtrapItem) -> String {
        match item.event.event_id() {
            Some(id) => format!("{} {id}", item.event.name()),
            None => item.event.name().to_owned(),
        }
    }

    fn render(&self, items: &[&MailtrapItem]) -> Result<Rendered, RenderError> {
        let wire_ids = items
            .iter()
            .map(|item| item.event.event_id().unwrap_or_default().to_owned())
            .collect();
        let serialize = |err: serde_json::Error| RenderError::Serialize(err.to_string());
        let content_type = HeaderValue::from_static(self.encoding.content_type());
        let bytes = match self.encoding {
            MailtrapEncoding::Json => serde_json::to_vec(&batch(items)).map_err(serialize)?,
            MailtrapEncoding::JsonLines => batch(items)
                .to_json_lines()
                .map_err(serialize)?
                .into_bytes(),
            MailtrapEncoding::Form => {
                let [item] = items else {
                    return Err(RenderError::Request(format!(
                        "form data carries one event, got {} in one request",
                        items.len()
                    )));
                };
                form_encode(&item.event)?.into_bytes()
            }
        };
        Ok(Rendered {
            body: Body::new(bytes, content_type),
            message_id: None,
            wire_ids,
        })
    }
}

impl Sender<MailtrapFormat> {
    /// A Mailtrap sender writing `encoding`, under [`DeliveryPolicy::mailtrap`] (the seed doc's
    /// retries; [`DeliveryPolicy::mailtrap_current`] has the current docs').
    ///
    /// ```no_run
    /// use webhook_core::{Scheme, Secret, senders::mailtrap::EventKind};
    /// use webhook_sender::{Endpoint, MailtrapEncoding, MailtrapItem, Sender};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let endpoint = Endpoint::new(Scheme::Mailtrap, "https://app.example/hooks/mailtrap")?
    ///     .secret(Secret::new("8d9a3c0e7f5b2d4a6c1e9f8b3a7d5c2e"))?;
    /// let sender = Sender::mailtrap(endpoint, MailtrapEncoding::Json).build()?;
    /// for n in 0..1200 {
    ///     sender.send(MailtrapItem::new(EventKind::Delivery, format!("msg-{n}"), "to@example.com"))?;
    /// }
    /// let stats = sender.close().await; // 3 requests: 500, 500, 200 events
    /// assert_eq!(stats.delivered, 1200);
    /// # Ok(()) }
    /// ```
    pub fn mailtrap(
        endpoint: Endpoint,
        encoding: MailtrapEncoding,
    ) -> SenderBuilder<MailtrapFormat> {
        Sender::builder(
            endpoint,
            MailtrapFormat::new(encoding),
            DeliveryPolicy::mailtrap(),
        )
    }
}

fn batch(items: &[&MailtrapItem]) -> MailtrapBatch<'static> {
    MailtrapBatch::new(items.iter().map(|item| item.event.clone()).collect())
}

/// One sending event as form data, keys in the event's order.
fn form_encode(event: &MailtrapEvent<'_>) -> Result<String, RenderError> {
    if !matches!(event, MailtrapEvent::Sending(_)) {
        return Err(RenderError::NotEncodable {
            reason: format!(
                "`{}` is not an email-sending event; Mailtrap sends those as JSON only, not as form data",
                event.name()
            ),
        });
    }
    let Entries(entries) =
        Entries::of(event).map_err(|err| RenderError::Serialize(err.to_string()))?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, raw) in &entries {
        let text = raw.get();
        if text == "null" {
            continue;
        }
        match serde_json::from_str::<String>(text) {
            Ok(string) => form.append_pair(key, &string),
            // Numbers, booleans and objects (custom variables) as their JSON text.
            Err(_) => form.append_pair(key, text),
        };
    }
    Ok(form.finish())
}

/// The delivery preset of this sender.
impl DeliveryPolicy {
    /// Mailtrap's seed doc: "up to 10 attempts over 24 hours, first retry after 1 minute,
    /// exponential". Read as 10 attempts in all (the first delivery and 9 retries); the
    /// factor 2.31 makes the nine waits (60 s, 138.6 s, 320.166 s, … 48 645.995 s) add up
    /// to 85 734.54 s (23 h 49 min), the largest factor with two decimals that keeps the
    /// last attempt within 24 h. Success is `200` only.
    /// The 30 s timeout is from Mailtrap's current docs. Batches of up to 500 events
    /// are made with [`MailtrapFormat`](crate::MailtrapFormat) (raw messages go one per
    /// request); Mailtrap's 30 s collection interval is not simulated: a batch leaves as
    /// soon as a request may start, with whatever is pending.
    pub fn mailtrap() -> Self {
        Self {
            throttle: Duration::ZERO,
            max_in_flight: 8,
            max_batch: Some(500),
            retry: Retry::Schedule(Schedule::exponential(Duration::from_secs(60), 2.31, 10)),
            lossy: None,
            success: Success::Only200,
            timeout: Some(Duration::from_secs(30)),
            jitter: None,
            retry_on: crate::RetryOn::AnyFailure,
        }
    }

    /// Mailtrap's current docs: 40 retries every 5 minutes (then the webhook is paused),
    /// success `200` only, 30 s timeout.
    pub fn mailtrap_current() -> Self {
        Self {
            retry: Retry::Schedule(Schedule::every(Duration::from_secs(300), 40)),
            ..Self::mailtrap()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use webhook_core::events::{RawJson, parse_unverified};
    use webhook_core::senders::mailtrap::{AuditEvent, AuditParty, SendingStream};
    use webhook_core::{MediaType, ParseContext};

    use super::*;

    fn at() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_728_669_700_500)
    }

    fn bounce() -> MailtrapItem {
        let mut item = MailtrapItem::new(
            EventKind::Bounce,
            "1df37d17-0286-4d8b-8edf-bc4ec5be86e6",
            "receiver@example.com",
        )
        .event_id("bede7236-2284-43d6-a953-1fdcafd0fdbc");
        let event = item.sending_mut().unwrap();
        event.sending_domain_name = Some("examplesender.com".into());
        event.bounce_category = Some("spam".into());
        event.response_code = Some(555);
        event.response = Some("[CS01] Message rejected due to local policy".into());
        event.sending_stream = Some(SendingStream::Transactional);
        item
    }

    #[test]
    fn stamped_bounce_is_the_documented_example_byte_for_byte() {
        let mut item = bounce();
        MailtrapFormat::default().prepare(&mut item, at(), Scheme::Mailtrap);
        let rendered = MailtrapFormat::default().render(&[&item]).unwrap();
        assert_eq!(
            std::str::from_utf8(rendered.body.bytes()).unwrap(),
            r#"{"events":[{"event":"bounce","timestamp":1728669700,"sending_stream":"transactional","message_id":"1df37d17-0286-4d8b-8edf-bc4ec5be86e6","email":"receiver@example.com","event_id":"bede7236-2284-43d6-a953-1fdcafd0fdbc","response":"[CS01] Message rejected due to local policy","response_code":555,"bounce_category":"spam","sending_domain_name":"examplesender.com"}]}"#
        );
        assert_eq!(rendered.wire_ids, ["bede7236-2284-43d6-a953-1fdcafd0fdbc"]);
    }

    #[test]
    fn event_id_is_a_uuid_stamped_once() {
        let format = MailtrapFormat::default();
        let mut item = MailtrapItem::new(EventKind::Open, "m", "a@example.com");
        format.prepare(&mut item, at(), Scheme::Mailtrap);
        let id = item.event().event_id().unwrap().to_owned();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        let first = format.render(&[&item]).unwrap();
        let retry = format.render(&[&item]).unwrap();
        assert_eq!(first, retry);
        assert_eq!(first.wire_ids, [id]);
        assert_ne!(new_event_uuid(), new_event_uuid());
    }

    #[test]
    fn form_data_round_trips_and_custom_variables_stay_text() {
        let mut item = bounce();
        item.sending_mut().unwrap().custom_variables =
            Some(RawJson::from_value(&serde_json::json!({"plan": "pro & co"})).unwrap());
        let format = MailtrapFormat::new(MailtrapEncoding::Form);
        assert_eq!(format.max_batch(), 1);
        format.prepare(&mut item, at(), Scheme::Mailtrap);
        let rendered = format.render(&[&item]).unwrap();
        assert_eq!(rendered.body.content_type(), APPLICATION_FORM);
        let text = std::str::from_utf8(rendered.body.bytes()).unwrap();
        assert!(
            text.starts_with("event=bounce&timestamp=1728669700&sending_stream=transactional&"),
            "{text}"
        );
        let back: MailtrapBatch<'static> = parse_unverified(
            rendered.body.bytes(),
            ParseContext::new(MediaType::FormUrlEncoded),
        )
        .unwrap();
        let MailtrapEvent::Sending(mut got) = back.events[0].clone() else {
            panic!("{back:?}")
        };
        let custom = got.unknown.remove("custom_variables").unwrap();
        assert_eq!(custom.get(), r#""{\"plan\":\"pro & co\"}""#);
        let mut want = item.sending_mut().unwrap().clone();
        want.custom_variables = None;
        assert_eq!(got, want);
    }

    #[test]
    fn audit_events_are_not_form_encodable() {
        let audit = AuditEvent::new(
            "activity_log.user.updated".into(),
            "d".into(),
            AuditParty::new(),
            DateTime::from_timestamp(1, 0).unwrap(),
        );
        let item = MailtrapItem::from_event(MailtrapEvent::Audit(audit));
        let err = MailtrapFormat::new(MailtrapEncoding::Form)
            .render(&[&item])
            .unwrap_err();
        assert!(matches!(err, RenderError::NotEncodable { .. }), "{err}");
        // JSON is fine.
        assert!(MailtrapFormat::default().render(&[&item]).is_ok());
    }
}
