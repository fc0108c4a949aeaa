//! Email-API events, one per request: [`EmailApiItem`] and the [`EmailApiFormat`] that
//! renders them.
//!
//! The body is `serde_json` of webhook-core's own model
//! ([`EmailApiPayload`](webhook_core::senders::email_api::EmailApiPayload)), so sender and
//! receiver share one definition: compact `{"id","type","created_at","data"}` in that
//! order, `created_at` in RFC 3339 UTC with `Z`, non-ASCII written raw.
//!
//! # Ids and times
//!
//! An item without an explicit id gets `evt_` and 24 random letters and digits when it
//! is submitted, and one without `created_at` gets the sender's clock in whole seconds.
//! Both are stamped once, so every retry of the event carries the same `id` (the
//! receivers' deduplication key) and the same bytes, hence the same signature.
//!
//! # Compact JSON and `JSON.stringify`
//!
//! The sender's Node example verifies `JSON.stringify(req.body)`, a re-serialization.
//! That only works when the body is byte-identical to what `JSON.stringify` makes of
//! its own parse: compact, keys in the order sent, and the same string escaping.
//! `serde_json` escapes exactly as `JSON.stringify` does for every Rust string (`"`,
//! `\`, `\b`, `\f`, `\n`, `\r`, `\t` short, other control characters as lowercase
//! `\u00XX`, everything else raw, `/` included); lone surrogates, which
//! `JSON.stringify` writes as `\udXXX`, cannot occur in a Rust string. Numbers are the
//! one difference: `JSON.stringify` writes `1e+21` where `serde_json` writes `1e21`
//! (and integers beyond 2^53 lose precision in JavaScript), so a `data` value that
//! must survive a JavaScript re-serialization should be an integer within ±2^53 or a
//! string. The `tests/email_api_json.rs` property test checks this against an
//! independent implementation of `JSON.stringify`.
//!
//! In an item built with [`EmailApiItem::new`], `data` has its documented keys first,
//! in [`EMAIL_DATA_KEY_ORDER`], then any others (`EmailData::unknown`) in the order
//! they were added. Such a key must not repeat a documented one (the body would carry
//! that key twice). An event given whole ([`EmailApiItem::from_event`]) is sent as it
//! is.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use webhook_core::{
    Scheme,
    senders::email_api::{EmailApiEventType, EmailApiPayload, EmailData},
};

use crate::{
    Body, DeliveryPolicy, Endpoint, Format, RenderError, Rendered, Retry, Schedule, Sender,
    SenderBuilder, Success, clock::whole_seconds, key_order,
};

/// The order of `data`'s documented keys in an item built with [`EmailApiItem::new`].
pub const EMAIL_DATA_KEY_ORDER: &[&str] = &[
    "email_id",
    "from",
    "to",
    "subject",
    "delivered_at",
    "bounce_type",
    "bounce_code",
    "bounce_message",
];

/// One email-API event waiting to be sent.
///
/// ```
/// use chrono::DateTime;
/// use webhook_core::senders::email_api::{EmailApiEventType, EmailData};
/// use webhook_sender::EmailApiItem;
///
/// let mut data = EmailData::new("msg_abc123".into(), "sender@example.com".into(), "to@example.com".into());
/// data.subject = Some("Hello".into());
/// let item = EmailApiItem::new(EmailApiEventType::Delivered, data)
///     .id("evt_xyz789")
///     .created_at(DateTime::from_timestamp(1_705_314_605, 0).unwrap());
/// assert_eq!(item.event().event_type.as_str(), "delivered");
/// assert!(item.is_stamped());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct EmailApiItem {
    event: EmailApiPayload<'static>,
    stamp_id: bool,
    stamp_created_at: bool,
    reorder: bool,
}

impl EmailApiItem {
    /// An event of `event_type` about the email in `data`; its `id` and `created_at`
    /// are stamped when it is submitted unless set before. A type this crate does not
    /// name is `EmailApiEventType::from_name("custom")`.
    pub fn new(event_type: EmailApiEventType<'static>, data: EmailData<'static>) -> Self {
        Self {
            event: EmailApiPayload::new("".into(), event_type, DateTime::<Utc>::UNIX_EPOCH, data),
            stamp_id: true,
            stamp_created_at: true,
            reorder: true,
        }
    }

    /// A finished event, sent exactly as it is (nothing stamped).
    pub fn from_event(event: EmailApiPayload<'static>) -> Self {
        Self {
            event,
            stamp_id: false,
            stamp_created_at: false,
            reorder: false,
        }
    }

    /// Sets the event id (otherwise `evt_…`, made at submit).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.event.id = id.into().into();
        self.stamp_id = false;
        self
    }

    /// Sets `created_at`, as given (otherwise the submit time in whole seconds).
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.event.created_at = at;
        self.stamp_created_at = false;
        self
    }

    /// The event as it will be sent (id and time once stamped or set).
    pub fn event(&self) -> &EmailApiPayload<'static> {
        &self.event
    }

    /// The event's `data`, to set optional fields after construction.
    pub fn data_mut(&mut self) -> &mut EmailData<'static> {
        &mut self.event.data
    }

    /// Whether `id` and `created_at` are both set (by the caller or at submit).
    pub fn is_stamped(&self) -> bool {
        !self.stamp_id && !self.stamp_created_at
    }

    /// The finished event.
    pub fn into_event(self) -> EmailApiPayload<'static> {
        self.event
    }

    fn stamp(&mut self, now: SystemTime) {
        if self.stamp_id {
            self.event.id = new_event_id().into();
            self.stamp_id = false;
        }
        if self.stamp_created_at {
            self.event.created_at = whole_seconds(now);
            self.stamp_created_at = false;
        }
        // webhook-core writes keys added to a built object first: put them last.
        if std::mem::take(&mut self.reorder)
            && !self.event.data.unknown.is_empty()
            && let Ok(data) = key_order::reorder(&self.event.data, EMAIL_DATA_KEY_ORDER)
        {
            self.event.data = data;
        }
    }
}

impl From<EmailApiPayload<'static>> for EmailApiItem {
    fn from(event: EmailApiPayload<'static>) -> Self {
        Self::from_event(event)
    }
}

/// An email-API event id: `evt_` and 24 random ASCII letters and digits.
pub fn new_event_id() -> String {
    let mut id = String::with_capacity(28);
    id.push_str("evt_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(24));
    id
}

/// Email-API events as a sender body format: one event per request, compact
/// `{"id","type","created_at","data"}`, the same bytes on every attempt.
///
/// ```
/// use chrono::DateTime;
/// use webhook_core::{MediaType, ParseContext, Scheme, Secret, Verifier, parse_unverified};
/// use webhook_core::senders::email_api::{EmailApiPayload, EmailApiEventType, EmailData};
/// use webhook_sender::{EmailApiFormat, EmailApiItem, Endpoint, Format};
///
/// let data = EmailData::new("msg_abc123".into(), "sender@example.com".into(), "to@example.com".into());
/// let item = EmailApiItem::new(EmailApiEventType::Queued, data)
///     .id("evt_1")
///     .created_at(DateTime::from_timestamp(1_705_314_605, 0).unwrap());
/// let rendered = EmailApiFormat.render(&[&item])?;
/// assert_eq!(
///     rendered.body.bytes(),
///     r#"{"id":"evt_1","type":"queued","created_at":"2024-01-15T10:30:05Z","data":{"email_id":"msg_abc123","from":"sender@example.com","to":"to@example.com"}}"#
/// );
///
/// // Signed `X-Webhook-Signature: sha256=<hex>`, verified and parsed by webhook-core.
/// let endpoint = Endpoint::new(Scheme::EmailApi, "http://127.0.0.1:8080/hook")?
///     .secret(Secret::new("whsec"))?;
/// let request = endpoint.request(&rendered.body, None, std::time::SystemTime::now())?;
/// assert!(request.headers()["x-webhook-signature"].to_str()?.starts_with("sha256="));
/// let verifier = Verifier::builder(Scheme::EmailApi).secret(Secret::new("whsec")).build()?;
/// assert!(verifier.verify(request.headers(), request.body()).is_ok());
/// let back: EmailApiPayload<'static> =
///     parse_unverified(request.body(), ParseContext::new(MediaType::Json))?;
/// assert_eq!(&back, item.event());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailApiFormat;

impl Format for EmailApiFormat {
    type Item = EmailApiItem;

    fn max_batch(&self) -> usize {
        1
    }

    fn prepare(&self, item: &mut EmailApiItem, now: SystemTime, _scheme: Scheme) {
        item.stamp(now);
    }

    fn created_at(&self, item: &EmailApiItem) -> Option<SystemTime> {
        (!item.stamp_created_at).then(|| SystemTime::from(item.event.created_at))
    }

    fn label(&self, item: &EmailApiItem) -> String {
        format!("{} {}", item.event.event_type.as_str(), item.event.id)
    }

    fn render(&self, items: &[&EmailApiItem]) -> Result<Rendered, RenderError> {
        // The engine never hands this format more than `max_batch` (1) items.
        let [item] = items else {
            return Err(RenderError::Request(format!(
                "an email-API event travels alone, got {} in one request",
                items.len()
            )));
        };
        let body =
            Body::to_json(&item.event).map_err(|err| RenderError::Serialize(err.to_string()))?;
        Ok(Rendered {
            body,
            message_id: None,
            wire_ids: vec![item.event.id.to_string()],
        })
    }
}

impl Sender<EmailApiFormat> {
    /// An email-API sender: [`EmailApiFormat`] under [`DeliveryPolicy::email_api`].
    ///
    /// ```no_run
    /// use webhook_core::{Scheme, Secret, senders::email_api::{EmailApiEventType, EmailData}};
    /// use webhook_sender::{EmailApiItem, Endpoint, Sender};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let endpoint = Endpoint::new(Scheme::EmailApi, "https://app.example/hooks/email")?
    ///     .secret(Secret::new("your-webhook-secret"))?;
    /// let sender = Sender::email_api(endpoint).build()?;
    /// let data = EmailData::new("msg_abc123".into(), "me@example.com".into(), "you@example.com".into());
    /// sender.send(EmailApiItem::new(EmailApiEventType::Delivered, data))?;
    /// assert_eq!(sender.close().await.delivered, 1);
    /// # Ok(()) }
    /// ```
    pub fn email_api(endpoint: Endpoint) -> SenderBuilder<EmailApiFormat> {
        Sender::builder(endpoint, EmailApiFormat, DeliveryPolicy::email_api())
    }
}

/// The delivery preset of this sender.
impl DeliveryPolicy {
    /// The email-API seed's rule, "3 attempts with exponential backoff, retry intervals
    /// 1 minute, 5 minutes, 30 minutes", read as: one delivery, then **three retries**,
    /// waiting 1 min after the first failure, 5 min after the second and 30 min after the
    /// third (attempts at 0, 1, 6 and 36 minutes when each fails at once); then given up.
    /// The listed intervals are the waits, not times since the first attempt. Success on
    /// any 2xx; the timeout, unstated by the seed, is 30 s.
    pub fn email_api() -> Self {
        Self {
            throttle: Duration::ZERO,
            max_in_flight: 8,
            max_batch: Some(1),
            retry: Retry::Schedule(Schedule::fixed([60, 300, 1800].map(Duration::from_secs))),
            lossy: None,
            success: Success::Any2xx,
            timeout: Some(Duration::from_secs(30)),
            jitter: None,
            retry_on: crate::RetryOn::AnyFailure,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn data() -> EmailData<'static> {
        EmailData::new(
            "msg_1".into(),
            "a@example.com".into(),
            "b@example.com".into(),
        )
    }

    #[test]
    fn stamps_once_so_every_attempt_is_byte_identical() {
        let mut item = EmailApiItem::new(EmailApiEventType::from_name("custom.kind"), data());
        assert!(!item.is_stamped());
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_705_314_605_999);
        EmailApiFormat.prepare(&mut item, now, Scheme::EmailApi);
        let id = item.event().id.to_string();
        assert!(id.starts_with("evt_") && id.len() == 28, "{id}");
        // A second prepare (never done by the engine) would not restamp either.
        EmailApiFormat.prepare(&mut item, now + Duration::from_secs(9), Scheme::EmailApi);
        assert_eq!(item.event().id, id);
        let first = EmailApiFormat.render(&[&item]).unwrap();
        let retry = EmailApiFormat.render(&[&item]).unwrap();
        assert_eq!(first, retry);
        assert_eq!(first.wire_ids, std::slice::from_ref(&id));
        let text = std::str::from_utf8(first.body.bytes()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"id":"{id}","type":"custom.kind","created_at":"2024-01-15T10:30:05Z","data":{{"email_id":"msg_1","from":"a@example.com","to":"b@example.com"}}}}"#
            )
        );
        assert_eq!(first.body.content_type(), "application/json");
    }

    #[test]
    fn explicit_id_and_time_are_kept() {
        let at = DateTime::from_timestamp(1_705_314_605, 0).unwrap();
        let mut item = EmailApiItem::new(EmailApiEventType::Opened, data())
            .id("evt_fixed")
            .created_at(at);
        EmailApiFormat.prepare(&mut item, SystemTime::now(), Scheme::EmailApi);
        assert_eq!(item.event().id, "evt_fixed");
        assert_eq!(item.event().created_at, at);
        assert_eq!(EmailApiFormat.created_at(&item), Some(SystemTime::from(at)));
    }

    #[test]
    fn extra_data_keys_follow_the_documented_ones() {
        use webhook_core::events::RawJson;
        let mut item = EmailApiItem::new(EmailApiEventType::Bounced, data())
            .id("evt_1")
            .created_at(DateTime::from_timestamp(0, 0).unwrap());
        let data = item.data_mut();
        data.unknown
            .insert("tags", RawJson::from_value(&["a", "b"]).unwrap());
        data.bounce_code = Some(webhook_core::senders::email_api::BounceCode::Text(
            "550".into(),
        ));
        EmailApiFormat.prepare(&mut item, SystemTime::now(), Scheme::EmailApi);
        let body = EmailApiFormat.render(&[&item]).unwrap().body;
        assert_eq!(
            std::str::from_utf8(body.bytes()).unwrap(),
            r#"{"id":"evt_1","type":"bounced","created_at":"1970-01-01T00:00:00Z","data":{"email_id":"msg_1","from":"a@example.com","to":"b@example.com","bounce_code":"550","tags":["a","b"]}}"#
        );
    }

    #[test]
    fn two_items_never_share_a_request() {
        let item = EmailApiItem::new(EmailApiEventType::Queued, data()).id("x");
        assert!(matches!(
            EmailApiFormat.render(&[&item, &item]),
            Err(RenderError::Request(_))
        ));
    }
}
