//! The JSON `webhook inbox … --json` prints: one object per command, whose shape is
//! stable (fields are only ever added). Times are RFC 3339 in UTC with milliseconds;
//! ids are integers; a missing value is `null`.
//!
//! - `stats`: `{"pending", "running", "retrying", "done", "dead", "deliveries",
//!   "quarantined", "keys"}`, all counts.
//! - `list`: `{"events": [EVENT…], "next_before": ID|null}`; pass `next_before` as
//!   `--before` for the next page (`null`: this was the last).
//! - `show`: `{"event": EVENT + {"media_type", "range": [start, end], "bytes": TEXT|null,
//!   "bytes_hex": HEX|null, "headers": [{"name", "value"}], "delivery": DELIVERY,
//!   "attempts": [ATTEMPT…]}}`. `bytes` is the event's exact bytes as text when they are
//!   UTF-8 (they are for every JSON or form event), else `bytes_hex` holds them.
//! - `redrive`: `{"redriven": N}`; `replay`: `{"replayed": N}`; `purge`:
//!   `{"purged": {"events", "deliveries", "keys"}}`.
//!
//! EVENT: `{"id", "delivery", "route", "scheme", "type", "key", "state", "attempts",
//! "received_at", "due_at", "updated_at", "last_error"}` (`state` is `pending`,
//! `running`, `retrying`, `done` or `dead`; `due_at` is when a pending or retrying event
//! is due, or when a running one's lease ends).
//! DELIVERY: `{"id", "route", "scheme", "received_at", "state", "media_type", "body_len",
//! "queued", "duplicates", "parse_error", "verification"}` (`state`: `accepted` or
//! `quarantined`; `verification`: VERIFICATION, or `null` for a delivery stored before
//! the inbox recorded it).
//! VERIFICATION: `{"key": {"index", "label"}|null, "credentials", "url_token", "text"}`:
//! the signing secret that matched (its 0-based position among the receiver's secrets
//! and its label or `null`; never the secret), `null` when the scheme signs nothing;
//! whether `Authorization` credentials and a URL token were checked; `text` says it in
//! words (`key "2026-q4" (#1)`, `key #0 (unlabeled)`, `Authorization credentials`).
//! ATTEMPT: `{"attempt", "started_at", "duration_ms", "outcome", "error", "worker"}`
//! (`outcome`: `done`, `retry`, `dead`, `lease_lost`, `lease_expired`, `released`).

use serde_json::{Value, json};
use webhook_core::MediaType;
use webhook_inbox::{
    AttemptRecord, DeliverySummary, EventDetail, EventSummary, Purged, Stats, StoredHeader,
    StoredVerification, Timestamp,
};

pub(crate) fn time(at: Timestamp) -> String {
    at.to_string()
}

pub(crate) fn media_type(media_type: MediaType) -> &'static str {
    match media_type {
        MediaType::Json => "json",
        MediaType::JsonLines => "jsonl",
        MediaType::FormUrlEncoded => "form",
        _ => "other",
    }
}

pub(crate) fn stats(stats: &Stats) -> Value {
    json!({
        "pending": stats.pending,
        "running": stats.running,
        "retrying": stats.retrying,
        "done": stats.done,
        "dead": stats.dead,
        "deliveries": stats.deliveries,
        "quarantined": stats.quarantined,
        "keys": stats.keys,
    })
}

pub(crate) fn event(event: &EventSummary) -> Value {
    json!({
        "id": event.id.0,
        "delivery": event.delivery.0,
        "route": event.route,
        "scheme": event.scheme.id(),
        "type": event.event_type,
        "key": event.key.to_string(),
        "state": event.state.as_str(),
        "attempts": event.attempts,
        "received_at": time(event.received_at),
        "due_at": event.due_at.map(time),
        "updated_at": time(event.updated_at),
        "last_error": event.last_error,
    })
}

pub(crate) fn list(events: &[EventSummary], next_before: Option<i64>) -> Value {
    json!({
        "events": events.iter().map(event).collect::<Vec<_>>(),
        "next_before": next_before,
    })
}

pub(crate) fn delivery(delivery: &DeliverySummary) -> Value {
    json!({
        "id": delivery.id.0,
        "route": delivery.route,
        "scheme": delivery.scheme.id(),
        "received_at": time(delivery.received_at),
        "state": delivery.state.as_str(),
        "media_type": media_type(delivery.media_type),
        "body_len": delivery.body_len,
        "queued": delivery.queued,
        "duplicates": delivery.duplicates,
        "parse_error": delivery.parse_error,
        "verification": delivery.verification.as_ref().map(verification),
    })
}

/// VERIFICATION (see the module docs); the inspector shows the same.
pub(crate) fn verification(verification: &StoredVerification) -> Value {
    json!({
        "key": verification.key.as_ref().map(|key| json!({
            "index": key.index,
            "label": key.label,
        })),
        "credentials": verification.credentials,
        "url_token": verification.url_token,
        "text": verification.to_string(),
    })
}

fn header(header: &StoredHeader) -> Value {
    json!({
        "name": header.name,
        "value": String::from_utf8_lossy(&header.value),
    })
}

fn attempt(attempt: &AttemptRecord) -> Value {
    json!({
        "attempt": attempt.attempt,
        "started_at": time(attempt.started_at),
        "duration_ms": u64::try_from(attempt.duration.as_millis()).unwrap_or(u64::MAX),
        "outcome": attempt.outcome.as_str(),
        "error": attempt.error,
        "worker": attempt.worker,
    })
}

pub(crate) fn detail(detail: &EventDetail) -> Value {
    let mut value = event(&detail.summary);
    let text = std::str::from_utf8(&detail.bytes).ok();
    let extra = json!({
        "media_type": media_type(detail.media_type),
        "range": [detail.range.start, detail.range.end],
        "bytes": text,
        "bytes_hex": text.is_none().then(|| hex::encode(&detail.bytes)),
        "headers": detail.headers.iter().map(header).collect::<Vec<_>>(),
        "delivery": delivery(&detail.delivery),
        "attempts": detail.attempts.iter().map(attempt).collect::<Vec<_>>(),
    });
    if let (Some(object), Value::Object(extra)) = (value.as_object_mut(), extra) {
        object.extend(extra);
    }
    json!({ "event": value })
}

pub(crate) fn purged(purged: &Purged) -> Value {
    json!({
        "purged": {
            "events": purged.events,
            "deliveries": purged.deliveries,
            "keys": purged.keys,
        }
    })
}
