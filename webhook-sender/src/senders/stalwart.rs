//! Stalwart batches, byte for byte: [`StalwartEvent`], event ids, and the
//! [`StalwartFormat`] that renders them.
//!
//! The body is `serde_json` of webhook-core's own Stalwart model
//! ([`WebhookEvents`] of [`WebhookEvent`]s), so the sender and the receiver share one
//! definition of the format: compact `{"events":[…]}`, keys `id`, `createdAt`, `type`,
//! `data` in that order, `createdAt` in whole UTC seconds with `Z`.
//!
//! # Event ids
//!
//! Stalwart v0.16.11+ writes `{unix_seconds}{counter}{type_id}`: the event's timestamp,
//! a process-wide counter that starts at 0 and is incremented **each time an event is
//! serialized**, and the event type's numeric id, concatenated. A retried event is
//! serialized again, so it gets a new id while its `type`, `createdAt` and `data` stay
//! byte-identical. [`IdStyle::Legacy`] gives the v0.9–v0.16.10 form `{unix_seconds}{type_id}`,
//! stable across retries and shared by same-type events of one second.
//!
//! The type id is [`EventType::type_id`]. For a type name this crate does not know
//! (newer than its table, or made up in a test) it is [`UNKNOWN_TYPE_ID`], 65535: outside
//! Stalwart's range (0..=636), so such an id can never be mistaken for a real type's, and
//! still all digits, as receivers expect. [`StalwartEvent::with_type_id`] overrides it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use webhook_core::{
    Scheme,
    filter::EventFilter,
    senders::stalwart::{Data, DataMap, EventType, WebhookEvent, WebhookEvents},
};

use crate::{Body, DeliveryPolicy, Format, RenderError, Rendered, Retry, Success};

/// The type id used for event types without a known numeric id.
pub const UNKNOWN_TYPE_ID: u16 = u16::MAX;

/// One Stalwart event waiting to be sent.
///
/// ```
/// use webhook_core::senders::stalwart::{DataMap, Key, Value};
/// use webhook_sender::StalwartEvent;
///
/// let mut data = DataMap::new();
/// data.push(Key::AccountName, Value::from("jdoe@example.org"));
/// let event = StalwartEvent::from_map("auth.success", &data);
/// assert_eq!(event.event_type().as_str(), "auth.success");
/// assert_eq!(event.data().as_str(), r#"{"accountName":"jdoe@example.org"}"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StalwartEvent {
    event_type: EventType,
    created_at: Option<DateTime<Utc>>,
    data: Data<'static>,
    type_id: Option<u16>,
}

impl StalwartEvent {
    /// An event of `event_type` with `data`; its `createdAt` is stamped by the sender when
    /// it is submitted (Stalwart stamps events when its collector takes them).
    pub fn new(event_type: impl Into<EventType>, data: Data<'static>) -> Self {
        Self {
            event_type: event_type.into(),
            created_at: None,
            data,
            type_id: None,
        }
    }

    /// An event whose data is `map`, serialized compactly in its order.
    pub fn from_map(event_type: impl Into<EventType>, map: &DataMap<'_>) -> Self {
        Self::new(event_type, Data::from_map(map))
    }

    /// Sets `createdAt` (truncated to whole seconds when sent).
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = Some(truncate(at));
        self
    }

    /// Uses `type_id` in the event id instead of the one looked up from the type name.
    pub fn with_type_id(mut self, type_id: u16) -> Self {
        self.type_id = Some(type_id);
        self
    }

    /// The event type.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The data object, exactly as it will be sent.
    pub fn data(&self) -> &Data<'static> {
        &self.data
    }

    /// The `createdAt` time, once set or stamped.
    pub fn created_at_time(&self) -> Option<DateTime<Utc>> {
        self.created_at
    }

    /// The numeric id that ends this event's ids.
    pub fn type_id(&self) -> u16 {
        self.type_id
            .or_else(|| self.event_type.type_id())
            .unwrap_or(UNKNOWN_TYPE_ID)
    }

    pub(crate) fn stamp(&mut self, now: SystemTime) {
        if self.created_at.is_none() {
            self.created_at = Some(truncate(DateTime::<Utc>::from(now)));
        }
    }

    fn timestamp(&self) -> i64 {
        self.created_at.map_or(0, |at| at.timestamp())
    }
}

fn truncate(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

/// Which event id form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdStyle {
    /// `{unix_seconds}{counter}{type_id}` (Stalwart v0.16.11+): new on every serialization.
    #[default]
    Counter,
    /// `{unix_seconds}{type_id}` (Stalwart v0.9.0–v0.16.10): the same on every retry.
    Legacy,
}

/// Makes Stalwart event ids. Clones share one counter.
///
/// ```
/// use webhook_sender::{IdGenerator, IdStyle};
///
/// let ids = IdGenerator::new(IdStyle::Counter);
/// assert_eq!(ids.next(1_755_784_815, 380), "17557848150380");
/// assert_eq!(ids.next(1_755_784_816, 283), "17557848161283");
/// let legacy = IdGenerator::new(IdStyle::Legacy);
/// assert_eq!(legacy.next(1_755_784_900, 37), "175578490037");
/// ```
#[derive(Debug, Clone)]
pub struct IdGenerator {
    style: IdStyle,
    counter: Arc<AtomicU64>,
}

static PROCESS_COUNTER: std::sync::OnceLock<Arc<AtomicU64>> = std::sync::OnceLock::new();

impl IdGenerator {
    /// A generator with its own counter, starting at 0 (reproducible ids in tests).
    pub fn new(style: IdStyle) -> Self {
        Self {
            style,
            counter: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A generator sharing the process-wide counter, as every webhook of one Stalwart
    /// process does. The default of [`StalwartFormat`].
    pub fn process_wide(style: IdStyle) -> Self {
        Self {
            style,
            counter: PROCESS_COUNTER
                .get_or_init(|| Arc::new(AtomicU64::new(0)))
                .clone(),
        }
    }

    /// The id style.
    pub fn style(&self) -> IdStyle {
        self.style
    }

    /// The id of one serialization of an event of timestamp `unix_seconds` and type
    /// `type_id`; advances the counter (counter style).
    pub fn next(&self, unix_seconds: i64, type_id: u16) -> String {
        match self.style {
            IdStyle::Counter => {
                let counter = self.counter.fetch_add(1, Ordering::Relaxed);
                format!("{unix_seconds}{counter}{type_id}")
            }
            IdStyle::Legacy => format!("{unix_seconds}{type_id}"),
        }
    }
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::process_wide(IdStyle::Counter)
    }
}

/// Renders a batch as Stalwart does for one POST, with fresh ids from `ids`.
///
/// ```
/// use chrono::DateTime;
/// use webhook_core::senders::stalwart::Data;
/// use webhook_sender::{IdGenerator, IdStyle, StalwartEvent, render_batch};
///
/// let event = StalwartEvent::new("auth.success", Data::empty())
///     .created_at(DateTime::from_timestamp(1_755_784_900, 0).unwrap())
///     .with_type_id(37);
/// let ids = IdGenerator::new(IdStyle::Counter);
/// let body = render_batch(&[&event], &ids)?;
/// assert_eq!(
///     body.as_slice(),
///     br#"{"events":[{"id":"1755784900037","createdAt":"2025-08-21T14:01:40Z","type":"auth.success","data":{}}]}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn render_batch(
    events: &[&StalwartEvent],
    ids: &IdGenerator,
) -> Result<Vec<u8>, serde_json::Error> {
    render_with_ids(events, ids).map(|(body, _)| body)
}

fn render_with_ids(
    events: &[&StalwartEvent],
    ids: &IdGenerator,
) -> Result<(Vec<u8>, Vec<String>), serde_json::Error> {
    let mut wire_ids = Vec::with_capacity(events.len());
    let batch = WebhookEvents::new(
        events
            .iter()
            .map(|event| {
                let id = ids.next(event.timestamp(), event.type_id());
                wire_ids.push(id.clone());
                WebhookEvent::new(
                    id,
                    event.created_at.unwrap_or_default(),
                    event.event_type.clone(),
                    event.data.clone(),
                )
            })
            .collect(),
    );
    Ok((serde_json::to_vec(&batch)?, wire_ids))
}

/// The event type Stalwart never delivers to a webhook, whatever its filter says (a
/// failed webhook delivery reporting itself would loop).
pub const WEBHOOK_ERROR_EVENT: &str = "telemetry.webhook-error";

/// Stalwart batches as a sender body format: every pending event in one
/// `{"events":[…]}` POST, ids fresh on every attempt.
///
/// # Event filter
///
/// A Stalwart webhook has `events` and `eventsPolicy` (`include` or `exclude`): which
/// event types it is sent. [`StalwartFormat::with_filter`] sets them as webhook-core's
/// [`EventFilter`] (the same matcher receivers use); the default, like Stalwart's
/// registry default, excludes nothing. The filter is applied when an event is
/// submitted: an event it refuses is never sent and ends in
/// [`DeliveryOutcome::Filtered`](crate::DeliveryOutcome::Filtered), counted in
/// [`Stats::filtered`](crate::Stats::filtered). On top of the filter, as in Stalwart,
/// [`WEBHOOK_ERROR_EVENT`] is never delivered.
///
/// ```
/// use webhook_core::senders::stalwart::Data;
/// use webhook_core::filter::{EventFilter, FilterPolicy};
/// use webhook_sender::{Format, StalwartEvent, StalwartFormat};
///
/// let format = StalwartFormat::default()
///     .with_filter(EventFilter::parse(FilterPolicy::Include, ["auth.*", "delivery.delivered"])?);
/// assert!(format.accepts(&StalwartEvent::new("auth.success", Data::empty())));
/// assert!(format.accepts(&StalwartEvent::new("delivery.delivered", Data::empty())));
/// assert!(!format.accepts(&StalwartEvent::new("smtp.connection-start", Data::empty())));
///
/// let quiet = StalwartFormat::default()
///     .with_filter(EventFilter::parse(FilterPolicy::Exclude, ["*-error"])?);
/// assert!(!quiet.accepts(&StalwartEvent::new("store.sqlite-error", Data::empty())));
/// assert!(quiet.accepts(&StalwartEvent::new("auth.success", Data::empty())));
/// # Ok::<(), webhook_core::filter::PatternError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StalwartFormat {
    ids: IdGenerator,
    filter: EventFilter,
}

impl StalwartFormat {
    /// The format with ids from `ids`, sending every event type.
    pub fn new(ids: IdGenerator) -> Self {
        Self {
            ids,
            filter: EventFilter::default(),
        }
    }

    /// Sends only the event types `filter` lets through (Stalwart's `events` +
    /// `eventsPolicy`).
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The id generator.
    pub fn ids(&self) -> &IdGenerator {
        &self.ids
    }

    /// The event filter.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }
}

impl Format for StalwartFormat {
    type Item = StalwartEvent;

    fn max_batch(&self) -> usize {
        usize::MAX
    }

    fn prepare(&self, event: &mut StalwartEvent, now: SystemTime, _scheme: Scheme) {
        event.stamp(now);
    }

    fn accepts(&self, event: &StalwartEvent) -> bool {
        let name = event.event_type.as_str();
        name != WEBHOOK_ERROR_EVENT && self.filter.matches(name)
    }

    fn created_at(&self, event: &StalwartEvent) -> Option<SystemTime> {
        event.created_at.map(SystemTime::from)
    }

    fn label(&self, event: &StalwartEvent) -> String {
        event.event_type.as_str().to_owned()
    }

    fn render(&self, events: &[&StalwartEvent]) -> Result<Rendered, RenderError> {
        let (bytes, wire_ids) = render_with_ids(events, &self.ids)
            .map_err(|err| RenderError::Serialize(err.to_string()))?;
        Ok(Rendered {
            body: Body::json(bytes),
            message_id: None,
            wire_ids,
        })
    }
}

/// Stalwart's backlog cap in lossy mode (events), from its collector.
pub const STALWART_LOSSY_CAP: usize = 32_768;

/// The delivery preset of this sender.
impl DeliveryPolicy {
    /// Stalwart's webhook delivery (v0.9 to v0.16 defaults): at most one POST in flight,
    /// one POST per `throttle` (1 s) carrying every pending event, a failed batch
    /// re-queued whole with no backoff, events dropped once 5 minutes old when their batch
    /// comes back, success on any 2xx, 30 s timeout, not lossy.
    pub fn stalwart() -> Self {
        Self {
            throttle: Duration::from_secs(1),
            max_in_flight: 1,
            max_batch: None,
            retry: Retry::Requeue {
                discard_after: Some(Duration::from_secs(300)),
            },
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
    use webhook_core::senders::stalwart::{Key, Value};

    use super::*;

    fn event(ts: i64, ty: &str, type_id: u16) -> StalwartEvent {
        let mut data = DataMap::new();
        data.push(Key::RemoteIp, Value::from("192.0.2.99"));
        StalwartEvent::from_map(ty, &data)
            .created_at(DateTime::from_timestamp(ts, 0).unwrap())
            .with_type_id(type_id)
    }

    #[test]
    fn every_serialization_gets_a_new_id_and_the_same_content() {
        let format = StalwartFormat::new(IdGenerator::new(IdStyle::Counter));
        let a = event(1_755_784_900, "auth.success", 37);
        let b = event(1_755_784_901, "security.authentication-ban", 333);
        let first = format.render(&[&a, &b]).unwrap();
        let retry = format.render(&[&a, &b]).unwrap();
        assert_eq!(first.wire_ids, ["1755784900037", "17557849011333"]);
        assert_eq!(retry.wire_ids, ["1755784900237", "17557849013333"]);
        let parse = |r: &Rendered| {
            serde_json::from_slice::<WebhookEvents<'_>>(r.body.bytes())
                .unwrap()
                .into_owned()
        };
        let (one, two) = (parse(&first), parse(&retry));
        for (x, y) in one.iter().zip(two.iter()) {
            assert_ne!(x.id(), y.id());
            assert_eq!(x.fingerprint(), y.fingerprint());
        }
    }

    #[test]
    fn legacy_ids_are_stable_and_unknown_types_fall_back() {
        let legacy = StalwartFormat::new(IdGenerator::new(IdStyle::Legacy));
        let e = event(1_755_784_900, "auth.success", 37);
        assert_eq!(legacy.render(&[&e]).unwrap().wire_ids, ["175578490037"]);
        assert_eq!(legacy.render(&[&e]).unwrap().wire_ids, ["175578490037"]);
        let unknown = StalwartEvent::new("x-test.never-a-real-type", Data::empty())
            .created_at(DateTime::from_timestamp(1_755_784_900, 0).unwrap());
        assert_eq!(unknown.type_id(), UNKNOWN_TYPE_ID);
        assert_eq!(
            legacy.render(&[&unknown]).unwrap().wire_ids,
            ["175578490065535"]
        );
    }

    #[test]
    fn filter_include_exclude_and_the_webhook_error_rule() {
        use webhook_core::filter::FilterPolicy;
        let accepts = |format: &StalwartFormat, ty: &str| {
            format.accepts(&StalwartEvent::new(ty, Data::empty()))
        };
        let all = StalwartFormat::default();
        assert!(accepts(&all, "auth.success"));
        assert!(!accepts(&all, WEBHOOK_ERROR_EVENT));
        let include = StalwartFormat::default()
            .with_filter(EventFilter::parse(FilterPolicy::Include, ["auth.*", "*-ban"]).unwrap());
        assert!(accepts(&include, "auth.failed"));
        assert!(accepts(&include, "security.authentication-ban"));
        assert!(!accepts(&include, "delivery.delivered"));
        // Even an explicit include never lets the webhook-error event through.
        let explicit = StalwartFormat::default()
            .with_filter(EventFilter::parse(FilterPolicy::Include, [WEBHOOK_ERROR_EVENT]).unwrap());
        assert!(!accepts(&explicit, WEBHOOK_ERROR_EVENT));
        let exclude = StalwartFormat::default().with_filter(
            EventFilter::parse(FilterPolicy::Exclude, ["smtp.*", "auth.success"]).unwrap(),
        );
        assert!(!accepts(&exclude, "smtp.connection-start"));
        assert!(!accepts(&exclude, "auth.success"));
        assert!(accepts(&exclude, "auth.failed"));
    }

    #[test]
    fn created_at_is_whole_seconds() {
        let mut e = StalwartEvent::new("auth.success", Data::empty());
        e.stamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_755_784_900_999));
        let body = StalwartFormat::default().render(&[&e]).unwrap();
        let text = std::str::from_utf8(body.body.bytes()).unwrap();
        assert!(
            text.contains(r#""createdAt":"2025-08-21T14:01:40Z""#),
            "{text}"
        );
    }
}
