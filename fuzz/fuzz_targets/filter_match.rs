//! Event-name patterns, filters and WildDuck subscriptions (`webhook_core::filter`).
//!
//! Input: byte 0 = flags (bit 0: the subscription has a user; bit 1: the event has a
//! user), then `pattern_a\npattern_b\nevent name\nsubscription user\nevent user`.
//! Invariants, against independent reference implementations:
//! - `Pattern::parse` accepts exactly `*`, names without `*`, `prefix*` and `*suffix`;
//!   `Display`, `FromStr` and serde round-trip; `matches` is the documented rule;
//! - `Pattern::wildduck` trims, lowercases and limits to 128 UTF-16 units; its
//!   `WildDuckCompat` matching is "the pattern text is `*`, the name, or for some dot of
//!   the name, the part before it with dots turned into commas, then `.*`";
//! - `EventFilter` include/exclude is "any pattern matches" / its negation;
//! - `Subscription::matches_with` is the user rule and "any pattern matches".
#![no_main]
use hookwise_fuzz::split_lines;
use libfuzzer_sys::fuzz_target;
use webhook_core::filter::{
    EventFilter, FilterPolicy, MatchMode, Pattern, PatternError, Subscription,
    WILDDUCK_MAX_PATTERN_LEN,
};

/// The documented meaning of the `Pattern::parse` syntax; `None` if refused.
fn reference_parse_match(text: &str, name: &str) -> Option<bool> {
    if text.is_empty() {
        return None;
    }
    if text == "*" {
        return Some(true);
    }
    let stars = text.matches('*').count();
    if stars == 0 {
        Some(name == text)
    } else if stars == 1 && text.ends_with('*') {
        Some(name.starts_with(&text[..text.len() - 1]))
    } else if stars == 1 && text.starts_with('*') {
        Some(name.ends_with(&text[1..]))
    } else {
        None
    }
}

/// The names WildDuck 1.45 looks up for an event `name`.
fn wildduck_candidates(name: &str) -> Vec<String> {
    let mut out = vec!["*".to_owned(), name.to_owned()];
    for (i, b) in name.bytes().enumerate() {
        if b == b'.' {
            out.push(format!("{}.*", name[..i].replace('.', ",")));
        }
    }
    out
}

fn check_parsed(text: &str, name: &str) -> Option<Pattern> {
    let parsed = Pattern::parse(text);
    match (&parsed, reference_parse_match(text, name)) {
        (Ok(p), Some(expected)) => {
            assert_eq!(p.matches(name), expected, "{p:?} on {name:?}");
            assert_eq!(p.matches_with(name, MatchMode::Documented), expected);
            assert_eq!(p.to_string(), text);
            assert_eq!(text.parse::<Pattern>().as_ref(), Ok(p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(&serde_json::from_str::<Pattern>(&json).unwrap(), p);
            let compat = wildduck_candidates(name).contains(&p.to_string());
            assert_eq!(
                p.matches_with(name, MatchMode::WildDuckCompat),
                compat,
                "{p:?} on {name:?} (compat)"
            );
        }
        (Err(err), None) => {
            let _ = err.to_string();
            assert!(matches!(
                err,
                PatternError::Empty | PatternError::MisplacedWildcard { .. }
            ));
        }
        (p, r) => panic!("Pattern::parse({text:?}) = {p:?}, reference {r:?}"),
    }
    parsed.ok()
}

fn check_wildduck(text: &str, name: &str) -> Option<Pattern> {
    let parsed = Pattern::wildduck(text);
    let normalized = text.trim().to_lowercase();
    let units = normalized.encode_utf16().count();
    match &parsed {
        Ok(p) => {
            assert!(!normalized.is_empty() && units <= WILDDUCK_MAX_PATTERN_LEN);
            assert_eq!(p.to_string(), normalized);
            let documented = if normalized == "*" {
                true
            } else if let Some(prefix) = normalized.strip_suffix('*').filter(|p| p.ends_with('.')) {
                name.starts_with(prefix)
            } else {
                name == normalized
            };
            assert_eq!(p.matches(name), documented, "{p:?} on {name:?}");
            let compat = wildduck_candidates(name).contains(&normalized);
            assert_eq!(
                p.matches_with(name, MatchMode::WildDuckCompat),
                compat,
                "{p:?} on {name:?} (compat)"
            );
        }
        Err(PatternError::Empty) => assert!(normalized.is_empty()),
        Err(PatternError::TooLong { len, max }) => {
            assert_eq!((*len, *max), (units, WILDDUCK_MAX_PATTERN_LEN));
            assert!(units > WILDDUCK_MAX_PATTERN_LEN);
        }
        Err(other) => panic!("Pattern::wildduck({text:?}) = {other:?}"),
    }
    parsed.ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut parts = split_lines(text.as_bytes(), 5)
        .into_iter()
        .map(|p| std::str::from_utf8(p).unwrap());
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let sub_user = parts.next().filter(|_| flags & 1 != 0);
    let event_user = parts.next().filter(|_| flags & 2 != 0);

    let (pa, pb) = (check_parsed(a, name), check_parsed(b, name));
    if let (Some(pa), Some(pb)) = (&pa, &pb) {
        for mode in [MatchMode::Documented, MatchMode::WildDuckCompat] {
            let listed = pa.matches_with(name, mode) || pb.matches_with(name, mode);
            let include = EventFilter::new(FilterPolicy::Include, [pa.clone(), pb.clone()]);
            let exclude = EventFilter::exclude([pa.clone(), pb.clone()]);
            assert_eq!(
                include.matches_with(name, mode),
                listed,
                "include {a:?} {b:?} on {name:?}"
            );
            assert_eq!(
                exclude.matches_with(name, mode),
                !listed,
                "exclude {a:?} {b:?} on {name:?}"
            );
        }
        assert_eq!(
            EventFilter::parse(FilterPolicy::Include, [a, b])
                .unwrap()
                .patterns(),
            &[pa.clone(), pb.clone()]
        );
    } else {
        assert!(EventFilter::parse(FilterPolicy::Exclude, [a, b]).is_err());
    }

    let (wa, wb) = (check_wildduck(a, name), check_wildduck(b, name));
    match Subscription::wildduck([a, b], sub_user) {
        Ok(sub) => {
            let (wa, wb) = (wa.unwrap(), wb.unwrap());
            let for_user = match (sub_user, event_user) {
                (Some(s), Some(e)) => s == e,
                _ => true,
            };
            for mode in [MatchMode::Documented, MatchMode::WildDuckCompat] {
                let expected =
                    for_user && (wa.matches_with(name, mode) || wb.matches_with(name, mode));
                assert_eq!(sub.matches_with(name, event_user, mode), expected);
            }
            assert_eq!(
                sub.matches(name, event_user),
                sub.matches_with(name, event_user, MatchMode::Documented)
            );
        }
        Err(_) => assert!(wa.is_none() || wb.is_none()),
    }
});
