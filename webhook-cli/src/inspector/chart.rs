//! The chart's data: events received per minute over the last hour, by current state.
//!
//! Counted from paged listings (newest first, [`SCAN_PAGES`] pages of [`Page::MAX_LIMIT`]
//! at most), through the generic query API so it works on every backend. An hour with
//! more events than that is drawn from its newest ones and says so.

use serde_json::{Value, json};
use webhook_inbox::{Backend, EventFilter, EventState, Inbox, InboxError, Page, Timestamp};

const MINUTES: usize = 60;
const SCAN_PAGES: usize = 20;

pub(crate) async fn per_minute<B: Backend>(inbox: &Inbox<B>) -> Result<Value, InboxError> {
    let now = inbox.now().as_millis();
    let minute = 60_000;
    // The current minute is the last bar.
    let end = (now / minute + 1) * minute;
    let start = end - MINUTES as i64 * minute;
    let filter = EventFilter::default().received(Some(Timestamp::from_millis(start)), None);
    let mut counts = vec![[0u64; EventState::ALL.len()]; MINUTES];
    let mut page = Page::first(Page::MAX_LIMIT);
    let mut truncated = false;
    let mut scanned = 0usize;
    for round in 0.. {
        if round == SCAN_PAGES {
            truncated = true;
            break;
        }
        let events = inbox.list_events(&filter, page).await?;
        for event in &events {
            let at = event.received_at.as_millis();
            let Ok(bucket) = usize::try_from((at - start) / minute) else {
                continue;
            };
            let Some(slot) = EventState::ALL.iter().position(|s| *s == event.state) else {
                continue;
            };
            if let Some(row) = counts.get_mut(bucket) {
                row[slot] += 1;
            }
        }
        scanned += events.len();
        match events.last() {
            Some(last) if events.len() == Page::MAX_LIMIT as usize => page = page.after(last.id.0),
            _ => break,
        }
    }
    Ok(json!({
        "start": start,
        "minute_ms": minute,
        "states": EventState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "counts": counts,
        "scanned": scanned,
        "truncated": truncated,
    }))
}
