//! Live updates: a server-sent event stream that tells the page when the inbox changed.
//!
//! The inspector may run in another process than the receiver and the workers (a
//! SQLite file shared, or a PostgreSQL database), so it polls: once a second it reads
//! the newest page of events and the newest delivery (cheap, keyset reads); the counts
//! by state (a count over the whole table: with 100 000 events it costs more than the
//! rest together) only when that page changed, or every [`STATS_EVERY`] polls. It sends a `change` event when
//! any of them differs from what it sent last; the page then fetches what it shows.

use std::{convert::Infallible, time::Duration};

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};
use webhook_inbox::{Backend, DeliveryFilter, EventFilter, Inbox, Page};

const POLL: Duration = Duration::from_secs(1);
const STATS_EVERY: u32 = 5;

/// What one stream remembers between polls.
struct Watch<B: Backend> {
    inbox: Inbox<B>,
    /// The fingerprint last sent.
    sent: Option<String>,
    /// The newest page's fingerprint at the last poll.
    page: String,
    polls: u32,
    stats: Value,
}

impl<B: Backend> Watch<B> {
    /// Reads what the page's view depends on; `None` when the inbox could not be read
    /// (the next poll tries again).
    async fn poll(&mut self) -> Option<(String, Value)> {
        let events = self
            .inbox
            .list_events(&EventFilter::default(), Page::first(50))
            .await
            .ok()?;
        let deliveries = self
            .inbox
            .list_deliveries(&DeliveryFilter::default(), Page::first(1))
            .await
            .ok()?;
        let newest_delivery = deliveries.first().map(|d| d.id.0);
        let mut page = format!("d{newest_delivery:?}");
        for event in &events {
            page.push_str(&format!(
                "|{}:{}:{}",
                event.id,
                event.state,
                event.updated_at.as_millis()
            ));
        }
        // The counts follow at once what the newest page shows, and every few polls
        // whatever changed further down.
        if page != self.page || self.polls.is_multiple_of(STATS_EVERY) {
            let stats = self.inbox.stats().await.ok()?;
            self.stats = super::routes::stats_json(&stats);
        }
        self.polls = self.polls.wrapping_add(1);
        let print = format!("{}|{page}", self.stats);
        self.page = page;
        let data = json!({
            "stats": self.stats,
            "newest_event": events.first().map(|e| e.id.0),
            "newest_delivery": newest_delivery,
        });
        Some((print, data))
    }
}

pub(crate) fn stream<B: Backend>(
    inbox: Inbox<B>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watch = Watch {
        inbox,
        sent: None,
        page: String::new(),
        polls: 0,
        stats: Value::Null,
    };
    let updates = stream::unfold(watch, |mut watch| async move {
        loop {
            if watch.sent.is_some() {
                tokio::time::sleep(POLL).await;
            }
            match watch.poll().await {
                Some((print, data)) if watch.sent.as_ref() != Some(&print) => {
                    watch.sent = Some(print);
                    let event = Event::default().event("change").data(data.to_string());
                    return Some((Ok(event), watch));
                }
                Some(_) => {}
                None => tokio::time::sleep(POLL).await,
            }
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
