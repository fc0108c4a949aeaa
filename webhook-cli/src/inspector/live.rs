//! Live updates: a server-sent event stream that tells the page when the inbox changed.
//!
//! The inspector may run in another process than the receiver and the workers (a
//! SQLite file shared, or a PostgreSQL database), so it polls: once a second it reads
//! the counts and the newest page's ids and states, and sends a `change` event when
//! they differ from the last ones sent. The page then fetches what it shows again.

use std::{convert::Infallible, time::Duration};

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde_json::json;
use webhook_inbox::{Backend, DeliveryFilter, EventFilter, Inbox, Page};

const POLL: Duration = Duration::from_secs(1);

/// What the page's view depends on, cheaply: counts, and the newest events' states.
async fn fingerprint<B: Backend>(inbox: &Inbox<B>) -> Option<(String, serde_json::Value)> {
    let stats = inbox.stats().await.ok()?;
    let events = inbox
        .list_events(&EventFilter::default(), Page::first(50))
        .await
        .ok()?;
    let deliveries = inbox
        .list_deliveries(&DeliveryFilter::default(), Page::first(1))
        .await
        .ok()?;
    let mut print = format!("{stats:?}");
    for event in &events {
        print.push_str(&format!(
            "|{}:{}:{}",
            event.id,
            event.state,
            event.updated_at.as_millis()
        ));
    }
    let newest_delivery = deliveries.first().map(|d| d.id.0);
    print.push_str(&format!("|d{newest_delivery:?}"));
    let data = json!({
        "stats": super::routes::stats_json(&stats),
        "newest_event": events.first().map(|e| e.id.0),
        "newest_delivery": newest_delivery,
    });
    Some((print, data))
}

pub(crate) fn stream<B: Backend>(
    inbox: Inbox<B>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = stream::unfold((inbox, None::<String>), |(inbox, last)| async move {
        loop {
            if last.is_some() {
                tokio::time::sleep(POLL).await;
            }
            if let Some((print, data)) = fingerprint(&inbox).await {
                if last.as_ref() != Some(&print) {
                    let event = Event::default().event("change").data(data.to_string());
                    return Some((Ok(event), (inbox, Some(print))));
                }
            } else {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
