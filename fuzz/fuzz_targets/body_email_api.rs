//! The email-API event parser (`EmailApiPayload`), borrowed and owned.
//!
//! Invariants: the borrowed and owned parses agree; serializing a parsed event gives
//! bytes that parse to an equal event and serialize to themselves (times are
//! normalized, so byte identity with the input is not expected); the event type
//! round-trips through its wire name.
#![no_main]
use hookwise_fuzz::check_parse_error;
use libfuzzer_sys::fuzz_target;
use webhook_core::events::parse_unverified_borrowed;
use webhook_core::senders::email_api::{EmailApiEventType, EmailApiPayload};
use webhook_core::{MediaType, ParseContext, parse_unverified};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(MediaType::Json);
    let borrowed = parse_unverified_borrowed::<EmailApiPayload<'_>>(data, ctx);
    let owned = parse_unverified::<webhook_core::EmailApiEvent>(data, ctx);
    match (borrowed, owned) {
        (Ok(event), Ok(owned)) => {
            assert_eq!(
                event.clone().into_owned(),
                owned,
                "owned and borrowed parses differ"
            );
            let bytes = serde_json::to_vec(&event).expect("a parsed event serializes");
            let again = parse_unverified_borrowed::<EmailApiPayload<'_>>(&bytes, ctx)
                .expect("the re-serialized event parses");
            assert_eq!(again, event, "the re-serialized event parses differently");
            assert_eq!(
                serde_json::to_vec(&again).unwrap(),
                bytes,
                "serialization is not a fixpoint"
            );
            let name = event.event_type.as_str();
            let round = EmailApiEventType::from_name(name);
            assert_eq!(round, event.event_type);
            assert_eq!(round.to_string(), name);
            let _ = (event.data.to.iter().count(), event.data.to.len());
            if let Some(code) = &event.data.bounce_code {
                let _ = (code.smtp_code(), code.to_string());
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
});
