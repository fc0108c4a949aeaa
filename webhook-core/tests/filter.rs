//! Event filters: the semantics tables (documented vs WildDuck-compatible matching,
//! include/exclude, user scoping), pattern errors, and property tests against simple
//! reference implementations.

use proptest::prelude::*;
use webhook_core::filter::{
    EventFilter, FilterPolicy, MatchMode, Pattern, PatternError, Subscription,
    WILDDUCK_MAX_PATTERN_LEN,
};

#[derive(Clone, Copy, Debug)]
enum Syntax {
    /// [`Pattern::parse`] (Stalwart TOML era).
    Generic,
    /// [`Pattern::wildduck`].
    WildDuck,
}

fn pattern(syntax: Syntax, text: &str) -> Pattern {
    match syntax {
        Syntax::Generic => Pattern::parse(text),
        Syntax::WildDuck => Pattern::wildduck(text),
    }
    .unwrap_or_else(|err| panic!("{text:?}: {err}"))
}

#[test]
fn pattern_semantics_table() {
    use Syntax::{Generic as G, WildDuck as W};
    // (syntax, pattern, event name, documented, WildDuck-compatible)
    let table: &[(Syntax, &str, &str, bool, bool)] = &[
        (W, "*", "user.created", true, true),
        (W, "*", "forward added", true, true),
        (W, "user.created", "user.created", true, true),
        (W, "user.created", "user.deleted", false, false),
        (W, "user.*", "user.created", true, true),
        (W, "user.*", "user.password.changed", true, true),
        (W, "user.*", "user", false, false),
        (W, "user.*", "userx.created", false, false),
        (W, "mfa.*", "mfa.webauthn.registered", true, true),
        // The documented meaning of deeper prefixes, which WildDuck never fires.
        (W, "address.user.*", "address.user.created", true, false),
        (W, "address.*", "address.user.created", true, true),
        (W, "mfa.webauthn.*", "mfa.webauthn.removed", true, false),
        (W, "user.delete.*", "user.delete.started", true, false),
        // ... while the comma-joined candidate does fire there.
        (W, "address,user.*", "address.user.created", false, true),
        (W, "a,b,c.*", "a.b.c.d", false, true),
        (W, "a,b.*", "a.b.c.d", false, true),
        // WildDuck lowercases and trims; a `*` not after a dot is literal.
        (W, " USER.* ", "user.created", true, true),
        (W, "user*", "user.created", false, false),
        (W, "user*", "user*", true, true),
        (W, "forward added", "forward added", true, true),
        (W, "forward *", "forward added", false, false),
        // Stalwart TOML-era syntax: `prefix*` and `*suffix`.
        (G, "auth.*", "auth.success", true, true),
        (G, "auth*", "auth.success", true, false),
        (G, "auth*", "authentication", true, false),
        (G, "*-error", "telemetry.webhook-error", true, false),
        (G, "*-error", "telemetry.webhook-errors", false, false),
        (G, "*", "", true, true),
        (G, "Auth.*", "auth.success", false, false),
        (
            G,
            "delivery.dsn-perm-fail",
            "delivery.dsn-perm-fail",
            true,
            true,
        ),
        (G, "message-ingest.*", "message-ingest.ham", true, true),
    ];
    for &(syntax, text, name, documented, compat) in table {
        let pattern = pattern(syntax, text);
        assert_eq!(
            pattern.matches(name),
            documented,
            "{syntax:?} {text:?} documented on {name:?}"
        );
        assert_eq!(
            pattern.matches_with(name, MatchMode::Documented),
            documented,
            "{text:?} {name:?}"
        );
        assert_eq!(
            pattern.matches_with(name, MatchMode::WildDuckCompat),
            compat,
            "{syntax:?} {text:?} compat on {name:?}"
        );
    }
}

#[test]
fn filter_policy_table() {
    // (policy, patterns, event name, passes)
    let table: &[(FilterPolicy, &[&str], &str, bool)] = &[
        // Stalwart's default: exclude nothing.
        (FilterPolicy::Exclude, &[], "auth.success", true),
        (FilterPolicy::Include, &[], "auth.success", false),
        (
            FilterPolicy::Include,
            &["auth.success", "auth.failed"],
            "auth.success",
            true,
        ),
        (
            FilterPolicy::Include,
            &["auth.success", "auth.failed"],
            "auth.error",
            false,
        ),
        (FilterPolicy::Include, &["auth.*"], "auth.error", true),
        (FilterPolicy::Include, &["*"], "anything", true),
        (FilterPolicy::Exclude, &["*"], "anything", false),
        (
            FilterPolicy::Exclude,
            &["telemetry.*", "*-error"],
            "store.rocksdb-error",
            false,
        ),
        (
            FilterPolicy::Exclude,
            &["telemetry.*", "*-error"],
            "telemetry.alert-event",
            false,
        ),
        (
            FilterPolicy::Exclude,
            &["telemetry.*", "*-error"],
            "delivery.completed",
            true,
        ),
        (
            FilterPolicy::Include,
            &["queue.message-queued", "zzz", "aaa"],
            "queue.message-queued",
            true,
        ),
        (
            FilterPolicy::Include,
            &["queue.message-queued", "zzz", "aaa"],
            "queue.message",
            false,
        ),
    ];
    for &(policy, patterns, name, passes) in table {
        let filter = EventFilter::parse(policy, patterns).unwrap();
        assert_eq!(
            filter.matches(name),
            passes,
            "{policy:?} {patterns:?} on {name:?}"
        );
        assert_eq!(filter.policy(), policy);
        assert_eq!(filter.patterns().len(), patterns.len());
    }
    assert_eq!(EventFilter::default(), EventFilter::all());
    assert_eq!(EventFilter::default().policy(), FilterPolicy::Exclude);
    // Compat mode reaches the filter's wildcards too.
    let filter = EventFilter::include([Pattern::wildduck("address.user.*").unwrap()]);
    assert!(filter.matches("address.user.deleted"));
    assert!(!filter.matches_with("address.user.deleted", MatchMode::WildDuckCompat));
}

#[test]
fn a_long_list_of_exact_names() {
    // Stalwart v0.16 lists names, not wildcards: ~640 of them.
    let names: Vec<String> = (0..640)
        .map(|i| format!("family{}.event-{i}", i % 40))
        .collect();
    let filter = EventFilter::parse(FilterPolicy::Include, names.iter().step_by(2)).unwrap();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(filter.matches(name), i % 2 == 0, "{name}");
    }
    assert!(!filter.matches("family0.event-"));
    assert!(!filter.matches(""));
}

#[test]
fn subscription_user_scoping_table() {
    const ALICE: &str = "6561f0c2a1b2c3d4e5f60719";
    const BOB: &str = "6561f0c2a1b2c3d4e5f6071f";
    // (subscription user, event user, delivered)
    let table: &[(Option<&str>, Option<&str>, bool)] = &[
        (None, Some(ALICE), true),
        (None, Some(BOB), true),
        (None, None, true),
        (Some(ALICE), Some(ALICE), true),
        (Some(ALICE), Some(BOB), false),
        // A server-wide event reaches user-scoped subscriptions too.
        (Some(ALICE), None, true),
    ];
    for &(sub_user, event_user, delivered) in table {
        let sub = Subscription::wildduck(["mailbox.*", "dkim.created"], sub_user).unwrap();
        assert_eq!(
            sub.matches("mailbox.created", event_user),
            delivered,
            "{sub_user:?} {event_user:?}"
        );
        assert_eq!(sub.matches("dkim.created", event_user), delivered);
        assert!(
            !sub.matches("user.created", event_user),
            "type must match as well"
        );
        for mode in [MatchMode::Documented, MatchMode::WildDuckCompat] {
            assert_eq!(
                sub.matches_with("mailbox.created", event_user, mode),
                delivered
            );
        }
    }
    let deep = Subscription::new(
        [Pattern::Prefix("address.user.".into())],
        Some(ALICE.into()),
    );
    assert!(deep.matches("address.user.created", Some(ALICE)));
    assert!(!deep.matches_with(
        "address.user.created",
        Some(ALICE),
        MatchMode::WildDuckCompat
    ));
    assert!(!Subscription::default().matches("user.created", None));
}

#[test]
fn pattern_errors_are_typed() {
    assert_eq!(Pattern::parse(""), Err(PatternError::Empty));
    for bad in ["a*b", "*a*", "**", "a**"] {
        assert!(
            matches!(Pattern::parse(bad), Err(PatternError::MisplacedWildcard { ref pattern }) if pattern == bad),
            "{bad}"
        );
    }
    assert_eq!(Pattern::wildduck("   "), Err(PatternError::Empty));
    let limit = "u".repeat(WILDDUCK_MAX_PATTERN_LEN);
    assert!(Pattern::wildduck(&limit).is_ok());
    assert_eq!(
        Pattern::wildduck(&format!("{limit}.")),
        Err(PatternError::TooLong {
            len: 129,
            max: WILDDUCK_MAX_PATTERN_LEN
        })
    );
    // Counted as JavaScript counts: an emoji is two UTF-16 code units.
    assert!(matches!(
        Pattern::wildduck(&"😀".repeat(65)),
        Err(PatternError::TooLong { len: 130, .. })
    ));
    assert!(Subscription::wildduck(["user.*", ""], None).is_err());
    assert!(EventFilter::parse(FilterPolicy::Include, ["a*b"]).is_err());
    assert!(PatternError::Empty.to_string().contains("`*`"));
}

#[test]
fn patterns_and_policies_serialize_as_text() {
    let patterns: Vec<Pattern> =
        serde_json::from_str(r#"["*","auth.*","*-error","auth.success"]"#).unwrap();
    assert_eq!(
        patterns,
        [
            Pattern::All,
            Pattern::Prefix("auth.".into()),
            Pattern::Suffix("-error".into()),
            Pattern::Exact("auth.success".into()),
        ]
    );
    assert_eq!(
        serde_json::to_string(&patterns).unwrap(),
        r#"["*","auth.*","*-error","auth.success"]"#
    );
    assert!(serde_json::from_str::<Pattern>(r#""a*b""#).is_err());
    assert_eq!(
        serde_json::to_string(&FilterPolicy::Include).unwrap(),
        r#""include""#
    );
    assert_eq!(
        serde_json::from_str::<FilterPolicy>(r#""exclude""#).unwrap(),
        FilterPolicy::Exclude
    );
    assert_eq!("user.*".parse::<Pattern>().unwrap().to_string(), "user.*");
}

// ---------------------------------------------------------------------------------
// Reference implementations, written for clarity rather than speed.
// ---------------------------------------------------------------------------------

/// Glob with at most one `*`: the name matches when some substring of it can replace
/// the `*` to give the pattern text.
fn reference_glob(text: &str, name: &str) -> bool {
    if !text.contains('*') {
        return text == name;
    }
    (0..=name.len()).any(|i| {
        (i..=name.len()).any(|j| {
            name.is_char_boundary(i)
                && name.is_char_boundary(j)
                && format!("{}*{}", &name[..i], &name[j..]) == text
        })
    })
}

/// The generic syntax: non-empty, and `*` alone, or at most one `*` at an end.
fn reference_valid(text: &str) -> bool {
    let stars = text.matches('*').count();
    !text.is_empty()
        && (stars == 0 || (stars == 1 && (text.starts_with('*') || text.ends_with('*'))))
}

/// WildDuck's documented matching: `*`, a prefix ending in `.*`, or the exact name.
fn reference_wildduck_documented(text: &str, name: &str) -> bool {
    text == "*"
        || text == name
        || text
            .strip_suffix('*')
            .is_some_and(|prefix| prefix.ends_with('.') && name.starts_with(prefix))
}

/// WildDuck's own matcher (1.45.x `webhooks.js`): the candidate list it builds.
fn reference_wildduck_candidates(name: &str) -> Vec<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let mut candidates = vec!["*".to_owned()];
    for i in 1..parts.len() {
        // `parts.slice(0, i) + '.*'`: JavaScript joins an array with commas.
        candidates.push(format!("{}.*", parts[..i].join(",")));
    }
    candidates.push(name.to_owned());
    candidates
}

fn name_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ab.,*-]{0,8}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generic_patterns_agree_with_the_glob_reference(text in name_strategy(), name in name_strategy()) {
        match Pattern::parse(&text) {
            Ok(pattern) => {
                prop_assert_eq!(pattern.matches(&name), reference_glob(&text, &name), "{:?} on {:?}", text, name);
                prop_assert_eq!(pattern.to_string(), text.clone());
                let filter = EventFilter::include([pattern.clone()]);
                prop_assert_eq!(filter.matches(&name), pattern.matches(&name));
                prop_assert_eq!(EventFilter::exclude([pattern.clone()]).matches(&name), !pattern.matches(&name));
            }
            Err(_) => prop_assert!(!reference_valid(&text), "{:?} refused", text),
        }
        if reference_valid(&text) {
            prop_assert!(Pattern::parse(&text).is_ok());
        }
    }

    #[test]
    fn wildduck_patterns_agree_with_both_references(text in name_strategy(), name in name_strategy()) {
        let Ok(pattern) = Pattern::wildduck(&text) else {
            prop_assert!(text.trim().is_empty());
            return Ok(());
        };
        let text = text.trim();
        prop_assert_eq!(
            pattern.matches(&name),
            reference_wildduck_documented(text, &name),
            "documented: {:?} on {:?}", text, name
        );
        prop_assert_eq!(
            pattern.matches_with(&name, MatchMode::WildDuckCompat),
            reference_wildduck_candidates(&name).iter().any(|candidate| candidate == text),
            "compat: {:?} on {:?}", text, name
        );
    }

    #[test]
    fn any_generic_pattern_in_compat_mode_agrees_with_the_candidates(text in name_strategy(), name in name_strategy()) {
        if let Ok(pattern) = Pattern::parse(&text) {
            prop_assert_eq!(
                pattern.matches_with(&name, MatchMode::WildDuckCompat),
                reference_wildduck_candidates(&name).contains(&text)
            );
        }
    }
}
