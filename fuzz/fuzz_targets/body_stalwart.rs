//! Stalwart's batch parser (`WebhookEvents`), borrowed and owned.
//!
//! Invariants: the borrowed and owned parses agree (same value or same error); a parsed
//! batch is never empty; serializing it gives back the input byte for byte when the
//! input is compact canonical JSON (see `is_compact_canonical`), and in every case
//! gives bytes that parse to an equal batch and serialize to themselves; every event's
//! type round-trips through `Display`/`FromStr`; reading the data map never panics.
#![no_main]
use hookwise_fuzz::{check_parse_error, is_compact_canonical};
use libfuzzer_sys::fuzz_target;
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::stalwart::{EventType, WebhookEvents};
use webhook_core::{MediaType, ParseContext, ParseError, StalwartEvents, parse_unverified};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(MediaType::Json);
    let borrowed = parse_unverified_borrowed::<WebhookEvents<'_>>(data, ctx);
    let owned = parse_unverified::<StalwartEvents>(data, ctx);
    match (borrowed, owned) {
        (Ok(batch), Ok(owned)) => {
            assert!(!batch.is_empty());
            assert!(
                batch.clone().into_owned() == owned,
                "owned and borrowed parses differ"
            );
            let bytes = serde_json::to_vec(&batch).expect("a parsed batch serializes");
            if is_compact_canonical(data) {
                assert_eq!(
                    String::from_utf8_lossy(&bytes),
                    String::from_utf8_lossy(data),
                    "re-serialization is not byte-identical"
                );
            }
            let again = parse_unverified_borrowed::<WebhookEvents<'_>>(&bytes, ctx)
                .expect("the re-serialized batch parses");
            assert!(again == batch, "the re-serialized batch parses differently");
            assert_eq!(
                serde_json::to_vec(&again).unwrap(),
                bytes,
                "serialization is not a fixpoint"
            );
            for event in &batch {
                let name = event.event_type().as_str();
                let parsed: EventType = name.parse().unwrap();
                assert_eq!(parsed.as_str(), name);
                assert_eq!(parsed.to_string(), name);
                assert_eq!(&parsed, event.event_type());
                assert_eq!(EventType::from(name.to_owned()), parsed);
                let _ = parsed.current_equivalents();
                let _ = (
                    event.id(),
                    event.created_at(),
                    event.created_at_text(),
                    event.fingerprint(),
                );
                if let Ok(fields) = event.fields() {
                    for (key, _) in fields.iter() {
                        if let Some(value) = fields.value(key) {
                            let _ = (value.as_str(), value.as_u64(), value.events());
                        }
                    }
                    let _ = (fields.span_id(), fields.remote_ip());
                }
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "owned and borrowed parses fail differently");
            check_parse_error(&a);
        }
        (a, b) => panic!(
            "owned and borrowed parses disagree: {:?} vs {:?}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    assert!(matches!(
        parse_unverified_borrowed::<WebhookEvents<'_>>(data, ParseContext::new(MediaType::Other)),
        Err(ParseError::UnsupportedMediaType { .. })
    ));
});
