//! Inputs found by the fuzz targets in `fuzz/` (kept in `fuzz/regressions/`), as plain
//! tests, so `cargo test` keeps them fixed without a fuzzer.

use webhook_core::{
    MediaType, ParseContext, StalwartEvents,
    events::{parse_unverified, parse_unverified_borrowed, stalwart::WebhookEvents},
};

fn round_trip(body: &[u8]) {
    let context = ParseContext::new(MediaType::Json);
    let batch: WebhookEvents<'_> = parse_unverified_borrowed(body, context).unwrap();
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&batch).unwrap()).unwrap(),
        std::str::from_utf8(body).unwrap(),
        "borrowed"
    );
    let owned: StalwartEvents = parse_unverified(body, context).unwrap();
    assert_eq!(
        String::from_utf8(serde_json::to_vec(&owned).unwrap()).unwrap(),
        std::str::from_utf8(body).unwrap(),
        "owned"
    );
}

/// body_stalwart: an unknown event key before `data` was written back after it, so
/// re-serializing changed the bytes (the docs promise the bytes received).
#[test]
fn stalwart_unknown_key_between_known_keys_keeps_its_place() {
    round_trip(include_bytes!(
        "../../../fuzz/regressions/body_stalwart/key-order-unknown-before-data.json"
    ));
    round_trip(
        br#"{"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","text":"new in a later Stalwart","data":{}}]}"#,
    );
}

/// The same for known keys in another order, and for a top-level key before `events`.
#[test]
fn stalwart_key_order_is_kept_at_every_level() {
    round_trip(
        br#"{"events":[{"x":0,"data":{"a":1},"type":"auth.success","y":[],"createdAt":"2025-08-21T14:00:15Z","id":7,"z":null}]}"#,
    );
    round_trip(
        br#"{"version":2,"events":[{"id":"1","createdAt":"2025-08-21T14:00:15Z","type":"auth.success","data":{}}],"more":true}"#,
    );
}
