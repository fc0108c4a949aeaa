//! What the page receives: the inbox's records as JSON, with every header value that
//! could carry a secret or a signature masked, and stored bytes shown exactly (as
//! text when they are UTF-8, else as hex) beside a pretty-printed view.

use serde_json::{Value, json};
use webhook_core::MediaType;
use webhook_inbox::{
    AttemptRecord, DeliveryDetail, DeliverySummary, EventDetail, EventSummary, StoredHeader,
    Timestamp,
};

use crate::inbox::{json as inbox_json, text::verified_by};

/// The largest body the delivery view sends (a Stalwart batch may be 48 MiB; the page
/// shows the start and says it was cut).
const MAX_BODY_SHOWN: usize = 1024 * 1024;

/// Header values shown as they are: they carry no secret. Every other kept header is a
/// signature or a sender's credential and is masked.
const VISIBLE_HEADERS: [&str; 5] = [
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "svix-id",
    "svix-timestamp",
];

fn time(at: Timestamp) -> Value {
    json!(at.as_millis())
}

fn media(media_type: MediaType) -> &'static str {
    media_type.as_str().unwrap_or(match media_type {
        MediaType::Missing => "(none)",
        _ => "(other)",
    })
}

/// A header as the page may see it: a masked value says only its length.
pub(crate) fn header(header: &StoredHeader) -> Value {
    if VISIBLE_HEADERS.contains(&header.name.as_str()) {
        json!({
            "name": header.name,
            "value": String::from_utf8_lossy(&header.value),
            "masked": false,
        })
    } else {
        json!({
            "name": header.name,
            "value": format!("•••• masked ({} bytes)", header.value.len()),
            "masked": true,
        })
    }
}

/// Exact bytes: as text when they are UTF-8 (the page shows them verbatim), else hex.
fn exact(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "len": bytes.len(), "text": text }),
        Err(_) => json!({ "len": bytes.len(), "hex": hex::encode(bytes) }),
    }
}

/// A readable view of the bytes: indented JSON, one JSON Lines record or form field a
/// line; `None` when they do not parse as their type says.
fn pretty(bytes: &[u8], media_type: MediaType) -> Option<String> {
    match media_type {
        MediaType::Json => serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|value| serde_json::to_string_pretty(&value).ok()),
        MediaType::JsonLines => {
            let text = std::str::from_utf8(bytes).ok()?;
            let lines: Option<Vec<String>> = text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| {
                    serde_json::from_str::<Value>(line)
                        .ok()
                        .and_then(|value| serde_json::to_string_pretty(&value).ok())
                })
                .collect();
            lines.map(|lines| lines.join("\n"))
        }
        MediaType::FormUrlEncoded => {
            let text = std::str::from_utf8(bytes).ok()?;
            Some(text.split('&').collect::<Vec<_>>().join("\n"))
        }
        MediaType::Other | MediaType::Missing => None,
        _ => None,
    }
}

pub(crate) fn event_summary(event: &EventSummary) -> Value {
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

fn attempt(record: &AttemptRecord) -> Value {
    json!({
        "attempt": record.attempt,
        "started_at": time(record.started_at),
        "duration_ms": u64::try_from(record.duration.as_millis()).unwrap_or(u64::MAX),
        "outcome": record.outcome.as_str(),
        "error": record.error,
        "worker": record.worker,
    })
}

pub(crate) fn event_detail(event: &EventDetail) -> Value {
    json!({
        "event": event_summary(&event.summary),
        "bytes": exact(&event.bytes),
        "pretty": pretty(&event.bytes, event.media_type),
        "range": [event.range.start, event.range.end],
        "media_type": media(event.media_type),
        "delivery": delivery_summary(&event.delivery),
        "headers": event.headers.iter().map(header).collect::<Vec<_>>(),
        "verification": {
            "scheme": event.delivery.scheme.id(),
            "scheme_summary": event.delivery.scheme.summary(),
            // Which key matched (its label and position, never the secret), or which
            // credentials; `null` for a delivery stored before the inbox recorded it.
            "recorded": event.delivery.verification.as_ref().map(inbox_json::verification),
            "text": verified_by(event.delivery.scheme, event.delivery.verification.as_ref()),
        },
        "attempts": event.attempts.iter().map(attempt).collect::<Vec<_>>(),
    })
}

pub(crate) fn delivery_summary(delivery: &DeliverySummary) -> Value {
    json!({
        "id": delivery.id.0,
        "route": delivery.route,
        "scheme": delivery.scheme.id(),
        "received_at": time(delivery.received_at),
        "state": delivery.state.as_str(),
        "media_type": media(delivery.media_type),
        "body_len": delivery.body_len,
        "queued": delivery.queued,
        "duplicates": delivery.duplicates,
        "parse_error": delivery.parse_error,
        "verification": delivery.verification.as_ref().map(inbox_json::verification),
    })
}

pub(crate) fn delivery_detail(delivery: &DeliveryDetail) -> Value {
    let shown = &delivery.body[..delivery.body.len().min(MAX_BODY_SHOWN)];
    let whole = shown.len() == delivery.body.len();
    json!({
        "delivery": delivery_summary(&delivery.summary),
        "headers": delivery.headers.iter().map(header).collect::<Vec<_>>(),
        "message_id": delivery.message_id,
        "signed_at": delivery.signed_at,
        "body": exact(shown),
        "body_truncated": !whole,
        "pretty": if whole { pretty(shown, delivery.summary.media_type) } else { None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_masked_and_ids_shown() {
        let signature = StoredHeader {
            name: "x-signature".into(),
            value: b"c2VjcmV0LXNpZ25hdHVyZQ==".to_vec(),
        };
        let shown = header(&signature);
        assert_eq!(shown["masked"], true);
        assert!(!shown.to_string().contains("c2VjcmV0"));
        let id = StoredHeader {
            name: "webhook-id".into(),
            value: b"msg_1".to_vec(),
        };
        assert_eq!(header(&id)["value"], "msg_1");
    }

    #[test]
    fn bytes_are_exact_text_or_hex_and_pretty_when_they_parse() {
        assert_eq!(exact(b"{\"a\": 1}")["text"], "{\"a\": 1}");
        assert_eq!(exact(&[0xff, 0x00])["hex"], "ff00");
        assert_eq!(
            pretty(b"{\"a\":1}", MediaType::Json).unwrap(),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(pretty(b"{", MediaType::Json), None);
        assert_eq!(
            pretty(b"a=1&b=2", MediaType::FormUrlEncoded).unwrap(),
            "a=1\nb=2"
        );
    }
}
