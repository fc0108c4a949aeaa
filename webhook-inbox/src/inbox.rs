//! [`Inbox`]: accept verified deliveries, query and act on what is stored, and spawn
//! the workers that run the handler.

use std::{fmt, path::Path, sync::Arc};

use http::HeaderMap;
use webhook_core::{
    Scheme, Verified,
    idempotency::Namespace,
    stored::{SplitEvent, StoredDelivery},
};

use crate::{
    accept::{Accepted, Content, NewDelivery, NewEvent},
    backend::Backend,
    error::InboxError,
    model::{
        DeliveryDetail, DeliveryId, DeliverySummary, EventDetail, EventId, EventKey, EventSummary,
        Stats, StoredHeader, StoredVerification,
    },
    query::{DeliveryFilter, EventFilter, Page, Purged, Retention, Selection},
    route::Route,
    sqlite::SqliteBackend,
    time::{Clock, SystemClock, Timestamp},
    worker::WorkerPoolBuilder,
};

/// Bodies larger than this are split on tokio's blocking pool rather than on the
/// accepting task (a 48 MiB Stalwart batch takes a noticeable fraction of a second).
const SPLIT_INLINE_MAX: usize = 256 * 1024;

/// The bytes of bodies an inbox splits and commits at once, across all its accepts.
///
/// While a delivery is split and committed the inbox holds each event's range, type
/// and key: for a batch of small events, two to three times the body's size. The
/// in-flight body budget counts the bodies, not that, so it is bounded here instead,
/// independent of how many requests are in flight: a delivery waits for its turn
/// holding only its body (already counted), and what is held beyond the budget is at
/// most the bookkeeping of this many bytes of bodies (or of the one body larger than
/// it, which goes alone). Two bodies at the default 1 MiB limit; thousands of small
/// ones, which the backend still commits together.
const SPLIT_BUDGET_BYTES: usize = 2 << 20;
/// [`SPLIT_BUDGET_BYTES`] counted in KiB, the semaphore's unit.
const SPLIT_BUDGET_KIB: usize = SPLIT_BUDGET_BYTES >> 10;

/// A durable inbox: deliveries are stored before the sender is answered, and handled
/// later by workers, with retries.
///
/// Cheap to clone (shared). See the [crate docs](crate) for the guarantees and an
/// example.
pub struct Inbox<B: Backend = SqliteBackend> {
    inner: Arc<Inner<B>>,
}

struct Inner<B> {
    backend: B,
    clock: Arc<dyn Clock>,
    /// [`SPLIT_BUDGET_KIB`] permits: the bodies being split and committed.
    splitting: tokio::sync::Semaphore,
}

impl<B: Backend> Clone for Inbox<B> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<B: Backend + fmt::Debug> fmt::Debug for Inbox<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

impl Inbox<SqliteBackend> {
    /// Opens (creating and migrating if needed) an inbox in the SQLite file at `path`,
    /// with the defaults: WAL, `synchronous=FULL`, group commit. See
    /// [`SqliteBackend::builder`] for the options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        Ok(Self::new(SqliteBackend::open(path)?))
    }
}

impl<B: Backend> Inbox<B> {
    /// An inbox on `backend`, reading the system clock.
    pub fn new(backend: B) -> Self {
        Self::with_clock(backend, SystemClock)
    }

    /// An inbox on `backend` reading `clock` (a [`ManualClock`](crate::ManualClock) in
    /// tests of retries and leases).
    pub fn with_clock(backend: B, clock: impl Clock) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend,
                clock: Arc::new(clock),
                splitting: tokio::sync::Semaphore::new(SPLIT_BUDGET_KIB),
            }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// Now, by the inbox's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Stores a verified delivery and queues its new events; `Ok` once it is durably
    /// committed: **answer the sender 2xx only then**.
    ///
    /// `headers` are the request's: the sender's signature headers
    /// ([`Scheme::headers`]) and `Content-Type` are kept, so the body can be verified
    /// again (never `Authorization`, which holds a credential). The body is split into
    /// events (each keyed as the idempotency helper keys it, in `route`'s namespace);
    /// an event whose key is known on the route is reported a duplicate and not queued
    /// again. A body that verified but does not parse is kept in quarantine (see
    /// [`retry_quarantined`](Self::retry_quarantined)) and still answered 2xx: no
    /// authentic body is lost to hookwise's parser, and the sender's retries would not
    /// parse better.
    ///
    /// Fails with [`InboxError::Unavailable`] (answer 503 with its `Retry-After`) when
    /// the inbox cannot write; then **nothing** was stored.
    ///
    /// The body stays where it is until the commit (no copy): a body read through
    /// [`BodyBuffer`](webhook_core::capacity::BodyBuffer) keeps its in-flight budget
    /// reservation until it is on disk.
    ///
    /// The events split from the bodies (each one's range, type and key, kept until
    /// the commit) are bounded per inbox, not per request: at most 2 MiB of bodies are
    /// split and committed at once (a larger body alone), and a delivery waits its turn
    /// holding only its body. So the memory beyond the in-flight budget does not grow
    /// with the number of requests in flight.
    pub async fn accept<Body>(
        &self,
        route: &Route,
        headers: &HeaderMap,
        verified: Verified<Body>,
    ) -> Result<Accepted, InboxError>
    where
        Body: AsRef<[u8]> + Send + Sync + 'static,
    {
        let received_at = self.now();
        let verification = verified.verification();
        let scheme = verification.scheme();
        let kept = kept_headers(scheme, headers);
        let media_type = verification.media_type();
        let message_id = verification.message_id().map(str::to_owned);
        let signed_at = verification.signed_at();
        let proof = StoredVerification::of(verification);
        let namespace = route.namespace().clone();
        let stalwart = route.stalwart_key();

        // The bookkeeping below lives until the commit: its turn first.
        let kib = verified.body().as_ref().len().div_ceil(1024);
        let _turn = self
            .inner
            .splitting
            .acquire_many(u32::try_from(kib.min(SPLIT_BUDGET_KIB)).unwrap_or(u32::MAX))
            .await
            .map_err(|_| InboxError::Corrupt("the inbox's split turns were closed".into()))?;
        let (verified, split) = if verified.body().as_ref().len() <= SPLIT_INLINE_MAX {
            let split = StoredDelivery::of(&verified).split(&namespace, stalwart);
            (verified, split)
        } else {
            tokio::task::spawn_blocking(move || {
                let split = StoredDelivery::of(&verified).split(&namespace, stalwart);
                (verified, split)
            })
            .await
            .map_err(|err| InboxError::Corrupt(format!("splitting the body failed: {err}")))?
        };
        let content = match split {
            Ok(events) => Content::Events(events.iter().map(new_event).collect()),
            Err(err) => Content::Quarantined {
                error: err.to_string(),
            },
        };
        let delivery = NewDelivery {
            route: route.name().to_owned(),
            stalwart_key: stalwart,
            scheme,
            received_at,
            media_type,
            message_id,
            signed_at,
            verification: proof,
            headers: kept,
            body: Box::new(verified.into_body()),
            content,
        };
        self.inner.backend.accept(delivery).await
    }

    /// Counts of events by state, and of deliveries.
    pub async fn stats(&self) -> Result<Stats, InboxError> {
        self.inner.backend.stats().await
    }

    /// Events matching `filter`, newest first, one page.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        page: Page,
    ) -> Result<Vec<EventSummary>, InboxError> {
        self.inner.backend.list_events(filter.clone(), page).await
    }

    /// One event: its exact bytes, its delivery's kept headers, every attempt.
    pub async fn event(&self, id: EventId) -> Result<Option<EventDetail>, InboxError> {
        self.inner.backend.event(id).await
    }

    /// Deliveries matching `filter`, newest first, one page.
    pub async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: Page,
    ) -> Result<Vec<DeliverySummary>, InboxError> {
        self.inner
            .backend
            .list_deliveries(filter.clone(), page)
            .await
    }

    /// One delivery with its exact body and kept headers.
    pub async fn delivery(&self, id: DeliveryId) -> Result<Option<DeliveryDetail>, InboxError> {
        self.inner.backend.delivery(id).await
    }

    /// Makes dead events pending again, due now, with a fresh attempt budget (their
    /// history is kept); returns how many. `Selection::all()` redrives every dead event.
    pub async fn redrive(&self, selection: Selection) -> Result<u64, InboxError> {
        self.inner.backend.redrive(selection, self.now()).await
    }

    /// Runs done events again from their stored bytes (after fixing a handler, say);
    /// returns how many were queued.
    pub async fn replay(&self, selection: Selection) -> Result<u64, InboxError> {
        self.inner.backend.replay(selection, self.now()).await
    }

    /// Splits a quarantined delivery again with this version's parser (after an
    /// upgrade) and queues its events, deduplicated as an accept is. `route` overrides
    /// how Stalwart events are keyed (the route's name must be the delivery's);
    /// `None` keys them as when the delivery arrived.
    ///
    /// Fails with [`InboxError::Invalid`] when the body still does not parse (it stays
    /// in quarantine), [`InboxError::NotFound`] when no quarantined delivery has that id.
    pub async fn retry_quarantined(
        &self,
        delivery: DeliveryId,
        route: Option<&Route>,
    ) -> Result<Accepted, InboxError> {
        let Some(stored) = self.inner.backend.quarantined(delivery).await? else {
            return Err(InboxError::NotFound {
                what: "quarantined delivery",
                id: delivery.0,
            });
        };
        let detail = &stored.delivery;
        let namespace = Namespace::new(detail.summary.route.clone())
            .map_err(|err| InboxError::Corrupt(err.to_string()))?;
        let stalwart = match route {
            Some(route) if route.name() == detail.summary.route => route.stalwart_key(),
            Some(route) => {
                return Err(InboxError::Invalid(format!(
                    "delivery {delivery} arrived on route `{}`, not `{}`",
                    detail.summary.route,
                    route.name()
                )));
            }
            None => stored.stalwart_key,
        };
        let context = webhook_core::ParseContext {
            media_type: detail.summary.media_type,
            message_id: detail.message_id.as_deref(),
            signed_at: detail.signed_at,
        };
        // The body was verified when it was accepted; it is split, not verified, again.
        let events =
            StoredDelivery::from_verified_store(detail.summary.scheme, &detail.body, context)
                .split(&namespace, stalwart)
                .map_err(|err| {
                    InboxError::Invalid(format!(
                        "delivery {delivery} still does not parse, and stays in quarantine: {err}"
                    ))
                })?;
        let events = events.iter().map(new_event).collect();
        self.inner
            .backend
            .requeue_quarantined(delivery, events, self.now())
            .await
    }

    /// Removes what `retention` lets go: done events and the deliveries left without
    /// events, old keys, and (if set) dead events and quarantined deliveries.
    pub async fn purge(&self, retention: Retention) -> Result<Purged, InboxError> {
        self.inner.backend.purge(retention, self.now()).await
    }

    /// A worker pool for this inbox: configure it, then spawn it with the handler.
    pub fn workers(&self) -> WorkerPoolBuilder<B> {
        WorkerPoolBuilder::new(self.clone())
    }
}

fn new_event(event: &SplitEvent) -> NewEvent {
    NewEvent::new(
        event.range(),
        event.media_type(),
        event.event_type().map(str::to_owned),
        EventKey::from_bytes(event.key().as_bytes()),
    )
}

/// The headers that verify the body again: the sender's signature headers (every name
/// it uses) and `Content-Type`, in that order.
fn kept_headers(scheme: Scheme, headers: &HeaderMap) -> Vec<StoredHeader> {
    let names = scheme
        .headers()
        .iter()
        .flat_map(|header| header.names())
        .chain(["content-type"]);
    let mut kept = Vec::new();
    for name in names {
        for value in headers.get_all(name) {
            kept.push(StoredHeader {
                name: name.to_owned(),
                value: value.as_bytes().to_vec(),
            });
        }
    }
    kept
}
