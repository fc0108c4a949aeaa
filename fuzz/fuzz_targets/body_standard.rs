//! The Standard Webhooks body parsers: `StandardWebhook<serde_json::Value>` and
//! `StandardWebhook<StandardEvent>` (owned and borrowed).
//!
//! Input: the body. The parse context carries a fixed verified id and timestamp.
//! Invariants: the envelope is the context's id and timestamp; a typed parse that
//! succeeds implies the generic one does, unless a number is beyond f64; a parsed
//! `StandardEvent` serializes to bytes that parse to an equal event and serialize to
//! themselves; its accessors never panic. Without the context, parsing fails with `MissingContext`.
#![no_main]
use hookwise_fuzz::check_parse_error;
use libfuzzer_sys::fuzz_target;
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::standard_webhooks::StandardEvent;
use webhook_core::{
    MediaType, ParseContext, ParseError, parse_unverified,
    senders::standard_webhooks::StandardWebhook,
};

const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const AT: i64 = 1_614_265_330;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext {
        media_type: MediaType::Json,
        message_id: Some(ID),
        signed_at: Some(AT),
    };
    let generic = parse_unverified::<StandardWebhook>(data, ctx);
    let typed = parse_unverified::<StandardWebhook<StandardEvent<'static>>>(data, ctx);
    let borrowed = parse_unverified_borrowed::<StandardWebhook<StandardEvent<'_>>>(data, ctx);
    match &generic {
        Ok(webhook) => {
            assert_eq!(webhook.message_id, ID);
            assert_eq!(webhook.timestamp.timestamp(), AT);
        }
        Err(err) => check_parse_error(err),
    }
    match (&typed, &borrowed) {
        (Ok(typed), Ok(borrowed)) => {
            // `StandardEvent` keeps `data` raw; `serde_json::Value` cannot hold a number
            // beyond f64 (`1E999`) nor a lone UTF-16 surrogate escape (`"\uda2d"`), which
            // the JSON grammar allows: the only JSON it refuses.
            if let Err(err) = &generic {
                let text = err.to_string();
                assert!(
                    text.contains("number out of range")
                        || text.contains("escape")
                        || text.contains("surrogate"),
                    "typed ok, Value failed: {err}"
                );
            }
            assert_eq!(typed.payload, borrowed.payload.clone().into_owned());
            let event = &typed.payload;
            let bytes = serde_json::to_vec(event).expect("a parsed event serializes");
            let again: StandardEvent<'static> =
                serde_json::from_slice(&bytes).expect("the re-serialized event parses");
            assert_eq!(&again, event, "the re-serialized event parses differently");
            assert_eq!(
                serde_json::to_vec(&again).unwrap(),
                bytes,
                "serialization is not a fixpoint"
            );
            let _ = (event.time(), event.data_as::<serde_json::Value>());
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "owned and borrowed parses fail differently");
            check_parse_error(a);
        }
        (a, b) => panic!(
            "owned and borrowed parses disagree: {:?} vs {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    let bare = ParseContext::new(MediaType::Json);
    assert!(matches!(
        parse_unverified::<StandardWebhook>(data, bare),
        Err(ParseError::MissingContext { .. })
    ));
});
