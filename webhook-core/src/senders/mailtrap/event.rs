//! One Mailtrap event: an email-sending event, an audit-log event, or one of a kind
//! this version does not know, told apart by the `event` string.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};

use crate::events::fields::{
    Builder, Codec, FromJson, IntoStatic, Marker, Mode, Plain, RawJson, Seed, UnixSeconds,
    json_object, replay, string_enum, visit_entries,
};

/// The `event` prefix of audit-log events (`activity_log.user.updated`).
pub const AUDIT_LOG_PREFIX: &str = "activity_log.";

/// One event of a Mailtrap webhook body.
///
/// Which variant is decided by the `event` string: one of the documented sending
/// kinds ([`EventKind`]) gives [`Sending`](Self::Sending); `activity_log.…` gives
/// [`Audit`](Self::Audit); any other string gives [`Sending`](Self::Sending) with
/// [`EventKind::Unknown`] when the event has the sending fields (`timestamp`,
/// `event_id`, `message_id`, `email`, with their documented types), and
/// [`Unknown`](Self::Unknown) otherwise, so that a new kind of event is never
/// refused.
///
/// ```
/// use webhook_core::senders::mailtrap::{EventKind, MailtrapEvent};
///
/// fn handle(event: &MailtrapEvent<'_>) -> String {
///     match event {
///         MailtrapEvent::Sending(sent) => match sent.kind {
///             EventKind::Bounce | EventKind::SoftBounce => format!("bounce for {}", sent.email),
///             _ => format!("{} for {}", sent.kind, sent.email),
///         },
///         MailtrapEvent::Audit(audit) => format!("audit: {}", audit.action()),
///         MailtrapEvent::Unknown(other) => format!("unknown: {}", other.name),
///         _ => String::new(),
///     }
/// }
///
/// let sent: MailtrapEvent<'static> = serde_json::from_str(
///     r#"{"event":"soft bounce","timestamp":1716070000,"event_id":"e1","message_id":"m1","email":"a@example.com"}"#,
/// )?;
/// assert_eq!(handle(&sent), "bounce for a@example.com");
/// let audit: MailtrapEvent<'static> = serde_json::from_str(
///     r#"{"event":"activity_log.user.updated","description":"d","actor":{"name":"Mailtrap"},"timestamp":1735830138}"#,
/// )?;
/// assert_eq!(handle(&audit), "audit: user.updated");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailtrapEvent<'a> {
    /// An email-sending event (delivery, open, bounce, …).
    Sending(SendingEvent<'a>),
    /// An audit-log event (`activity_log.…`), sent to audit-log webhooks.
    Audit(AuditEvent<'a>),
    /// An event of a kind this version does not know and whose fields do not fit
    /// [`SendingEvent`]: every key kept raw.
    Unknown(UnknownEvent<'a>),
}

impl<'a> MailtrapEvent<'a> {
    /// The `event` string as sent (`delivery`, `soft bounce`,
    /// `activity_log.user.updated`, …).
    pub fn name(&self) -> &str {
        match self {
            Self::Sending(event) => event.kind.as_str(),
            Self::Audit(event) => &event.name,
            Self::Unknown(event) => &event.name,
        }
    }

    /// When the event happened, if the event says.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Sending(event) => Some(event.timestamp),
            Self::Audit(event) => Some(event.timestamp),
            Self::Unknown(event) => event.timestamp(),
        }
    }

    /// The deduplication key of a sending event (`event_id`).
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Self::Sending(event) => Some(&event.event_id),
            Self::Audit(_) | Self::Unknown(_) => None,
        }
    }

    /// The sending event, if this is one.
    pub fn as_sending(&self) -> Option<&SendingEvent<'a>> {
        match self {
            Self::Sending(event) => Some(event),
            _ => None,
        }
    }

    /// The audit-log event, if this is one.
    pub fn as_audit(&self) -> Option<&AuditEvent<'a>> {
        match self {
            Self::Audit(event) => Some(event),
            _ => None,
        }
    }

    /// The owned (`'static`) form.
    pub fn into_owned(self) -> MailtrapEvent<'static> {
        match self {
            Self::Sending(event) => MailtrapEvent::Sending(event.into_owned()),
            Self::Audit(event) => MailtrapEvent::Audit(event.into_owned()),
            Self::Unknown(event) => MailtrapEvent::Unknown(event.into_owned()),
        }
    }
}

impl Serialize for MailtrapEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Sending(event) => event.serialize(serializer),
            Self::Audit(event) => event.serialize(serializer),
            Self::Unknown(event) => event.serialize(serializer),
        }
    }
}

/// Copies every string (see [`BorrowedPayload`](crate::BorrowedPayload) for the
/// zero-copy path).
impl<'de, 'a> serde::Deserialize<'de> for MailtrapEvent<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::from_json::<crate::events::fields::CopyMode, D>(deserializer)
    }
}

impl IntoStatic for MailtrapEvent<'_> {
    type Static = MailtrapEvent<'static>;

    fn into_static(self) -> MailtrapEvent<'static> {
        self.into_owned()
    }
}

json_object! {
    /// An email-sending event. The fields are those of Mailtrap's documentation; which
    /// optional ones are present depends on the kind (noted on each).
    pub struct SendingEvent<'a> (SENDING_EVENT_FIELDS, pub(super) SendingEventBuilder, "a Mailtrap event object") {
        required {
            /// What happened (`event`).
            kind: EventKind<'a> as Plain = "event",
            /// When it happened (`timestamp`, Unix seconds).
            timestamp: DateTime<Utc> as UnixSeconds = "timestamp",
            /// The event's id (a UUID): **the deduplication key**, stable across
            /// retries.
            event_id: Cow<'a, str> as Plain = "event_id",
            /// The sent message's id (a UUID).
            message_id: Cow<'a, str> as Plain = "message_id",
            /// The recipient.
            email: Cow<'a, str> as Plain = "email",
        }
        optional {
            /// `transactional` or `bulk` (always present in current payloads).
            sending_stream: SendingStream<'a> as Plain = "sending_stream",
            /// The sending domain (always present in current payloads).
            sending_domain_name: Cow<'a, str> as Plain = "sending_domain_name",
            /// The message's category, when it had one.
            category: Cow<'a, str> as Plain = "category",
            /// The message's custom variables: an object of string, number and
            /// boolean values, kept raw (see [`SendingEvent::custom_variables_as`]).
            custom_variables: RawJson<'a> as JsonObject = "custom_variables",
            /// The receiving server's answer (`bounce`, `soft bounce`).
            response: Cow<'a, str> as Plain = "response",
            /// Its SMTP code (`bounce`, `soft bounce`).
            response_code: u16 as Plain = "response_code",
            /// Mailtrap's classification of the bounce (`bounce`, `soft bounce`), e.g.
            /// `spam`, `badrecipient`.
            bounce_category: Cow<'a, str> as Plain = "bounce_category",
            /// Why (`suspension`, `reject`).
            reason: Cow<'a, str> as Plain = "reason",
            /// The recipient's IP address (`open`, `click`, `unsubscribe`).
            ip: Cow<'a, str> as Plain = "ip",
            /// The recipient's user agent (`open`, `click`, `unsubscribe`).
            user_agent: Cow<'a, str> as Plain = "user_agent",
            /// The clicked link (`click`).
            url: Cow<'a, str> as Plain = "url",
        }
    }
}

impl SendingEvent<'_> {
    /// Deserializes [`custom_variables`](Self::custom_variables) into `T` (for
    /// example a `HashMap<String, serde_json::Value>` or your own struct); `None`
    /// when the event has none.
    pub fn custom_variables_as<'s, T: serde::Deserialize<'s>>(
        &'s self,
    ) -> Option<Result<T, serde_json::Error>> {
        self.custom_variables.as_ref().map(RawJson::parse)
    }
}

string_enum! {
    /// The kind of an email-sending event (`event`), spelled as on the wire.
    pub enum EventKind<'a> {
        /// `delivery`: the receiving server accepted the message.
        Delivery = "delivery",
        /// `open`: the recipient opened it.
        Open = "open",
        /// `click`: the recipient clicked a link.
        Click = "click",
        /// `unsubscribe`: the recipient unsubscribed.
        Unsubscribe = "unsubscribe",
        /// `spam`: the recipient reported it as spam.
        Spam = "spam",
        /// `soft bounce` (with a space): a temporary failure.
        SoftBounce = "soft bounce",
        /// `bounce`: a permanent failure.
        Bounce = "bounce",
        /// `suspension`: the address was added to the suppression list.
        Suspension = "suspension",
        /// `reject`: Mailtrap refused to send.
        Reject = "reject",
    }
}

string_enum! {
    /// The sending stream a message went through.
    pub enum SendingStream<'a> {
        /// `transactional`.
        Transactional = "transactional",
        /// `bulk`.
        Bulk = "bulk",
    }
}

json_object! {
    /// An audit-log event: something changed in the Mailtrap account.
    pub struct AuditEvent<'a> (AUDIT_EVENT_FIELDS, AuditEventBuilder, "a Mailtrap audit-log event object") {
        required {
            /// The full `event` string, e.g. `activity_log.user.updated`.
            name: Cow<'a, str> as Plain = "event",
            /// A human-readable description.
            description: Cow<'a, str> as Plain = "description",
            /// Who did it (`{"name":"Mailtrap"}` for Mailtrap itself).
            actor: AuditParty<'a> as Plain = "actor",
            /// When (`timestamp`, Unix seconds).
            timestamp: DateTime<Utc> as UnixSeconds = "timestamp",
        }
        optional {
            /// What it was done to.
            resource: AuditParty<'a> as Plain = "resource",
            /// What changed: an object of `{"from": …, "to": …}` per attribute, kept raw.
            changes: RawJson<'a> as JsonObject = "changes",
        }
    }
}

impl AuditEvent<'_> {
    /// The action without the `activity_log.` prefix (`user.updated`).
    pub fn action(&self) -> &str {
        self.name
            .strip_prefix(AUDIT_LOG_PREFIX)
            .unwrap_or(&self.name)
    }
}

json_object! {
    /// The actor or the resource of an audit-log event.
    pub struct AuditParty<'a> (AUDIT_PARTY_FIELDS, AuditPartyBuilder, "an audit-log actor or resource object") {
        required {}
        optional {
            /// Its id: a number for actors, a string for resources.
            id: AuditId<'a> as Plain = "id",
            /// Its type (`user`, `sandbox`, …).
            kind: Cow<'a, str> as Plain = "type",
            /// Its name.
            name: Cow<'a, str> as Plain = "name",
        }
    }
}

/// The `id` of an audit-log actor (a number) or resource (a string), written back in
/// the form received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditId<'a> {
    /// `"id": 1`.
    Number(i64),
    /// `"id": "17"`.
    Text(Cow<'a, str>),
}

impl AuditId<'_> {
    /// The owned (`'static`) form.
    pub fn into_owned(self) -> AuditId<'static> {
        match self {
            Self::Number(number) => AuditId::Number(number),
            Self::Text(text) => AuditId::Text(text.into_static()),
        }
    }
}

impl fmt::Display for AuditId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

impl Serialize for AuditId<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(number) => serializer.serialize_i64(*number),
            Self::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl<'a> FromJson<'a> for AuditId<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        struct V<'a, M>(Marker<'a, M>);

        impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for V<'a, M> {
            type Value = AuditId<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string id")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(AuditId::Text(M::keep(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AuditId::Text(Cow::Owned(v.to_owned())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AuditId::Number(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(AuditId::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }

        deserializer.deserialize_any(V::<M>(PhantomData))
    }
}

impl IntoStatic for AuditId<'_> {
    type Static = AuditId<'static>;

    fn into_static(self) -> AuditId<'static> {
        self.into_owned()
    }
}

json_object! {
    /// An event of a kind this version does not know, whose fields do not fit
    /// [`SendingEvent`]: its `event` string, and every other key raw in
    /// [`unknown`](Self::unknown).
    pub struct UnknownEvent<'a> (UNKNOWN_EVENT_FIELDS, UnknownEventBuilder, "a Mailtrap event object") {
        required {
            /// The `event` string.
            name: Cow<'a, str> as Plain = "event",
        }
        optional {}
    }
}

impl UnknownEvent<'_> {
    /// The `timestamp`, when there is one holding Unix seconds.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        let secs = self.unknown.get_as::<i64>("timestamp")?.ok()?;
        DateTime::from_timestamp(secs, 0)
    }
}

/// A raw value that must be a JSON object (`custom_variables`, `changes`).
pub(crate) enum JsonObject {}

impl<'a> Codec<'a, RawJson<'a>> for JsonObject {
    fn de<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RawJson<'a>, D::Error> {
        let raw = M::raw(deserializer)?;
        if raw.get().starts_with('{') {
            Ok(raw)
        } else {
            Err(de::Error::invalid_type(
                de::Unexpected::Other("a non-object value"),
                &"a JSON object",
            ))
        }
    }

    fn ser<S: Serializer>(value: &RawJson<'a>, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

// ---------------------------------------------------------------------------------
// Telling the variants apart
// ---------------------------------------------------------------------------------

/// An entry read before the `event` key decided the variant.
pub(super) type Entry<'a> = (Cow<'a, str>, RawJson<'a>);

impl<'a> FromJson<'a> for MailtrapEvent<'a> {
    fn from_json<'de, M: Mode<'de, 'a>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor::<M>(PhantomData))
    }
}

struct EventVisitor<'a, M>(Marker<'a, M>);

impl<'de, 'a, M: Mode<'de, 'a>> Visitor<'de> for EventVisitor<'a, M> {
    type Value = MailtrapEvent<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Mailtrap event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Mailtrap writes `event` first; entries before it (if any) are kept raw and
        // replayed once the variant is known.
        let mut before = Vec::new();
        while let Some(key) = map.next_key_seed(Seed::<M, Cow<'a, str>>::new())? {
            if key == "event" {
                let name = map.next_value_seed(Seed::<M, Cow<'a, str>>::new())?;
                return finish_event::<M, A>(name, before, map);
            }
            before.push((key, map.next_value_seed(Seed::<M, RawJson<'a>>::new())?));
        }
        Err(de::Error::missing_field("event"))
    }
}

/// Reads the rest of an event object whose `event` string is `name`, after the
/// entries `before` it.
pub(super) fn finish_event<'de, 'a, M: Mode<'de, 'a>, A: MapAccess<'de>>(
    name: Cow<'a, str>,
    before: Vec<Entry<'a>>,
    mut map: A,
) -> Result<MailtrapEvent<'a>, A::Error> {
    let name = match EventKind::from_name(name) {
        EventKind::Unknown(name) => name,
        kind => {
            let mut builder = SendingEventBuilder::new();
            start::<_, A::Error>(&mut builder, before, "event", |builder| {
                builder.kind = Some(kind)
            })?;
            visit_entries::<M, _, A>(&mut builder, &mut map)?;
            return builder.finish().map(MailtrapEvent::Sending);
        }
    };
    if name.starts_with(AUDIT_LOG_PREFIX) {
        let mut builder = AuditEventBuilder::new();
        start::<_, A::Error>(&mut builder, before, "event", |builder| {
            builder.name = Some(name)
        })?;
        visit_entries::<M, _, A>(&mut builder, &mut map)?;
        return builder.finish().map(MailtrapEvent::Audit);
    }
    // A kind this version does not know: read everything raw, try the sending shape,
    // and keep the event raw if it does not fit.
    let mut after = Vec::new();
    while let Some(key) = map.next_key_seed(Seed::<M, Cow<'a, str>>::new())? {
        after.push((key, map.next_value_seed(Seed::<M, RawJson<'a>>::new())?));
    }
    let kind = EventKind::Unknown(name.clone());
    if let Ok(event) = sending_from_entries(kind, &before, &after) {
        return Ok(MailtrapEvent::Sending(event));
    }
    let mut builder = UnknownEventBuilder::new();
    start::<_, A::Error>(&mut builder, before, "event", |builder| {
        builder.name = Some(name)
    })?;
    for (key, value) in after {
        builder.unknown(key, value);
    }
    builder.finish().map(MailtrapEvent::Unknown)
}

fn sending_from_entries<'a>(
    kind: EventKind<'a>,
    before: &[Entry<'a>],
    after: &[Entry<'a>],
) -> Result<SendingEvent<'a>, serde_json::Error> {
    let mut builder = SendingEventBuilder::new();
    start(&mut builder, before.to_vec(), "event", |builder| {
        builder.kind = Some(kind)
    })?;
    for (key, value) in after {
        replay(&mut builder, key.clone(), value.clone())?;
    }
    builder.finish()
}

/// Replays the entries read before key `key`, then records that key, whose value
/// `set` stores.
fn start<'a, B: Builder<'a>, E: de::Error>(
    builder: &mut B,
    before: Vec<Entry<'a>>,
    key: &str,
    set: impl FnOnce(&mut B),
) -> Result<(), E> {
    for (name, value) in before {
        replay::<B, E>(builder, name, value)?;
    }
    let idx = B::index(key).ok_or_else(|| E::custom("internal: unknown dispatch key"))?;
    set(builder);
    builder.record(idx);
    Ok(())
}
