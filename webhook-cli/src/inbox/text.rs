//! What `webhook inbox …` prints without `--json`: aligned tables for people.

use webhook_core::Scheme;
use webhook_inbox::{EventDetail, EventState, EventSummary, Stats, StoredVerification};

use crate::inbox::json::{media_type, time};

pub(crate) fn stats(stats: &Stats) -> String {
    let mut out = String::from("events\n");
    for state in EventState::ALL {
        out.push_str(&format!(
            "  {:<10} {:>8}\n",
            state.as_str(),
            stats.count(state)
        ));
    }
    out.push_str(&format!(
        "deliveries   {:>8} ({} quarantined)\nkeys         {:>8} remembered for deduplication\n",
        stats.deliveries, stats.quarantined, stats.keys
    ));
    out
}

/// One line of the event table.
fn row(event: &EventSummary) -> String {
    let note = match (&event.last_error, event.state, event.due_at) {
        (Some(error), EventState::Retrying | EventState::Dead, _) => shorten(error, 60),
        (_, EventState::Pending | EventState::Retrying, Some(due)) => format!("due {}", time(due)),
        _ => String::new(),
    };
    format!(
        "{:>6}  {:<8}  {:>3}  {:<28}  {:<12}  {}  {}",
        event.id.0,
        event.state.as_str(),
        event.attempts,
        shorten(event.event_type.as_deref().unwrap_or("-"), 28),
        shorten(&event.route, 12),
        time(event.received_at),
        note,
    )
}

pub(crate) fn list(events: &[EventSummary], next_before: Option<i64>) -> String {
    if events.is_empty() {
        return "no events match\n".into();
    }
    let mut out = format!(
        "{:>6}  {:<8}  {:>3}  {:<28}  {:<12}  {:<24}  {}\n",
        "ID", "STATE", "ATT", "TYPE", "ROUTE", "RECEIVED", "NOTE"
    );
    for event in events {
        out.push_str(&row(event));
        out.push('\n');
    }
    if let Some(before) = next_before {
        out.push_str(&format!("(more: --before {before})\n"));
    }
    out
}

pub(crate) fn detail(detail: &EventDetail) -> String {
    let event = &detail.summary;
    let mut out = format!(
        "event {}  {}  ({} attempt(s))\n  type      {}\n  key       {}\n  route     {}  ({})\n  delivery  {} received {}, {} bytes, {}\n",
        event.id,
        event.state.as_str(),
        event.attempts,
        event.event_type.as_deref().unwrap_or("-"),
        event.key,
        event.route,
        event.scheme.id(),
        detail.delivery.id,
        time(detail.delivery.received_at),
        detail.delivery.body_len,
        media_type(detail.delivery.media_type),
    );
    out.push_str(&format!(
        "  verified  {}\n",
        verified_by(event.scheme, detail.delivery.verification.as_ref())
    ));
    if let Some(due) = event.due_at {
        out.push_str(&format!("  due       {}\n", time(due)));
    }
    if let Some(error) = &event.last_error {
        out.push_str(&format!("  error     {error}\n"));
    }
    out.push_str("headers\n");
    for header in &detail.headers {
        out.push_str(&format!(
            "  {}: {}\n",
            header.name,
            String::from_utf8_lossy(&header.value)
        ));
    }
    out.push_str(&format!(
        "bytes ({} of the delivery's body, {})\n  {}\n",
        format_args!("{}..{}", detail.range.start, detail.range.end),
        media_type(detail.media_type),
        String::from_utf8_lossy(&detail.bytes)
    ));
    if !detail.attempts.is_empty() {
        out.push_str("attempts\n");
        for attempt in &detail.attempts {
            out.push_str(&format!(
                "  #{:<3} {}  {:>7} ms  {:<13} {}\n",
                attempt.attempt,
                time(attempt.started_at),
                attempt.duration.as_millis(),
                attempt.outcome.as_str(),
                attempt.error.as_deref().unwrap_or(""),
            ));
        }
    }
    out
}

/// How a delivery was verified, in words: the scheme and the key that matched (or the
/// credentials), shown alike by `inbox show` and the inspector.
pub(crate) fn verified_by(scheme: Scheme, verification: Option<&StoredVerification>) -> String {
    match verification {
        Some(verification) => format!("by the {} scheme with {verification}", scheme.id()),
        None => format!(
            "by the {} scheme (which key matched was not recorded: stored before the inbox \
             recorded it)",
            scheme.id()
        ),
    }
}

/// At most `max` characters, an ellipsis marking a cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
