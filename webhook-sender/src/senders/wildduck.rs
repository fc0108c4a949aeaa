//! WildDuck events, one per request, for one subscription: [`WildDuckItem`] and the
//! [`WildDuckFormat`] that filters and renders them.
//!
//! The body is `serde_json` of webhook-core's own model
//! ([`WildDuckPayload`](webhook_core::senders::wildduck::WildDuckPayload)): compact
//! `{"id","time","ev",…}` as WildDuck's `JSON.stringify` writes it, `time` in
//! milliseconds. WildDuck signs nothing: the endpoint authenticates with what its URL
//! carries (`https://user:pass@host/…`, sent as `Authorization: Basic`, or a token in
//! the query string).
//!
//! # Subscriptions
//!
//! WildDuck sends one request per (event, matching subscription). A
//! [`WildDuckFormat`] is one subscription (webhook-core's [`Subscription`], matched by
//! webhook-core's matcher): its `type` patterns (an exact name, `*`, or a prefix such
//! as `user.*`) and optional `user`. A subscription with a user receives only that
//! user's events and server-wide ones (events without `user`); one without receives
//! every user's. An event the subscription does not match is never sent: it ends in
//! [`DeliveryOutcome::Filtered`](crate::DeliveryOutcome::Filtered), counted in
//! [`Stats::filtered`](crate::Stats::filtered). [`MatchMode::WildDuckCompat`] simulates
//! WildDuck 1.45's own matcher, under which a three-level prefix such as
//! `address.user.*` never fires.
//!
//! # Ids and times
//!
//! An item without an explicit id gets `<ObjectId>:<n>` when submitted: a fresh
//! MongoDB-style ObjectId (24 hex) and the subscription's delivery index `n`
//! ([`WildDuckFormat::delivery_index`], 1 by default); one without `time` gets the
//! submit time in milliseconds. Both are stamped once, so every retry carries the same
//! `id`, the receivers' deduplication key.

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, SystemTime},
};

use chrono::{DateTime, Utc};
use webhook_core::{
    Scheme,
    filter::{MatchMode, Pattern, PatternError, Subscription},
    senders::wildduck::{WildDuckEventType, WildDuckPayload},
};

use crate::{
    Body, DeliveryPolicy, Endpoint, Format, RenderError, Rendered, Retry, Schedule, Sender,
    SenderBuilder, Success, key_order,
};

/// The key order of an event built with [`WildDuckItem::new`]: `id`, `time`, `ev`,
/// `user`, then the event's own keys; keys not listed follow in the order added.
pub const WILDDUCK_KEY_ORDER: &[&str] = &[
    "id",
    "time",
    "ev",
    "user",
    "username",
    "name",
    "address",
    "value",
    "result",
    "previous",
    "current",
    "domainalias",
    "alias",
    "domain",
    "dkim",
    "selector",
    "fingerprint",
    "cert",
    "servername",
    "filter",
    "asp",
    "description",
    "credential",
    "mailbox",
    "path",
    "message",
    "from",
    "to",
    "cc",
    "bcc",
    "messageId",
    "subject",
    "date",
    "type",
    "target",
];

/// One WildDuck event waiting to be sent.
///
/// ```
/// use webhook_core::senders::wildduck::WildDuckEventType;
/// use webhook_sender::WildDuckItem;
///
/// let mut item = WildDuckItem::new(WildDuckEventType::MailboxCreated, Some("6561f0c2a1b2c3d4e5f60719"));
/// item.event_mut().mailbox = Some("6561f0c2a1b2c3d4e5f6071a".into());
/// item.event_mut().path = Some("Archive/2024".into());
/// assert_eq!(item.event().event_type.as_str(), "mailbox.created");
/// assert_eq!(item.event().user.as_deref(), Some("6561f0c2a1b2c3d4e5f60719"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WildDuckItem {
    event: WildDuckPayload<'static>,
    stamp_id: bool,
    stamp_time: bool,
    reorder: bool,
}

impl WildDuckItem {
    /// An event of `event_type` about `user` (`None` for server-wide events: DKIM keys,
    /// certificates, domain aliases, …); its `id` and `time` are stamped when it is
    /// submitted unless set before. A name WildDuck does not publish is
    /// `WildDuckEventType::from_name("…")`.
    pub fn new(event_type: WildDuckEventType<'static>, user: Option<&str>) -> Self {
        let mut event = WildDuckPayload::new("".into(), DateTime::<Utc>::UNIX_EPOCH, event_type);
        event.user = user.map(|user| user.to_owned().into());
        Self {
            event,
            stamp_id: true,
            stamp_time: true,
            reorder: true,
        }
    }

    /// A finished event, sent exactly as it is (nothing stamped).
    pub fn from_event(event: WildDuckPayload<'static>) -> Self {
        Self {
            event,
            stamp_id: false,
            stamp_time: false,
            reorder: false,
        }
    }

    /// Sets the id (otherwise `<ObjectId>:<n>`, made at submit).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.event.id = id.into().into();
        self.stamp_id = false;
        self
    }

    /// Sets `time` (milliseconds are sent; otherwise the submit time).
    pub fn time(mut self, at: DateTime<Utc>) -> Self {
        self.event.time = at;
        self.stamp_time = false;
        self
    }

    /// The event as it will be sent (once stamped).
    pub fn event(&self) -> &WildDuckPayload<'static> {
        &self.event
    }

    /// The event, to set its own keys (`mailbox`, `path`, …). Set `id` and `time`
    /// with [`id`](Self::id) and [`time`](Self::time), or they are stamped over.
    pub fn event_mut(&mut self) -> &mut WildDuckPayload<'static> {
        &mut self.event
    }

    /// The finished event.
    pub fn into_event(self) -> WildDuckPayload<'static> {
        self.event
    }

    fn stamp(&mut self, now: SystemTime, index: u32) {
        if self.stamp_id {
            self.event.id = format!("{}:{index}", new_object_id(now)).into();
            self.stamp_id = false;
        }
        if self.stamp_time {
            self.event.time = DateTime::<Utc>::from(now);
            self.stamp_time = false;
        }
        // webhook-core writes keys added to a built object first: put them last.
        if std::mem::take(&mut self.reorder)
            && !self.event.unknown.is_empty()
            && let Ok(event) = key_order::reorder(&self.event, WILDDUCK_KEY_ORDER)
        {
            self.event = event;
        }
    }
}

impl From<WildDuckPayload<'static>> for WildDuckItem {
    fn from(event: WildDuckPayload<'static>) -> Self {
        Self::from_event(event)
    }
}

/// A MongoDB-style ObjectId, 24 lowercase hex digits: 4 bytes of Unix seconds (`now`),
/// 5 random bytes fixed per process, 3 bytes of a counter starting at a random value.
pub fn new_object_id(now: SystemTime) -> String {
    static PROCESS: OnceLock<[u8; 5]> = OnceLock::new();
    static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
    let process = PROCESS.get_or_init(|| {
        let mut bytes = [0u8; 5];
        fastrand::fill(&mut bytes);
        bytes
    });
    let counter = COUNTER
        .get_or_init(|| AtomicU32::new(fastrand::u32(..)))
        .fetch_add(1, Ordering::Relaxed)
        & 0x00ff_ffff;
    // ObjectIds hold 32 bits of seconds, as MongoDB's do (they wrap in 2106).
    let seconds = crate::clock::unix_seconds(now) as u32;
    let mut id = format!("{seconds:08x}");
    for byte in process {
        id.push_str(&format!("{byte:02x}"));
    }
    id.push_str(&format!("{counter:06x}"));
    id
}

/// WildDuck events as a sender body format for one subscription: one event per
/// request, compact JSON, the same bytes on every attempt; events the subscription
/// does not match are filtered out at submit.
///
/// ```
/// use webhook_core::senders::wildduck::{WildDuckPayload, WildDuckEventType};
/// use webhook_core::{Credentials, MediaType, ParseContext, Scheme, Secret, Verifier, parse_unverified};
/// use webhook_sender::{Endpoint, Format, WildDuckFormat, WildDuckItem};
///
/// // Every `user.*` event of one user, plus server-wide events.
/// let format = WildDuckFormat::subscribe(["user.*"], Some("6561f0c2a1b2c3d4e5f60719"))?;
/// let ours = WildDuckItem::new(WildDuckEventType::UserPasswordChanged, Some("6561f0c2a1b2c3d4e5f60719"));
/// let theirs = WildDuckItem::new(WildDuckEventType::UserPasswordChanged, Some("0000000000000000000000aa"));
/// let mailbox = WildDuckItem::new(WildDuckEventType::MailboxCreated, Some("6561f0c2a1b2c3d4e5f60719"));
/// assert!(format.accepts(&ours));
/// assert!(!format.accepts(&theirs) && !format.accepts(&mailbox));
///
/// let item = ours.id("6561f0c2a1b2c3d4e5f60718:1")
///     .time(chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap());
/// let rendered = format.render(&[&item])?;
/// assert_eq!(
///     rendered.body.bytes(),
///     r#"{"id":"6561f0c2a1b2c3d4e5f60718:1","time":1700000000000,"ev":"user.password.changed","user":"6561f0c2a1b2c3d4e5f60719"}"#
/// );
///
/// // Unsigned; authenticated by the URL's credentials, sent as Basic auth.
/// let endpoint = Endpoint::new(Scheme::WildDuck, "https://hook:s3cret@app.example/wildduck")?;
/// let request = endpoint.request(&rendered.body, None, std::time::SystemTime::now())?;
/// let verifier = Verifier::builder(Scheme::WildDuck)
///     .credentials(Credentials::basic("hook", Secret::new("s3cret")))
///     .build()?;
/// assert!(verifier.verify(request.headers(), request.body()).is_ok());
/// let back: WildDuckPayload<'static> =
///     parse_unverified(request.body(), ParseContext::new(MediaType::Json))?;
/// assert_eq!(&back, item.event());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct WildDuckFormat {
    subscription: Subscription,
    mode: MatchMode,
    index: u32,
}

impl Default for WildDuckFormat {
    /// A subscription to `*` for every user.
    fn default() -> Self {
        Self::new(Subscription::new([Pattern::All], None))
    }
}

impl WildDuckFormat {
    /// The format for `subscription`, matching with the documented meaning of its
    /// patterns, delivery index 1.
    pub fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            mode: MatchMode::Documented,
            index: 1,
        }
    }

    /// The format for a subscription given as WildDuck stores it: its `type` list (each
    /// read with [`Pattern::wildduck`]: trimmed, lowercased, at most 128 characters) and
    /// optional `user`.
    pub fn subscribe<S: AsRef<str>>(
        types: impl IntoIterator<Item = S>,
        user: Option<&str>,
    ) -> Result<Self, PatternError> {
        Subscription::wildduck(types, user).map(Self::new)
    }

    /// Matches patterns in `mode` ([`MatchMode::WildDuckCompat`]: as WildDuck 1.45
    /// actually does).
    pub fn match_mode(mut self, mode: MatchMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets `n` of the stamped ids `<ObjectId>:<n>`: which of the event's matching
    /// subscriptions this one is (from 1; 0 is taken as 1).
    pub fn delivery_index(mut self, n: u32) -> Self {
        self.index = n.max(1);
        self
    }

    /// The subscription.
    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }
}

impl Format for WildDuckFormat {
    type Item = WildDuckItem;

    fn max_batch(&self) -> usize {
        1
    }

    fn prepare(&self, item: &mut WildDuckItem, now: SystemTime, _scheme: Scheme) {
        item.stamp(now, self.index);
    }

    fn accepts(&self, item: &WildDuckItem) -> bool {
        self.subscription.matches_with(
            item.event.event_type.as_str(),
            item.event.user.as_deref(),
            self.mode,
        )
    }

    fn created_at(&self, item: &WildDuckItem) -> Option<SystemTime> {
        (!item.stamp_time).then(|| SystemTime::from(item.event.time))
    }

    fn label(&self, item: &WildDuckItem) -> String {
        format!("{} {}", item.event.event_type.as_str(), item.event.id)
    }

    fn render(&self, items: &[&WildDuckItem]) -> Result<Rendered, RenderError> {
        // The engine never hands this format more than `max_batch` (1) items.
        let [item] = items else {
            return Err(RenderError::Request(format!(
                "a WildDuck event travels alone, got {} in one request",
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

impl Sender<WildDuckFormat> {
    /// A WildDuck sender for one subscription: `format` under [`DeliveryPolicy::wildduck`].
    ///
    /// ```no_run
    /// use webhook_core::{Scheme, senders::wildduck::WildDuckEventType};
    /// use webhook_sender::{Endpoint, Sender, WildDuckFormat, WildDuckItem};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let endpoint = Endpoint::new(Scheme::WildDuck, "https://hook:s3cret@app.example/wildduck")?;
    /// let sender = Sender::wildduck(endpoint, WildDuckFormat::subscribe(["mailbox.*"], None)?).build()?;
    /// sender.send(WildDuckItem::new(WildDuckEventType::MailboxCreated, Some("6561f0c2a1b2c3d4e5f60719")))?;
    /// sender.send(WildDuckItem::new(WildDuckEventType::UserCreated, Some("6561f0c2a1b2c3d4e5f60719")))?;
    /// let stats = sender.close().await;
    /// assert_eq!((stats.delivered, stats.filtered), (1, 1));
    /// # Ok(()) }
    /// ```
    pub fn wildduck(endpoint: Endpoint, format: WildDuckFormat) -> SenderBuilder<WildDuckFormat> {
        Sender::builder(endpoint, format, DeliveryPolicy::wildduck())
    }
}

/// The delivery preset of this sender.
impl DeliveryPolicy {
    /// WildDuck (BullMQ): 5 attempts in all with exponential backoff from 2 s (waits 2,
    /// 4, 8, 16 s), one delivery at a time, success on any 2xx (a `410 Gone` is retried
    /// like any failure, as the published code does), and **no timeout**, as its axios
    /// client has none: set [`DeliveryPolicy::timeout`] when a receiver may hang.
    pub fn wildduck() -> Self {
        Self {
            throttle: Duration::ZERO,
            max_in_flight: 1,
            max_batch: Some(1),
            retry: Retry::Schedule(Schedule::exponential(Duration::from_secs(2), 2.0, 5)),
            lossy: None,
            success: Success::Any2xx,
            timeout: None,
            jitter: None,
            retry_on: crate::RetryOn::AnyFailure,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use webhook_core::events::RawJson;

    use super::*;

    const USER: &str = "6561f0c2a1b2c3d4e5f60719";

    fn item(ev: &str, user: Option<&str>) -> WildDuckItem {
        WildDuckItem::new(WildDuckEventType::from_name(ev.to_owned()), user)
    }

    #[test]
    fn stamps_object_id_with_index_and_millisecond_time_once() {
        let format = WildDuckFormat::default().delivery_index(2);
        let mut event = item("mailbox.created", Some(USER));
        event.event_mut().mailbox = Some("6561f0c2a1b2c3d4e5f6071a".into());
        event
            .event_mut()
            .unknown
            .insert("extra", RawJson::from_value(&1).unwrap());
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        format.prepare(&mut event, now, Scheme::WildDuck);
        let id = event.event().id.to_string();
        let (object_id, n) = id.split_once(':').unwrap();
        assert_eq!(n, "2");
        assert_eq!(object_id.len(), 24);
        assert!(object_id.starts_with("6553f100"), "{object_id}"); // 1_700_000_000
        assert!(object_id.bytes().all(|b| b.is_ascii_hexdigit()));
        let first = format.render(&[&event]).unwrap();
        assert_eq!(first, format.render(&[&event]).unwrap());
        assert_eq!(
            std::str::from_utf8(first.body.bytes()).unwrap(),
            format!(
                r#"{{"id":"{id}","time":1700000000123,"ev":"mailbox.created","user":"{USER}","mailbox":"6561f0c2a1b2c3d4e5f6071a","extra":1}}"#
            )
        );
        assert_ne!(new_object_id(now), new_object_id(now));
    }

    #[test]
    fn subscription_semantics() {
        let global = WildDuckFormat::subscribe(["user.*", "dkim.created"], None).unwrap();
        assert!(global.accepts(&item("user.created", Some(USER))));
        assert!(global.accepts(&item("user.password.changed", Some("other"))));
        assert!(global.accepts(&item("dkim.created", None)));
        assert!(!global.accepts(&item("dkim.deleted", None)));
        assert!(!global.accepts(&item("mailbox.created", Some(USER))));

        let mine = WildDuckFormat::subscribe(["*"], Some(USER)).unwrap();
        assert!(mine.accepts(&item("mailbox.created", Some(USER))));
        assert!(!mine.accepts(&item("mailbox.created", Some("other"))));
        // Server-wide events reach user-scoped subscriptions too.
        assert!(mine.accepts(&item("cert.updated", None)));

        // Three-level prefixes: documented meaning vs WildDuck's own matcher.
        let deep = WildDuckFormat::subscribe(["address.user.*"], None).unwrap();
        assert!(deep.accepts(&item("address.user.created", Some(USER))));
        let compat = deep.match_mode(MatchMode::WildDuckCompat);
        assert!(!compat.accepts(&item("address.user.created", Some(USER))));
        // Patterns are stored as WildDuck stores them.
        let upper = WildDuckFormat::subscribe([" MFA.* "], None).unwrap();
        assert!(upper.accepts(&item("mfa.totp.enabled", Some(USER))));
    }
}
