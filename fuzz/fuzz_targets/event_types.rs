//! Event type names of every sender, and scheme identifiers: `FromStr`/`From<&str>`
//! and `Display`/`as_str` round trips.
//!
//! Input: the name (UTF-8; other input is skipped).
//! Invariants: every parse keeps the exact spelling (`as_str`, `Display`); parsing is
//! the same from `&str` and `String`; equality, ordering and hashing follow the
//! spelling; a name is known to Stalwart's `EventType` iff it is in `all_current` or
//! legacy; `Scheme` accepts exactly its documented identifiers, case-insensitively.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use webhook_core::Scheme;
use webhook_core::senders::email_api::{BounceType, EmailApiEventType};
use webhook_core::senders::mailtrap::{EventKind, SendingStream};
use webhook_core::senders::stalwart::{EventType, Family};
use webhook_core::senders::wildduck::{ForwardType, WildDuckEventType};

fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

macro_rules! string_enum_round_trip {
    ($name:expr, $($ty:ident),*) => {$(
        let value = $ty::from_name($name);
        assert_eq!(value.as_str(), $name);
        assert_eq!(value.to_string(), $name);
        assert_eq!($ty::from($name), value);
        assert_eq!(value.is_known(), $ty::KNOWN.contains(&$name));
        assert_eq!(value.clone().into_owned(), value);
    )*};
}

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };

    let event: EventType = name.parse().unwrap();
    assert_eq!(event.as_str(), name);
    assert_eq!(event.to_string(), name);
    assert_eq!(format!("{event:>0}"), name);
    assert_eq!(EventType::from(name.to_owned()), event);
    assert_eq!(hash(&event), hash(name), "Hash must follow Borrow<str>");
    assert_eq!(event.cmp(&EventType::from(name)), std::cmp::Ordering::Equal);
    assert_eq!(event, *name);
    let current = EventType::all_current().iter().any(|e| e.as_str() == name);
    assert_eq!(event.is_known(), current, "{event:?}");
    if current {
        assert!(event.type_id().is_some());
        assert_eq!(event.current_equivalents(), std::slice::from_ref(&event));
        let family = event.family().expect("a current name has a family");
        let (prefix, _) = name.split_once('.').unwrap();
        assert_eq!(family.to_string(), prefix);
        assert_eq!(prefix.parse::<Family>().ok(), Some(family));
    }
    for equivalent in event.current_equivalents() {
        assert!(EventType::all_current().contains(equivalent));
    }
    if let Ok(family) = name.parse::<Family>() {
        assert_eq!(family.to_string(), name);
    }

    string_enum_round_trip!(
        name,
        EmailApiEventType,
        BounceType,
        WildDuckEventType,
        ForwardType,
        EventKind,
        SendingStream
    );

    let ids = [
        "stalwart",
        "email-api",
        "emailapi",
        "email_api",
        "github",
        "mailtrap",
        "standard-webhooks",
        "standard",
        "standardwebhooks",
        "svix",
        "resend",
        "wildduck",
    ];
    let known = ids.contains(&name.to_ascii_lowercase().as_str());
    match name.parse::<Scheme>() {
        Ok(scheme) => {
            assert!(known, "{name:?} parsed as {scheme:?}");
            assert_eq!(scheme.id().parse::<Scheme>().unwrap(), scheme);
        }
        Err(err) => {
            assert!(!known, "{name:?} refused");
            assert_eq!(err.0, name);
        }
    }
});
